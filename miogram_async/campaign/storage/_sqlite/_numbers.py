"""
How the SQLite journal stores numbers, and long lists of them in statements.

A number is kept as its digits (an integer: "+989121234567" is 989121234567, 6 bytes), a chunk's
numbers as one BLOB of 8-byte little-endian integers, and a list longer than one statement's
parameters goes in a slice at a time.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, Sequence
from typing import Final, TypeVar

__all__ = ["batches", "digits", "e164", "marks", "pack", "unpack"]

_T = TypeVar("_T")

#: Numbers per ``IN (...)`` list (SQLite allows at least 999 parameters in one statement).
_IN_BATCH: Final = 500


def digits(number: str) -> int:
    """The stored form of an E.164 number: its digits as an integer."""
    return int(number[1:])


def e164(stored: int) -> str:
    """The E.164 form of a stored number."""
    return f"+{stored}"


def pack(numbers: Sequence[str]) -> bytes:
    """A chunk's numbers as one BLOB: 8-byte little-endian integers."""
    packed = array("q", [int(number[1:]) for number in numbers])
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def unpack(blob: bytes) -> list[int]:
    """The numbers (as stored integers) of a chunk's BLOB."""
    packed = array("q")
    packed.frombytes(blob)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tolist()


def marks(batch: Sequence[object]) -> str:
    """The ``?, ?, ...`` placeholders of an ``IN (...)`` list of *batch*."""
    return ",".join("?" * len(batch))


def batches(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """*items* in slices small enough for one statement's parameters."""
    for start in range(0, len(items), _IN_BATCH):
        yield items[start : start + _IN_BATCH]
