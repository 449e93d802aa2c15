"""
What the cross-process send gates share: slots counted in this process, taken and given back by
the task that uses them, around a store every process sees (`FileSendGate`, `PostgresSendGate`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Generic, Self, TypeVar

import anyio

from .._base.checks import is_count
from .._base.errors import ValidationError

__all__ = ["SlotGate"]

_Slot = TypeVar("_Slot")


class SlotGate(Generic[_Slot]):
    """
    A `SendGate` whose slots live in a store shared by processes; subclasses say how a slot is
    taken (`_take`) and given back (`_give`).

    Within one process only as many tasks as there are slots go to the store; each slot is given
    back by the task that took it (the client's request path does so).
    """

    name: str
    limit: int
    dead_holder_wait: float
    #: How many slots this gate took from a holder that had died (each cost a wait).
    taken_from_the_dead: int

    def _setup(
        self, *, name: str, limit: int, poll: float, max_poll: float, dead_holder_wait: float
    ) -> None:
        """Check and keep the options every such gate has."""
        if not is_count(limit, 1):
            raise ValidationError(f"expected a send gate limit >= 1, got {limit!r}")
        if not (poll > 0 and max_poll >= poll):
            raise ValidationError(f"expected 0 < poll <= max_poll, got {poll!r} and {max_poll!r}")
        if not dead_holder_wait >= 0:
            raise ValidationError(f"expected dead_holder_wait >= 0, got {dead_holder_wait!r}")
        self.name = name
        self.limit = limit
        self.dead_holder_wait = dead_holder_wait
        self.taken_from_the_dead = 0
        self._poll = poll
        self._max_poll = max_poll
        self._local: anyio.Semaphore | None = None
        # The slots each task holds, by task id.
        self._by_task: dict[int, list[_Slot]] = {}

    def _slots(self) -> anyio.Semaphore:
        # Made on first use, in the running event loop (asyncio or trio).
        if self._local is None:
            self._local = anyio.Semaphore(self.limit)
        return self._local

    async def acquire(self, *, mark_busy: bool = True) -> float:
        """
        Wait for a slot, then for what its last holder left (a drain, a dead holder's request).

        Args:
            mark_busy: mark the slot busy in the shared store at once (its holder is about to
                send). ``False`` holds it unmarked until `mark_busy`: a process that dies before
                then is known to have sent nothing through it, and the next holder does not wait
                for it as for a dead holder (a gate taken before another one, `StackedSendGate`).

        Returns:
            The seconds spent waiting (0.0 when a slot was free and the gateway idle).

        Raises:
            SendGateError: the shared store cannot be used: nothing was sent.
        """
        started = anyio.current_time()
        local = self._slots()
        queued = False
        try:
            local.acquire_nowait()
        except anyio.WouldBlock:
            queued = True
            await local.acquire()
        try:
            slot, waited = await self._take(mark_busy=mark_busy)
        except BaseException:
            local.release()
            raise
        self._by_task.setdefault(anyio.get_current_task().id, []).append(slot)
        return anyio.current_time() - started if queued or waited else 0.0

    async def mark_busy(self) -> None:
        """
        Mark the slot the current task took last (``acquire(mark_busy=False)``) busy.

        Raises:
            SendGateError: the shared store cannot be used (the slot is still held: give it back).
        """
        held = self._by_task.get(anyio.get_current_task().id)
        if held:
            with anyio.CancelScope(shield=True):
                await self._mark(held[-1])

    async def release(self, busy_for: float) -> None:
        """
        Give back a slot the current task holds; no process takes it for *busy_for* seconds.

        Args:
            busy_for: seconds from now the gateway may still be working (0.0 after an answer).
        """
        task = anyio.get_current_task().id
        held = self._by_task.get(task)
        if not held:
            return
        slot = held.pop()
        if not held:
            del self._by_task[task]
        try:
            await self._give(slot, max(0.0, busy_for))
        finally:
            self._slots().release()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """
        Hold one slot for the body (one state-changing request), given back without a drain.

        Raises:
            SendGateError: the shared store cannot be used: nothing was sent.
        """
        await self.acquire()
        try:
            yield
        finally:
            await self.release(0.0)

    async def aclose(self) -> None:
        """Let go of the shared store (nothing to do unless the gate keeps a connection)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _take(self, *, mark_busy: bool) -> tuple[_Slot, bool]:
        """
        Take a slot in the shared store, wait out what it says, mark it busy if *mark_busy*:
        (the slot, if it waited).
        """
        raise NotImplementedError

    async def _mark(self, slot: _Slot) -> None:
        """Mark *slot*, held, busy in the shared store (its holder is sending)."""
        raise NotImplementedError

    async def _give(self, slot: _Slot, busy_for: float) -> None:
        """Give *slot* back in the shared store, closed to the next holder for *busy_for* s."""
        raise NotImplementedError
