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

from .._model import CampaignError, NumberState
from ._meta import CampaignMeta

__all__ = [
    "ANCHOR_KEY",
    "FORMAT",
    "GATE_KEY",
    "OWN_TEXTS",
    "PACE_KEY",
    "SETTLE_KEY",
    "SHARED_TEXT",
    "ChunkEnd",
    "ChunkInfo",
    "ChunkStart",
    "Extra",
    "NumberUpdate",
    "OutcomeGroup",
    "Row",
    "Storage",
    "stored_state",
]

#: What every campaign's storage says it holds (SQLite: a ``meta`` row; PostgreSQL: a column).
FORMAT: Final = "miogram-campaign"
#: The ``meta`` key under which a run's report anchor is kept (see `Storage.set_anchor`).
ANCHOR_KEY: Final = "report_anchor:{run}"
#: The ``meta`` key under which the latest settle from history is summed up (its JSON).
SETTLE_KEY: Final = "history_settle"
#: The ``meta`` key of the send gate a shared campaign's runs pass (see `Storage.record_gate`).
GATE_KEY: Final = "send_gate"
#: The ``meta`` key under which the gateway's measured pace is kept (see `Storage.set_pace`).
PACE_KEY: Final = "gateway_pace"
#: How much of a damaged stored value an error quotes.
_QUOTED: Final = 40


def stored_state(text: object, where: str) -> NumberState:
    """
    The number state *text* read from the campaign *where* (``campaign journal 'x'``...).

    Raises:
        CampaignError: *text* is no state (the journal was damaged or edited): what to do.
    """
    try:
        return NumberState(text if isinstance(text, str) else repr(text))
    except ValueError:
        shown = repr(text) if len(repr(text)) <= _QUOTED else repr(text)[:_QUOTED] + "..."
        known = ", ".join(state.value for state in NumberState)
        raise CampaignError(
            f"{where} is damaged: a number's state reads {shown}, which miogram-async never "
            f"writes (its states: {known}). Nothing was sent. Restore the journal from a backup, "
            "or put that number's state right by hand (with any SQL client), then run again"
        ) from None


#: (number, new state, error code, error text) for one number.
NumberUpdate = tuple[str, NumberState, int | None, str | None]
#: (chunk index, robot, numbers) of a chunk about to be sent.
ChunkStart = tuple[int, str | None, Sequence[str]]
#: (state, error code, error text, numbers, their seqs or None) for numbers that share an outcome.
OutcomeGroup = tuple[NumberState, int | None, str | None, Sequence[str], Sequence[int] | None]
#: (chunk index, outcome groups) of a chunk that got its answer.
ChunkEnd = tuple[int, Sequence[OutcomeGroup]]
#: (robot, started at, finished at or None, size) of a chunk: what settling its numbers needs.
ChunkInfo = tuple[str | None, float, float | None, int]
#: (seq, input, number, state, error code, error, robot) of one input item.
Row = tuple[int, str, str | None, str, int | None, str | None, str | None]
#: (seq, kept cells or None, text of its own or None) of an input item that has either.
Extra = tuple[int, Sequence[str] | None, str | None]

#: The numbers of a message-per-row campaign that get the campaign's message (no text of their
#: own): a `page` / `source` group, sent as Mass requests like any campaign's.
SHARED_TEXT: Final = 0
#: The numbers whose text of their own no other number to send shares: sent one by one.
OWN_TEXTS: Final = -1
# Any other group is the id of a text several numbers share (`Storage.text_groups`): its numbers,
# sent as Mass requests of that text. ``None`` is every number, whatever its text.


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
        self, states: Sequence[NumberState], after_seq: int, limit: int, group: int | None = None
    ) -> list[tuple[int, str]]:
        """
        The next *limit* (seq, number) in one of *states*, in order after *after_seq*; of *group*
        only (`SHARED_TEXT`, `OWN_TEXTS` or a shared text's id) when it is not ``None``.
        """

    def rows(self) -> Iterator[Row]:
        """Every input item in order."""

    def extras(self) -> Iterator[Extra]:
        """Every input item that keeps cells or has a text of its own, in order."""

    def text_groups(self) -> list[tuple[int, str]]:
        """(id, text) of each text of their own that two or more numbers to send share."""

    def texts(self, numbers: Sequence[str]) -> dict[str, str]:
        """
        The text each of *numbers* (normalised) gets: its own, or the campaign's message.

        What a settle step looks for in an agent's history, number by number. Numbers the
        campaign does not hold, or that get no text (a media campaign), are left out.
        """

    def chunk_runs(self, chunk_ids: Iterable[int]) -> dict[int, int]:
        """The run of each chunk of *chunk_ids*."""

    def chunk_info(self, chunk_ids: Iterable[int]) -> dict[int, ChunkInfo]:
        """The agent, times (this machine's clock) and size of each chunk of *chunk_ids*."""

    def witness(self, robot: str | None) -> str | None:
        """A number recorded ``DELIVERED`` by a chunk sent through *robot*, or ``None``."""

    def set_note(self, key: str, value: str) -> None:
        """Keep *value* under *key* among the journal's notes (not its settings), replacing it."""

    def note(self, key: str) -> str | None:
        """The note kept under *key*, or ``None``."""

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

    def gate_database(self) -> str | None:
        """
        The database (its URL, password included: never shown) where the send gate of a
        campaign that several workers run together lives; ``None`` for a journal file.
        """

    def record_gate(self, identity: str) -> str:
        """Keep *identity* as the gate the campaign's runs pass, unless one is kept; return it."""

    def source(
        self,
        run: int,
        states: Sequence[NumberState],
        seqs: dict[str, int],
        group: int | None = None,
        texts: dict[str, str] | None = None,
    ) -> AsyncIterator[str]:
        """
        The numbers *run* is to send, in input order; each one's seq is noted in *seqs*.

        *group* limits them as in `page`; with *texts*, each number's text is noted there too
        (for the numbers sent one by one). For a shared storage, a number handed out is held by
        *run* (claimed) until its chunk's outcome is recorded or the run ends.
        """
