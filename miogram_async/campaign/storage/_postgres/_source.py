"""
The numbers one run of a PostgreSQL campaign sends, claimed a page at a time (`ClaimedNumbers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol, Self

import anyio
import anyio.to_thread

from ..._model import NumberState

__all__ = ["ClaimedNumbers"]

#: Claimed numbers whose chunk is not answered yet, beyond which a run claims no more. A running
#: fan-out holds at most about (2 x concurrency + 2) chunks; only a stopped one, which reads its
#: input to the end without sending, gets here: it must not take the whole campaign from the other
#: workers (its claims go back when the run ends).
_CLAIMED_MAX: Final = 50_000


class _Claims(Protocol):
    """What `ClaimedNumbers` takes its numbers from (`PostgresJournal.claim`)."""

    def claim(
        self,
        run: int,
        states: Sequence[NumberState],
        limit: int,
        after: int = 0,
        group: int | None = None,
    ) -> list[tuple[int, str]]: ...

    def texts(self, numbers: Sequence[str]) -> dict[str, str]: ...


class ClaimedNumbers:
    """The numbers one run sends, claimed from the campaign a page at a time."""

    def __init__(
        self,
        journal: _Claims,
        run: int,
        states: Sequence[NumberState],
        seqs: dict[str, int],
        page: int,
        *,
        group: int | None = None,
        texts: dict[str, str] | None = None,
    ) -> None:
        self._journal = journal
        self._run = run
        self._states = states
        self._seqs = seqs
        self._size = page
        self._group = group
        self._texts = texts
        self._page: list[str] = []
        self._done = False
        self._after = 0

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        if not self._page and not self._done and len(self._seqs) >= _CLAIMED_MAX:
            self._done = True
        if not self._page and not self._done:
            # Shielded: a claim that commits is known here, whatever cancels the run meanwhile
            # (its numbers are given back when the run ends).
            with anyio.CancelScope(shield=True):
                rows = await anyio.to_thread.run_sync(
                    self._journal.claim,
                    self._run,
                    self._states,
                    self._size,
                    self._after,
                    self._group,
                )
                if rows and self._texts is not None:
                    numbers = [number for _, number in rows]
                    self._texts.update(await anyio.to_thread.run_sync(self._journal.texts, numbers))
            if rows:
                self._after = rows[-1][0]
            self._page = [number for _, number in reversed(rows)]
            self._seqs.update({number: seq for seq, number in rows})
            self._done = not rows
        if not self._page:
            raise StopAsyncIteration
        return self._page.pop()
