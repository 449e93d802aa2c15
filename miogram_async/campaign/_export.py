"""Writing every input item of a campaign with its outcome, as CSV or JSON, streamed."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, TextIO

from .storage import Row

__all__ = ["COLUMNS", "ExportFormat", "write_rows"]

ExportFormat = Literal["csv", "json"]

#: The fields of every exported row, in order.
COLUMNS = ("seq", "input", "number", "state", "error_code", "error", "robot")


def _write(rows: Iterable[Row], out: TextIO, fmt: ExportFormat) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(["" if value is None else value for value in row])
            count += 1
        return count
    out.write("[")
    for row in rows:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


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
        with Path(out).open("w", encoding="utf-8", newline="") as file:
            return _write(rows, file, fmt)
    return _write(rows, out, fmt)
