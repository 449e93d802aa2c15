"""
How long the fake takes: a base latency per request, a processing time per number, and one
request at a time per agent (the real gateway drives one messenger session per agent, API.md E24).
"""

from __future__ import annotations

import anyio
import attrs

__all__ = ["TimeModel"]


@attrs.frozen(kw_only=True)
class TimeModel:
    """
    The fake's notion of time.

    Attributes:
        base_latency: seconds added to every request, before the agent is taken.
        per_number: seconds of work per number an action touches (sends, group members...).
        serialize_agents: run the requests of one agent one at a time.
        scale: factor applied to both durations (``TimeModel.realistic(scale=0.01)`` is a
            hundred times faster than the service).
    """

    base_latency: float = 0.0
    per_number: float = 0.0
    serialize_agents: bool = True
    scale: float = 1.0

    @classmethod
    def instant(cls) -> TimeModel:
        """No waiting at all (the default)."""
        return cls()

    @classmethod
    def realistic(cls, *, scale: float = 1.0) -> TimeModel:
        """About the real service: 0.3 s per request and 1 s per number, times *scale*."""
        return cls(base_latency=0.3, per_number=1.0, scale=scale)

    async def request_delay(self) -> None:
        """Wait the per-request latency."""
        if self.base_latency > 0:
            await anyio.sleep(self.base_latency * self.scale)

    async def work(self, numbers: int) -> None:
        """Wait the processing time for *numbers* numbers."""
        if self.per_number > 0 and numbers > 0:
            await anyio.sleep(self.per_number * numbers * self.scale)


class AgentLocks:
    """One lock per agent, made lazily inside the running event loop."""

    def __init__(self) -> None:
        self._locks: dict[str, anyio.Lock] = {}

    def get(self, agent: str) -> anyio.Lock:
        """Return the lock of *agent*."""
        lock = self._locks.get(agent)
        if lock is None:
            lock = self._locks[agent] = anyio.Lock()
        return lock

    def clear(self) -> None:
        """Forget every lock (after a reset, or before running in another event loop)."""
        self._locks.clear()
