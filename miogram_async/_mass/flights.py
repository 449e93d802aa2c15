"""
A Mass send's chunks in flight: when each starts, and the grace a cancellation leaves them.

A chunk *starts* when the client's send gate lets its request through, just before it leaves
(`Admissions`): a chunk still queued at the gate has sent nothing, so a cancellation then stops it
at once and leaves its numbers ``NOT_ATTEMPTED``. A chunk that started may have been sent: a
cancellation gives it a bounded grace period to be answered and recorded (`Grace`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator

import anyio

from .result import Chunk

__all__ = ["Admissions", "Flight", "Grace"]


class Admissions:
    """
    Where a Mass send's chunks are let through the send gate: the fan-out listens here.

    `send_mass` and `send_singles` give each chunk's request an ``on_admitted`` that awaits
    ``admissions.admit(chunk)`` and hand this object to `fan_out`, which starts the chunk there
    (every attempt of a request is admitted; the chunk starts at the first).
    """

    __slots__ = ("_listener",)

    def __init__(self) -> None:
        self._listener: Callable[[Chunk], Awaitable[None]] | None = None

    def listen(self, listener: Callable[[Chunk], Awaitable[None]]) -> None:
        """Have *listener* awaited with each chunk the gate admits."""
        self._listener = listener

    async def admit(self, chunk: Chunk) -> None:
        """The gate let *chunk*'s request through (a `Request.on_admitted`)."""
        if self._listener is not None:
            await self._listener(chunk)


class Flight:
    """A chunk a worker handles: its shielded scope, and whether it started (may have left)."""

    __slots__ = ("hook_error", "scope", "started")

    def __init__(self, scope: anyio.CancelScope) -> None:
        self.scope = scope
        self.started = False
        #: What a hook raised as the chunk started (nothing was sent): it stops the fan-out.
        self.hook_error: Exception | None = None


class Grace:
    """The cancellation grace of one fan-out: its shielded scopes and its chunks in flight."""

    def __init__(self, cancel_grace: float) -> None:
        self._cancel_grace = cancel_grace
        #: When the grace of a caller's cancellation ends; `None` while nobody cancelled.
        self.deadline: float | None = None
        #: The chunks the workers handle, by chunk index.
        self.flights: dict[int, Flight] = {}
        self._guarded: dict[anyio.CancelScope, float] = {}

    @contextlib.contextmanager
    def guard(self, minimum: float = 0.0) -> Iterator[anyio.CancelScope]:
        """
        A shielded scope that a caller's cancellation turns into a bounded grace period.

        The period is *cancel_grace*, but at least *minimum* seconds: recording an outcome that is
        already known must not be cut off by a zero grace.
        """
        grace = max(self._cancel_grace, minimum)
        with anyio.CancelScope(shield=True) as scope:
            if self.deadline is not None:
                scope.deadline = anyio.current_time() + grace
            self._guarded[scope] = grace
            try:
                yield scope
            finally:
                del self._guarded[scope]

    def begin(self) -> None:
        """The caller cancelled: start the grace period, and stop the chunks still queued."""
        now = anyio.current_time()
        self.deadline = now + self._cancel_grace
        for scope, grace in self._guarded.items():
            scope.deadline = min(scope.deadline, now + grace)
        for flight in self.flights.values():
            if not flight.started:
                flight.scope.cancel()  # still queued at the gate: nothing has left
