"""
`NumbersFile`: encodings told apart or named, undecodable files refused in plain words, workbooks
and their sheets, the phone column found by header or content, and every data row accounted for.
"""

from __future__ import annotations

import csv
import datetime
import io
import sys
from pathlib import Path

import pytest
from postgres_support import campaign_url

from miogram_async.campaign import (
    Campaign,
    NumbersFile,
    NumbersFileError,
    NumberState,
)
from miogram_async.campaign._inputs import InvalidInput
from miogram_async.campaign._sheet_columns import header_key

FIXTURES = Path(__file__).parent / "fixtures" / "excel"
ALI = "09121234567"


def write(path: Path, text: str, encoding: str) -> Path:
    """*text* written to *path* in *encoding*."""
    path.write_bytes(text.encode(encoding))
    return path


def phones(path: Path, **options: str) -> list[str]:
    """The phone cells of every data row of *path*."""
    with NumbersFile(path, **options) as numbers:
        return [row.phone for row in numbers.rows()]


def test_utf8_with_and_without_a_bom_and_ascii(tmp_path: Path) -> None:
    """UTF-8 with a BOM, without one, and plain ASCII are each told and read."""
    text = "نام,تلفن\r\nعلی,۰۹۱۲۱۲۳۴۵۶۷\r\n"
    for encoding, label in [("utf-8-sig", "UTF-8 with a byte-order mark"), ("utf-8", "UTF-8")]:
        with NumbersFile(write(tmp_path / f"{encoding}.csv", text, encoding)) as numbers:
            assert [row.phone for row in numbers.rows()] == ["۰۹۱۲۱۲۳۴۵۶۷"]
            assert numbers.encoding == label
    with NumbersFile(write(tmp_path / "a.txt", f"{ALI}\n", "ascii")) as numbers:
        assert list(numbers.numbers()) == [ALI]
        assert numbers.encoding == "UTF-8"


def test_utf16_big_endian_with_a_bom(tmp_path: Path) -> None:
    """UTF-16 big-endian with its byte-order mark reads too."""
    path = tmp_path / "be.txt"
    path.write_bytes(b"\xfe\xff" + "موبایل\tنام\r\n۰۹۱۲۱۲۳۴۵۶۷\tعلی\r\n".encode("utf-16-be"))
    with NumbersFile(path) as numbers:
        assert [(row.phone, row.cells["نام"]) for row in numbers.rows()] == [("۰۹۱۲۱۲۳۴۵۶۷", "علی")]
        assert numbers.encoding == "UTF-16 (big-endian, with a byte-order mark)"


def test_windows_1256_after_a_long_ascii_head_is_told_by_its_first_persian_byte(
    tmp_path: Path,
) -> None:
    """A Windows-1256 file whose first 200 KB are ASCII: the scan finds its Persian and says so."""
    head = "".join(f"x{index},0912{index:07d}\r\n" for index in range(10_000))
    text = "name,phone\r\n" + head + "علي,09121234567\r\n"
    assert len(head) > 150_000
    with NumbersFile(write(tmp_path / "w.csv", text, "cp1256")) as numbers:
        rows = list(numbers.rows())
        assert numbers.encoding == "Windows-1256"
    assert rows[-1].cells == {"name": "علي"}
    assert len(rows) == 10_001


def test_windows_1256_reads_any_byte_so_another_code_page_reads_as_it(tmp_path: Path) -> None:
    """Windows-1252 text reads as Windows-1256 (which maps every byte); named, it reads right."""
    path = write(tmp_path / "latin.csv", "name,phone\r\nØyvind,09121234567\r\n", "cp1252")
    with NumbersFile(path) as guessed:
        (row,) = guessed.rows()
        assert guessed.encoding == "Windows-1256"
    assert row.phone == ALI
    assert row.cells["name"] == "طyvind"
    with NumbersFile(path, encoding="cp1252") as named:
        assert [row.cells["name"] for row in named.rows()] == ["Øyvind"]
        assert named.encoding == "cp1252"


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
        bytes(range(256)) * 4,
        "phone\r\n09121234567\r\n".encode("utf-16-le"),
    ],
    ids=["png", "every-byte", "utf16-without-bom"],
)
def test_undecodable_files_are_refused_naming_the_encodings_tried(
    tmp_path: Path, content: bytes
) -> None:
    """Binary files and UTF-16 without its BOM: refused at open, naming what was tried."""
    path = tmp_path / "numbers.csv"
    path.write_bytes(content)
    with pytest.raises(NumbersFileError) as caught:
        NumbersFile(path)
    message = str(caught.value)
    assert "tried UTF-8, UTF-16 (with a byte-order mark), Windows-1256" in message
    assert "give its encoding" in message
    assert caught.value.option == "encoding"
    assert "codec" not in message
    assert "control characters" in message


def test_utf16_without_a_bom_gets_a_hint_and_reads_when_named(tmp_path: Path) -> None:
    """UTF-16 without a BOM: the refusal says so; named utf-16-le, it reads."""
    path = tmp_path / "n.txt"
    path.write_bytes(f"phone\r\n{ALI}\r\n".encode("utf-16-le"))
    with pytest.raises(NumbersFileError, match="UTF-16 without a byte-order mark"):
        NumbersFile(path)
    assert phones(path, encoding="utf-16-le") == [ALI]


def test_bad_bytes_under_a_bom_are_refused_at_open(tmp_path: Path) -> None:
    """A UTF-8 BOM followed by bytes that are not UTF-8: refused at open, the bytes named."""
    path = tmp_path / "n.csv"
    path.write_bytes(b"\xef\xbb\xbfphone\r\n\xe1\xed\r\n")
    with pytest.raises(
        NumbersFileError, match="not UTF-8 with a byte-order mark: bytes E1 cannot be read"
    ):
        NumbersFile(path)


def test_bytes_not_in_the_encoding_further_on_stop_the_create(tmp_path: Path) -> None:
    """UTF-8 first, Windows-1256 bytes after 64 KiB: an error near their line, and no journal."""
    rows = "".join(f"علی,0912{index:07d}\n" for index in range(4000))
    path = tmp_path / "mixed.csv"
    path.write_bytes(("name,phone\n" + rows).encode() + "رضا,09120000001\n".encode("cp1256"))
    journal = tmp_path / "c.sqlite"
    with NumbersFile(path) as numbers, pytest.raises(NumbersFileError) as caught:
        Campaign.create(journal, numbers, message="hi")
    assert "it is not UTF-8 near line" in str(caught.value)
    assert "tried UTF-8" in str(caught.value)
    assert not journal.exists()
    assert list(tmp_path.iterdir()) == [path]


def test_a_named_encoding_that_does_not_fit_is_an_error_naming_it(tmp_path: Path) -> None:
    """encoding='utf-8' on a Windows-1256 file: an error naming utf-8 and the line."""
    path = write(tmp_path / "w.csv", "name,phone\r\nعلي,09121234567\r\n", "cp1256")
    with NumbersFile(path, encoding="utf-8") as numbers, pytest.raises(NumbersFileError) as caught:
        list(numbers.rows())
    assert "it is not utf-8 near line" in str(caught.value)
    assert caught.value.option == "encoding"
    for name, why in [("no-such-codec", "unknown encoding"), ("base64", "not a text encoding")]:
        with pytest.raises(NumbersFileError, match=why):
            NumbersFile(path, encoding=name)


def test_old_and_fake_workbooks_are_refused_plainly(tmp_path: Path) -> None:
    """An .xls (Excel 97-2003) and a .xlsx that is no workbook: plain refusals."""
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(NumbersFileError, match=r"Excel 97-2003 workbook \(\.xls\)"):
        NumbersFile(xls)
    fake = write(tmp_path / "list.xlsx", "phone\n09121234567\n", "utf-8")
    with pytest.raises(NumbersFileError, match=r"an \.xlsx workbook is not a workbook"):
        NumbersFile(fake)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(NumbersFileError, match=r"cannot read .* as an \.xlsx workbook"):
        NumbersFile(broken)


def test_a_workbook_without_the_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """openpyxl missing: reading an .xlsx says which extra to install."""
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # `import openpyxl` now fails
    with pytest.raises(NumbersFileError) as caught:
        NumbersFile(FIXTURES / "excel-workbook.xlsx")
    assert "needs openpyxl: pip install 'miogram-async[xlsx]'" in str(caught.value)
    assert phones(FIXTURES / "excel-csv-utf8.csv")[0] == "۰۹۱۲۱۲۳۴۵۶۷"  # text needs no extra


def test_sheets_by_name_or_position_and_options_that_do_not_apply(tmp_path: Path) -> None:
    """sheet= picks a sheet by name (case aside) or position; a text file takes no sheet."""
    workbook = FIXTURES / "excel-workbook.xlsx"
    sheets: list[str | int] = ["لیست دوم", "2", 2]
    for sheet in sheets:
        with NumbersFile(workbook, sheet=sheet) as numbers:
            assert [row.phone for row in numbers.rows()] == ["۰۹۱۹۰۰۰۰۰۰۱", "۰۹۱۹۰۰۰۰۰۰۲"]
            assert numbers.sheet == "لیست دوم"
    with pytest.raises(NumbersFileError) as caught:
        NumbersFile(workbook, sheet=3)
    assert caught.value.option == "sheet"
    with pytest.raises(NumbersFileError, match=r"a sheet applies to \.xlsx workbooks only"):
        NumbersFile(FIXTURES / "excel-csv-utf8.csv", sheet="1")
    with pytest.raises(NumbersFileError, match="an encoding applies to text files only"):
        NumbersFile(workbook, encoding="utf-8")


@pytest.mark.parametrize(
    "header",
    [
        "شماره تماس",
        "تلفن همراه",
        "شماره همراه",
        "موبایل",
        "Phone No.",
        "Phone Number",
        "Mobile No",
        "Cell",
        "Tel.",
        "موبايل",  # Arabic yeh
        "شماره\u200cی تماس",  # zero-width non-joiner
        "شمارۀ تماس",
        "شماره موبايل",
        "PHONE_NUMBER",
        "Mobile 2",
        "تلفـــن",  # tatweel
    ],
)
def test_phone_headers_win_over_a_column_of_more_numbers(tmp_path: Path, header: str) -> None:
    """A recognised header picks its column even where another column holds more numbers."""
    text = (
        f"ردیف,کد ملی,{header},Backup\n1,0012345678,{ALI},09120000001\n2,0012345679,,09120000002\n"
    )
    with NumbersFile(write(tmp_path / "h.csv", text, "utf-8")) as numbers:
        assert numbers.column.index == 2
        assert numbers.column.how == "header"
        assert [row.phone for row in numbers.rows()] == [ALI, ""]


def test_header_keys_fold_case_spaces_marks_and_letter_forms() -> None:
    """Variants of one header share one key; other words do not become phone headers."""
    assert (
        header_key("Phone No.") == header_key("phone_no") == header_key(" PHONE-NO ") == "phoneno"
    )
    assert header_key("شمارۀ تماس") == header_key("شماره‌ی تماس") == header_key("شمارهي تماس")
    assert header_key("كد") == header_key("کد")
    for other in ["ردیف", "نام", "Name", "Cancelled", "Telegram ID", "Email"]:
        with NumbersFile(io.StringIO(f"{other}\n{ALI}\n")) as numbers:
            assert numbers.column.how == "content", other


def test_without_a_phone_header_the_column_of_valid_numbers_is_read(tmp_path: Path) -> None:
    """The issue's case: a row-number column first, no known header: the numbers' column is read."""
    text = "ردیف,نام,Contact,شهر\n1,علی,۰۹۱۲۱۲۳۴۵۶۷,تهران\n2,سارا,0912 000 0001,شیراز\n3,رضا,x,قم\n"
    with NumbersFile(write(tmp_path / "c.csv", text, "utf-8")) as numbers:
        column = numbers.column
        assert [row.phone for row in numbers.rows()] == ["۰۹۱۲۱۲۳۴۵۶۷", "0912 000 0001", "x"]
    assert (str(column), column.how) == ("column 3 'Contact'", "content")
    assert column.reason == (
        "no header names a phone column; 2 of the first 3 rows hold a valid number in it"
    )
    generic = "شماره,Contact\n1,09121234567\n2,09121234568\n"
    with NumbersFile(io.StringIO(generic)) as numbers:
        assert numbers.column.index == 1  # شماره (number) that holds row numbers is not taken


def test_a_list_without_header_and_the_column_option(tmp_path: Path) -> None:
    """A bare list has no header row; column= by (folded) name or position reads that column."""
    with NumbersFile(io.StringIO(f"{ALI}\nabc\n")) as numbers:
        assert [(row.row, row.phone) for row in numbers.rows()] == [(1, ALI), (2, "abc")]
        assert numbers.columns == ("column 1",)
    text = "نام;موبایل;تلفن\nعلی;09120000001;09121111111\n"
    with NumbersFile(io.StringIO(text), column="موبايل") as numbers:
        assert [row.phone for row in numbers.rows()] == ["09120000001"]
        assert numbers.column.how == "asked"
    with NumbersFile(io.StringIO(text), column=3) as numbers:
        assert [row.phone for row in numbers.rows()] == ["09121111111"]
    with NumbersFile(io.StringIO(text), column="fax") as numbers, pytest.raises(NumbersFileError):
        numbers.column  # noqa: B018 - reading the column is the point


def test_cells_by_header_for_short_long_and_repeated_columns() -> None:
    """Cells are keyed by header; missing cells read "", extra ones 'column N', repeats numbered."""
    text = f"name,phone,name,\nAli,{ALI},A.,x\nSara\nReza,{ALI},R.,y,extra\n"
    with NumbersFile(io.StringIO(text)) as numbers:
        rows = list(numbers.rows())
        assert numbers.columns == ("name", "phone", "name (2)", "column 4", "column 5")
    blank = {"name (2)": "", "column 4": "", "column 5": ""}
    assert rows[0].cells == {"name": "Ali", "name (2)": "A.", "column 4": "x", "column 5": ""}
    assert (rows[1].phone, rows[1].cells) == ("", {"name": "Sara", **blank})
    assert rows[2].cells["column 5"] == "extra"


def test_every_one_of_1245_rows_is_in_the_campaign(tmp_path: Path) -> None:
    """1,245 data rows, one with an empty phone cell: the campaign's total is 1,245, not 1,244."""
    lines = ["نام,شهر,شماره تماس"]
    lines += [f"مشتری {index},تهران,0912{index:07d}" for index in range(1245)]
    lines[700] = "مشتری بی‌شماره,کرج,"
    path = write(tmp_path / "big.csv", "\r\n".join(lines) + "\r\n", "utf-8-sig")
    with NumbersFile(path) as numbers:
        campaign = Campaign.create(tmp_path / "c.sqlite", numbers, message="hi")
        counts = numbers.counts
    with campaign:
        status = campaign.status()
    assert (counts.rows, counts.empty, counts.empty_rows) == (1245, 1, (701,))
    assert status.total == 1245
    assert status.by_state[NumberState.INVALID] == 1


def test_numbers_hands_empty_cells_over_as_invalid_items() -> None:
    """numbers() gives each phone cell; an empty one is an InvalidInput naming its row."""
    with NumbersFile(io.StringIO(f"name,phone\nAli,{ALI}\nSara,\n")) as numbers:
        assert list(numbers.numbers()) == [ALI, InvalidInput("", "row 3: the phone cell is empty")]


def test_a_file_with_no_valid_number_is_told_before_reading_on() -> None:
    """read_to_first_valid: True (and nothing lost) when there is one, False after reading all."""
    with NumbersFile(io.StringIO(f"phone\nx\ny\n{ALI}\nz\n")) as numbers:
        assert numbers.read_to_first_valid()
        assert list(numbers.numbers()) == ["x", "y", ALI, "z"]
    with NumbersFile(io.StringIO("phone\nx\n\ny\n")) as numbers:
        assert not numbers.read_to_first_valid()
        assert numbers.counts.invalid_examples == ((2, "x"), (4, "y"))


def test_a_binary_stream_is_read_and_left_open() -> None:
    """A binary file object (stdin's buffer) is decoded the same way and not closed."""
    stream = io.BytesIO("\ufeffphone\r\n09121234567\r\n".encode())
    with NumbersFile(stream, name="stdin") as numbers:
        assert list(numbers.numbers()) == [ALI]
        assert numbers.encoding == "UTF-8 with a byte-order mark"
    assert not stream.closed


def test_postgres_campaign_records_every_row(postgres_url: str) -> None:
    """In PostgreSQL too, a file's empty phone cells are invalid rows naming their row."""
    url = campaign_url(postgres_url, "excel-rows")
    with NumbersFile(FIXTURES / "excel-workbook.xlsx") as numbers:
        campaign = Campaign.create(url, numbers, message="Salam")
    with campaign:
        status = campaign.status()
        out = io.StringIO()
        campaign.export(out)
    assert status.total == 10
    assert (status.by_state[NumberState.INVALID], status.by_state[NumberState.DUPLICATE]) == (3, 2)
    errors = [
        row["error"] for row in csv.DictReader(io.StringIO(out.getvalue())) if not row["input"]
    ]
    assert errors == ["row 4: the phone cell is empty", "row 8: the phone cell is empty"]


def test_the_first_persian_byte_at_the_head_s_end_is_read_on_from(tmp_path: Path) -> None:
    """A Windows-1256 letter as the 65,536th byte: judged with the bytes after it, not alone."""
    text = "name,phone\r\n" + "".join(f"n,0912{index:07d}\r\n" for index in range(4000))
    text += "#" + "x" * (65535 - len(text) - 3) + "\r\n"  # a comment line up to byte 65,535
    path = tmp_path / "edge.csv"
    path.write_bytes(text.encode("ascii") + "علي,09121234567\r\n".encode("cp1256"))
    assert len(text) == 65535
    with NumbersFile(path) as numbers:
        rows = list(numbers.rows())
        assert numbers.encoding == "Windows-1256"
    assert (rows[-1].cells, rows[-1].phone, len(rows)) == ({"name": "علي"}, ALI, 4001)


def test_workbook_cells_read_as_the_user_sees_them(tmp_path: Path) -> None:
    """Numbers, whole floats, booleans, dates and formulas' values read as text; gaps as rows."""
    import openpyxl  # noqa: PLC0415 - the xlsx extra (installed with dev)

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Mobile", "paid", "since", "score"])
    sheet.append([9121234567.0, True, datetime.date(2026, 1, 2), 1.5])
    sheet.cell(row=5, column=1, value=9121234568)
    path = tmp_path / "typed.xlsx"
    workbook.save(path)
    with NumbersFile(path) as numbers:
        rows = list(numbers.rows())
    assert [(row.row, row.phone) for row in rows] == [(2, "9121234567"), (5, "9121234568")]
    assert rows[0].cells == {"paid": "TRUE", "since": "2026-01-02T00:00:00", "score": "1.5"}
