"""
A campaign's memory of the gateway's pace (E49): kept in its journal, for a resume to start from.

A run adopts the pace the journal keeps (for the agents its client has not measured yet), and
writes what the client measures back when it moved: after a chunk (at most every few seconds, so
that a fast service costs the journal no write per chunk) and at the run's end. A resume on a
fresh client then sizes its first chunks from the pace measured before, instead of starting small
again.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import anyio
import anyio.to_thread

from .._base.log import logger
from .._mass.options import ProgressCallback
from .._mass.result import MassProgress

if TYPE_CHECKING:
    from .._http.pace import GatewayPace
    from .storage import Storage

__all__ = ["PaceKeeper", "paces_from_text"]

#: A pace that moved by less than this share since it was written is not written again.
_MOVED: Final = 0.05
#: Seconds between two writes during a run (a chunk of the real service takes longer).
_EVERY: Final = 5.0


def paces_from_text(text: str | None) -> dict[str, float]:
    """The paces (seconds per number by agent) a journal keeps as JSON; ``{}`` if unreadable."""
    if not text:
        return {}
    try:
        found = json.loads(text)
    except ValueError:
        logger.warning("the journal's gateway pace is not readable: starting from none")
        return {}
    if not isinstance(found, dict):
        return {}
    return {
        str(name): float(pace)
        for name, pace in found.items()
        if isinstance(pace, int | float) and not isinstance(pace, bool) and 0 < pace < math.inf
    }


def _moved(kept: Mapping[str, float], now: Mapping[str, float]) -> bool:
    """Whether *now* holds an agent *kept* lacks, or one whose pace moved by `_MOVED` or more."""
    return any(
        name not in kept or abs(pace - kept[name]) >= _MOVED * kept[name]
        for name, pace in now.items()
    )


class PaceKeeper:
    """The bridge between a run's client (its `GatewayPace`) and the campaign's journal."""

    def __init__(self, journal: Storage, pace: GatewayPace) -> None:
        self._journal = journal
        self._pace = pace
        self._kept: dict[str, float] = {}
        self._saved_at: float | None = None

    async def adopt(self) -> None:
        """Start the client from the pace the journal keeps, where it has measured none."""
        self._kept = paces_from_text(await anyio.to_thread.run_sync(self._journal.pace))
        self._pace.adopt(self._kept)

    async def save(self, *, quietly: bool = False) -> None:
        """
        Write the client's measured pace to the journal if it moved since last written.

        *quietly*: a failure to write is logged, not raised (a run that stops for another
        reason).
        """
        now = self._pace.paces()
        if not _moved(self._kept, now):
            return
        text = json.dumps(now, sort_keys=True)
        self._saved_at = anyio.current_time()
        try:
            await anyio.to_thread.run_sync(self._journal.set_pace, text)
        except Exception as exc:
            if not quietly:
                raise
            logger.warning("the gateway's pace could not be journalled: %s", exc)
            return
        self._kept = now

    def progress(self, callback: ProgressCallback | None) -> ProgressCallback:
        """An ``on_progress`` saving the pace now and then (`_EVERY`), then calling *callback*."""

        async def report(snapshot: MassProgress) -> None:
            due = self._saved_at is None or anyio.current_time() - self._saved_at >= _EVERY
            if due:
                await self.save()
            if callback is not None:
                returned = callback(snapshot)
                if inspect.isawaitable(returned):
                    await returned

        return report
