"""
A sharded httpx transport: ceil(C / S) small httpcore pools, each request to the least busy one.

httpcore 1.0.9's pool does work proportional to (idle connections x all connections) every time a
request starts or ends, so one pool of C connections costs several milliseconds of CPU per request
at C = 64-256. Pools of a few connections keep that cost flat. This is the reference design
measured by ``bench_transport.py`` (the SDK's own is ``miogram_async._sharded``); it uses only
httpx's public transport API, so it runs under trio too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx

__all__ = ["ShardedTransport"]


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that calls *release* once when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._release is not None:
                self._release()
                self._release = None


class ShardedTransport(httpx.AsyncBaseTransport):
    """
    k small httpcore pools behind one transport; each request goes to the least busy pool.

    httpcore's pool does O(connections^2) work per request (it counts every connection for every
    connection it looks at), so pools are kept at a few connections each.
    """

    def __init__(self, concurrency: int, shard_size: int) -> None:
        shards = max(1, -(-concurrency // shard_size))
        size = min(concurrency, shard_size)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        self._pools = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(shards)]
        self._busy = [0] * shards

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._pools)), key=self._busy.__getitem__)
        self._busy[index] += 1

        def release() -> None:
            self._busy[index] -= 1

        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_ReleasingStream(response.stream, release),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
