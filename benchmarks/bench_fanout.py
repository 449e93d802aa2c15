"""
Fan-out efficiency: how close ``send_message_mass`` runs to the service's limit.

The fake service (``benchmarks._fake_server``, its own process) answers every request after a
fixed latency L. With C requests in flight the best possible wall time for ``chunks`` chunks is
``chunks x L / C``; efficiency is that floor over the measured wall time (1.0 = at the limit)::

    python -m benchmarks.bench_fanout            # L in 20, 200 ms; C in 8, 64; 4 agents
    python -m benchmarks.bench_fanout --quick

The multi-agent case serialises each agent on the server (one chunk of L at a time per agent, as
the real gateway does) and spreads chunks over 4 agents: its floor is ``chunks x L / 4``.
Each run warms the connection pool with C chunks first; the table is the median (min-max) of
``--runs`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Final

from benchmarks._common import (
    Spread,
    Stopwatch,
    Timed,
    fake_server,
    loopback_server,
    markdown_table,
    phone_numbers,
    print_table,
    run_stamp,
    sdk_client,
    write_section,
)
from miogram_async import HttpBackend, Outcome

CHUNK: Final = 100
BACKENDS: Final[dict[str, HttpBackend]] = {
    "default install (httpx)": "httpx",
    "aiohttp extra": "aiohttp",
}


async def campaign(
    url: str,
    chunks: int,
    *,
    concurrency: int,
    backend: HttpBackend,
    robots: Sequence[str] | None = None,
) -> Timed:
    """Send ``chunks`` x 100 numbers with ``send_message_mass``; time it after a warm-up."""
    numbers = phone_numbers(chunks * CHUNK)
    async with sdk_client(url, concurrency, backend) as client:
        warm = phone_numbers(concurrency * CHUNK, start=5_000_000)
        await client.send_message_mass(warm, "warm-up", robots=robots)
        with Stopwatch() as watch:
            result = await client.send_message_mass(numbers, "benchmark message", robots=robots)
    delivered = result.counts[Outcome.DELIVERED]
    if delivered != len(numbers):
        raise RuntimeError(f"expected {len(numbers)} delivered, got {dict(result.counts)}")
    return watch.timed


def main(argv: list[str] | None = None) -> None:
    """Run the fan-out benchmark, print the table and write it into RESULTS.md."""
    parser = argparse.ArgumentParser(description="fan-out efficiency of send_message_mass")
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[20.0, 200.0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--chunks", type=int, default=200, help="at least; 16 per slot at high C")
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", nargs="+", choices=sorted(BACKENDS), default=list(BACKENDS))
    parser.add_argument(
        "--server",
        choices=["fake", "minimal"],
        default="fake",
        help="the SDK's fake or the bare one",
    )
    parser.add_argument(
        "--fake-as-shipped", action="store_true", help="serve the fake with FakeMioGram.serve()"
    )
    parser.add_argument("--no-agents", action="store_true", help="skip the multi-agent case")
    parser.add_argument("--quick", action="store_true", help="1 run, 100 chunks")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.chunks = 1, 100

    header = ["case", "L ms", "C", "transport", "chunks", "wall s", "efficiency", "CPU ms/chunk"]
    rows: list[list[str]] = []

    def record(
        case: str,
        runs: list[Timed],
        *,
        latency: float,
        c: int,
        name: str,
        n: int,
        floor_c: int,
    ) -> None:
        floor = n * latency / 1000 / floor_c
        row = [
            case,
            f"{latency:g}",
            str(c),
            name,
            str(n),
            Spread.of([r.wall for r in runs]).fmt(2),
            Spread.of([floor / r.wall for r in runs]).fmt(2),
            Spread.of([r.cpu / n for r in runs]).fmt(2, 1000),
        ]
        rows.append(row)
        print("  ".join(row), flush=True)

    for latency in args.latency_ms:
        server = (
            fake_server(latency_ms=latency, as_shipped=args.fake_as_shipped)
            if args.server == "fake"
            else loopback_server(latency)
        )
        with server as url:
            for c in args.concurrency:
                n = max(args.chunks, 16 * c)
                for name in args.backends:
                    runs = [
                        asyncio.run(campaign(url, n, concurrency=c, backend=BACKENDS[name]))
                        for _ in range(args.runs)
                    ]
                    record("one agent", runs, latency=latency, c=c, name=name, n=n, floor_c=c)
        if args.no_agents:
            continue
        robots = [f"Agent{i + 1}" for i in range(args.agents)]
        server = (
            fake_server(agent_ms=latency, agents=args.agents, as_shipped=args.fake_as_shipped)
            if args.server == "fake"
            else loopback_server(latency, serialize_agents=True)
        )
        with server as url:
            n = args.chunks
            for name in args.backends:
                runs = [
                    asyncio.run(
                        campaign(url, n, concurrency=8, backend=BACKENDS[name], robots=robots)
                    )
                    for _ in range(args.runs)
                ]
                record(
                    f"{args.agents} agents, serialised",
                    runs,
                    latency=latency,
                    c=8,
                    name=name,
                    n=n,
                    floor_c=args.agents,
                )

    print()
    print_table(header, rows)
    if not args.no_write:
        server_name = args.server + ("-as-shipped" if args.fake_as_shipped else "")
        described = {
            "fake": "the SDK fake service (on a TCP_NODELAY socket)",
            "fake-as-shipped": "the SDK fake service as `FakeMioGram.serve()` ships it",
            "minimal": "the minimal loopback server",
        }[server_name]
        command = " ".join(
            ["python -m benchmarks.bench_fanout", *(argv if argv is not None else sys.argv[1:])]
        )
        write_section(
            f"fanout-{server_name}",
            f"### Fan-out efficiency, {server_name} server (`bench_fanout.py`)\n\n"
            f"{run_stamp()} `{command}`. Server: {described}, "
            f"in its own process. Median (min-max) of {args.runs} runs; efficiency = "
            "chunks x L / C / wall (C = agents for the serialised case); CPU is the client "
            "process per chunk of 100 numbers.\n\n" + markdown_table(header, rows),
        )


if __name__ == "__main__":
    main()
