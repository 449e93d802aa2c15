"""
The values a Mass send speaks in: per-number outcomes, chunks, progress snapshots and the result.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

import attrs

from .._base.errors import MioGramError
from .index import KeyIndex, Outcome

__all__ = ["Chunk", "Dispatch", "Doubt", "KeyIndex", "MassProgress", "MassResult", "Outcome"]


@attrs.frozen(kw_only=True)
class Chunk:
    """One Mass request: up to ``chunk_size`` normalised numbers for one agent."""

    index: int
    numbers: tuple[str, ...]
    robot: str | None


@attrs.frozen(kw_only=True)
class Dispatch:
    """
    When and through which agent a chunk went: what settling its unknown numbers needs (E50).

    Times are on the service's clock (Unix seconds), bounded by the ``Date`` headers of its
    replies; ``None`` when no reply carried one.

    Attributes:
        func: the action sent (``SendMessageMass``...).
        robot: the agent named on the wire; ``None``: none (the account's first agent).
        sent_after: the earliest the request can have reached the service.
        done_by: the latest the gateway can still have been at work on it: its answer, plus the
            drain the send gate allows a gateway still at work after an unknown outcome (E32).
        numbers: how many numbers the request carried.
    """

    func: str
    robot: str | None
    sent_after: float | None
    done_by: float | None
    numbers: int


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
            unknown outcome (one request at a time, docs/service.md E33).
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


#: The unknown numbers of one chunk: its dispatch and their positions in the result's index.
Doubt = tuple[Dispatch, "array[int]"]


def _restore_result(  # noqa: PLR0917 - pickle's argument tuple
    keys: bytes,
    strings: list[str],
    outcomes: bytes,
    errors: dict[str, MioGramError],
    duplicates: int,
    doubts: list[tuple[Dispatch, bytes]] | None = None,
    witnesses: dict[str | None, str] | None = None,
) -> MassResult:
    result = MassResult._of(KeyIndex.restore(keys, strings, outcomes), errors, duplicates)
    for dispatch, positions in doubts or ():
        kept = array("i")
        kept.frombytes(positions)
        result._doubts.append((dispatch, kept))
    result._witnesses.update(witnesses or {})
    return result


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

    __slots__ = ("_counts", "_doubts", "_duplicates", "_errors", "_index", "_witnesses")

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
        self._doubts: list[Doubt] = []
        self._witnesses: dict[str | None, str] = {}

    @classmethod
    def _of(
        cls,
        index: KeyIndex,
        errors: dict[str, MioGramError],
        duplicates: int,
        doubts: list[Doubt] | None = None,
        witnesses: dict[str | None, str] | None = None,
    ) -> MassResult:
        """Wrap the fan-out's own index and errors without copying them (they can be large)."""
        result = cls.__new__(cls)
        result._index = index
        result._errors = errors
        result._duplicates = duplicates
        result._counts = None
        result._doubts = doubts if doubts is not None else []
        result._witnesses = witnesses if witnesses is not None else {}
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
                [(dispatch, positions.tobytes()) for dispatch, positions in self._doubts],
                dict(self._witnesses),
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
    def absent(self) -> list[str]:
        """Once-unknown numbers their agent's history showed were not sent (`Outcome.ABSENT`)."""
        return self.numbers(Outcome.ABSENT)

    def in_doubt(self) -> list[tuple[Dispatch, list[str]]]:
        """
        The ``UNKNOWN`` numbers grouped by the chunk that sent them, each with its `Dispatch`.

        Only numbers still ``UNKNOWN`` are listed. An ``UNKNOWN`` number of a result built by
        hand, or of a chunk that never started, has no dispatch and is not listed.
        """
        index = self._index
        unknown = Outcome.UNKNOWN
        groups: list[tuple[Dispatch, list[str]]] = []
        for dispatch, positions in self._doubts:
            numbers = [index.key(at) for at in positions if index.outcome(at) is unknown]
            if numbers:
                groups.append((dispatch, numbers))
        return groups

    def dispatch(self, number: str) -> Dispatch | None:
        """The `Dispatch` of the chunk that sent *number*, if it is one of `in_doubt`."""
        position = self._index.find(number)
        if position < 0:
            return None
        for dispatch, positions in self._doubts:
            if position in positions:
                return dispatch
        return None

    def delivered_through(self, robot: str | None) -> str | None:
        """
        A number this send delivered through the agent *robot*, or ``None``.

        Its history holds a message, so reading it shows whether the agent's messenger answers
        (the settle step's control read).
        """
        return self._witnesses.get(robot)

    def updated(self, outcomes: Mapping[str, Outcome]) -> MassResult:
        """
        A copy of this result with the numbers of *outcomes* given those outcomes.

        Raises:
            KeyError: a number of *outcomes* is not in this result.
        """
        index = KeyIndex.restore(
            self._index.keys.tobytes(), self._index.strings(), self._index.outcomes()
        )
        for number, outcome in outcomes.items():
            position = index.find(number)
            if position < 0:
                raise KeyError(number)
            index.set(position, Outcome(outcome))
        doubts = [(dispatch, array("i", positions)) for dispatch, positions in self._doubts]
        return MassResult._of(
            index, dict(self._errors), self._duplicates, doubts, dict(self._witnesses)
        )

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
