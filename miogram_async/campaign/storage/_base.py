"""
What a campaign's storage is: the `Storage` protocol and the records a run hands to it.

A campaign is kept either in an SQLite journal file (`Journal`, the embedded default) or in a
PostgreSQL database (`PostgresJournal`, for workers on several machines). Every method of a storage
is blocking and safe to call from any thread; `Campaign` calls them from worker threads. The calls
below are the whole contract between a campaign and its storage; the records are plain tuples, so
a run writes thousands of them without building objects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final, Protocol

from .._model import NumberState
from ._meta import CampaignMeta

__all__ = [
    "ANCHOR_KEY",
    "FORMAT",
    "PACE_KEY",
    "ChunkEnd",
    "ChunkStart",
    "NumberUpdate",
    "OutcomeGroup",
    "Row",
    "Storage",
]

#: What every campaign's storage says it holds (SQLite: a ``meta`` row; PostgreSQL: a column).
FORMAT: Final = "miogram-campaign"
#: The ``meta`` key under which a run's report anchor is kept (see `Storage.set_anchor`).
ANCHOR_KEY: Final = "report_anchor:{run}"
#: The ``meta`` key under which the gateway's measured pace is kept (see `Storage.set_pace`).
PACE_KEY: Final = "gateway_pace"

#: (number, new state, error code, error text) for one number.
NumberUpdate = tuple[str, NumberState, int | None, str | None]
#: (chunk index, robot, numbers) of a chunk about to be sent.
ChunkStart = tuple[int, str | None, Sequence[str]]
#: (state, error code, error text, numbers, their seqs or None) for numbers that share an outcome.
OutcomeGroup = tuple[NumberState, int | None, str | None, Sequence[str], Sequence[int] | None]
#: (chunk index, outcome groups) of a chunk that got its answer.
ChunkEnd = tuple[int, Sequence[OutcomeGroup]]
#: (seq, input, number, state, error code, error, robot) of one input item.
Row = tuple[int, str, str | None, str, int | None, str | None, str | None]


class Storage(Protocol):
    """What `Campaign` needs from the place a campaign is kept."""

    #: The campaign's settings (kind, message or media, chunk size...), as created.
    meta: CampaignMeta
    #: Whether this open may only read (a status open).
    read_only: bool
    #: Whether other processes may run the same campaign at once (their chunks may fall in doubt
    #: while this run goes on, so the run settles them again at its end).
    shared: bool

    @property
    def location(self) -> str:
        """The file path, or the database URL without its password."""

    @property
    def file(self) -> Path | None:
        """The journal file, or ``None`` for a database."""

    def close(self) -> None:
        """Close the storage (idempotent); releases what a run holds."""

    def counts(self) -> dict[NumberState, int]:
        """Numbers per state, every state present (numbers in doubt count as ``SENDING``)."""

    def chunk_counts(self) -> tuple[int, int, int]:
        """(all chunks, done chunks, runs)."""

    def last_run(self) -> str | None:
        """How the latest run ended (``"interrupted"`` if it never recorded an end), or None."""

    def latest_run(self) -> tuple[float | None, float | None]:
        """(numbers answered per second, seconds since its start) of the latest run."""

    def held_by_a_run(self) -> bool:
        """Whether a run (this open, or another process) holds the campaign."""

    def numbers_in(self, states: Sequence[NumberState]) -> list[tuple[int, str]]:
        """(chunk id or -1, number) of every number in *states* that no live run holds."""

    def page(
        self, states: Sequence[NumberState], after_seq: int, limit: int
    ) -> list[tuple[int, str]]:
        """The next *limit* (seq, number) in one of *states*, in order after *after_seq*."""

    def rows(self) -> Iterator[Row]:
        """Every input item in order."""

    def chunk_runs(self, chunk_ids: Iterable[int]) -> dict[int, int]:
        """The run of each chunk of *chunk_ids*."""

    def set_anchor(self, run: int, anchor: str) -> None:
        """Keep the report anchor of *run* (its JSON, see `Anchor.to_json`), replacing it."""

    def anchor(self, run: int) -> str | None:
        """The report anchor *run* kept, as stored now, or ``None``."""

    def set_pace(self, paces: str) -> None:
        """Keep the gateway's pace the latest run measured (JSON: seconds per number by agent)."""

    def pace(self) -> str | None:
        """The gateway's pace kept by `set_pace`, as stored now, or ``None``."""

    def begin_run(self) -> int:
        """Record the start of a run; returns its id."""

    def end_run(self, run: int, outcome: str) -> None:
        """Record how a run ended."""

    def record(self, run: int, started: Sequence[ChunkStart], finished: Sequence[ChunkEnd]) -> None:
        """Record chunks as done (*finished*) and others as attempting (*started*), at once."""

    def settle(self, updates: Iterable[NumberUpdate], chunks: Iterable[int]) -> None:
        """Apply reconciled outcomes and mark *chunks* done, in one transaction."""

    def source(
        self, run: int, states: Sequence[NumberState], seqs: dict[str, int]
    ) -> AsyncIterator[str]:
        """
        The numbers *run* is to send, in input order; each one's seq is noted in *seqs*.

        For a shared storage, a number handed out is held by *run* (claimed) until its chunk's
        outcome is recorded or the run ends.
        """
