"""
A numbers file read as rows: a CSV or text file in the encodings spreadsheets write, or a workbook.

`NumbersFile` opens the file, tells its kind (an .xlsx workbook by its bytes, else text) and its
encoding (`_sheet_text`), picks the phone column (`_sheet_columns`) from a sample of rows, and then
hands out the data rows one at a time: the file is never read whole, whatever its size. Every data
row is accounted for: a row whose phone cell is empty is handed out too (`numbers` makes it an
`InvalidInput` naming its row, which the journal records ``INVALID``), so that the rows read always
add up: ``valid + invalid + empty == rows``, and a new campaign's total is ``rows``.

A *data row* is any row after the header that has a non-empty cell; blank rows (and, in a text file,
``#`` comment lines) are not data.
"""

from __future__ import annotations

import collections
import io
import itertools
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final, Literal, Self, cast

import attrs

from .._base.errors import ValidationError
from .._base.validation import normalize_phone
from ._inputs import InputItem, InvalidInput
from ._sheet_columns import NumbersFileError, PhoneColumn, choose_column
from ._sheet_text import open_text, read_head, text_rows
from ._sheet_xlsx import XLS_MAGIC, XLSX_MAGIC, XlsxSheet

__all__ = ["NumbersFile", "NumbersFileError", "PhoneColumn", "ReadCounts", "SheetRow"]

# Rows sampled to pick the column; from a pipe two only, so as not to wait for rows not yet written.
_SAMPLE_ROWS: Final = 50
_PIPE_SAMPLE_ROWS: Final = 2
_EXAMPLES: Final = 3
_EMPTY_ROWS: Final = 5

#: A numbers file: a path, a binary file object, or text lines (read as CSV).
NumbersSource = str | os.PathLike[str] | BinaryIO | Iterable[str]


@attrs.frozen
class SheetRow:
    """
    One data row of a numbers file.

    Attributes:
        row: its row number as the user sees it: a workbook's row number; in a text file, its
            position counting every row before it (header, blank and comment rows included), which
            is the row number a spreadsheet shows and the line number unless a cell spans lines.
        phone: the phone cell's text, stripped; ``""`` when the cell is empty.
        cells: the row's other cells by column name (`NumbersFile.columns`: the header's names,
            ``column N`` where there is none), in column order, as they are in the file (cells
            missing at the end of a short row are ``""``).
    """

    row: int
    phone: str
    cells: Mapping[str, str]


@attrs.frozen
class ReadCounts:
    """
    What the data rows read so far held, in the phone column.

    ``valid + invalid + empty == rows`` at every moment. Repeats are not told apart here: a new
    campaign records them ``DUPLICATE``.

    Attributes:
        rows: data rows read.
        valid: rows whose phone cell is a valid number (under the region).
        invalid: rows whose phone cell is not empty and not a valid number.
        empty: rows whose phone cell is empty.
        invalid_examples: (row, cell) of the first three invalid rows.
        empty_rows: the row numbers of the first five empty rows.
    """

    rows: int
    valid: int
    invalid: int
    empty: int
    invalid_examples: tuple[tuple[int, str], ...]
    empty_rows: tuple[int, ...]


def _empty(row: int) -> InvalidInput:
    return InvalidInput("", f"row {row}: the phone cell is empty")


def _unique_names(header: list[str]) -> list[str]:
    """The header's cells as column names: stripped, ``column N`` when blank, repeats numbered."""
    names: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(header):
        name = cell.strip() or f"column {index + 1}"
        candidate, copy = name, 1
        while candidate in seen:
            copy += 1
            candidate = f"{name} ({copy})"
        seen.add(candidate)
        names.append(candidate)
    return names


class NumbersFile:
    """
    The data rows of a numbers file, streamed, with the phone column picked and every row counted.

    Reading starts when the column is first asked for or the rows are first iterated; iterate
    `rows` or `numbers` once (they share one stream). Use it as a context manager, or `close` it.
    `Campaign.create` takes one as its numbers.

    Args:
        source: a path (an .xlsx workbook, told by its content, or a text/CSV file), a binary file
            object (stdin's buffer), or text lines already decoded.
        column: the phone column: a header name or a position from 1; ``None`` finds it (by a
            header naming a phone column, else by the column holding most valid numbers in the
            first rows, else the first column; `column` says which and why).
        sheet: a workbook's sheet (a name or a position from 1); ``None`` reads the first.
        encoding: a text file's encoding (any Python codec name); ``None`` tells UTF-8 (with or
            without a byte-order mark), UTF-16 (with one) and Windows-1256 apart.
        region: the region numbers are read in (as `normalize_phone`), to count them and to find
            the column.
        name: how messages name the file (default: its path, quoted).

    Attributes:
        name: how messages name the file.
        kind: ``"xlsx"`` or ``"text"``.
        encoding: a text file's encoding as messages name it (``UTF-8``, ``Windows-1256``...);
            ``None`` for a workbook or text lines.
        sheet: the workbook sheet read, or ``None``.

    Raises:
        NumbersFileError: the file cannot be opened, is of an unreadable kind (.xls), cannot be
            decoded, lacks the sheet asked for, or (an .xlsx file) the ``xlsx`` extra is missing.
            Errors about its rows (no such column, bad CSV, bytes not in the encoding further on)
            come when they are read.
    """

    def __init__(
        self,
        source: NumbersSource,
        *,
        column: str | int | None = None,
        sheet: str | int | None = None,
        encoding: str | None = None,
        region: str | None = "IR",
        name: str | None = None,
    ) -> None:
        self._wanted = column
        self._region = region
        self.encoding: str | None = None
        self.sheet: str | None = None
        self.kind: Literal["xlsx", "text"] = "text"
        self._owned: list[io.IOBase | XlsxSheet] = []
        self._text: io.TextIOWrapper | None = None
        if isinstance(source, str | os.PathLike):
            self.name = name if name is not None else repr(os.fspath(source))
            raw = self._open(source)
        elif isinstance(source, io.RawIOBase | io.BufferedIOBase):
            self.name = name if name is not None else repr(getattr(source, "name", "the file"))
            raw = cast(BinaryIO, source)
        else:
            self.name = name if name is not None else "the numbers lines"
            if encoding is not None or sheet is not None:
                raise NumbersFileError("text lines take no encoding or sheet")
            seekable = getattr(source, "seekable", None)
            pipe = not (callable(seekable) and seekable())
            lines = cast(Iterable[str], source)
            self._records = text_rows(lines, pipe=pipe, source=self.name, decoding=None)
            self._sample = _PIPE_SAMPLE_ROWS if pipe else _SAMPLE_ROWS
            return
        try:
            self._records, self._sample = self._read(raw, source, sheet=sheet, encoding=encoding)
        except BaseException:
            self.close()
            raise

    def _open(self, path: str | os.PathLike[str]) -> BinaryIO:
        try:
            raw = open(path, "rb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise NumbersFileError(f"cannot read {self.name}: {exc.strerror or exc}") from None
        self._owned.append(raw)
        return raw

    def _read(
        self,
        raw: BinaryIO,
        source: NumbersSource,
        *,
        sheet: str | int | None,
        encoding: str | None,
    ) -> tuple[Iterator[tuple[int, list[str]]], int]:
        try:
            head = read_head(raw)
            seekable = raw.seekable()
        except OSError as exc:
            raise NumbersFileError(f"cannot read {self.name}: {exc.strerror or exc}") from None
        if head.startswith(XLS_MAGIC):
            raise NumbersFileError(
                f"{self.name} is an Excel 97-2003 workbook (.xls), which is not read: save it "
                "as .xlsx or CSV"
            )
        path = isinstance(source, str | os.PathLike)
        suffix = Path(os.fspath(source)).suffix.lower() if path else ""  # type: ignore[arg-type]
        if head.startswith(XLSX_MAGIC) or suffix in (".xlsx", ".xlsm"):
            if not head.startswith(XLSX_MAGIC) or not seekable:
                why = "is not a workbook" if seekable else "cannot be read from a pipe"
                raise NumbersFileError(f"{self.name}: an .xlsx workbook {why}; give its path")
            if encoding is not None:
                raise NumbersFileError(
                    f"{self.name} is an .xlsx workbook: an encoding applies to text files only",
                    option="encoding",
                )
            raw.seek(0)
            # The open file, not its path: openpyxl refuses a path not named .xlsx or .xlsm.
            workbook = XlsxSheet(raw, sheet, self.name)
            self._owned.append(workbook)
            self.kind, self.sheet = "xlsx", workbook.name
            return workbook.rows(), _SAMPLE_ROWS
        if sheet is not None:
            raise NumbersFileError(
                f"{self.name} is a text file: a sheet applies to .xlsx workbooks only",
                option="sheet",
            )
        text, decoding = open_text(raw, head, encoding=encoding, source=self.name)
        self._text = text
        self.encoding = decoding.label
        records = text_rows(text, pipe=not seekable, source=self.name, decoding=decoding)
        return records, _SAMPLE_ROWS if seekable else _PIPE_SAMPLE_ROWS

    # Reading

    _column: PhoneColumn | None = None

    def _prepare(self) -> PhoneColumn:
        if self._column is not None:
            return self._column
        sample = list(itertools.islice(self._records, self._sample))
        self._names: list[str] = []
        self._rows = self._valid = self._invalid = self._empty = 0
        self._examples: list[tuple[int, str]] = []
        self._empty_rows: list[int] = []
        self._ready: collections.deque[tuple[int, str, list[str]]] = collections.deque()
        if not sample:
            self._column = PhoneColumn(0, None, "first")
            self._data: Iterator[tuple[int, str, list[str]]] = iter(())
            return self._column
        (_, first), rest = sample[0], sample[1:]
        column, header = choose_column(
            first,
            [cells for _, cells in rest],
            wanted=self._wanted,
            region=self._region,
            source=self.name,
        )
        width = max(len(cells) for _, cells in sample)
        names = _unique_names(first) if header else []
        self._names = names + [f"column {index + 1}" for index in range(len(names), width)]
        self._column = column
        self._data = self._count(itertools.chain(rest if header else sample, self._records))
        return column

    def _count(
        self, records: Iterator[tuple[int, list[str]]]
    ) -> Iterator[tuple[int, str, list[str]]]:
        assert self._column is not None
        index, region = self._column.index, self._region
        for row, cells in records:
            phone = cells[index].strip() if index < len(cells) else ""
            self._rows += 1
            if not phone:
                self._empty += 1
                if len(self._empty_rows) < _EMPTY_ROWS:
                    self._empty_rows.append(row)
            else:
                try:
                    normalize_phone(phone, default_region=region)
                except ValidationError:
                    self._invalid += 1
                    if len(self._examples) < _EXAMPLES:
                        self._examples.append((row, phone))
                else:
                    self._valid += 1
            yield row, phone, cells

    def _take(self) -> Iterator[tuple[int, str, list[str]]]:
        self._prepare()
        while self._ready:
            yield self._ready.popleft()
        yield from self._data

    @property
    def column(self) -> PhoneColumn:
        """The phone column (reads the first rows to find it)."""
        return self._prepare()

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column's name, in order, the phone column's included (reads the first rows)."""
        self._prepare()
        return tuple(self._names)

    @property
    def counts(self) -> ReadCounts:
        """What the data rows read so far held."""
        self._prepare()
        return ReadCounts(
            rows=self._rows,
            valid=self._valid,
            invalid=self._invalid,
            empty=self._empty,
            invalid_examples=tuple(self._examples),
            empty_rows=tuple(self._empty_rows),
        )

    def read_to_first_valid(self) -> bool:
        """
        Read ahead up to the first row with a valid number (kept for the iteration).

        Returns:
            Whether there is one: ``False`` means the whole file was read without finding any.
        """
        self._prepare()
        if self._valid:
            return True
        for item in self._data:
            self._ready.append(item)
            if self._valid:
                return True
        return False

    def rows(self) -> Iterator[SheetRow]:
        """Every data row, in file order."""
        index = self._prepare().index
        names = self._names
        for row, phone, cells in self._take():
            others = {
                names[position] if position < len(names) else f"column {position + 1}": cell
                for position, cell in enumerate(cells)
                if position != index
            }
            for position in range(len(cells), len(names)):
                if position != index:
                    others[names[position]] = ""
            yield SheetRow(row, phone, others)

    def records(self) -> Iterator[tuple[int, str, list[str]]]:
        """
        Every data row as (row number, phone cell stripped, every cell as in the file), in file
        order: what `rows` is made of, without building a mapping per row.
        """
        return self._take()

    def numbers(self) -> Iterator[InputItem]:
        """
        Every data row's phone cell, as a new campaign takes them: an empty cell as an
        `InvalidInput` naming its row.
        """
        self._prepare()
        while self._ready:
            row, phone, _ = self._ready.popleft()
            yield phone if phone else _empty(row)
        # The common path of a big file: straight from the counting generator, one layer less.
        for row, phone, _ in self._data:
            yield phone if phone else _empty(row)

    def close(self) -> None:
        """Close what this object opened (a binary file object passed in is left open)."""
        if self._text is not None and not self._owned:
            self._text.detach()  # the caller's stream: not ours to close
        elif self._text is not None:
            self._text.close()
        self._text = None
        while self._owned:
            self._owned.pop().close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
