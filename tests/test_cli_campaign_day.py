"""
A sender's day on the command line: ``campaign check`` on each file as Excel writes it, a default
journal, exports that Excel opens (a BOM, the file's columns, .xlsx), ``campaign list`` of a
database, and ``fake serve --deliveries`` with its summary.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from click.testing import CliRunner, Result
from loopback import serving
from postgres_support import campaign_url

from miogram_async.campaign import Campaign, NumbersFile
from miogram_async.campaign._check import check_file
from miogram_async.cli import cli
from miogram_async.testing import AccountConfig, CreditsConfig, FakeMioGram

SECRET = "s3cr3t-a-senders-day"
FIXTURES = Path(__file__).parent / "fixtures" / "excel"
#: Each fixture, its name column's header, and its first customer's name as the file spells it.
FILES = [
    ("excel-csv-windows-1256.csv", "نام", "علي رضايي"),
    ("excel-unicode-text.txt", "نام", "علی رضایی"),
    ("excel-csv-utf8.csv", "Name", "علی رضایی"),
    ("excel-workbook.xlsx", "نام", "علی رضایی"),
]
SENDS = ("SendMessage", "SendMessageMass", "SendPhotoMass", "SendFileMass", "SendVideoMass")


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake account with 3 message credits."""
    return FakeMioGram(AccountConfig(secret=SECRET, credits=CreditsConfig(message=3)))


@pytest.fixture
def url(fake: FakeMioGram) -> Iterator[str]:
    """The fake's loopback URL for the duration of the test."""
    with serving(fake) as served:
        yield served


def read_json_document(stream: IO[str]) -> dict[str, object]:
    """Read lines from *stream* until they form one JSON object."""
    text = ""
    for line in stream:
        text += line
        with contextlib.suppress(json.JSONDecodeError):
            document = json.loads(text)
            assert isinstance(document, dict)
            return document
    raise AssertionError(f"the process ended before a JSON document: {text!r}")


def invoke(args: list[str], *, secret: str | None = SECRET) -> Result:
    """``miogram ARGS``; the secret (when given) is never shown."""
    env = {"MIOGRAM_SECRET": secret, "MIOGRAM_BASE_URL": None}
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert SECRET not in result.stdout + result.stderr
    return result


@pytest.mark.parametrize(("name", "header", "first"), FILES)
def test_campaign_check_on_each_file_excel_writes(  # noqa: PLR0917 - fixtures and parameters
    tmp_path: Path, fake: FakeMioGram, url: str, name: str, header: str, first: str
) -> None:
    """check: the column, the counts, a few rows, one message, credit, duration; nothing written."""
    copy = tmp_path / name
    copy.write_bytes((FIXTURES / name).read_bytes())
    before = sorted(tmp_path.iterdir())
    args = ["--base-url", url, "--json", "campaign", "check", str(copy), "-m", f"سلام {{{header}}}"]
    result = invoke(args)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["column"]["position"] == 4
    counts = {key: document[key] for key in ("rows", "valid", "invalid", "empty", "duplicate")}
    assert counts == {"rows": 10, "valid": 7, "invalid": 1, "empty": 2, "duplicate": 2}
    assert document["to_send"] == 5
    assert document["invalid_rows"] == [{"row": 10, "cell": "نامشخص"}]
    assert document["empty_rows"] == [4, 8]
    assert document["message"] == f"سلام {first}"
    assert document["message_row"] == 2
    assert document["credit"] == {
        "kind": "message",
        "needed": 5,
        "available": 3,
        "enough": False,
        "error": None,
    }
    assert document["duration_seconds"] == {"low": 7.5, "high": 15.0, "pace": [1.5, 3.0]}
    assert sorted(tmp_path.iterdir()) == before  # nothing written
    assert not [r for r in fake.requests if r.func in SENDS]  # nothing sent
    human = invoke(["--base-url", url, "campaign", "check", str(copy), "-m", f"سلام {{{header}}}"])
    assert human.exit_code == 0, human.stderr
    assert f"message (row 2): سلام {first}" in human.stdout
    assert "credit: 5 message credits needed at most, 3 left - NOT ENOUGH" in human.stdout
    assert "duration: about 8 s to 15 s" in human.stdout
    assert "1.5 to 3 s per number" in human.stdout
    assert "nothing was written and nothing was sent" in human.stdout


def test_check_file_reads_every_fixture_the_same(tmp_path: Path) -> None:
    """The SDK's dry run gives the same counts for every file, the repeats told apart."""
    for name, header, _ in FILES:
        with NumbersFile(FIXTURES / name) as numbers:
            checked = check_file(numbers, message=f"{{{header}}}")
        assert (checked.rows, checked.valid, checked.to_send, checked.duplicates) == (10, 7, 5, 2)
        assert checked.texts == 5
        assert checked.alone == 5


def test_check_without_a_secret_or_message_and_with_problems(tmp_path: Path) -> None:
    """No secret: credit and limit unchecked; a placeholder naming no column or an empty text: 2."""
    name = FIXTURES / "excel-csv-utf8.csv"
    plain = invoke(["campaign", "check", str(name)], secret=None)
    assert plain.exit_code == 0, plain.stderr
    assert "credit: not checked (give the secret" in plain.stdout
    assert "to send: 5 numbers" in plain.stdout
    wrong = invoke(["campaign", "check", str(name), "-m", "Hi {Nmae}"], secret=None)
    assert wrong.exit_code == 2
    assert "--message: the message's placeholder 'Nmae' names no column" in wrong.stderr
    texts = tmp_path / "texts.csv"
    texts.write_text("phone,text\n09120000001,hi\n09120000002,\n", encoding="utf-8")
    empty = invoke(
        ["--json", "campaign", "check", str(texts), "--message-column", "text"], secret=None
    )
    assert empty.exit_code == 2
    document = json.loads(empty.stdout)
    assert document["text_problems"] == [{"row": 3, "problem": "its message is empty"}]
    assert document["ok"] is False


def test_a_run_names_its_journal_after_the_numbers_file(
    tmp_path: Path, fake: FakeMioGram, url: str
) -> None:
    """No --journal: customers.xlsx -> customers.sqlite, said at the start; a second run refuses."""
    numbers = tmp_path / "customers.xlsx"
    numbers.write_bytes((FIXTURES / "excel-workbook.xlsx").read_bytes())
    fake.account().credits["Message"] = 100
    first = invoke(["--base-url", url, "campaign", "run", str(numbers), "-m", "سلام {نام}"])
    assert first.exit_code == 0, first.stderr
    journal = tmp_path / "customers.sqlite"
    assert f"journal: {journal} (named after the numbers file" in first.stderr
    assert journal.is_file()
    again = invoke(["--base-url", url, "campaign", "run", str(numbers), "-m", "سلام {نام}"])
    assert again.exit_code == 2
    assert "already exists; continue it with 'miogram campaign resume" in again.stderr
    piped = invoke(["--base-url", url, "campaign", "run", "-", "-m", "hi"])
    assert piped.exit_code == 2
    assert "name the journal to create with --journal" in piped.stderr


def test_exports_excel_opens(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """CSV with a BOM (--no-bom without), the file's columns kept; .xlsx read back by the reader."""
    numbers = tmp_path / "customers.csv"
    numbers.write_bytes((FIXTURES / "excel-csv-utf8.csv").read_bytes())
    fake.account().credits["Message"] = 100
    ran = invoke(["--base-url", url, "campaign", "run", str(numbers), "-m", "سلام {Name}"])
    assert ran.exit_code == 0, ran.stderr
    journal = str(tmp_path / "customers.sqlite")
    exported = invoke(["campaign", "status", journal, "--export", "csv"], secret=None)
    assert exported.stdout_bytes.startswith(b"\xef\xbb\xbfseq,input,number,state")
    rows = list(csv.DictReader(io.StringIO(exported.stdout.removeprefix("\ufeff"))))
    assert [row["Name"] for row in rows][:2] == ["علی رضایی", "سارا\nمحمدی"]
    assert [row["City"] for row in rows][-1] == "کرمان"
    assert rows[0]["message"] == "سلام علی رضایی"
    assert rows[2]["state"] == "invalid"
    assert rows[2]["Name"] == "رضا کریمی"  # the row with an empty phone cell keeps its cells
    no_bom = invoke(["campaign", "status", journal, "--export", "csv", "--no-bom"], secret=None)
    assert no_bom.stdout.startswith("seq,input")
    workbook = tmp_path / "export.xlsx"
    written = invoke(
        ["campaign", "status", journal, "--export", "xlsx", "-o", str(workbook)], secret=None
    )
    assert written.exit_code == 0, written.stderr
    with NumbersFile(workbook) as back:
        assert back.columns[-4:] == ("Row", "Name", "City", "message")
        read = list(back.rows())
    assert len(read) == len(rows) == 10
    assert [row.cells["Name"] for row in read] == [row["Name"] for row in rows]
    assert [row.cells["state"] for row in read] == [row["state"] for row in rows]
    assert [row.cells["message"] for row in read] == [row["message"] for row in rows]
    needs_output = invoke(["campaign", "status", journal, "--export", "xlsx"], secret=None)
    assert needs_output.exit_code == 2
    assert "--output" in needs_output.stderr


def test_an_export_to_a_path_has_a_bom_and_to_an_open_file_none(tmp_path: Path) -> None:
    """Campaign.export: a CSV file at a path starts with the BOM; an open text stream gets none."""
    with Campaign.create(tmp_path / "c.sqlite", ["+989120000001"], message="hi") as campaign:
        campaign.export(tmp_path / "out.csv")
        stream = io.StringIO()
        campaign.export(stream)
        campaign.export(tmp_path / "plain.csv", bom=False)
    assert (tmp_path / "out.csv").read_bytes().startswith(b"\xef\xbb\xbfseq,")
    assert stream.getvalue().startswith("seq,")
    assert (tmp_path / "plain.csv").read_bytes().startswith(b"seq,")


def test_an_xlsx_export_without_the_extra_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without openpyxl: exit 2 naming the extra to install; nothing is written."""
    journal = tmp_path / "c.sqlite"
    Campaign.create(journal, ["+989120000001"], message="hi").close()
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    target = tmp_path / "out.xlsx"
    result = invoke(
        ["campaign", "status", str(journal), "--export", "xlsx", "-o", str(target)], secret=None
    )
    assert result.exit_code == 2
    assert "pip install 'miogram-async[xlsx]'" in result.stderr
    assert not target.exists()


def test_columns_named_like_the_outcome_columns_are_told_apart(tmp_path: Path) -> None:
    """A file's own 'state' and 'message' columns come out as 'state (file)', 'message (file)'."""
    path = tmp_path / "n.csv"
    path.write_text("phone,state,message\n09120000001,Tehran,note\n", encoding="utf-8")
    with (
        NumbersFile(path) as numbers,
        Campaign.create(tmp_path / "c.sqlite", numbers, message="{state}") as campaign,
    ):
        out = io.StringIO()
        campaign.export(out)
    header, row = list(csv.reader(io.StringIO(out.getvalue())))
    assert header[-3:] == ["state (file)", "message (file)", "message"]
    assert row[-3:] == ["Tehran", "note", "Tehran"]
    assert row[3] == "pending"


def test_campaign_list_names_every_campaign_of_a_database(
    tmp_path: Path, postgres_url: str, url: str
) -> None:
    """list: each campaign of the database with its kind, counts and last run; no password shown."""
    first = campaign_url(postgres_url, "list-first")
    second = campaign_url(postgres_url, "list-second")
    Campaign.create(first, ["+989120000001", "junk"], message="hi", overwrite=True).close()
    Campaign.create(second, ["+989120000002"], message="yo", overwrite=True).close()
    ran = invoke(["--base-url", url, "campaign", "resume", second])
    assert ran.exit_code == 0, ran.stderr
    result = invoke(["--json", "campaign", "list", postgres_url], secret=None)
    assert result.exit_code == 0, result.stderr
    found = {item["name"]: item for item in json.loads(result.stdout)["campaigns"]}
    assert found["list-first"]["total"] == 2
    assert found["list-first"]["counts"]["invalid"] == 1
    assert found["list-first"]["last_run"] is None
    assert found["list-second"]["counts"]["delivered"] == 1
    assert found["list-second"]["last_run"] == "finished"
    assert found["list-second"]["url"].endswith("campaign=list-second")
    table = invoke(["campaign", "list", postgres_url], secret=None)
    assert "list-first" in table.stdout
    assert "list-second" in table.stdout
    not_a_database = invoke(["campaign", "list", str(tmp_path)], secret=None)
    assert not_a_database.exit_code == 2


def test_fake_serve_writes_each_delivery_and_sums_up_when_it_stops(tmp_path: Path) -> None:
    """fake serve --deliveries: one JSON line a delivered message; the summary when it stops."""
    deliveries = tmp_path / "d.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIOGRAM_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "miogram_async", "--json", "fake", "serve", "--port", "0",
         "--deliveries", str(deliveries)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        announced = read_json_document(server.stdout)
        sent = subprocess.run(
            [sys.executable, "-m", "miogram_async", "--base-url", str(announced["url"]), "send",
             "+989120000001", "-m", "سلام"],
            capture_output=True, text=True, env={**env, "MIOGRAM_SECRET": "test-secret"},
            timeout=60, check=False,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, stderr
    lines = [json.loads(line) for line in deliveries.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {
            "number": "+989120000001",
            "func": "SendMessage",
            "agent": "Agent1",
            "request": 0,
            "text": "سلام",
        }
    ]
    assert "1 messages delivered" in stderr
    assert "0 numbers got the same message twice or more" in stderr
    assert "at most 1 state-changing requests in flight at once" in stderr
    assert "the gateway's credit file is intact" in stderr
