"""
A campaign run's bridge to the fan-out: hooks that journal every chunk, and the journal as input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Self

import anyio
import anyio.to_thread

from .._errors import STOP_CODES, APIConnectionError, APIError, MioGramError
from .._result import Chunk, Outcome
from ._journal import Journal, NumberUpdate
from ._model import NumberState

__all__ = ["JournalHooks", "JournalNumbers"]

#: Numbers read from the journal per query while a run streams them to the fan-out.
_SOURCE_PAGE: Final = 1000

_OUTCOME_STATES: Final[Mapping[Outcome, NumberState]] = {
    Outcome.DELIVERED: NumberState.DELIVERED,
    Outcome.UNDELIVERED: NumberState.UNDELIVERED,
    Outcome.FAILED: NumberState.FAILED,
    Outcome.UNKNOWN: NumberState.UNKNOWN,
    Outcome.NOT_ATTEMPTED: NumberState.PENDING,
    Outcome.INVALID: NumberState.INVALID,
}


def _error_fields(error: MioGramError | None) -> tuple[int | None, str | None]:
    if error is None:
        return None, None
    code = error.code if isinstance(error, APIError) else None
    return code, f"{type(error).__name__}: {error}"


def _sent_nothing(error: MioGramError | None) -> bool:
    """Whether *error* proves its chunk's request had no effect on the service."""
    if isinstance(error, APIError):
        return error.code in STOP_CODES
    return isinstance(error, APIConnectionError) and error.sent is False


class JournalHooks:
    """The fan-out hooks of one run: every chunk is journalled before it is sent and after."""

    def __init__(self, journal: Journal, run: int) -> None:
        self.journal = journal
        self.run = run
        self.sent = 0

    async def chunk_started(self, chunk: Chunk) -> None:
        await anyio.to_thread.run_sync(
            self.journal.chunk_started, self.run, chunk.index, chunk.robot, chunk.numbers
        )
        self.sent += len(chunk.numbers)

    async def chunk_finished(
        self,
        chunk: Chunk,
        outcomes: Mapping[str, Outcome],
        errors: Mapping[str, MioGramError],
    ) -> None:
        updates: list[NumberUpdate] = []
        for number in chunk.numbers:
            outcome = outcomes.get(number, Outcome.UNKNOWN)
            error = errors.get(number)
            state = _OUTCOME_STATES[outcome]
            # A stop error (credit, authentication, permission, size) refuses the request as a
            # whole before anything is sent, and a connection that could not be made sent nothing
            # either: the numbers go back to pending, so a plain resume sends them.
            if state is NumberState.FAILED and _sent_nothing(error):
                state = NumberState.PENDING
            code, text = _error_fields(error)
            updates.append((number, state, code, text))
        await anyio.to_thread.run_sync(self.journal.chunk_finished, self.run, chunk.index, updates)


class JournalNumbers:
    """The numbers of a run, read page by page from the journal in input order."""

    def __init__(self, journal: Journal, states: Sequence[NumberState]) -> None:
        self._journal = journal
        self._states = states
        self._after = 0
        self._page: list[str] = []
        self._done = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        if not self._page and not self._done:
            rows = await anyio.to_thread.run_sync(
                self._journal.page, self._states, self._after, _SOURCE_PAGE
            )
            if rows:
                self._after = rows[-1][0]
                self._page = [number for _, number in reversed(rows)]
            self._done = len(rows) < _SOURCE_PAGE
        if not self._page:
            raise StopAsyncIteration
        return self._page.pop()
