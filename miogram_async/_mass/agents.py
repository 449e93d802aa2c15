"""
The agent rotation of a Mass send: how many requests each agent may carry at once.

`AgentSlots` gives each of the fan-out's workers a slot on the least busy agent, round-robin among
equals: ``per_robot`` requests at a time on a named agent, the default agent ``None`` bounded only
by the overall concurrency.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["AgentSlots"]


class AgentSlots:
    """Agent slots: ``per_robot`` requests per named agent; the default agent ``None`` unbounded."""

    def __init__(self, robots: Sequence[str | None], per_robot: int, concurrency: int) -> None:
        self.names = list(dict.fromkeys(robots))
        self.capacity = [concurrency if name is None else per_robot for name in self.names]
        self.busy = [0] * len(self.names)
        self._next = 0

    def acquire(self) -> int:
        """Take a slot on the least busy agent, round-robin among equals."""
        best: int | None = None
        for step in range(len(self.names)):
            slot = (self._next + step) % len(self.names)
            free = self.busy[slot] < self.capacity[slot]
            if free and (best is None or self.busy[slot] < self.busy[best]):
                best = slot
        # There are never more workers than slots, so a worker always finds a free one.
        assert best is not None
        self.busy[best] += 1
        self._next = (best + 1) % len(self.names)
        return best

    def release(self, slot: int) -> None:
        self.busy[slot] -= 1
