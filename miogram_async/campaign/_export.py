"""
Writing every input item of a campaign with its outcome: CSV (with a UTF-8 byte-order mark, so that
Excel reads Persian text as it is), JSON, or an .xlsx workbook (the ``xlsx`` extra); streamed.

Beside the outcome columns (`COLUMNS`) each row carries the numbers file's other cells, under the
file's own column names, and for a message per row the text the number gets. Every cell of a CSV or
a workbook is written through one function, `cell`: what a cell may hold is decided there, once.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO

from .storage import Extra, Row

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = ["COLUMNS", "MESSAGE_COLUMN", "ExportFormat", "cell", "export_columns", "write_export"]

ExportFormat = Literal["csv", "json", "xlsx"]

#: The outcome fields of every exported row, in order.
COLUMNS: Final = ("seq", "input", "number", "state", "error_code", "error", "robot")
#: The column of a message per row: the text the number gets.
MESSAGE_COLUMN: Final = "message"
#: What to install to write .xlsx workbooks.
_XLSX_EXTRA: Final = "pip install 'miogram-async[xlsx]'"
#: The UTF-8 byte-order mark, as a text file's first character.
_BOM: Final = "\ufeff"


def cell(value: object) -> str | int:
    """
    A value as one cell of a CSV file or a workbook: the one place every exported cell passes.

    ``None`` is an empty cell, an int stays a number, anything else is its text.
    """
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return str(value)


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
        writer.writerow([cell(value) for value in values])
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
        sheet.append([cell(value) for value in values])
    workbook.save(path)
    return count


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
            with Path(out).open("w", encoding="utf-8", newline="") as file:
                return _write_json(header, body, file)
        return _write_json(header, body, out)
    table = _with_header(header, body)
    if fmt == "xlsx":
        if not isinstance(out, str | os.PathLike):
            raise ValueError("an .xlsx export is written to a path, not to an open text file")
        return _write_xlsx(table, Path(out))
    if isinstance(out, str | os.PathLike):
        with Path(out).open("w", encoding="utf-8", newline="") as file:
            return _write_csv(table, file, bom is not False)
    return _write_csv(table, out, bool(bom))


def _with_header(header: Sequence[str], body: Iterable[Sequence[object]]) -> Iterator[Any]:
    yield header
    yield from body
