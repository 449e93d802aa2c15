"""
Where a campaign is kept: the storage protocol, and choosing SQLite or PostgreSQL from a target.

A campaign's storage is either an SQLite journal file (`Journal`, the embedded default) or a
campaign in a PostgreSQL database (`PostgresJournal`, for workers on several machines). A target
that starts with ``postgresql://`` or ``postgres://`` is a database URL; anything else is a path.

Every method of a storage is blocking and safe to call from any thread; `Campaign` calls them from
worker threads. The calls below are the whole contract between a campaign and its storage.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from .._errors import ValidationError
from ._inputs import InputItem, InvalidInput
from ._journal import ChunkEnd, ChunkStart, NumberUpdate
from ._model import NumberState

__all__ = ["Storage", "classify_inputs", "is_database_url"]

_URL_SCHEMES = ("postgresql://", "postgres://")

#: (seq, input, number, state, error code, error, robot) of one input item.
Row = tuple[int, str, str | None, str, int | None, str | None, str | None]


def is_database_url(target: str | os.PathLike[str]) -> bool:
    """Whether *target* names a PostgreSQL database rather than a journal file."""
    return isinstance(target, str) and target.lower().startswith(_URL_SCHEMES)


class Storage(Protocol):
    """What `Campaign` needs from the place a campaign is kept."""

    #: The campaign's settings (kind, message, chunk size...), as strings.
    meta: Mapping[str, str]
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

    def set_meta(self, key: str, value: str) -> None:
        """Store one ``meta`` entry (replacing it)."""

    def get_meta(self, key: str) -> str | None:
        """One ``meta`` entry as stored now."""

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


def classify_inputs(
    inputs: Iterable[InputItem], normalize: Callable[[str], str]
) -> Iterator[tuple[int, str, str | None, str | None]]:
    """
    (seq, input as recorded, normalised number or None, why it is invalid or None) per input item.

    Blank items are skipped; an `InvalidInput` is invalid as it says; any other item that is not a
    string is recorded as its ``repr`` (normalising refuses it), so every item keeps one outcome.
    """
    seq = 0
    for raw in inputs:
        if isinstance(raw, InvalidInput):
            seq += 1
            yield seq, raw.input, None, raw.reason
            continue
        if isinstance(raw, str):
            text = raw.strip()
            if not text:
                continue
        else:
            text = repr(raw)
        seq += 1
        number: str | None = None
        error: str | None = None
        try:
            number = normalize(text)
        except ValidationError as exc:
            error = str(exc)
        yield seq, text, number, error
