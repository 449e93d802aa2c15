"""
The values a Mass send speaks in: per-number outcomes, chunks, progress snapshots and the result.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

import attrs

from ._errors import MioGramError

__all__ = ["Chunk", "MassProgress", "MassResult", "Outcome"]


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


class MassResult(Mapping[str, Outcome]):
    """
    Every number's outcome, keyed by the normalised number (the raw input for ``INVALID``).

    Iteration follows the input order (first occurrence). A duplicate input is neither sent nor
    stored again: it is only counted in `duplicates`. `errors` holds the error behind every
    ``FAILED`` and ``INVALID`` number and behind ``UNKNOWN`` numbers whose request failed at the
    transport level; the numbers of one chunk share one error object.
    """

    __slots__ = ("_counts", "_duplicates", "_errors", "_outcomes")

    def __init__(
        self,
        outcomes: Mapping[str, Outcome] | Iterable[tuple[str, Outcome]] = (),
        *,
        errors: Mapping[str, MioGramError] | None = None,
        duplicates: int = 0,
    ) -> None:
        self._outcomes: dict[str, Outcome] = dict(outcomes)
        self._errors: dict[str, MioGramError] = dict(errors or {})
        self._duplicates = duplicates
        self._counts: dict[Outcome, int] | None = None

    @classmethod
    def _adopt(
        cls, outcomes: dict[str, Outcome], errors: dict[str, MioGramError], duplicates: int
    ) -> MassResult:
        """Wrap the fan-out's own dicts without copying them (they can be large)."""
        result = cls.__new__(cls)
        result._outcomes = outcomes
        result._errors = errors
        result._duplicates = duplicates
        result._counts = None
        return result

    def __getitem__(self, number: str) -> Outcome:
        return self._outcomes[number]

    def __iter__(self) -> Iterator[str]:
        return iter(self._outcomes)

    def __len__(self) -> int:
        return len(self._outcomes)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{outcome.value}={count}" for outcome, count in self.counts.items() if count
        )
        return f"<MassResult {len(self)} numbers: {shown or 'empty'}>"

    def numbers(self, outcome: Outcome) -> list[str]:
        """The numbers (in input order) whose outcome is *outcome*."""
        return [number for number, value in self._outcomes.items() if value is outcome]

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
            counts = dict.fromkeys(Outcome, 0)
            for outcome in self._outcomes.values():
                counts[outcome] += 1
            self._counts = counts
        return MappingProxyType(self._counts)

    @property
    def errors(self) -> Mapping[str, MioGramError]:
        """The error behind each ``FAILED``/``INVALID`` number and each transport ``UNKNOWN``."""
        return MappingProxyType(self._errors)

    @property
    def total(self) -> int:
        """Distinct inputs: one per key."""
        return len(self._outcomes)

    @property
    def duplicates(self) -> int:
        """Inputs dropped because an earlier input normalised to the same number."""
        return self._duplicates
