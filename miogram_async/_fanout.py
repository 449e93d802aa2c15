"""
The Mass fan-out: chunking, bounded workers, merging per-number outcomes.

(Interface stub: the types and the `fan_out` signature are the contract; the implementation follows.)
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypedDict

import attrs

from ._errors import MioGramError

__all__ = [
    "Chunk",
    "FanoutHooks",
    "FanoutOptions",
    "MassProgress",
    "MassResult",
    "Outcome",
    "SendChunk",
    "fan_out",
]


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
    """A snapshot of a running fan-out, passed to ``on_progress`` after each chunk."""

    done: int
    total: int | None
    by_outcome: Mapping[Outcome, int]
    chunks_done: int
    chunks_in_flight: int
    rate: float
    elapsed: float
    eta: float | None


class MassResult(Mapping[str, Outcome]):
    """Every number's outcome, keyed by the normalised number (the raw input for ``INVALID``)."""

    def __init__(self) -> None:
        raise NotImplementedError

    def __getitem__(self, number: str) -> Outcome:
        raise NotImplementedError

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


SendChunk = Callable[[Chunk], Awaitable[Mapping[str, bool]]]
ProgressCallback = Callable[[MassProgress], object]


class FanoutHooks(Protocol):
    """Called around every chunk; the campaign journal implements it."""

    async def chunk_started(self, chunk: Chunk) -> None:
        """Called before the chunk's request is sent."""

    async def chunk_finished(
        self,
        chunk: Chunk,
        outcomes: Mapping[str, Outcome],
        errors: Mapping[str, MioGramError],
    ) -> None:
        """Called once the chunk's outcome is known (or declared ``UNKNOWN``)."""


class FanoutOptions(TypedDict, total=False):
    """The ``**fanout`` keyword options every ``*_mass`` method takes."""

    chunk_size: int
    concurrency: int | None
    robots: Sequence[str] | str | None
    per_robot: int
    on_progress: ProgressCallback | None
    hooks: FanoutHooks | None


async def fan_out(
    phones: Iterable[str] | AsyncIterable[str],
    send_chunk: SendChunk,
    *,
    normalize: Callable[[str], str],
    chunk_size: int = 100,
    concurrency: int = 8,
    robots: Sequence[str | None] = (None,),
    per_robot: int = 1,
    on_progress: ProgressCallback | None = None,
    hooks: FanoutHooks | None = None,
) -> MassResult:
    """Send *phones* in chunks through *send_chunk*; see docs/architecture.md."""
    raise NotImplementedError
