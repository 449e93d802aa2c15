"""
The send gate: how many state-changing requests of a client may be at the service at once.

The service's gateway keeps one credit file for all its agents and accounts and has no lock: two
state-changing requests in flight at once, even on two different agents, corrupt it, and from then
on every account on that gateway gets 305/306/309 (docs/service.md E33). The service's own bulk
sender sends one request at a time (E48). So every state-changing request of a `MioGram` passes a
`SendGate` whose capacity is the client's ``concurrency`` (1 by default); reads do not.

One request at a time at the front is not enough after the front gave up on the gateway (a 999
after its 60 s wait, E32; a read timeout; a 5xx): the gateway may still be delivering, and the
next request would overlap it. The request that saw such an outcome releases its slot with how
long the gateway may still be busy, and the gate stays closed that long.

`SendGate` is a protocol so that a gate shared by several processes can be passed as
``MioGram(send_gate=...)``: `PostgresSendGate` (advisory locks, processes on any machines) and
`FileSendGate` (``flock``, the processes of one host) keep both the slots and the drain across
processes. `LocalSendGate` is the in-process one every client has by default.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["LocalSendGate", "SendGate"]


@runtime_checkable
class SendGate(Protocol):
    """
    A gate around the HTTP exchange of every state-changing request of a client.

    `acquire` is awaited before the request goes out, `release` after its outcome is known (also
    after an error or a cancellation, shielded from it). An implementation shared by several
    clients or processes enforces E33 across them.
    """

    async def acquire(self) -> float:
        """Wait for a slot; return the seconds spent waiting (0.0 when none)."""
        ...

    async def release(self, busy_for: float) -> None:
        """
        Give the slot back.

        Args:
            busy_for: seconds from now during which the gateway may still be working on the
                request just made (its outcome is unknown); no request may pass the gate before
                they are over. 0.0 after an answer.
        """
        ...


class LocalSendGate:
    """
    The in-process gate: at most *capacity* requests through at once, for the tasks of one loop.

    Its semaphore is made lazily, in the running event loop (asyncio or trio), on first use.

    Args:
        capacity: requests allowed through at once (the client's ``concurrency``).
    """

    def __init__(self, capacity: int = 1) -> None:
        self.capacity = capacity
        self._semaphore: anyio.Semaphore | None = None
        self._reopen_at = -math.inf

    def _slots(self) -> anyio.Semaphore:
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.capacity)
        return self._semaphore

    @property
    def in_use(self) -> int:
        """Slots taken right now."""
        return 0 if self._semaphore is None else self.capacity - self._semaphore.value

    async def acquire(self) -> float:
        """Wait for a free slot, then for the end of any drain; return the seconds waited."""
        slots = self._slots()
        started = anyio.current_time()
        queued = False
        try:
            slots.acquire_nowait()
        except anyio.WouldBlock:
            queued = True
            await slots.acquire()
        try:
            # Sleep until a drain set by an earlier request is over; another may extend it.
            while (wait := self._reopen_at - anyio.current_time()) > 0:
                queued = True
                await anyio.sleep(wait)
        except BaseException:
            slots.release()
            raise
        return anyio.current_time() - started if queued else 0.0

    async def release(self, busy_for: float) -> None:
        """Give a slot back; keep the gate closed *busy_for* seconds from now."""
        if busy_for > 0:
            self._reopen_at = max(self._reopen_at, anyio.current_time() + busy_for)
        self._slots().release()

    def __repr__(self) -> str:
        return f"LocalSendGate(capacity={self.capacity}, in_use={self.in_use})"
