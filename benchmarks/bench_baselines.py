"""
``send_message_mass`` against the usual ways of sending, in the same run against the same server.

The server answers every request after a fixed latency L (the minimal loopback server by default,
``--server fake`` for the SDK's fake service; its own process either way)::

    python -m benchmarks.bench_baselines            # L in 20, 200 ms; 200 chunks; C = 64
    python -m benchmarks.bench_baselines --quick

Ways compared (all of them POST the same form bodies):

- ``SendMessage loop``: one ``SendMessage`` per number, one after the other (one httpx client).
- ``sequential Mass``: one ``SendMessageMass`` chunk of 100 after the other.
- ``gather, new client per call``: every chunk at once with ``asyncio.gather``, each through its
  own ``httpx.AsyncClient``.
- ``httpx + semaphore``: one ``httpx.AsyncClient()`` (default limits), ``asyncio.Semaphore(C)``.
- ``SDK send_message_mass``: ``MioGram(concurrency=C)`` with the aiohttp extra (``auto``) and
  with httpx only (``http_backend="httpx"``, what a default install gets).

The two sequential ways are timed on a sample (about 4 s) and scaled to the whole campaign
(marked ``*``). Efficiency = chunks x L / C / wall: 1.0 is the best C requests in flight can do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any, Final
from urllib.parse import urlencode

import attrs
import httpx

from benchmarks._common import (
    SECRET,
    Spread,
    Stopwatch,
    fake_server,
    loopback_server,
    markdown_table,
    mass_form,
    phone_numbers,
    print_table,
    run_stamp,
    write_section,
)
from miogram_async import HttpBackend, MioGram, Outcome

CHUNK: Final = 100
HEADERS: Final = {"Content-Type": "application/x-www-form-urlencoded"}
SAMPLE_SECONDS: Final = 4.0
MESSAGE: Final = "benchmark message"

Way = Callable[[str, list[str], int], Coroutine[Any, Any, None]]


def _check(response: httpx.Response) -> None:
    if response.status_code != 200 or json.loads(response.content).get("Status") == "error":
        raise RuntimeError(f"unexpected reply: {response.status_code} {response.text[:80]}")


def _chunks(numbers: list[str]) -> list[list[str]]:
    return [numbers[i : i + CHUNK] for i in range(0, len(numbers), CHUNK)]


async def per_number_loop(url: str, numbers: list[str], concurrency: int) -> None:
    """One SendMessage per number, sequentially."""
    async with httpx.AsyncClient(timeout=120) as client:
        for number in numbers:
            body = urlencode(
                {"Secret": SECRET, "Func": "SendMessage", "Phone": number, "Message": MESSAGE}
            )
            _check(await client.post(url, content=body.encode(), headers=HEADERS))


async def sequential_mass(url: str, numbers: list[str], concurrency: int) -> None:
    """One Mass chunk after the other."""
    async with httpx.AsyncClient(timeout=120) as client:
        for chunk in _chunks(numbers):
            _check(await client.post(url, content=mass_form(chunk, MESSAGE), headers=HEADERS))


async def gather_new_clients(url: str, numbers: list[str], concurrency: int) -> None:
    """Every chunk at once, each with its own client."""

    async def one(chunk: list[str]) -> None:
        async with httpx.AsyncClient(timeout=120) as client:
            _check(await client.post(url, content=mass_form(chunk, MESSAGE), headers=HEADERS))

    await asyncio.gather(*(one(chunk) for chunk in _chunks(numbers)))


async def httpx_semaphore(url: str, numbers: list[str], concurrency: int) -> None:
    """One default httpx client, a semaphore of C, a task per chunk."""
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=120) as client:

        async def one(chunk: list[str]) -> None:
            async with semaphore:
                body = mass_form(chunk, MESSAGE)
                _check(await client.post(url, content=body, headers=HEADERS))

        await asyncio.gather(*(one(chunk) for chunk in _chunks(numbers)))


def sdk(backend: HttpBackend) -> Way:
    """``MioGram.send_message_mass`` with *backend*."""

    async def send(url: str, numbers: list[str], concurrency: int) -> None:
        async with MioGram(
            SECRET, base_url=url, concurrency=concurrency, http_backend=backend, max_retries=0
        ) as client:
            result = await client.send_message_mass(numbers, MESSAGE)
        if result.counts[Outcome.DELIVERED] != len(numbers):
            raise RuntimeError(f"not all delivered: {dict(result.counts)}")

    return send


@attrs.frozen
class Spec:
    """One way of sending, and whether it is timed on a sample and scaled."""

    name: str
    way: Way
    sequential_requests_per_number: float = 0.0  # > 0: sampled; requests per number


WAYS: Final = (
    Spec("SendMessage loop", per_number_loop, 1.0),
    Spec("sequential Mass", sequential_mass, 1 / CHUNK),
    Spec("gather, new client per call", gather_new_clients),
    Spec("httpx + semaphore(C)", httpx_semaphore),
    Spec("SDK send_message_mass, aiohttp extra", sdk("aiohttp")),
    Spec("SDK send_message_mass, httpx only", sdk("httpx")),
)


def main(argv: list[str] | None = None) -> None:
    """Run every way at each latency, print the table and write it into RESULTS.md."""
    parser = argparse.ArgumentParser(description="send_message_mass against the usual ways")
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[20.0, 200.0])
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--server", choices=["fake", "minimal"], default="minimal")
    parser.add_argument("--quick", action="store_true", help="1 run")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 1
    total = args.chunks * CHUNK
    c = args.concurrency
    header = ["way", "L ms", "timed on", "wall s (whole campaign)", "numbers/s", "efficiency"]
    header += ["vs SDK", "CPU ms/100 numbers"]
    rows: list[list[str]] = []
    for latency in args.latency_ms:
        floor = args.chunks * latency / 1000 / c
        server = (
            fake_server(latency_ms=latency) if args.server == "fake" else loopback_server(latency)
        )
        results: list[tuple[Spec, int, list[float], list[float]]] = []
        with server as url:
            for spec in WAYS:
                count = total
                if spec.sequential_requests_per_number:
                    requests = max(5, int(SAMPLE_SECONDS / (latency / 1000)))
                    count = min(total, round(requests / spec.sequential_requests_per_number))
                numbers = phone_numbers(count)
                walls: list[float] = []
                cpus: list[float] = []
                for _ in range(args.runs):
                    with Stopwatch() as watch:
                        asyncio.run(spec.way(url, numbers, c))
                    walls.append(watch.timed.wall * total / count)
                    cpus.append(watch.timed.cpu / count * CHUNK)
                results.append((spec, count, walls, cpus))
                print(f"L={latency:g} {spec.name}: {Spread.of(walls).fmt(2)} s", flush=True)
        sdk_wall = Spread.of(results[4][2]).median
        for spec, count, walls, cpus in results:
            wall = Spread.of(walls)
            mark = "*" if count < total else ""
            rows.append(
                [
                    spec.name,
                    f"{latency:g}",
                    f"{count:,}{mark}",
                    wall.fmt(2) + mark,
                    f"{total / wall.median:,.0f}",
                    Spread.of([floor / w for w in walls]).fmt(2),
                    f"{wall.median / sdk_wall:.1f}x",
                    Spread.of(cpus).fmt(2, 1000),
                ]
            )
    print()
    print_table(header, rows)
    if not args.no_write:
        write_section(
            "baselines",
            "### Against the usual ways (`bench_baselines.py`)\n\n"
            f"{run_stamp()} {total:,} numbers ({args.chunks} chunks of 100), C = {c}, "
            f"{'the SDK fake' if args.server == 'fake' else 'the minimal'} server in its own "
            f"process; median (min-max) of {args.runs} runs. `*`: timed on a sample and scaled to "
            "the whole campaign. Efficiency = chunks x L / C / wall; `vs SDK` = wall over the "
            "SDK's (aiohttp extra) wall.\n\n" + markdown_table(header, rows),
        )


if __name__ == "__main__":
    main()
