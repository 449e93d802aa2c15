"""
Two send gates passed one after the other: a request goes once it holds a slot of both.

A PostgreSQL campaign's worker keeps its client's gate (the machine-wide one: other processes of
its host) and adds the campaign's (the campaign's other workers, on any machines). Every process
takes them in the same order, the client's first, so two of them never wait for each other.

A process that queues at the second gate holds a slot of the first without sending. Where the
first is a cross-process gate (`SlotGate`), its slot is marked busy only once both are held: a
process killed while it queues leaves no dead holder behind, and the next process of its host
does not wait for a request that never left.
"""

from __future__ import annotations

import anyio

from .base import SendGate
from .slots import SlotGate

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
        outer = self.outer
        if isinstance(outer, SlotGate):
            waited = await outer.acquire(mark_busy=False)
        else:
            waited = await outer.acquire()
        try:
            waited += await self.inner.acquire()
            if isinstance(outer, SlotGate):
                try:
                    await outer.mark_busy()
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await self.inner.release(0.0)
                    raise
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
