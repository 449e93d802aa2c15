"""
What the SDK adds per request: CPU of ``send_message`` against a raw POST on the same transport.

Each client sends ``SendMessage`` for one number to the minimal loopback server (its own process,
fixed latency) with C requests in flight; CPU per request is this process's CPU time over the
measured requests::

    python -m benchmarks.bench_client_cost            # C in 1, 16, 64, 256
    python -m benchmarks.bench_client_cost --quick

Rows: a raw ``httpx.AsyncClient`` built as the SDK's httpx path builds it (``build_http_client``),
raw httpx over the ``httpx_aiohttp`` transport (what the SDK uses with the aiohttp extra), raw
aiohttp, and
``MioGram.send_message`` with ``http_backend="httpx"`` and ``"aiohttp"``. ``vs raw`` divides the
SDK's CPU per request by that of the raw transport underneath it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from typing import Final
from urllib.parse import urlencode

import httpx

from benchmarks._common import (
    SECRET,
    Spread,
    loopback_server,
    markdown_table,
    phone_numbers,
    print_table,
    run_stamp,
    sdk_client,
    write_section,
)
from benchmarks.bench_transport import (
    Close,
    Factory,
    Post,
    Sample,
    aiohttp_raw,
    httpx_aiohttp,
    measure,
)
from miogram_async import HttpBackend
from miogram_async._http.transport import build_http_client

MESSAGE: Final = "benchmark message"
NUMBERS: Final = phone_numbers(1000)


async def httpx_sdk_pool(url: str, concurrency: int) -> tuple[list[Post], Close]:
    """A raw ``httpx.AsyncClient`` from ``build_http_client(backend="httpx")``, as the SDK has."""
    client = build_http_client(
        concurrency=concurrency, timeout=httpx.Timeout(120.0), backend="httpx"
    )

    async def post(body: bytes) -> bytes:
        response = await client.post(
            url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        return response.content

    return [post], client.aclose


def sdk(backend: HttpBackend) -> Factory:
    """``MioGram.send_message`` with *backend* (the body argument is ignored)."""

    async def factory(url: str, concurrency: int) -> tuple[list[Post], Close]:
        client = sdk_client(url, concurrency, backend)
        await client.__aenter__()
        numbers = itertools.cycle(NUMBERS)

        async def post(body: bytes) -> bytes:
            if not await client.send_message(next(numbers), MESSAGE):
                raise RuntimeError("SendMessage returned false")
            return b""

        return [post], client.aclose

    return factory


CLIENTS: Final[dict[str, tuple[Factory, str | None]]] = {
    "raw httpx (SDK's httpx transport)": (httpx_sdk_pool, None),
    "SDK send_message, httpx": (sdk("httpx"), "raw httpx (SDK's httpx transport)"),
    "raw httpx + httpx_aiohttp": (httpx_aiohttp, None),
    "SDK send_message, aiohttp extra": (sdk("aiohttp"), "raw httpx + httpx_aiohttp"),
    "raw aiohttp": (aiohttp_raw, None),
}


def main(argv: list[str] | None = None) -> None:
    """Run the comparison, print the table and write it into RESULTS.md."""
    parser = argparse.ArgumentParser(description="CPU per request: SDK against raw transports")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--requests", type=int, default=1000, help="per run at C >= 16")
    parser.add_argument("--requests-c1", type=int, default=200, help="per run at C = 1")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--quick", action="store_true", help="300 requests (50 at C = 1), 1 run")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.requests_c1, args.runs = 300, 50, 1
    body = urlencode(
        {"Secret": SECRET, "Func": "SendMessage", "Phone": NUMBERS[0], "Message": MESSAGE}
    ).encode()
    samples: dict[tuple[str, int], list[Sample]] = {}
    with loopback_server(args.latency_ms) as url:
        for concurrency in args.concurrency:
            requests = args.requests_c1 if concurrency == 1 else args.requests
            for _ in range(args.runs):
                for name, (factory, _under) in CLIENTS.items():
                    sample = asyncio.run(measure(factory, url, concurrency, requests, body))
                    samples.setdefault((name, concurrency), []).append(sample)
                    print(
                        f"C={concurrency:<4} {name:<32} "
                        f"{sample.cpu / requests * 1000:6.3f} ms/request  {sample.wall:6.2f} s",
                        flush=True,
                    )

    header = ["client", "C", "CPU ms/request", "vs raw", "requests/s"]
    rows: list[list[str]] = []
    for concurrency in args.concurrency:
        for name, (_factory, under) in CLIENTS.items():
            runs = samples[(name, concurrency)]
            n = runs[0].requests
            cpu = Spread.of([s.cpu / n for s in runs])
            ratio = "-"
            if under is not None:
                base = Spread.of([s.cpu / n for s in samples[(under, concurrency)]]).median
                ratio = f"{cpu.median / base:.2f}x"
            rate = Spread.of([n / s.wall for s in runs]).fmt(0)
            rows.append([name, str(concurrency), cpu.fmt(3, 1000), ratio, rate])
    print()
    print_table(header, rows)
    if not args.no_write:
        write_section(
            "client-cost",
            "### CPU per request: SDK against the raw transport (`bench_client_cost.py`)\n\n"
            f"{run_stamp()} `SendMessage` for one number, minimal server (L = "
            f"{args.latency_ms:g} ms) in its own process; median (min-max) of {args.runs} runs; "
            "`vs raw` = SDK CPU per request / raw transport underneath (medians).\n\n"
            + markdown_table(header, rows),
        )


if __name__ == "__main__":
    main()
