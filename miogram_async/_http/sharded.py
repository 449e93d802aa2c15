"""
Several small httpx connection pools behind one transport.

httpcore 1.0.9's pool does O(connections^2) work per request (for every connection it looks at it
counts every other one), so one pool of 64 or 256 connections costs milliseconds of CPU per request
and stalls a fan-out (benchmarks/RESULTS.md, "the default HTTP transport"). `ShardedTransport`
splits the connections over pools of at most `SHARD_SIZE` and sends each request to the pool with
the fewest requests in flight. It holds no event-loop objects (the counters are plain ints touched
only from the loop's thread), so it works under asyncio and trio alike.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Final

import httpx

__all__ = ["SHARD_SIZE", "PoolFactory", "ShardedTransport", "shard_limits"]

SHARD_SIZE: Final = 8
"""Connections per pool: 4 and 8 measure alike, 16 costs about twice as much CPU per request."""

PoolFactory = Callable[[httpx.Limits], httpx.AsyncBaseTransport]
"""Builds one inner pool for the given limits."""


def _spread(total: int, parts: int) -> list[int]:
    """*total* split into *parts* near-equal non-increasing shares."""
    base, extra = divmod(total, parts)
    return [base + 1] * extra + [base] * (parts - extra)


def shard_limits(limits: httpx.Limits, shard_size: int = SHARD_SIZE) -> list[httpx.Limits]:
    """
    The limits of each pool when *limits* is split into pools of at most *shard_size* connections.

    The pools together hold ``limits.max_connections`` connections (and as many kept alive), in
    ``ceil(max_connections / shard_size)`` pools of near-equal size; ``keepalive_expiry`` is kept.
    Unbounded limits (``max_connections=None``) are not split.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be at least 1, got {shard_size}")
    total = limits.max_connections
    if total is None or total <= shard_size:
        return [limits]
    parts = -(-total // shard_size)
    sizes = _spread(total, parts)
    kept = limits.max_keepalive_connections
    kept_sizes: Sequence[int | None] = [None] * parts if kept is None else _spread(kept, parts)
    return [
        httpx.Limits(
            max_connections=size,
            max_keepalive_connections=None if keep is None else min(keep, size),
            keepalive_expiry=limits.keepalive_expiry,
        )
        for size, keep in zip(sizes, kept_sizes, strict=True)
    ]


class _Release:
    """Gives back one in-flight slot of pool *index*, the first time it is called only."""

    __slots__ = ("_busy", "_index")

    def __init__(self, busy: list[int], index: int) -> None:
        self._busy: list[int] | None = busy
        self._index = index

    def __call__(self) -> None:
        busy, self._busy = self._busy, None
        if busy is not None:
            busy[self._index] -= 1


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that gives its pool slot back when it is closed (read or not)."""

    def __init__(self, stream: httpx.AsyncByteStream, release: _Release) -> None:
        self._stream = stream
        self._release = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._release()


class ShardedTransport(httpx.AsyncBaseTransport):
    """
    ``ceil(C / shard_size)`` httpx pools holding C connections in all; each request goes to the
    pool with the fewest requests in flight (round-robin among equals).

    A request counts as in flight from the moment it is routed until its response body is closed
    (httpx closes it after reading it; a streamed response that is closed unread counts as
    closed), or until it fails or is cancelled. When more than C requests are started, the extra
    ones wait in their pool for a free connection, bounded by the ``pool`` timeout as with a
    single pool. Errors are those of `httpx.AsyncHTTPTransport`, unchanged.

    Args:
        limits: the connections of all pools together (``max_connections`` C), the connections
            kept alive, and ``keepalive_expiry`` (kept for every pool).
        shard_size: the most connections in one pool.
        pool_factory: builds each pool from its limits; default `httpx.AsyncHTTPTransport`
            (with one TLS context shared by all pools, as building one costs ~15 ms).
    """

    def __init__(
        self,
        limits: httpx.Limits,
        *,
        shard_size: int = SHARD_SIZE,
        pool_factory: PoolFactory | None = None,
    ) -> None:
        self._limits = shard_limits(limits, shard_size)
        if pool_factory is None:
            pool_factory = _default_pool_factory()
        self._pools = [pool_factory(pool_limits) for pool_limits in self._limits]
        self._busy = [0] * len(self._pools)
        self._next = 0

    @property
    def pools(self) -> tuple[httpx.AsyncBaseTransport, ...]:
        """The inner pools, in routing order."""
        return tuple(self._pools)

    @property
    def pool_limits(self) -> tuple[httpx.Limits, ...]:
        """The limits each inner pool was built with."""
        return tuple(self._limits)

    @property
    def in_flight(self) -> tuple[int, ...]:
        """Requests currently routed to each pool and not yet finished."""
        return tuple(self._busy)

    def _pick(self) -> int:
        """The least busy pool, scanning from the one after the last pick."""
        busy = self._busy
        count = len(busy)
        best = self._next
        least = busy[best]
        for step in range(1, count):
            index = (self._next + step) % count
            if busy[index] < least:
                best, least = index, busy[index]
        self._next = (best + 1) % count
        return best

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send *request* through the least busy pool."""
        index = self._pick()
        self._busy[index] += 1
        release = _Release(self._busy, index)
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        stream = response.stream
        if not isinstance(stream, httpx.AsyncByteStream):
            release()
            raise TypeError(f"pool {index} returned a synchronous response stream")
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_ReleasingStream(stream, release),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close every pool (all of them, even when closing one fails)."""
        async with contextlib.AsyncExitStack() as stack:
            for pool in reversed(self._pools):
                stack.push_async_callback(pool.aclose)


def _default_pool_factory() -> PoolFactory:
    context: ssl.SSLContext | None = None

    def build(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        nonlocal context
        if context is None:
            context = httpx.create_ssl_context()
        return httpx.AsyncHTTPTransport(verify=context, limits=limits)

    return build
