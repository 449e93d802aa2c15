"""
The customer list as Excel saves it (tests/fixtures/excel), read with no option: every file gives
the same rows, every data row is accounted for, and a campaign sends each distinct number once.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from loopback import serving

from miogram_async.campaign import Campaign, NumbersFile, NumberState
from miogram_async.cli import cli
from miogram_async.testing import AccountConfig, FakeMioGram

SECRET = "s3cr3t-excel-files"
FIXTURES = Path(__file__).parent / "fixtures" / "excel"

#: file name, its encoding as reported, the phone column as reported.
FILES = [
    ("excel-csv-windows-1256.csv", "Windows-1256", "column 4 'شماره تماس'"),
    (
        "excel-unicode-text.txt",
        "UTF-16 (little-endian, with a byte-order mark)",
        "column 4 'تلفن همراه'",
    ),
    ("excel-csv-utf8.csv", "UTF-8 with a byte-order mark", "column 4 'Phone No.'"),
    ("excel-workbook.xlsx", None, "column 4 'شماره همراه'"),
]
#: Ten data rows: five distinct valid numbers, two repeats, one invalid, two empty (rows 4, 8).
DATA_ROWS = 10
DISTINCT = sorted(
    ["+989121234567", "+989127654321", "+989351112233", "+989121112233", "+989012345678"]
)
EMPTY_ROWS = (4, 8)
#: The row numbers a spreadsheet shows for the data rows (row 6 is blank).
ROW_NUMBERS = [2, 3, 4, 5, 7, 8, 9, 10, 11, 12]


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake account on which every number is on the messenger."""
    return FakeMioGram(AccountConfig(secret=SECRET, agents=("Agent1",)))


@pytest.fixture
def url(fake: FakeMioGram) -> Iterator[str]:
    """The fake's loopback URL for the duration of the test."""
    with serving(fake) as served:
        yield served


def invoke(args: list[str]) -> Result:
    """Run ``miogram ARGS`` with the secret in the environment; check it is never shown."""
    env = {"MIOGRAM_SECRET": SECRET, "MIOGRAM_BASE_URL": None, "MIOGRAM_DEFAULT_REGION": None}
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert SECRET not in result.stdout + result.stderr
    return result


@pytest.mark.parametrize(("name", "encoding", "column"), FILES)
def test_each_file_reads_alike_with_no_option(name: str, encoding: str | None, column: str) -> None:
    """Each file: its encoding and phone column found, the same ten rows, counts adding up."""
    with NumbersFile(FIXTURES / name) as numbers:
        rows = list(numbers.rows())
        assert numbers.encoding == encoding
        assert str(numbers.column) == column
        assert numbers.column.how == "header"
        counts = numbers.counts
    assert [row.row for row in rows] == ROW_NUMBERS
    assert (counts.rows, counts.valid, counts.invalid, counts.empty) == (DATA_ROWS, 7, 1, 2)
    assert counts.valid + counts.invalid + counts.empty == counts.rows == DATA_ROWS
    assert counts.empty_rows == EMPTY_ROWS
    assert [row.row for row in rows if not row.phone] == list(EMPTY_ROWS)
    names = [list(row.cells.values())[1] for row in rows]
    # Windows-1256 has no Persian yeh: its names carry the Arabic one (ي), as Windows wrote them.
    assert [name.replace("\u064a", "\u06cc") for name in names][:3] == [
        "علی رضایی",
        "سارا\nمحمدی",
        "رضا کریمی",
    ]
    assert len(rows[0].cells) == 3  # the other columns: row number, name, city


@pytest.mark.parametrize(("name", "encoding", "column"), FILES)
def test_each_file_makes_a_campaign_whose_total_is_its_data_rows(
    tmp_path: Path, name: str, encoding: str | None, column: str
) -> None:
    """Campaign.create from each file: total = data rows; empty cells invalid, naming their row."""
    with NumbersFile(FIXTURES / name) as numbers:
        campaign = Campaign.create(tmp_path / "c.sqlite", numbers, message="Salam")
    with campaign:
        status = campaign.status()
        out = io.StringIO()
        campaign.export(out)
    assert status.total == DATA_ROWS
    assert status.by_state[NumberState.INVALID] == 3
    assert status.by_state[NumberState.DUPLICATE] == 2
    assert status.by_state[NumberState.PENDING] == len(DISTINCT)
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert sorted({row["number"] for row in exported if row["state"] == "pending"}) == DISTINCT
    empty = [row for row in exported if row["input"] == ""]
    assert [row["error"] for row in empty] == [
        f"row {row}: the phone cell is empty" for row in EMPTY_ROWS
    ]
    assert all(row["state"] == "invalid" for row in empty)


@pytest.mark.parametrize(("name", "encoding", "column"), FILES)
def test_cli_sends_each_file_with_no_option(
    tmp_path: Path, fake: FakeMioGram, url: str, name: str, *, encoding: str | None, column: str
) -> None:
    """``campaign run FILE`` with no option: says what it reads, totals add up, one send each."""
    journal = tmp_path / "c.sqlite"
    args = ["--base-url", url, "--json", "campaign", "run", str(FIXTURES / name), "-m", "Salam"]
    result = invoke([*args, "-j", str(journal)])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["total"] == DATA_ROWS
    counts = document["counts"]
    assert (counts["delivered"], counts["invalid"], counts["duplicate"]) == (5, 3, 2)
    assert sum(counts.values()) == DATA_ROWS
    assert sorted(d.number for d in fake.deliveries) == DISTINCT
    said = f"reading numbers from {column}"
    if name.endswith(".xlsx"):
        said += " of sheet 'مشتریان'"
    said += f" of {str(FIXTURES / name)!r}"
    if encoding is not None:
        said += f" ({encoding})"
    assert said + ": its header names a phone column" in result.stderr
    assert "2 rows have an empty phone cell (row 4, 8): recorded INVALID, not sent" in result.stderr


def test_cli_reads_another_sheet(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """--sheet NAME and --sheet N read that sheet of the workbook."""
    workbook = str(FIXTURES / "excel-workbook.xlsx")
    for index, sheet in enumerate(["لیست دوم", "2"]):
        journal = str(tmp_path / f"{index}.sqlite")
        run = ["--base-url", url, "campaign", "run", workbook, "-m", "Hi", "--sheet", sheet]
        result = invoke([*run, "-j", journal])
        assert result.exit_code == 0, result.stderr
        assert "column 2 'موبایل' of sheet 'لیست دوم'" in result.stderr
    assert sorted(d.number for d in fake.deliveries) == [
        "+989190000001",
        "+989190000001",
        "+989190000002",
        "+989190000002",
    ]


def test_cli_unknown_sheet_names_the_sheets(tmp_path: Path) -> None:
    """--sheet with a name the workbook lacks: exit 2 naming its sheets; no journal."""
    workbook = str(FIXTURES / "excel-workbook.xlsx")
    journal = tmp_path / "c.sqlite"
    result = invoke(
        ["campaign", "run", workbook, "-m", "Hi", "--sheet", "Sheet9", "-j", str(journal)]
    )
    assert result.exit_code == 2
    assert "--sheet 'Sheet9'" in result.stderr
    assert "its sheets are 'مشتریان', 'لیست دوم'" in result.stderr
    assert not journal.exists()


def run_args(url: str, numbers: Path, journal: Path, *options: str) -> list[str]:
    """``miogram --base-url URL campaign run NUMBERS -m Salam -j JOURNAL OPTIONS``."""
    run = ["--base-url", url, "campaign", "run", str(numbers), "-m", "Salam"]
    return [*run, "-j", str(journal), *options]


def test_cli_undecodable_file_names_the_encodings_and_the_option(tmp_path: Path, url: str) -> None:
    """A binary file: exit 2 naming the encodings tried and --encoding; no jargon, no journal."""
    numbers = tmp_path / "numbers.csv"
    numbers.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\xff\xfe")
    journal = tmp_path / "c.sqlite"
    result = invoke(run_args(url, numbers, journal))
    assert result.exit_code == 2
    assert "tried UTF-8, UTF-16 (with a byte-order mark), Windows-1256" in result.stderr
    assert "with --encoding NAME" in result.stderr
    for jargon in ("codec", "invalid start byte", "invalid continuation byte", "Traceback"):
        assert jargon not in result.stderr
    assert not journal.exists()


def test_cli_encoding_option_reads_what_detection_cannot(
    tmp_path: Path, fake: FakeMioGram, url: str
) -> None:
    """UTF-16 without a BOM: refused with a hint; --encoding utf-16-le reads and sends it."""
    numbers = tmp_path / "numbers.txt"
    numbers.write_bytes("name\tphone\r\nعلی\t09121234567\r\n".encode("utf-16-le"))
    refused = invoke(run_args(url, numbers, tmp_path / "a.sqlite"))
    assert refused.exit_code == 2
    assert "as UTF-16 without a byte-order mark does (utf-16-le)" in refused.stderr
    assert fake.deliveries == []
    sent = invoke(run_args(url, numbers, tmp_path / "b.sqlite", "--encoding", "utf-16-le"))
    assert sent.exit_code == 0, sent.stderr
    assert "column 2 'phone' of" in sent.stderr
    assert "(utf-16-le)" in sent.stderr
    assert [d.number for d in fake.deliveries] == ["+989121234567"]


def test_cli_encoding_that_does_not_fit_or_does_not_exist(tmp_path: Path, url: str) -> None:
    """--encoding utf-8 on a Windows-1256 file names the option and line; an unknown name is 2."""
    journal = tmp_path / "c.sqlite"
    windows = FIXTURES / "excel-csv-windows-1256.csv"
    wrong = invoke(run_args(url, windows, journal, "--encoding", "utf-8"))
    assert wrong.exit_code == 2
    assert f"--encoding 'utf-8': cannot read {str(windows)!r}: it is not utf-8 near line" in (
        wrong.stderr
    )
    unknown = invoke(run_args(url, windows, journal, "--encoding", "klingon"))
    assert unknown.exit_code == 2
    assert "unknown encoding 'klingon'" in unknown.stderr
    assert not journal.exists()


def test_cli_workbook_without_the_extra_names_the_extra(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No openpyxl: an .xlsx is refused (exit 2) with the pip command of the xlsx extra."""
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # `import openpyxl` now fails
    journal = tmp_path / "c.sqlite"
    result = invoke(run_args(url, FIXTURES / "excel-workbook.xlsx", journal))
    assert result.exit_code == 2
    assert "reading one needs openpyxl: pip install 'miogram-async[xlsx]'" in result.stderr
    assert not journal.exists()


def test_cli_says_which_column_it_found_by_content(
    tmp_path: Path, fake: FakeMioGram, url: str
) -> None:
    """No header names the phone column: the one holding numbers is read, and the CLI says so."""
    numbers = tmp_path / "list.csv"
    numbers.write_text(
        "ردیف,نام,Contact\r\n1,علی,۰۹۱۲۱۲۳۴۵۶۷\r\n2,سارا,0912 000 0001\r\n", encoding="utf-8"
    )
    result = invoke(run_args(url, numbers, tmp_path / "c.sqlite"))
    assert result.exit_code == 0, result.stderr
    assert (
        f"reading numbers from column 3 'Contact' of {str(numbers)!r} (UTF-8): no header names "
        "a phone column; 2 of the first 2 rows hold a valid number in it"
    ) in result.stderr
    assert sorted(d.number for d in fake.deliveries) == ["+989120000001", "+989121234567"]
