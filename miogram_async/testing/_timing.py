"""
How long the fake takes: a base latency per request, a processing time per number, one request at
a time per agent (the real gateway drives one messenger session per agent, API.md E24), and how long
the front waits for the gateway (E32).
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
        serialize_agents: run the requests of one agent one at a time (one telegram-cli
            session per agent); a request waiting for its agent is still in flight at the gateway.
        scale: factor applied to every duration (``TimeModel.realistic(scale=0.01)`` is a
            hundred times faster than the service).
        front_wait: seconds the front waits for the gateway before it answers 999 ``No Response
            From Server`` while the gateway goes on (API.md E32; PHP's default socket timeout).
            Used by the server profile only.
    """

    base_latency: float = 0.0
    per_number: float = 0.0
    serialize_agents: bool = True
    scale: float = 1.0
    front_wait: float = 60.0

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

    def work_seconds(self, numbers: int) -> float:
        """The gateway's processing time for *numbers* numbers."""
        if self.per_number > 0 and numbers > 0:
            return self.per_number * numbers * self.scale
        return 0.0

    def front_wait_seconds(self) -> float:
        """How long the front waits for the gateway."""
        return self.front_wait * self.scale
