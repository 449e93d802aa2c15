"""
Reading the numbers of a campaign from a text or CSV file (or stdin).

The file is read with the csv module, one row at a time (never the whole file): the dialect is
sniffed from the first lines, so commas, semicolons, tabs and bars all separate columns, and
quoted cells may hold separators and line breaks. One column is taken: the one ``--column`` names
(a header name or a 1-based position), else the first whose header names a phone column
(`PHONE_HEADERS`), else the first. Blank rows and rows starting with ``#`` are skipped.

Each number is checked as it goes by, so that a file with no valid number at all is refused
before a journal exists, and a mostly invalid file gets a warning. Malformed numbers still go on
to the campaign, which records them ``INVALID`` and never sends them.
"""

from __future__ import annotations

import collections
import csv
import io
import itertools
import sys
from collections.abc import Iterable, Iterator
from typing import Final, TextIO

from .._base.errors import ValidationError
from .._base.validation import normalize_phone
from ._exit import CLIError

__all__ = ["PHONE_HEADERS", "NumbersReader", "open_numbers"]

#: Header names (compared case-insensitively, without spaces, dashes or underscores) that mark
#: the column holding the numbers.
PHONE_HEADERS: Final = frozenset(
    {
        "phone",
        "phones",
        "phonenumber",
        "mobile",
        "mobilenumber",
        "cellphone",
        "number",
        "tel",
        "telephone",
        "msisdn",
        "شماره",
        "موبایل",
        "شمارهموبایل",
        "شمارهتلفن",
        "تلفن",
    }
)

_DELIMITERS: Final = ",;\t|"
# The sniffer reads this much of a file; the rest is never held in memory. From a pipe (stdin, a
# producer still writing) it takes two rows only, so as not to wait for lines not yet written.
_SAMPLE_LINES: Final = 50
_PIPE_SAMPLE_ROWS: Final = 2
_SAMPLE_CHARS: Final = 32 * 1024
_EXAMPLES: Final = 3
_SHOW_CHARS: Final = 40


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


def _header_key(cell: str) -> str:
    return "".join(char for char in cell.casefold() if char not in " _-\u200c\ufeff")


def _show(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= _SHOW_CHARS else shown[: _SHOW_CHARS - 4] + "...'"


def _is_comment_or_blank(line: str) -> bool:
    text = line.strip()
    return not text or text.startswith("#")


def _sniff(sample: list[str]) -> type[csv.Dialect] | csv.Dialect:
    """The sample's dialect; the plain comma dialect when it cannot be told (a single column)."""
    text = "".join(line for line in sample if not _is_comment_or_blank(line))
    if not text:
        return csv.excel
    try:
        dialect = csv.Sniffer().sniff(text, delimiters=_DELIMITERS)
    except csv.Error:
        return csv.excel
    if dialect.delimiter not in text:
        return csv.excel
    return dialect


class NumbersReader:
    """
    The numbers of one column of a numbers file, with counts of what was read.

    Iterate it once (`Campaign.create` does); `first_valid` may be called before, to refuse a
    file without any valid number before a journal is created.

    Attributes:
        column: how the column read is described in messages (``column 2 'phone'``).
        valid: numbers that are valid phone numbers (under *region*).
        invalid: numbers that are not; `examples` holds the first three.
    """

    def __init__(
        self,
        stream: Iterable[str],
        *,
        column: str | None = None,
        region: str | None = "IR",
        source: str = "the numbers file",
    ) -> None:
        self._lines = iter(stream)
        seekable = getattr(stream, "seekable", None)
        self._sample_rows = (
            _SAMPLE_LINES if callable(seekable) and seekable() else _PIPE_SAMPLE_ROWS
        )
        self._wanted = column
        self._region = region
        self._source = source
        self._index = 0
        self.column = "column 1"
        self.valid = 0
        self.invalid = 0
        self.examples: list[str] = []
        self._buffer: collections.deque[str] = collections.deque()
        self._cells = self._read()

    def __iter__(self) -> Iterator[str]:
        while self._buffer:
            yield self._buffer.popleft()
        yield from self._cells

    @property
    def total(self) -> int:
        """Numbers read so far (valid and invalid; blank cells are not counted)."""
        return self.valid + self.invalid

    def first_valid(self) -> None:
        """
        Read ahead up to the first valid number (kept for the iteration).

        Raises:
            CLIError: (exit 2) the file holds no valid number in the column read.
        """
        for cell in self._cells:
            self._buffer.append(cell)
            if self.valid:
                return
        raise CLIError(self.no_valid_message(), kind="input")

    def no_valid_message(self) -> str:
        """Why the file was refused: the column read and what was in it."""
        where = f"{self.column} of {self._source}"
        if not self.total:
            return f"{where} holds no number; pick the column with --column NAME|N"
        examples = ", ".join(_show(example) for example in self.examples)
        return (
            f"{where} holds no valid phone number ({self.invalid:,} entries, e.g. {examples}); "
            "pick the column with --column NAME|N, or the region with --region"
        )

    def mostly_invalid(self) -> str | None:
        """A warning when more than half of the numbers read are invalid, else ``None``."""
        if self.invalid * 2 <= self.total:
            return None
        examples = ", ".join(_show(example) for example in self.examples)
        return (
            f"warning: {self.invalid:,} of {self.total:,} numbers in {self.column} of "
            f"{self._source} are not valid phone numbers (e.g. {examples}); they are recorded "
            "INVALID and not sent"
        )

    def _read(self) -> Iterator[str]:
        sample: list[str] = []
        size = rows = 0
        for line in self._lines:
            sample.append(line.removeprefix("\ufeff") if not sample else line)
            size += len(line)
            rows += not _is_comment_or_blank(line)
            if rows >= self._sample_rows or len(sample) >= _SAMPLE_LINES or size >= _SAMPLE_CHARS:
                break
        reader = csv.reader(itertools.chain(sample, self._lines), _sniff(sample))
        first = True
        try:
            for row in reader:
                if not row or not any(cell.strip() for cell in row):
                    continue
                if row[0].lstrip().startswith("#"):
                    continue
                if first:
                    first = False
                    if self._choose_column(row):
                        continue
                cell = row[self._index].strip() if self._index < len(row) else ""
                if not cell:
                    continue
                self._check(cell)
                yield cell
        except csv.Error as exc:
            raise CLIError(
                f"cannot read {self._source} as CSV near line {reader.line_num}: {exc}",
                kind="input",
            ) from None

    def _choose_column(self, row: list[str]) -> bool:
        """Pick the column from the first row; whether that row is a header (not a number)."""
        keys = [_header_key(cell) for cell in row]
        wanted = self._wanted
        if wanted is not None and not wanted.strip().isdigit():
            key = _header_key(wanted)
            if key not in keys:
                names = ", ".join(_show(cell.strip()) for cell in row)
                raise CLIError(
                    f"--column {wanted!r}: {self._source} has no such column; its first row "
                    f"is {names}",
                    kind="input",
                )
            self._index = keys.index(key)
            self.column = f"column {self._index + 1} {_show(row[self._index].strip())}"
            return True
        if wanted is not None:
            position = int(wanted.strip())
            if position < 1:
                raise CLIError(f"--column: expected a name or a position from 1, got {wanted!r}")
            self._index = position - 1
        else:
            self._index = next((index for index, key in enumerate(keys) if key in PHONE_HEADERS), 0)
        cell = row[self._index].strip() if self._index < len(row) else ""
        header = not any(char.isdigit() for char in cell)
        self.column = f"column {self._index + 1}" + (f" {_show(cell)}" if header and cell else "")
        return header

    def _check(self, cell: str) -> None:
        try:
            normalize_phone(cell, default_region=self._region)
        except ValidationError:
            self.invalid += 1
            if len(self.examples) < _EXAMPLES:
                self.examples.append(cell)
        else:
            self.valid += 1
