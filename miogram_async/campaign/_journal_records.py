"""
The records a run hands to a campaign's storage, and how the SQLite journal stores numbers.

`NumberUpdate`, `ChunkStart`, `OutcomeGroup` and `ChunkEnd` are the shapes `Campaign` and its hooks
pass to either storage (`Journal`, `PostgresJournal`); `_journal` re-exports them. The rest is the
SQLite journal's own encoding: a number is kept as its digits (an integer), a chunk's numbers as one
BLOB, and long lists go into statements a slice at a time.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Final, TypeVar

from ._model import NumberState

__all__ = ["ChunkEnd", "ChunkStart", "NumberUpdate", "OutcomeGroup", "group_updates"]

_T = TypeVar("_T")

#: Numbers per ``IN (...)`` list (SQLite allows at least 999 parameters in one statement).
_IN_BATCH: Final = 500

#: (number, new state, error code, error text) for one number.
NumberUpdate = tuple[str, NumberState, int | None, str | None]
#: (chunk index, robot, numbers) of a chunk about to be sent.
ChunkStart = tuple[int, str | None, Sequence[str]]
#: (state, error code, error text, numbers, their seqs or None) for numbers that share an outcome.
OutcomeGroup = tuple[NumberState, int | None, str | None, Sequence[str], Sequence[int] | None]
#: (chunk index, outcome groups) of a chunk that got its answer.
ChunkEnd = tuple[int, Sequence[OutcomeGroup]]


def group_updates(updates: Iterable[NumberUpdate]) -> list[OutcomeGroup]:
    """*updates* as outcome groups (numbers only, no seqs)."""
    groups: dict[tuple[NumberState, int | None, str | None], list[str]] = {}
    for number, state, code, text in updates:
        groups.setdefault((state, code, text), []).append(number)
    return [(state, code, text, numbers, None) for (state, code, text), numbers in groups.items()]


def _digits(number: str) -> int:
    """The stored form of an E.164 number: its digits as an integer."""
    return int(number[1:])


def _e164(digits: int) -> str:
    return f"+{digits}"


def _pack(numbers: Sequence[str]) -> bytes:
    """A chunk's numbers as one BLOB: 8-byte little-endian integers."""
    packed = array("q", [int(number[1:]) for number in numbers])
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def _unpack(blob: bytes) -> list[int]:
    """The numbers (as stored integers) of a chunk's BLOB."""
    packed = array("q")
    packed.frombytes(blob)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tolist()


def _marks(batch: Sequence[object]) -> str:
    return ",".join("?" * len(batch))


def _batches(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """*items* in slices small enough for one statement's parameters."""
    for start in range(0, len(items), _IN_BATCH):
        yield items[start : start + _IN_BATCH]
