"""
Writing every input item of a campaign with its outcome: CSV (with a UTF-8 byte-order mark, so that
Excel reads Persian text as it is), JSON, or an .xlsx workbook (the ``xlsx`` extra); streamed.

Beside the outcome columns (`COLUMNS`) each row carries the numbers file's other cells, under the
file's own column names, and for a message per row the text the number gets. Every cell of a CSV or
a workbook, the header included, is written through one function, `cell`: what a cell may hold is
decided there, once.

Exports are opened in spreadsheets, which run a cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula (``=HYPERLINK(...)`` in a customer's name, a message, an
error text):

- **CSV** has no types: a cell is what its text says. Such a cell gets a leading ``'``
  (`neutralise`, OWASP's advice: a spreadsheet then takes it as text), with one exception: a cell
  that is only a number, with its sign, spaces, dots, dashes and brackets (``+989121234567``,
  ``-5``, ``+98 (912) 123-4567``), stays as it is, so the ``number`` column reads right. A
  spreadsheet may still read such a cell as a number (or as sums of numbers), but with digits and
  those signs alone no formula can call a function or read another cell.
- **xlsx** cells are typed: a text cell is shown, never run, whatever it starts with. Every text
  is written as a text cell (`_text_cell`), never left to openpyxl's guess, which makes a text
  starting with ``=`` a live formula and ``#N/A`` an error; one that starts like a formula is
  also marked quote-prefixed, so that editing it in a spreadsheet keeps it text. Its content is
  left as it is: a ``'`` would show in the cell.
- **JSON** is left as it is (no spreadsheet runs it).

Export files are created readable by their owner only (0600): they hold customers' numbers.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO

from .storage import Extra, Row

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = [
    "COLUMNS",
    "MESSAGE_COLUMN",
    "ExportFormat",
    "cell",
    "export_columns",
    "neutralise",
    "write_export",
]

ExportFormat = Literal["csv", "json", "xlsx"]

#: The outcome fields of every exported row, in order.
COLUMNS: Final = ("seq", "input", "number", "state", "error_code", "error", "robot")
#: The column of a message per row: the text the number gets.
MESSAGE_COLUMN: Final = "message"
#: What to install to write .xlsx workbooks.
_XLSX_EXTRA: Final = "pip install 'miogram-async[xlsx]'"
#: The UTF-8 byte-order mark, as a text file's first character.
_BOM: Final = "\ufeff"
#: What a spreadsheet takes as the start of a formula (OWASP, "CSV Injection").
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
#: A number as written: a sign, digits and separators, nothing a formula could call.
_PLAIN_NUMBER: Final = re.compile(r"[+-]?[0-9][0-9 ().-]*")


def neutralise(value: object) -> object:
    """
    *value* as a CSV cell holds it: a text a spreadsheet would run as a formula gets a ``'``.

    A plain number (see the module's notes) and anything that is not a text are left alone.
    """
    if isinstance(value, str) and _runs_as_formula(value):
        return "'" + value
    return value


def _runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet would run *text*, as it is, as a formula (a plain number aside)."""
    return text.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text)


def cell(value: object, fmt: Literal["csv", "xlsx"] = "csv") -> str | int:
    """
    A value as one cell of a CSV file or a workbook: the one place every exported cell passes.

    ``None`` is an empty cell, an int stays a number, anything else is its text: in a CSV file
    with a ``'`` before a text a spreadsheet would run (`neutralise`); in a workbook as it is,
    since the workbook writes it as a text cell (see the module's notes).
    """
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if fmt == "csv" and _runs_as_formula(text):
        return "'" + text
    return text


def export_columns(columns: Sequence[str], texts: bool) -> tuple[str, ...]:
    """
    The header of an export: the outcome columns, then the file's *columns* (one named like a
    column before it gets `` (file)`` after its name), then `MESSAGE_COLUMN` when *texts*.
    """
    names: list[str] = list(COLUMNS)
    for name in columns:
        shown = name
        while shown in names or shown == MESSAGE_COLUMN:
            shown += " (file)"
        names.append(shown)
    if texts:
        names.append(MESSAGE_COLUMN)
    return tuple(names)


def _joined(
    rows: Iterable[Row], extras: Iterable[Extra], width: int, texts: bool, message: str | None
) -> Iterator[list[object]]:
    """Each row with its kept cells (*width* of them) and its text: *extras* merged by seq."""
    pending = iter(extras)
    extra = next(pending, None)
    blank = [""] * width
    for row in rows:
        seq = row[0]
        while extra is not None and extra[0] < seq:
            extra = next(pending, None)
        cells: Sequence[str] = blank
        text: str | None = None
        if extra is not None and extra[0] == seq:
            cells = extra[1] if extra[1] is not None else blank
            text = extra[2]
            extra = next(pending, None)
        values: list[object] = [*row, *cells[:width], *blank[len(cells) :]]
        if texts:
            # A number without a text of its own gets the campaign's message; an item that is
            # sent nothing (invalid, a repeat) shows none.
            sent = row[3] not in ("invalid", "duplicate")
            values.append((text if text is not None else message) if sent else None)
        yield values


def _write_csv(table: Iterable[Sequence[object]], out: TextIO, bom: bool) -> int:
    if bom:
        out.write(_BOM)
    writer = csv.writer(out, lineterminator="\n")
    count = -1
    for count, values in enumerate(table):  # noqa: B007 - the count is what is returned
        writer.writerow([cell(value, "csv") for value in values])
    return count


def _write_json(header: Sequence[str], table: Iterable[Sequence[object]], out: TextIO) -> int:
    count = 0
    out.write("[")
    for values in table:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(dict(zip(header, values, strict=True)), ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _write_xlsx(table: Iterable[Sequence[object]], path: Path) -> int:
    try:
        import openpyxl  # noqa: PLC0415 - optional dependency, the `xlsx` extra
    except ImportError:
        raise ImportError(f"an .xlsx export needs openpyxl: {_XLSX_EXTRA}") from None
    workbook = openpyxl.Workbook(write_only=True)
    sheet: WriteOnlyWorksheet = workbook.create_sheet("campaign")
    count = -1
    for count, values in enumerate(table):  # noqa: B007 - the count is what is returned
        sheet.append([_text_cell(sheet, cell(value, "xlsx")) for value in values])
    with open(_private_fd(path), "wb") as file:
        workbook.save(file)
    return count


def _text_cell(sheet: WriteOnlyWorksheet, value: str | int) -> Cell | int:
    """*value* as a workbook's cell: a text is a text cell, never a formula or an error."""
    if isinstance(value, int):
        return value
    from openpyxl.cell import WriteOnlyCell  # noqa: PLC0415 - optional dependency

    text: Cell = WriteOnlyCell(sheet, value)
    # openpyxl takes "=..." for a formula and "#N/A" for an error: this is a text, as given.
    text.data_type = "s"
    if _runs_as_formula(value):
        text.quotePrefix = True  # edited in a spreadsheet, it stays text
    return text


def _private_fd(path: str | os.PathLike[str]) -> int:
    """*path* opened to be written; made readable by its owner only if it is new."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | os.O_EXCL, 0o600)
    except FileExistsError:
        return os.open(path, flags)  # the user's own file: its permissions are theirs
    if hasattr(os, "fchmod"):  # whatever the umask (POSIX)
        os.fchmod(fd, 0o600)
    return fd


def _open_private(path: str | os.PathLike[str]) -> TextIO:
    """*path* opened to write text to (`_private_fd`)."""
    return open(_private_fd(path), "w", encoding="utf-8", newline="")


def write_export(
    rows: Iterable[Row],
    extras: Iterable[Extra],
    out: str | os.PathLike[str] | TextIO,
    fmt: ExportFormat,
    *,
    columns: Sequence[str] = (),
    texts: bool = False,
    message: str | None = None,
    bom: bool | None = None,
) -> int:
    """
    Write *rows* (with their *extras*, merged by seq) to *out*, a path or an open text file.

    Args:
        rows: every input item, in order.
        extras: the items' kept cells and own texts, in order.
        out: a path, or (CSV and JSON) a text file opened by the caller and left open.
        fmt: ``"csv"``, ``"json"`` or ``"xlsx"``.
        columns: the names of the kept cells.
        texts: add the text each number gets (a message per row).
        message: the campaign's message, for the numbers without a text of their own.
        bom: start a CSV with a UTF-8 byte-order mark; ``None``: for a path only.

    Returns:
        The number of rows written.

    Raises:
        ValueError: an unknown *fmt*, or ``xlsx`` to an open text file.
        ImportError: ``xlsx`` without openpyxl.
    """
    if fmt not in ("csv", "json", "xlsx"):
        raise ValueError(f"expected an export format 'csv', 'json' or 'xlsx', got {fmt!r}")
    header = export_columns(columns, texts)
    body = _joined(rows, extras, len(columns), texts, message)
    if fmt == "json":
        if isinstance(out, str | os.PathLike):
            with _open_private(out) as file:
                return _write_json(header, body, file)
        return _write_json(header, body, out)
    table = _with_header(header, body)
    if fmt == "xlsx":
        if not isinstance(out, str | os.PathLike):
            raise ValueError("an .xlsx export is written to a path, not to an open text file")
        return _write_xlsx(table, Path(out))
    if isinstance(out, str | os.PathLike):
        with _open_private(out) as file:
            return _write_csv(table, file, bom is not False)
    return _write_csv(table, out, bool(bom))


def _with_header(header: Sequence[str], body: Iterable[Sequence[object]]) -> Iterator[Any]:
    yield header
    yield from body
