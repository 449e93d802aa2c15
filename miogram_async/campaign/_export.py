"""
Writing every input item of a campaign with its outcome, as CSV or JSON, streamed.

A CSV export is opened in spreadsheets, which run a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula (``=HYPERLINK(...)`` in a customer's name, a
message, an error text). Every CSV cell written, the header included, goes through `neutralise`
(OWASP's advice: such a cell gets a leading ``'``, which makes a spreadsheet take it as text) with
one exception: a cell that is only a number, with its sign, spaces, dots, dashes and brackets
(``+989121234567``, ``-5``, ``+98 (912) 123-4567``) stays as it is, so the ``number`` column reads
right. A spreadsheet may still read such a cell as a number (or as sums of numbers), but with
digits and those signs alone no formula can call a function or read another cell. JSON exports
are left as they are (no spreadsheet runs them).

Export files are created readable by their owner only (0600): they hold customers' numbers.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable
from typing import Final, Literal, TextIO

from .storage import Row

__all__ = ["COLUMNS", "ExportFormat", "neutralise", "write_rows"]

ExportFormat = Literal["csv", "json"]

#: The fields of every exported row, in order.
COLUMNS = ("seq", "input", "number", "state", "error_code", "error", "robot")

#: What a spreadsheet takes as the start of a formula (OWASP, "CSV Injection").
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
#: A number as written: a sign, digits and separators, nothing a formula could call.
_PLAIN_NUMBER: Final = re.compile(r"[+-]?[0-9][0-9 ().-]*")


def neutralise(cell: object) -> object:
    """
    *cell* as a CSV export writes it: a text a spreadsheet would run as a formula gets a ``'``.

    A plain number (see the module's notes) and anything that is not a text are left alone.
    """
    if (
        isinstance(cell, str)
        and cell.startswith(_FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(cell)
    ):
        return "'" + cell
    return cell


def _write(rows: Iterable[Row], out: TextIO, fmt: ExportFormat) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([neutralise(name) for name in COLUMNS])
        for row in rows:
            writer.writerow(["" if value is None else neutralise(value) for value in row])
            count += 1
        return count
    out.write("[")
    for row in rows:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _open_private(path: str | os.PathLike[str]) -> TextIO:
    """*path* opened to be written; made readable by its owner only if it is new."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | os.O_EXCL, 0o600)
    except FileExistsError:
        fd = os.open(path, flags)  # the user's own file: its permissions are theirs
    else:
        if hasattr(os, "fchmod"):  # whatever the umask (POSIX)
            os.fchmod(fd, 0o600)
    return open(fd, "w", encoding="utf-8", newline="")


def write_rows(rows: Iterable[Row], out: str | os.PathLike[str] | TextIO, fmt: ExportFormat) -> int:
    """
    Write *rows* to *out* (a path, or a text file opened by the caller and left open).

    Returns:
        The number of rows written.

    Raises:
        ValueError: *fmt* is neither ``"csv"`` nor ``"json"``.
    """
    if fmt not in ("csv", "json"):
        raise ValueError(f"expected an export format 'csv' or 'json', got {fmt!r}")
    if isinstance(out, str | os.PathLike):
        with _open_private(out) as file:
            return _write(rows, file, fmt)
    return _write(rows, out, fmt)
