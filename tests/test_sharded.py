"""ShardedTransport: pool sizes, least-busy routing, and in-flight counts that always come back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
import trio
from anyio.abc import SocketAttribute, SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream

from miogram_async._http.sharded import SHARD_SIZE, ShardedTransport, shard_limits

# -- an inner-pool double ------------------------------------------------------------------------


class _Pools:
    """Builds recording pool doubles; a request to a path with a gate waits until it is set."""

    def __init__(self) -> None:
        self.log: list[tuple[int, str]] = []
        self.requests: list[httpx.Request] = []
        self.gates: dict[str, anyio.Event] = {}
        self.arrived: defaultdict[str, anyio.Event] = defaultdict(anyio.Event)
        self.built: list[_HeldPool] = []

    def factory(self, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        pool = _HeldPool(self, len(self.built), limits)
        self.built.append(pool)
        return pool

    def shards(self) -> list[int]:
        """The pool each request went to, in arrival order."""
        return [number for number, _ in self.log]


class _HeldPool(httpx.AsyncBaseTransport):
    def __init__(self, pools: _Pools, number: int, limits: httpx.Limits) -> None:
        self.pools = pools
        self.number = number
        self.limits = limits
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.pools.log.append((self.number, path))
        self.pools.requests.append(request)
        self.pools.arrived[path].set()
        if path == "/fail":
            raise httpx.ConnectError("refused", request=request)
        gate = self.pools.gates.get(path)
        if gate is not None:
            await gate.wait()
        return httpx.Response(200, content=b"ok")

    async def aclose(self) -> None:
        self.closed = True


def _sharded(pools: _Pools, connections: int, shard_size: int = SHARD_SIZE) -> ShardedTransport:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return ShardedTransport(limits, shard_size=shard_size, pool_factory=pools.factory)


# -- a loopback HTTP/1.1 server (anyio: runs under asyncio and trio) ------------------------------


class _Loopback:
    """Answers ``ok`` to every request, except ``/hang``, which it never answers."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.hanging = anyio.Event()

    async def handle(self, client: SocketStream) -> None:
        async with client:
            reader = BufferedByteReceiveStream(client)
            try:
                while True:
                    head = await reader.receive_until(b"\r\n\r\n", 65536)
                    lines = head.split(b"\r\n")
                    path = lines[0].split(b" ")[1].decode()
                    length = 0
                    for line in lines[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    if length:
                        await reader.receive_exactly(length)
                    self.paths.append(path)
                    if path == "/hang":
                        self.hanging.set()
                        await anyio.sleep_forever()
                    await client.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError):
                return


@asynccontextmanager
async def _loopback() -> AsyncIterator[tuple[str, _Loopback]]:
    server = _Loopback()
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, server.handle)
        try:
            yield f"http://127.0.0.1:{port}", server
        finally:
            group.cancel_scope.cancel()


def _real(connections: int, shard_size: int = SHARD_SIZE) -> ShardedTransport:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return ShardedTransport(limits, shard_size=shard_size)


# -- pool sizes ----------------------------------------------------------------------------------


def test_connections_are_split_into_pools_of_at_most_the_shard_size() -> None:
    """64 connections make 8 pools of 8; 100 make 13 near-equal pools; the expiry is kept."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=60.0)
    assert (
        shard_limits(limits, 8)
        == [httpx.Limits(max_connections=8, max_keepalive_connections=8, keepalive_expiry=60.0)] * 8
    )
    hundred = shard_limits(httpx.Limits(max_connections=100, max_keepalive_connections=100), 8)
    sizes = [pool.max_connections for pool in hundred]
    assert sizes == [8] * 9 + [7] * 4
    assert [pool.max_keepalive_connections for pool in hundred] == sizes
    ten = shard_limits(httpx.Limits(max_connections=10, max_keepalive_connections=4), 8)
    assert [(pool.max_connections, pool.max_keepalive_connections) for pool in ten] == [
        (5, 2),
        (5, 2),
    ]


def test_small_or_unbounded_limits_stay_one_pool() -> None:
    """Up to the shard size, or with no connection limit, there is a single pool as given."""
    small = httpx.Limits(max_connections=8, max_keepalive_connections=8, keepalive_expiry=60.0)
    assert shard_limits(small, 8) == [small]
    unbounded = httpx.Limits(max_connections=None)
    assert shard_limits(unbounded, 8) == [unbounded]
    with pytest.raises(ValueError, match="shard_size"):
        shard_limits(small, 0)


async def test_default_pools_are_httpx_pools_sharing_one_tls_context() -> None:
    """Each pool is an httpx.AsyncHTTPTransport with its share of the limits and the expiry."""
    limits = httpx.Limits(max_connections=24, max_keepalive_connections=24, keepalive_expiry=60.0)
    transport = ShardedTransport(limits, shard_size=8)
    async with transport:
        pools = transport.pools
        assert len(pools) == 3
        assert all(isinstance(pool, httpx.AsyncHTTPTransport) for pool in pools)
        inner = [pool._pool for pool in pools if isinstance(pool, httpx.AsyncHTTPTransport)]
        assert [pool._max_connections for pool in inner] == [8, 8, 8]
        assert [pool._keepalive_expiry for pool in inner] == [60.0, 60.0, 60.0]
        assert len({id(pool._ssl_context) for pool in inner}) == 1


# -- routing -------------------------------------------------------------------------------------


async def test_requests_go_to_the_least_busy_pool_round_robin_among_equals() -> None:
    """Held requests fill pools 0, 1, 2, then 0 again; a freed pool is the next one used."""
    pools = _Pools()
    for path in ("/a", "/b", "/c", "/d", "/e"):
        pools.gates[path] = anyio.Event()
    done: defaultdict[str, anyio.Event] = defaultdict(anyio.Event)
    transport = _sharded(pools, 24)
    async with httpx.AsyncClient(transport=transport) as client:

        async def get(path: str) -> None:
            response = await client.get(f"http://pool.test{path}")
            assert response.text == "ok"
            done[path].set()

        async with anyio.create_task_group() as group:
            for path in ("/a", "/b", "/c", "/d"):
                group.start_soon(get, path)
                await pools.arrived[path].wait()
            assert pools.shards() == [0, 1, 2, 0]
            assert transport.in_flight == (2, 1, 1)
            pools.gates["/b"].set()
            await done["/b"].wait()
            assert transport.in_flight == (2, 0, 1)
            group.start_soon(get, "/e")
            await pools.arrived["/e"].wait()
            assert pools.shards()[-1] == 1
            assert transport.in_flight == (2, 1, 1)
            for gate in pools.gates.values():
                gate.set()
    assert transport.in_flight == (0, 0, 0)
    assert all(pool.closed for pool in pools.built)


async def test_per_request_timeouts_reach_the_pool() -> None:
    """The request's timeout extension is passed to the inner pool unchanged."""
    pools = _Pools()
    async with httpx.AsyncClient(transport=_sharded(pools, 16)) as client:
        await client.post("http://pool.test/t", content=b"x", timeout=httpx.Timeout(3.0, pool=7.0))
    assert pools.requests[0].extensions["timeout"] == {
        "connect": 3.0,
        "read": 3.0,
        "write": 3.0,
        "pool": 7.0,
    }


# -- the in-flight count always comes back -------------------------------------------------------


async def test_a_failing_request_is_released_and_its_error_is_unchanged() -> None:
    """A ConnectError from the pool propagates as is, and the pool is no longer counted busy."""
    pools = _Pools()
    transport = _sharded(pools, 16)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError, match="refused"):
            await client.post("http://pool.test/fail", content=b"x")
        assert transport.in_flight == (0, 0)
        response = await client.post("http://pool.test/ok", content=b"x")
    assert response.text == "ok"
    assert transport.in_flight == (0, 0)


async def test_success_and_a_real_connect_error_release() -> None:
    """Over loopback: answered requests and a refused connection leave nothing in flight."""
    closed = await anyio.create_tcp_listener(local_host="127.0.0.1")
    closed_port = closed.extra(SocketAttribute.local_port)
    await closed.aclose()
    transport = _real(16)
    async with _loopback() as (url, server), httpx.AsyncClient(transport=transport) as client:
        for _ in range(4):
            assert (await client.post(f"{url}/ok", content=b"x" * 4096)).text == "ok"
        assert transport.in_flight == (0, 0)
        with pytest.raises(httpx.ConnectError):
            await client.post(f"http://127.0.0.1:{closed_port}/", content=b"x")
        assert transport.in_flight == (0, 0)
    assert server.paths == ["/ok"] * 4


async def _cancel_a_hanging_request(
    client: httpx.AsyncClient, transport: ShardedTransport, url: str, server: _Loopback
) -> tuple[tuple[int, ...], tuple[int, ...], list[str]]:
    """In flight while the server holds the request, after the cancel, then three answers."""
    async with anyio.create_task_group() as group:

        async def hang() -> None:
            await client.post(f"{url}/hang", content=b"x")

        group.start_soon(hang)
        await server.hanging.wait()
        during = transport.in_flight
        group.cancel_scope.cancel()
    after = transport.in_flight
    texts = [(await client.post(f"{url}/ok", content=b"x")).text for _ in range(3)]
    return during, after, texts


async def test_a_cancelled_request_is_released_and_the_pool_still_works() -> None:
    """A request cancelled while waiting for its reply frees its slot and its only connection."""
    transport = _real(1)
    async with _loopback() as (url, server), httpx.AsyncClient(transport=transport) as client:
        during, after, texts = await _cancel_a_hanging_request(client, transport, url, server)
        assert transport.in_flight == (0,)
    assert during == (1,)
    assert after == (0,)
    assert texts == ["ok", "ok", "ok"]


async def test_a_response_closed_unread_is_released_once() -> None:
    """A streamed response closed unread releases its pool; closing it again changes nothing."""
    transport = _real(4, shard_size=2)
    async with _loopback() as (url, _), httpx.AsyncClient(transport=transport) as client:
        request = client.build_request("POST", f"{url}/ok", content=b"x")
        response = await client.send(request, stream=True)
        assert transport.in_flight == (1, 0)
        await response.aclose()
        assert transport.in_flight == (0, 0)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        await response.stream.aclose()
        assert transport.in_flight == (0, 0)
        assert (await client.post(f"{url}/ok", content=b"x")).text == "ok"
    assert transport.in_flight == (0, 0)


def test_under_trio_requests_spread_and_a_cancellation_is_released() -> None:
    """Under trio the sharded transport answers, releases a cancelled request and keeps working."""

    async def main() -> tuple[tuple[int, ...], tuple[int, ...], list[str], tuple[int, ...]]:
        transport = _real(2, shard_size=1)
        async with _loopback() as (url, server), httpx.AsyncClient(transport=transport) as client:
            during, after, texts = await _cancel_a_hanging_request(client, transport, url, server)
            final = transport.in_flight
        return during, after, texts, final

    during, after, texts, final = trio.run(main)
    assert during == (1, 0)
    assert after == (0, 0)
    assert texts == ["ok", "ok", "ok"]
    assert final == (0, 0)


async def test_aclose_closes_every_pool() -> None:
    """Closing the transport closes each inner pool."""
    pools = _Pools()
    transport = _sharded(pools, 20)
    await transport.aclose()
    assert [pool.closed for pool in pools.built] == [True, True, True]
