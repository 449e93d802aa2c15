"""
Two send gates passed one after the other: a request goes once it holds a slot of both.

A PostgreSQL campaign's worker keeps its client's gate (the machine-wide one: other processes of
its host) and adds the campaign's (the campaign's other workers, on any machines). Every process
takes them in the same order, the client's first, so two of them never wait for each other.
"""

from __future__ import annotations

import anyio

from .base import SendGate

__all__ = ["StackedSendGate"]


class StackedSendGate:
    """
    A `SendGate` that holds a slot of *outer*, then one of *inner*, for every request.

    Args:
        outer: the gate taken first and given back last (the client's own).
        inner: the gate taken second (a campaign's).
    """

    def __init__(self, outer: SendGate, inner: SendGate) -> None:
        self.outer = outer
        self.inner = inner

    def __repr__(self) -> str:
        return f"<StackedSendGate {self.outer!r} then {self.inner!r}>"

    async def acquire(self) -> float:
        """Wait for a slot of both gates; return the seconds spent waiting."""
        waited = await self.outer.acquire()
        try:
            waited += await self.inner.acquire()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.outer.release(0.0)
            raise
        return waited

    async def release(self, busy_for: float) -> None:
        """Give both slots back, each closed for *busy_for* seconds."""
        try:
            await self.inner.release(busy_for)
        finally:
            await self.outer.release(busy_for)
