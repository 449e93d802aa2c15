"""
A token bucket on anyio, shared by every request of one client.

Each HTTP request (every attempt, retries included) takes one token. Tokens refill continuously at
``rate`` per second up to ``burst``. Waiters queue on one lock, so they are served in arrival order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

__all__ = ["TokenBucket"]


class TokenBucket:
    """
    Allow at most *rate* requests per second on average, and *burst* at once.

    Args:
        rate: tokens added per second; must be positive.
        burst: the bucket's capacity (and its initial fill); default ``max(1, rate)``.
        clock: the time source, ``anyio.current_time`` unless a test supplies a fake one.
        sleep: the wait function, ``anyio.sleep`` unless a test supplies a fake one.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = anyio.current_time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(
                f"rate_limit must be a positive number of requests per second, got {rate!r}"
            )
        capacity = max(1.0, float(rate)) if burst is None else float(burst)
        if not capacity >= 1:
            raise ValueError(f"the burst must be at least 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._updated: float | None = None
        self._lock: anyio.Lock | None = None

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate!r}, burst={self.burst!r})"

    def _refill(self) -> None:
        now = self._clock()
        if self._updated is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        """Take one token, waiting until one is available."""
        # Created on first use: the bucket may be built outside any event loop.
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            self._refill()
            if self._tokens < 1:
                await self._sleep((1 - self._tokens) / self.rate)
                self._refill()
            # Taken even if rounding left the bucket a hair short: the shortfall stays as debt
            # (a negative balance) for the next request, so the average rate still holds and no
            # waiter spins on sleeps too small to move the clock.
            self._tokens -= 1
