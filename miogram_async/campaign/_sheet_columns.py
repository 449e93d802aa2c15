"""
Which column of a numbers file holds the phone numbers, and whether its first row is a header.

Asked for by name or position, or else found: first by a header that names a phone column (English
or Persian, compared after `header_key` folds case, spaces, punctuation, the zero-width non-joiner
and the Arabic and Persian forms of the same letters), then by content: the column in which most
cells of a sample are valid numbers under the region. Every choice says how it was made
(`PhoneColumn.reason`), so that a wrong guess can be seen before anything is sent.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Sequence
from typing import Final, Literal

import attrs

from .._base.errors import ValidationError
from .._base.validation import normalize_phone

__all__ = ["GENERIC_HEADERS", "PHONE_HEADERS", "NumbersFileError", "PhoneColumn", "header_key"]

_SHOW_CHARS: Final = 40


class NumbersFileError(ValidationError):
    """
    A numbers file cannot be read: unreadable, undecodable, not a workbook, or no such column.

    Nothing was sent and no campaign was created from it.

    Attributes:
        option: the argument at fault (``"column"``, ``"sheet"`` or ``"encoding"``), or ``None``
            when it is the file itself.
    """

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


def _show(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= _SHOW_CHARS else shown[: _SHOW_CHARS - 4] + "...'"


# Letters written in more than one way in Persian text (Arabic keyboard layouts, Windows-1256,
# old fonts): folded to one form so that a header matches however it was typed.
_LETTERS: Final = str.maketrans(
    {
        "\u064a": "\u06cc",  # ي Arabic yeh -> ی Farsi yeh
        "\u0649": "\u06cc",  # ى alef maksura -> ی
        "\u0643": "\u06a9",  # ك Arabic kaf -> ک keheh
        "\u0629": "\u0647",  # ة teh marbuta -> ه
        "\u06d5": "\u0647",  # ە ae -> ه
        "\u06c0": "\u0647\u06cc",  # ۀ heh with yeh above (ezafe) -> هی
        "\u0623": "\u0627",  # أ إ آ ٱ -> ا
        "\u0625": "\u0627",
        "\u0622": "\u0627",
        "\u0671": "\u0627",
        "\u0640": None,  # tatweel (a letter modifier, not dropped with the marks below)
    }
)


def header_key(text: str) -> str:
    """
    *text* as compared with the known headers: case-folded, letters in one form, no trailing digits.

    Only letters and digits are kept (spaces, punctuation, ``#``, the zero-width non-joiner,
    diacritics and tatweel go), so ``Phone No.``, ``phone_no`` and ``PHONE NO`` are one key, and so
    are ``شماره‌ی تماس`` and ``شمارۀ تماس``. Trailing digits go too (``Mobile 2``).
    """
    folded = unicodedata.normalize("NFKC", text.translate(_LETTERS)).casefold().translate(_LETTERS)
    key = "".join(char for char in folded if unicodedata.category(char)[0] in "LN")
    while key and key[-1].isdigit():
        key = key[:-1]
    return key


def _keys(stems: Sequence[str], prefixes: Sequence[str], suffixes: Sequence[str]) -> set[str]:
    return {
        prefix + stem + suffix
        for prefix, stem, suffix in itertools.product(prefixes, stems, suffixes)
    }


_ENGLISH_STEMS: Final = (
    "phone",
    "mobile",
    "mobilephone",
    "mob",
    "cell",
    "cellphone",
    "cellular",
    "tel",
    "telephone",
    "msisdn",
)
_ENGLISH_SUFFIXES: Final = ("", "s", "no", "nos", "num", "number", "numbers")
# موبایل, تلفن, تلفن همراه, همراه, تماس (telephone, mobile, contact), with or without شماره (number)
# or شماره‌ی before them.
_PERSIAN_STEMS: Final = ("موبایل", "تلفن", "تلفنهمراه", "همراه", "تلفنتماس")
_PERSIAN_PREFIXES: Final = ("", "شماره", "شمارهی")

#: Keys (`header_key`) of the headers that name a phone column.
PHONE_HEADERS: Final = frozenset(
    _keys(_ENGLISH_STEMS, ("",), _ENGLISH_SUFFIXES)
    | _keys(("contact",), ("",), ("no", "num", "number"))
    | _keys(_PERSIAN_STEMS, _PERSIAN_PREFIXES, ("",))
    | {"شمارهتماس", "شمارهیتماس"}
)
#: Keys of headers that may name a phone column but also a row or an order: "number", شماره.
#: They count only when no header of `PHONE_HEADERS` holds numbers.
GENERIC_HEADERS: Final = frozenset({"number", "numbers", "no", "شماره", "شمارهها"})

How = Literal["asked", "header", "content", "first"]


@attrs.frozen
class PhoneColumn:
    """
    The column read for phone numbers, and why.

    Attributes:
        index: its position from 0.
        header: its header cell, or ``None`` when the file has no header row.
        how: ``"asked"`` (named or numbered by the caller), ``"header"`` (its header names a phone
            column), ``"content"`` (no header did; most of its sampled cells are valid numbers) or
            ``"first"`` (neither: the first column).
        valid: valid numbers among its cells in the sample.
        sampled: data rows in the sample.
    """

    index: int
    header: str | None
    how: How
    valid: int = 0
    sampled: int = 0

    @property
    def name(self) -> str:
        """The column's name as `SheetRow.cells` keys it: its header, or ``column N``."""
        return self.header if self.header else f"column {self.index + 1}"

    def __str__(self) -> str:
        shown = f" {_show(self.header)}" if self.header else ""
        return f"column {self.index + 1}{shown}"

    @property
    def reason(self) -> str:
        """Why this column was read, for a message."""
        if self.how == "asked":
            return "as asked"
        if self.how == "header":
            return "its header names a phone column"
        if self.how == "content":
            return (
                f"no header names a phone column; {self.valid:,} of the first {self.sampled:,} "
                "rows hold a valid number in it"
            )
        return "no header names a phone column and no column holds valid numbers"


def _is_valid(cell: str, region: str | None) -> bool:
    try:
        normalize_phone(cell, default_region=region)
    except ValidationError:
        return False
    return True


def _cell(row: Sequence[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def choose_column(
    first: Sequence[str],
    rest: Sequence[Sequence[str]],
    *,
    wanted: str | int | None,
    region: str | None,
    source: str,
) -> tuple[PhoneColumn, bool]:
    """
    The phone column, from the first data row and the sampled rows after it; whether *first* is a
    header row (and so not a data row).

    Raises:
        NumbersFileError: *wanted* names a column the first row does not have, or is below 1.
    """
    keys = [header_key(cell) for cell in first]
    if isinstance(wanted, str) and not wanted.strip().isdigit():
        key = header_key(wanted)
        exact = [index for index, cell in enumerate(first) if cell.strip() == wanted.strip()]
        matches = exact or [index for index, cell_key in enumerate(keys) if key and cell_key == key]
        if not matches:
            names = ", ".join(_show(cell.strip()) for cell in first)
            raise NumbersFileError(
                f"{source} has no column {wanted!r}; its first row is {names}", option="column"
            )
        return PhoneColumn(matches[0], first[matches[0]].strip(), "asked"), True
    sample = [first, *rest]
    width = max(len(row) for row in sample)
    valid = [sum(_is_valid(_cell(row, index), region) for row in sample) for index in range(width)]
    named = any(key in PHONE_HEADERS for key in keys)
    if wanted is not None:
        position = int(wanted.strip()) if isinstance(wanted, str) else wanted
        if isinstance(position, bool) or position < 1:
            raise NumbersFileError(
                f"expected a column name or a position from 1, got {wanted!r}", option="column"
            )
        index: int = position - 1
        how: How = "asked"
    else:
        index, how = _find(keys, valid)
    cell = _cell(first, index)
    # A first row is a header when it names a phone column, or when the chosen column's cell in it
    # has no digit (``name``, ``نام``); ``09121234567``, ``12`` or ``0912-bad`` is data, so that no
    # data row is ever taken for a header and lost.
    header = named or not any(char.isdigit() for char in cell)
    count = valid[index] if index < width else 0
    if header and _is_valid(cell, region):
        count -= 1
    return PhoneColumn(index, cell if header else None, how, count, len(sample) - header), header


def _find(keys: Sequence[str], valid: Sequence[int]) -> tuple[int, How]:
    """By header (the one holding most valid numbers), else by content, else the first column."""
    for known in (PHONE_HEADERS, GENERIC_HEADERS):
        named = [index for index, key in enumerate(keys) if key in known]
        best = max(named, key=lambda index: (valid[index], -index), default=None)
        if best is not None and valid[best] > 0:
            return best, "header"
    best = max(range(len(valid)), key=lambda index: (valid[index], -index))
    if valid[best] > 0:
        return best, "content"
    named = [index for index, key in enumerate(keys) if key in PHONE_HEADERS | GENERIC_HEADERS]
    if named:
        return named[0], "header"
    return 0, "first"
