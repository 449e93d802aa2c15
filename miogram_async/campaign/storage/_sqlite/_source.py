"""
The numbers of a run of an SQLite journal, read page by page in input order (`JournalNumbers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Self

import anyio.to_thread

from ..._model import NumberState
from .._base import Storage

__all__ = ["JournalNumbers"]

#: Numbers read from the journal per query while a run streams them to the fan-out.
_SOURCE_PAGE: Final = 1000
#: At most this many numbers wait in the run's seqs (normally only the pages read ahead and the
#: chunks in flight: a few thousand); a chunk with numbers not there is written by number instead.
_SEQS_MAX: Final = 50_000


class JournalNumbers:
    """The numbers of a run, read page by page from the journal in input order."""

    def __init__(
        self,
        journal: Storage,
        states: Sequence[NumberState],
        seqs: dict[str, int] | None = None,
        *,
        group: int | None = None,
        texts: dict[str, str] | None = None,
    ) -> None:
        """
        Read the numbers in *states* (of *group*, see `Storage.page`); note each one's seq in
        *seqs* as it is read, and with *texts* its text there.
        """
        self._journal = journal
        self._states = states
        self._seqs = {} if seqs is None else seqs
        self._group = group
        self._texts = texts
        self._after = 0
        self._page: list[str] = []
        self._done = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        if not self._page and not self._done:
            rows = await anyio.to_thread.run_sync(
                self._journal.page, self._states, self._after, _SOURCE_PAGE, self._group
            )
            if rows:
                self._after = rows[-1][0]
                self._page = [number for _, number in reversed(rows)]
                if len(self._seqs) < _SEQS_MAX:
                    self._seqs.update({number: seq for seq, number in rows})
                if self._texts is not None:
                    numbers = [number for _, number in rows]
                    self._texts.update(await anyio.to_thread.run_sync(self._journal.texts, numbers))
            self._done = len(rows) < _SOURCE_PAGE
        if not self._page:
            raise StopAsyncIteration
        return self._page.pop()
