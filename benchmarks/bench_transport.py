"""
Which HTTP transport should the SDK use by default? CPU time per request and wall time.

Each client POSTs a 100-number ``SendMessageMass`` form body to the minimal loopback server
(``benchmarks._loopback_server``, its own process, fixed latency) with C requests in flight::

    python -m benchmarks.bench_transport            # L = 20 ms, C in 1, 16, 64, 256
    python -m benchmarks.bench_transport --quick    # fewer requests, for a smoke run

CPU per request is the client process's ``time.process_time()`` over the measured requests (the
server's CPU is not in it). Efficiency is the floor ``requests x L / C`` over the measured wall
time. Each figure is the median of ``--runs`` runs with the minimum and maximum.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Final
from urllib.parse import urlsplit

import aiohttp
import attrs
import httpx
from httpx_aiohttp import AiohttpTransport

from benchmarks._common import (
    Spread,
    loopback_server,
    markdown_table,
    mass_form,
    phone_numbers,
    print_table,
    run_stamp,
    write_section,
)
from miogram_async._http.sharded import ShardedTransport

HEADERS: Final = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept-Charset": "UTF-8",
}
TIMEOUT: Final = 120.0
SHARD_SIZE = 8  # connections per httpx pool in the sharded variant (--shard-size)

Post = Callable[[bytes], Awaitable[bytes]]
Close = Callable[[], Awaitable[None]]
Factory = Callable[[str, int], Awaitable[tuple[list[Post], Close]]]


def _httpx_post(client: httpx.AsyncClient, url: str) -> Post:
    async def post(body: bytes) -> bytes:
        response = await client.post(url, content=body, headers=HEADERS)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}")
        return response.content

    return post


async def httpx_default(url: str, concurrency: int) -> tuple[list[Post], Close]:
    """``httpx.AsyncClient()`` with its default limits (100 connections, 20 kept alive)."""
    client = httpx.AsyncClient(timeout=TIMEOUT)
    return [_httpx_post(client, url)], client.aclose


async def httpx_sized(url: str, concurrency: int) -> tuple[list[Post], Close]:
    """One ``httpx.AsyncClient`` with ``Limits`` sized to the concurrency."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    client = httpx.AsyncClient(timeout=TIMEOUT, limits=limits)
    return [_httpx_post(client, url)], client.aclose


async def httpx_sharded(url: str, concurrency: int) -> tuple[list[Post], Close]:
    """ceil(C / 8) ``httpx.AsyncClient`` pools of 8 connections; worker w uses pool w mod k."""
    shards = max(1, -(-concurrency // SHARD_SIZE))
    size = min(concurrency, SHARD_SIZE)
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    clients = [httpx.AsyncClient(timeout=TIMEOUT, limits=limits) for _ in range(shards)]

    async def close() -> None:
        for client in clients:
            await client.aclose()

    return [_httpx_post(client, url) for client in clients], close


async def httpx_sharded_transport(url: str, concurrency: int) -> tuple[list[Post], Close]:
    """One ``httpx.AsyncClient`` over a `ShardedTransport` of ceil(C/S) pools of S connections."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    transport = ShardedTransport(limits, shard_size=SHARD_SIZE)
    client = httpx.AsyncClient(timeout=TIMEOUT, transport=transport)
    return [_httpx_post(client, url)], client.aclose


async def httpx_aiohttp(url: str, concurrency: int) -> tuple[list[Post], Close]:
    """``httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport(limits sized to C))``."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    client = httpx.AsyncClient(timeout=TIMEOUT, transport=AiohttpTransport(limits=limits))
    return [_httpx_post(client, url)], client.aclose


async def aiohttp_raw(url: str, concurrency: int) -> tuple[list[Post], Close]:
    """A plain ``aiohttp.ClientSession`` with ``TCPConnector(limit=C)``."""
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=TIMEOUT),
    )

    async def post(body: bytes) -> bytes:
        async with session.post(url, data=body, headers=HEADERS) as response:
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
            return await response.read()

    return [post], session.close


async def asyncio_floor(url: str, concurrency: int) -> tuple[list[Post], Close]:
    """A hand-written asyncio HTTP/1.1 client: one keep-alive connection per worker."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
        + "Content-Length: "
    ).encode()
    connections = [await asyncio.open_connection(host, port) for _ in range(concurrency)]

    def make(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Post:
        async def post(body: bytes) -> bytes:
            writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
            response_head = await reader.readuntil(b"\r\n\r\n")
            if not response_head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(response_head[:40].decode(errors="replace"))
            length = 0
            for line in response_head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            return await reader.readexactly(length)

        return post

    async def close() -> None:
        for _, writer in connections:
            writer.close()
        for _, writer in connections:
            await writer.wait_closed()

    return [make(r, w) for r, w in connections], close


CLIENTS: Final[dict[str, tuple[str, Factory]]] = {
    "httpx-default": ("httpx.AsyncClient(), default Limits", httpx_default),
    "httpx-sized": ("httpx.AsyncClient, Limits sized to C", httpx_sized),
    "httpx-sharded": ("httpx, ceil(C/S) clients of S (S = --shard-size)", httpx_sharded),
    "httpx-shardtx": (
        "one httpx.AsyncClient, transport = ceil(C/S) pools of S, least busy first",
        httpx_sharded_transport,
    ),
    "httpx-aiohttp": ("httpx.AsyncClient + httpx_aiohttp transport", httpx_aiohttp),
    "aiohttp": ("aiohttp.ClientSession", aiohttp_raw),
    "asyncio-floor": ("hand-written asyncio client (floor)", asyncio_floor),
}


async def _run_workers(posts: Sequence[Post], concurrency: int, count: int, body: bytes) -> None:
    remaining = count

    async def worker(post: Post) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await post(body)

    async with asyncio.TaskGroup() as tg:
        for w in range(concurrency):
            tg.create_task(worker(posts[w % len(posts)]))


@attrs.frozen
class Sample:
    """One measured run: CPU seconds and wall seconds for *requests* requests."""

    cpu: float
    wall: float
    requests: int


async def measure(
    factory: Factory, url: str, concurrency: int, requests: int, body: bytes | None = None
) -> Sample:
    """Open the client, warm up one request per worker, then time *requests* requests."""
    body = mass_form(phone_numbers(100)) if body is None else body
    posts, close = await factory(url, concurrency)
    try:
        await _run_workers(posts, concurrency, concurrency, body)
        gc.collect()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await _run_workers(posts, concurrency, requests, body)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
    finally:
        await close()
    return Sample(cpu, wall, requests)


def main(argv: list[str] | None = None) -> None:
    """Run the transport comparison, print the table and write it into RESULTS.md."""
    parser = argparse.ArgumentParser(description="CPU and wall time per request by HTTP transport")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--requests", type=int, default=1000, help="per run at C >= 16")
    parser.add_argument("--requests-c1", type=int, default=200, help="per run at C = 1")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--clients", nargs="+", choices=sorted(CLIENTS), default=list(CLIENTS))
    parser.add_argument("--shard-size", type=int, default=8, help="connections per httpx shard")
    parser.add_argument("--quick", action="store_true", help="300 requests (50 at C = 1)")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--section", default=None, help="RESULTS.md section name")
    args = parser.parse_args(argv)
    global SHARD_SIZE  # noqa: PLW0603 - a command-line knob for one variant
    SHARD_SIZE = args.shard_size
    if args.quick:
        args.requests, args.requests_c1 = 300, 50

    latency = args.latency_ms / 1000
    samples: dict[tuple[str, int], list[Sample]] = {}
    with loopback_server(args.latency_ms) as url:
        for concurrency in args.concurrency:
            requests = args.requests_c1 if concurrency == 1 else args.requests
            for run in range(args.runs):
                for name in args.clients:
                    sample = asyncio.run(measure(CLIENTS[name][1], url, concurrency, requests))
                    samples.setdefault((name, concurrency), []).append(sample)
                    per_request = sample.cpu / requests * 1000
                    print(
                        f"C={concurrency:<4} run {run + 1} {name:<14} "
                        f"cpu/req {per_request:6.3f} ms  wall {sample.wall:7.3f} s",
                        flush=True,
                    )

    header = ["client", "C", "requests", "CPU ms/request", "wall s", "efficiency", "req/s"]
    rows: list[list[str]] = []
    for concurrency in args.concurrency:
        for name in args.clients:
            runs = samples[(name, concurrency)]
            n = runs[0].requests
            floor = n * latency / concurrency
            rows.append(
                [
                    name,
                    str(concurrency),
                    str(n),
                    Spread.of([s.cpu / n for s in runs]).fmt(3, 1000),
                    Spread.of([s.wall for s in runs]).fmt(3),
                    Spread.of([floor / s.wall for s in runs]).fmt(2) if floor else "-",
                    Spread.of([n / s.wall for s in runs]).fmt(0),
                ]
            )
    print()
    print_table(header, rows)
    if not args.no_write:
        legend = "\n".join(f"- `{key}`: {text}" for key, (text, _) in CLIENTS.items())
        command = " ".join(
            ["python -m benchmarks.bench_transport", *(argv if argv is not None else sys.argv[1:])]
        )
        subset = "" if args.clients == list(CLIENTS) else f" ({', '.join(args.clients)})"
        write_section(
            args.section or f"transport-L{args.latency_ms:g}",
            f"### Transport comparison, L = {args.latency_ms:g} ms{subset}\n\n"
            f"{run_stamp()} `{command}`; median (min-max) "
            f"of {args.runs} runs; efficiency = requests x L / C / wall.\n\n{legend}\n\n"
            + markdown_table(header, rows),
        )


if __name__ == "__main__":
    main()
