"""
A campaign run's bridge to the fan-out: hooks that journal every chunk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

import anyio
import anyio.to_thread

from .._base.errors import APIError, MioGramError
from .._base.outcomes import proves_refusal, refused_as_a_whole
from .._mass.result import Chunk, Outcome
from ._model import NumberState
from .storage import ChunkEnd, OutcomeGroup

if TYPE_CHECKING:
    from .storage import Storage

__all__ = ["JournalHooks"]

_OUTCOME_STATES: Final[Mapping[Outcome, NumberState]] = {
    Outcome.DELIVERED: NumberState.DELIVERED,
    Outcome.UNDELIVERED: NumberState.UNDELIVERED,
    Outcome.FAILED: NumberState.FAILED,
    Outcome.UNKNOWN: NumberState.UNKNOWN,
    Outcome.NOT_ATTEMPTED: NumberState.PENDING,
    Outcome.INVALID: NumberState.INVALID,
    Outcome.ABSENT: NumberState.ABSENT,
}


def _error_fields(error: MioGramError | None) -> tuple[int | None, str | None]:
    if error is None:
        return None, None
    code = error.code if isinstance(error, APIError) else None
    return code, f"{type(error).__name__}: {error}"


def _proves_refusal(error: MioGramError | None) -> bool:
    """
    Whether *error* proves the service refused its chunk's request, so FAILED is the truth.

    The package's one rule (`proves_refusal`); no error at all proves nothing either. Anything else
    may have been sent: the journal keeps such a number UNKNOWN, whatever the fan-out called it.
    """
    return error is not None and proves_refusal(error)


class _Start:
    """A chunk waiting for its attempting row to be committed."""

    __slots__ = ("chunk", "done", "error", "index")

    def __init__(self, chunk: Chunk, index: int) -> None:
        self.chunk = chunk
        self.index = index
        self.done = False
        self.error: Exception | None = None


class JournalHooks:
    """
    The fan-out hooks of one run: every chunk is journalled before it is sent and after.

    A chunk starts (`chunk_started`) once the send gate has let its request through, just before
    it leaves: a chunk still queued at the gate is not in the journal, so a process that dies
    while it waits leaves its numbers pending, and ``status`` counts as in doubt only the chunks
    that may have left.

    Journal writes are grouped. A chunk's start waits until a transaction holding its attempting
    row is committed and synced, then its request leaves; chunks that start while one is being
    written go together into the next. A chunk's outcome is queued without waiting and written in
    the next transaction (the next chunk start, or `flush` at the end of the run): if the process
    dies first, the chunk is left in doubt and the next run settles it through the report. A
    write that fails fails the starts it carried (they are not sent) and drops the outcomes it
    carried (their chunks stay in doubt).

    It records every outcome and its input (the journal's numbers, each once) holds no duplicate,
    so the run tells the fan-out (`MassOptions.hooks_record_outcomes`) to keep nothing per number:
    a run's memory stays flat whatever the campaign's size, and its summary is read from the
    journal.
    """

    def __init__(self, journal: Storage, run: int) -> None:
        self.journal = journal
        self.run = run
        self.sent = 0
        #: number -> seq of the numbers `JournalNumbers` handed out and no chunk answered yet.
        self.seqs: dict[str, int] = {}
        #: Numbers of this run's answered chunks by the state the journal records for them (what
        #: the run's progress counts: a chunk refused as a whole is pending, never failed).
        self.recorded: dict[NumberState, int] = dict.fromkeys(NumberState, 0)
        #: Added to the fan-out's chunk indexes: a run made of several sends (a message per row)
        #: numbers its chunks on from one send to the next.
        self.first_index = 0
        self.next_index = 0
        self._starts: list[_Start] = []
        self._ends: list[ChunkEnd] = []
        self._writing = False
        self._written = anyio.Event()

    async def chunk_started(self, chunk: Chunk) -> None:
        entry = _Start(chunk, self._index(chunk))
        self._starts.append(entry)
        try:
            while not entry.done:
                if self._writing:
                    await self._written.wait()
                else:
                    await self._write()
        except anyio.get_cancelled_exc_class():
            if entry in self._starts:  # not written: it will not be
                self._starts.remove(entry)
                raise
            with anyio.CancelScope(shield=True):  # being written: know the outcome first
                while not entry.done:
                    await self._written.wait()
            raise
        if entry.error is not None:
            raise entry.error
        self.sent += len(chunk.numbers)

    async def chunk_finished(
        self,
        chunk: Chunk,
        outcomes: Mapping[str, Outcome],
        errors: Mapping[str, MioGramError],
    ) -> None:
        numbers = chunk.numbers
        try:
            seqs: list[int] | None = list(map(self.seqs.pop, numbers))
        except KeyError:  # not read through JournalNumbers: the journal finds them by number
            seqs = None
        kinds = set(outcomes.values())
        groups: list[OutcomeGroup]
        if (
            not errors
            and len(kinds) == 1
            and Outcome.FAILED not in kinds
            and all(map(outcomes.__contains__, numbers))
        ):
            # The usual case: one outcome for the whole chunk.
            groups = [(_OUTCOME_STATES[kinds.pop()], None, None, numbers, seqs)]
        else:
            groups = self._groups(numbers, seqs, outcomes, errors)
        for state, _, _, group_numbers, _ in groups:
            self.recorded[state] += len(group_numbers)
        self._ends.append((self._index(chunk), groups))

    def _index(self, chunk: Chunk) -> int:
        """The journal's index of *chunk*: the fan-out's, numbered on from earlier sends."""
        index = self.first_index + chunk.index
        self.next_index = max(self.next_index, index + 1)
        return index

    def next_send(self) -> None:
        """Number the chunks of the run's next send (fan-out) on from this one's."""
        self.first_index = self.next_index

    @staticmethod
    def _groups(
        numbers: Sequence[str],
        seqs: Sequence[int] | None,
        outcomes: Mapping[str, Outcome],
        errors: Mapping[str, MioGramError],
    ) -> list[OutcomeGroup]:
        found: dict[tuple[NumberState, int | None, str | None], tuple[list[str], list[int]]] = {}
        for position, number in enumerate(numbers):
            error = errors.get(number)
            state = _OUTCOME_STATES[outcomes.get(number, Outcome.UNKNOWN)]
            # A stop error (credit, authentication, permission, size) refuses the request as a
            # whole before anything is sent, and a connection that could not be made sent nothing
            # either: the numbers go back to pending, so a plain resume sends them.
            if state is NumberState.FAILED and refused_as_a_whole(error):
                state = NumberState.PENDING
            elif state is NumberState.FAILED and not _proves_refusal(error):
                state = NumberState.UNKNOWN
            code, text = _error_fields(error)
            group = found.setdefault((state, code, text), ([], []))
            group[0].append(number)
            if seqs is not None:
                group[1].append(seqs[position])
        return [
            (state, code, text, group_numbers, group_seqs if seqs is not None else None)
            for (state, code, text), (group_numbers, group_seqs) in found.items()
        ]

    async def flush(self) -> None:
        """Write the outcomes still queued (shielded from cancellation)."""
        with anyio.CancelScope(shield=True):
            while self._writing:
                await self._written.wait()
            if self._ends:
                await self._write()

    async def _write(self) -> None:
        """Commit every queued start and outcome in one transaction, in a worker thread."""
        self._writing = True
        starts, self._starts = self._starts, []
        ends, self._ends = self._ends, []
        error: Exception | None = None
        try:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(
                    self.journal.record,
                    self.run,
                    [(s.index, s.chunk.robot, s.chunk.numbers) for s in starts],
                    ends,
                )
        except Exception as exc:
            error = exc
            if not starts:
                raise
        finally:
            for entry in starts:
                entry.done = True
                entry.error = error
            self._writing = False
            written, self._written = self._written, anyio.Event()
            written.set()
