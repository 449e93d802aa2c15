"""
Reading the numbers of a campaign from a text or CSV file (or stdin).

The first column of every row is taken; a first row whose first cell has no digit is a header and is
skipped; blank lines and lines starting with ``#`` are skipped. Nothing is validated here: malformed
numbers go on to the campaign, which reports them ``INVALID`` and never sends them.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from typing import TextIO

from ._exit import CLIError

__all__ = ["first_column", "open_numbers"]

_DELIMITERS = (",", ";", "\t")


def open_numbers(source: str) -> TextIO:
    """
    Open *source* (a path, or ``-`` for stdin) for reading numbers.

    Raises:
        CLIError: (exit 2) the file does not exist or cannot be read.
    """
    if source == "-":
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:
            return sys.stdin
        return io.TextIOWrapper(buffer, encoding="utf-8-sig", newline="")
    try:
        stream = open(source, encoding="utf-8-sig", newline="")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise CLIError(f"cannot read the numbers file {source!r}: {exc.strerror or exc}") from None
    if not stream.seekable():
        # A pipe (``<(grep ... file)``): nothing can be read twice; bad text is reported later.
        return stream
    try:
        # Fail now, before a journal exists, on a directory or a file that is not text.
        stream.read(1)
        stream.seek(0)
    except (OSError, UnicodeDecodeError) as exc:
        stream.close()
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else exc.strerror or exc
        raise CLIError(f"cannot read the numbers file {source!r}: {reason}") from None
    return stream


def first_column(stream: TextIO) -> Iterator[str]:
    """Yield the first cell of every row of *stream*, one at a time (never the whole file)."""
    delimiter: str | None = None
    first = True
    for line in stream:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if delimiter is None:
            delimiter = next((d for d in _DELIMITERS if d in text), ",")
        cells = next(csv.reader([text], delimiter=delimiter), [])
        cell = cells[0].strip() if cells else ""
        if first:
            first = False
            if not any(char.isdigit() for char in cell):
                continue
        if cell:
            yield cell
