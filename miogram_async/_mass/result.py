"""
The values a Mass send speaks in: per-number outcomes, chunks, progress snapshots and the result.
"""

from __future__ import annotations

import enum
from array import array
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Final

import attrs

from .._base.errors import MioGramError

__all__ = ["Chunk", "KeyIndex", "MassProgress", "MassResult", "Outcome"]


class Outcome(enum.StrEnum):
    """What happened to one number of a Mass send."""

    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_ATTEMPTED = "not_attempted"
    INVALID = "invalid"


@attrs.frozen(kw_only=True)
class Chunk:
    """One Mass request: up to ``chunk_size`` normalised numbers for one agent."""

    index: int
    numbers: tuple[str, ...]
    robot: str | None


@attrs.frozen(kw_only=True)
class MassProgress:
    """
    A snapshot of a running fan-out, passed to ``on_progress`` after each chunk.

    Attributes:
        done: numbers with a final outcome so far (finished chunks and ``INVALID`` inputs).
        total: distinct inputs, or ``None`` while the input is still being read.
        by_outcome: ``done`` split by outcome; every `Outcome` is present.
        chunks_done: chunks whose outcome is known.
        chunks_in_flight: chunks being sent right now.
        rate: numbers per second through finished chunks since the fan-out started.
        elapsed: seconds since the fan-out started.
        eta: estimated seconds left; ``None`` while ``total`` or ``rate`` is unknown, or after a
            stop.
        waiting: seconds this send's requests spent queued at the client's send gate, behind
            other state-changing requests or while the gateway may still be at work after an
            unknown outcome (one request at a time, API.md E33).
        chunk_size: the size the latest finished chunk was given from the gateway's pace on its
            agent (E49), within the call's ``chunk_size`` (the input's last chunk may carry
            fewer); ``None`` before any.
        pace: the gateway's measured seconds per number on the agent of the latest finished
            chunk (the mean of its recent chunks, E49); ``None`` while it is not measured.
    """

    done: int
    total: int | None
    by_outcome: Mapping[Outcome, int]
    chunks_done: int
    chunks_in_flight: int
    rate: float
    elapsed: float
    eta: float | None
    waiting: float = 0.0
    chunk_size: int | None = None
    pace: float | None = None


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


def _restore_result(
    keys: bytes,
    strings: list[str],
    outcomes: bytes,
    errors: dict[str, MioGramError],
    duplicates: int,
) -> MassResult:
    return MassResult._of(KeyIndex.restore(keys, strings, outcomes), errors, duplicates)


class MassResult(Mapping[str, Outcome]):
    """
    Every number's outcome, keyed by the normalised number (the raw input for ``INVALID``).

    Iteration follows the input order (first occurrence). A duplicate input is neither sent nor
    stored again: it is only counted in `duplicates`. `errors` holds the error behind every
    ``FAILED`` and ``INVALID`` number and behind ``UNKNOWN`` numbers whose request failed at the
    transport level; the numbers of one chunk share one error object.

    It is compact: a number costs about 17 bytes (an integer, its slot in a lookup table and one
    byte of outcome), so a result of a million numbers takes about 17 MiB.
    """

    __slots__ = ("_counts", "_duplicates", "_errors", "_index")

    def __init__(
        self,
        outcomes: Mapping[str, Outcome] | Iterable[tuple[str, Outcome]] = (),
        *,
        errors: Mapping[str, MioGramError] | None = None,
        duplicates: int = 0,
    ) -> None:
        index = KeyIndex()
        pairs = outcomes.items() if isinstance(outcomes, Mapping) else outcomes
        for key, value in pairs:
            if not isinstance(key, str):
                raise TypeError(f"expected a str key (a phone number) in a MassResult, got {key!r}")
            outcome = Outcome(value)
            # Like a dict: a repeated key keeps its first place and takes the later outcome.
            if index.add(key, outcome) < 0:
                index.set(index.find(key), outcome)
        self._index = index
        self._errors: dict[str, MioGramError] = dict(errors or {})
        self._duplicates = duplicates
        self._counts: dict[Outcome, int] | None = None

    @classmethod
    def _of(cls, index: KeyIndex, errors: dict[str, MioGramError], duplicates: int) -> MassResult:
        """Wrap the fan-out's own index and errors without copying them (they can be large)."""
        result = cls.__new__(cls)
        result._index = index
        result._errors = errors
        result._duplicates = duplicates
        result._counts = None
        return result

    def __reduce__(self) -> tuple[object, ...]:
        index = self._index
        return (
            _restore_result,
            (
                index.keys.tobytes(),
                index.strings(),
                index.outcomes(),
                self._errors,
                self._duplicates,
            ),
        )

    def __getitem__(self, number: str) -> Outcome:
        position = self._index.find(number)
        if position < 0:
            raise KeyError(number)
        return self._index.outcome(position)

    def __contains__(self, number: object) -> bool:
        return self._index.find(number) >= 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{outcome.value}={count}" for outcome, count in self.counts.items() if count
        )
        return f"<MassResult {len(self)} numbers: {shown or 'empty'}>"

    def numbers(self, outcome: Outcome) -> list[str]:
        """The numbers (in input order) whose outcome is *outcome*."""
        if not isinstance(outcome, Outcome):
            return []
        return self._index.with_outcome(outcome)

    @property
    def delivered(self) -> list[str]:
        """Numbers the service reported ``true`` for."""
        return self.numbers(Outcome.DELIVERED)

    @property
    def undelivered(self) -> list[str]:
        """Numbers the service reported ``false`` for."""
        return self.numbers(Outcome.UNDELIVERED)

    @property
    def failed(self) -> list[str]:
        """Numbers whose chunk got an error that proves nothing was sent; see `errors`."""
        return self.numbers(Outcome.FAILED)

    @property
    def unknown(self) -> list[str]:
        """Numbers whose request may have reached the service without an answer for them."""
        return self.numbers(Outcome.UNKNOWN)

    @property
    def not_attempted(self) -> list[str]:
        """Numbers whose chunk was never sent because the fan-out stopped."""
        return self.numbers(Outcome.NOT_ATTEMPTED)

    @property
    def invalid(self) -> list[str]:
        """Raw inputs that failed validation; never sent."""
        return self.numbers(Outcome.INVALID)

    @property
    def counts(self) -> Mapping[Outcome, int]:
        """How many numbers have each outcome (every `Outcome` present, zeros included)."""
        if self._counts is None:
            self._counts = {outcome: self._index.count(outcome) for outcome in Outcome}
        return MappingProxyType(self._counts)

    @property
    def errors(self) -> Mapping[str, MioGramError]:
        """The error behind each ``FAILED``/``INVALID`` number and each transport ``UNKNOWN``."""
        return MappingProxyType(self._errors)

    @property
    def total(self) -> int:
        """Distinct inputs: one per key."""
        return len(self._index)

    @property
    def duplicates(self) -> int:
        """Inputs dropped because an earlier input normalised to the same number."""
        return self._duplicates
