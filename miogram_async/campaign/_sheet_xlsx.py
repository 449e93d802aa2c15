"""
Numbers in an .xlsx workbook, read row by row (the ``xlsx`` extra: openpyxl in read-only mode).

openpyxl's read-only mode parses the sheet as it is iterated, so rows are never all in memory; the
workbook's shared-strings table (every distinct text of the workbook) is. Cells come as Excel keeps
them: a number typed into a cell is a number (``9121234567``, its leading ``0`` gone), which reads
as its digits; dates read as ISO text; formulas as the value Excel last computed.
"""

from __future__ import annotations

import datetime
import os
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, BinaryIO, Final

from ._sheet_columns import NumbersFileError

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

__all__ = ["XLSX_EXTRA", "XLSX_MAGIC", "XLS_MAGIC", "XlsxSheet"]

#: A zip archive (an .xlsx workbook is one); and an Excel 97-2003 workbook (.xls).
XLSX_MAGIC: Final = b"PK\x03\x04"
XLS_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: What to install to read .xlsx workbooks.
XLSX_EXTRA: Final = "pip install 'miogram-async[xlsx]'"

# Whole floats below this are integers typed as numbers (a phone number); above it they are
# beyond a float's exact integers and keep their float form.
_EXACT_FLOAT: Final = 2.0**53


def _load(path: str | os.PathLike[str] | BinaryIO, source: str) -> Workbook:
    try:
        import openpyxl  # noqa: PLC0415 - optional dependency, the `xlsx` extra
        from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415
    except ImportError:
        raise NumbersFileError(
            f"{source} is an .xlsx workbook; reading one needs openpyxl: {XLSX_EXTRA}"
        ) from None
    try:
        with warnings.catch_warnings():
            # openpyxl warns about parts it does not read (data validation, default styles): not
            # the user's business when only cell values are wanted.
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError) as exc:
        raise NumbersFileError(f"cannot read {source} as an .xlsx workbook: {exc}") from None


def _text(value: object) -> str:
    """A cell's value as text, the way the user sees it in the cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT_FLOAT:
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _pick(names: Sequence[str], wanted: str | int | None, source: str) -> int:
    """The position of the sheet *wanted* names (a name, else a position from 1); else the first."""
    if not names:
        raise NumbersFileError(f"{source} has no worksheet")
    if wanted is None:
        return 0
    text = str(wanted).strip()
    for candidates in (names, [name.strip().casefold() for name in names]):
        key = text if candidates is names else text.casefold()
        if key in candidates:
            return list(candidates).index(key)
    if text.isdigit() and 1 <= int(text) <= len(names):
        return int(text) - 1
    shown = ", ".join(repr(name) for name in names)
    raise NumbersFileError(f"{source} has no sheet {wanted!r}; its sheets are {shown}", "sheet")


class XlsxSheet:
    """
    One sheet of a workbook, open for reading.

    Attributes:
        name: the sheet's name.
    """

    def __init__(
        self, path: str | os.PathLike[str] | BinaryIO, sheet: str | int | None, source: str
    ) -> None:
        self._workbook = _load(path, source)
        try:
            sheets = self._workbook.worksheets
            chosen = sheets[_pick([ws.title for ws in sheets], sheet, source)]
        except BaseException:
            self._workbook.close()
            raise
        self.name = chosen.title
        self._sheet = chosen

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells as text) of every row that has a non-empty cell."""
        reset = getattr(self._sheet, "reset_dimensions", None)
        if callable(reset):
            # The size the file declares may be wrong (some programs write none or a stale one);
            # read every row there is instead, so that no row is silently cut off.
            reset()
        # openpyxl yields an empty row for each row the sheet skips, so the count is the number.
        for number, values in enumerate(self._sheet.iter_rows(values_only=True), 1):
            cells = [_text(value) for value in values]
            if any(cell.strip() for cell in cells):
                yield number, cells

    def close(self) -> None:
        """Close the workbook's file."""
        self._workbook.close()
