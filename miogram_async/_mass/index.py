"""
The outcome of one number of a Mass send, and `KeyIndex`: the compact store of every number's.
"""

from __future__ import annotations

import enum
from array import array
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["KeyIndex", "Outcome"]


class Outcome(enum.StrEnum):
    """What happened to one number of a Mass send."""

    #: The service said ``true`` for it, or (settled) its agent's history shows the message.
    DELIVERED = "delivered"
    #: The service said ``false`` for it (not charged). Never the settle step's answer.
    UNDELIVERED = "undelivered"
    #: Its chunk was provably refused before anything was sent; the error is in ``errors``.
    FAILED = "failed"
    #: Its request may have reached the service, and nothing said what happened to it.
    UNKNOWN = "unknown"
    #: The fan-out stopped before its chunk was sent.
    NOT_ATTEMPTED = "not_attempted"
    #: It failed client-side validation; never sent.
    INVALID = "invalid"
    #: Settled from evidence (`MioGram.settle_unknown`): it was ``UNKNOWN``, and the history of
    #: the agent that sent its chunk, read after the gateway drained, holds no such message. Not
    #: delivered as far as the service can tell; re-sent only when the caller asks (E50).
    ABSENT = "absent"


#: Every outcome in a fixed order: an outcome is stored as its position here, in one byte.
_OUTCOMES: Final = tuple(Outcome)
_CODES: Final[Mapping[Outcome, int]] = MappingProxyType(
    {outcome: code for code, outcome in enumerate(_OUTCOMES)}
)
#: An E.164 number is "+" and at most 15 digits; up to 18 still fit a signed 64-bit integer.
_MAX_DIGITS: Final = 18


def _number_value(key: str) -> int:
    """
    *key* as a positive integer if it is ``+`` and ASCII digits not starting with 0, else -1.

    Such a key is exactly ``f"+{value}"``, so the integer stands for it without loss; any other
    key (a raw invalid input, a number a custom normaliser shaped otherwise) is kept as a string.
    """
    digits = key[1:]
    if (
        key[:1] == "+"
        and 0 < len(digits) <= _MAX_DIGITS
        and digits[0] != "0"
        and digits.isascii()
        and digits.isdigit()
    ):
        return int(digits)
    return -1


class KeyIndex:
    """
    The distinct keys of a Mass send in input order, each with a one-byte outcome.

    A number like ``+989121234567`` is kept as an integer in an ``array('q')`` and found through
    an open-addressing table of positions (an ``array`` too), so a million numbers take about 17
    MiB instead of the ~90 MiB a ``dict[str, Outcome]`` needs. Any other key is kept as a string
    (in ``keys`` as ``~n``, *n* its place in the list of strings). The fan-out builds one while it
    reads the input; `MassResult` reads it.
    """

    __slots__ = ("_outcomes", "_str_positions", "_strings", "_table", "keys")

    def __init__(self) -> None:
        #: The keys in input order: a number's value (> 0), or ``~n`` for the n-th string key.
        self.keys = array("q")
        self._outcomes = bytearray()
        self._strings: list[str] = []
        self._str_positions: dict[str, int] = {}
        # Slot -> position + 1 of a number key (0: free); a power of two, at most 2/3 full.
        self._table = array("i", [0]) * 8

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: str, outcome: Outcome) -> int:
        """Append *key* with *outcome*; its position, or -1 (and nothing changes) if present."""
        # `_number_value` inlined: this runs once per input number.
        digits = key[1:]
        if (
            key[:1] == "+"
            and 0 < len(digits) <= _MAX_DIGITS
            and digits[0] != "0"
            and digits.isascii()
            and digits.isdigit()
        ):
            value = int(digits)
        else:
            if key in self._str_positions:
                return -1
            position = len(self.keys)
            self._str_positions[key] = position
            self.keys.append(~len(self._strings))
            self._strings.append(key)
            self._outcomes.append(_CODES[outcome])
            return position
        table = self._table
        mask = len(table) - 1
        keys = self.keys
        # CPython's own probe for int keys: the value itself, then perturbed steps.
        slot = value & mask
        perturb = value
        while True:
            found = table[slot]
            if found == 0:
                break
            if keys[found - 1] == value:
                return -1
            perturb >>= 5
            slot = (slot * 5 + perturb + 1) & mask
        position = len(keys)
        keys.append(value)
        self._outcomes.append(_CODES[outcome])
        table[slot] = position + 1
        if 3 * len(keys) >= 2 * len(table):
            self._rehash(2 * len(table))
        return position

    def find(self, key: object) -> int:
        """The position of *key*, or -1."""
        if not isinstance(key, str):
            return -1
        value = _number_value(key)
        if value < 0:
            return self._str_positions.get(key, -1)
        table = self._table
        mask = len(table) - 1
        keys = self.keys
        slot = value & mask
        perturb = value
        while True:
            found = table[slot]
            if found == 0:
                return -1
            if keys[found - 1] == value:
                return found - 1
            perturb >>= 5
            slot = (slot * 5 + perturb + 1) & mask

    def _rehash(self, size: int) -> None:
        """Rebuild the table with *size* slots (a power of two)."""
        # Positions + 1 fit 32 bits up to two billion keys; beyond, 64.
        table = array("i" if size < 2**31 else "q", [0]) * size
        mask = size - 1
        for position, value in enumerate(self.keys):
            if value < 0:
                continue
            slot = value & mask
            perturb = value
            while table[slot]:
                perturb >>= 5
                slot = (slot * 5 + perturb + 1) & mask
            table[slot] = position + 1
        self._table = table

    def key(self, position: int) -> str:
        """The key at *position*."""
        value = self.keys[position]
        return f"+{value}" if value > 0 else self._strings[~value]

    def outcome(self, position: int) -> Outcome:
        """The outcome at *position*."""
        return _OUTCOMES[self._outcomes[position]]

    def set(self, position: int, outcome: Outcome) -> None:
        """Change the outcome at *position*."""
        self._outcomes[position] = _CODES[outcome]

    def set_many(self, positions: Iterable[int], outcome: Outcome) -> None:
        """Give every position of *positions* the same *outcome*."""
        code = _CODES[outcome]
        outcomes = self._outcomes
        for position in positions:
            outcomes[position] = code

    def __iter__(self) -> Iterator[str]:
        strings = self._strings
        for value in self.keys:
            yield f"+{value}" if value > 0 else strings[~value]

    def count(self, outcome: Outcome) -> int:
        """How many keys have *outcome*."""
        return self._outcomes.count(_CODES[outcome])

    def with_outcome(self, outcome: Outcome) -> list[str]:
        """The keys whose outcome is *outcome*, in input order."""
        code = _CODES[outcome]
        outcomes = self._outcomes
        if code not in outcomes:
            return []
        return [key for key, found in zip(self, outcomes, strict=True) if found == code]

    def outcomes(self) -> bytes:
        """Every outcome as its code, in input order."""
        return bytes(self._outcomes)

    def strings(self) -> list[str]:
        """The keys kept as strings, in the order ``keys`` refers to them."""
        return list(self._strings)

    @classmethod
    def restore(cls, keys: bytes, strings: list[str], outcomes: bytes) -> KeyIndex:
        """Rebuild an index from `keys`' bytes, `strings` and `outcomes` (for pickle)."""
        index = cls()
        index.keys.frombytes(keys)
        index._strings = list(strings)
        index._outcomes = bytearray(outcomes)
        for position, value in enumerate(index.keys):
            if value < 0:
                index._str_positions[index._strings[~value]] = position
        size = len(index._table)
        while 3 * len(index.keys) >= 2 * size:
            size *= 2
        index._rehash(size)
        return index
