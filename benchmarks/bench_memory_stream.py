"""
Peak memory and time of a 1,000,000-number Mass send streamed through the fan-out.

Each scenario runs in its own process so that its peak RSS (``ru_maxrss``) is its own:

- ``baseline``: the interpreter with the SDK imported, nothing else.
- ``dict``: only a ``dict[str, Outcome]`` of all the numbers: the floor any complete result costs.
- ``fan_out``: a generator of numbers through ``fan_out`` with a trivial in-process ``send_chunk``.
- ``client-mock``: the same through ``MioGram.send_message_mass`` over an ``httpx.MockTransport``
  that answers every chunk ``true`` (SDK cost only).
- ``client-fake``: the same over the fake service's in-process transport (includes the fake's own
  request and delivery logs, which grow with the input).
- ``client-unknown``: ``client-mock`` with every chunk answered 999: every number ``UNKNOWN``, so
  the result keeps each chunk's dispatch and its numbers' positions, for the settle step (E50).

Run ``python -m benchmarks.bench_memory_stream [--count N] [--only SCENARIO ...]``. It prints a
markdown table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from urllib.parse import parse_qs

import anyio
import httpx

from miogram_async import Chunk, MioGram, Outcome, normalize_phone
from miogram_async._mass.fanout import fan_out
from miogram_async._mass.options import DEFAULT_CHUNK_SIZE

SCENARIOS = ("baseline", "dict", "fan_out", "client-mock", "client-unknown", "client-fake")
SECRET = "bench0secret"


def numbers(count: int) -> Iterator[str]:
    """*count* distinct numbers, generated lazily."""
    for i in range(count):
        yield f"+98912{i:07d}"


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def mock_transport(*, unknown: bool = False) -> httpx.MockTransport:
    """Answer every Mass request with every number delivered (*unknown*: with the front's 999)."""

    def handler(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        if "Phone" not in form:
            # A read before the send: the Mass send asks for the account's agents (one agent
            # here, so every chunk goes to it), a campaign for the report (empty).
            if form.get("Func") == ["APIGetRobot"]:
                return httpx.Response(200, json={"Result": "agent1", "Status": "success"})
            return httpx.Response(
                200, json={"Status": "error", "Code": "111", "Message": "No DATA"}
            )
        if unknown:
            return httpx.Response(
                200, json={"Message": "No Response From Server", "Status": "error", "Code": "999"}
            )
        phones = form["Phone"][0].split(",")
        body = {"Result": dict.fromkeys(phones, True), "Status": "checking"}
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handler)


async def run_scenario(scenario: str, count: int) -> dict[str, object]:
    """Run one scenario and describe its result."""
    if scenario == "baseline":
        return {"delivered": 0}
    if scenario == "dict":
        table = dict.fromkeys(numbers(count), Outcome.DELIVERED)
        return {"delivered": len(table)}
    if scenario == "fan_out":

        async def send_chunk(chunk: Chunk) -> Mapping[str, bool]:
            return dict.fromkeys(chunk.numbers, True)

        result = await fan_out(numbers(count), send_chunk, normalize=normalize_phone)
        return {"delivered": result.counts[Outcome.DELIVERED]}
    if scenario == "client-mock":
        async with MioGram(secret=SECRET, transport=mock_transport()) as client:
            result = await client.send_message_mass(numbers(count), "benchmark message")
        return {"delivered": result.counts[Outcome.DELIVERED]}
    if scenario == "client-unknown":
        async with MioGram(
            secret=SECRET, transport=mock_transport(unknown=True), gateway_drain=0
        ) as client:
            result = await client.send_message_mass(numbers(count), "benchmark message")
        return {
            "delivered": result.counts[Outcome.DELIVERED],
            "in_doubt": result.counts[Outcome.UNKNOWN],
        }
    if scenario == "client-fake":
        from miogram_async.testing import AccountConfig, FakeMioGram  # noqa: PLC0415

        fake = FakeMioGram(AccountConfig(secret=SECRET))
        async with MioGram(secret=SECRET, transport=fake.transport()) as client:
            result = await client.send_message_mass(numbers(count), "benchmark message")
        return {"delivered": result.counts[Outcome.DELIVERED], "fake_log": len(fake.deliveries)}
    raise ValueError(f"unknown scenario {scenario!r}")


def child(scenario: str, count: int) -> None:
    """Run *scenario* in this process and print one JSON line about it."""
    began = time.perf_counter()
    cpu_began = time.process_time()
    facts = anyio.run(run_scenario, scenario, count)
    wall = time.perf_counter() - began
    cpu = time.process_time() - cpu_began
    print(
        json.dumps({"scenario": scenario, "wall": wall, "cpu": cpu, "rss": peak_rss_mb(), **facts})
    )


def main() -> None:
    """Run every scenario in its own process and print the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1_000_000, help="numbers per scenario")
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, help="scenarios to run")
    parser.add_argument("--child", choices=SCENARIOS, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.child, options.count)
        return
    python = sys.version.split()[0]
    print(f"{options.count:,} numbers, chunks of {DEFAULT_CHUNK_SIZE}, Python {python}")
    print()
    print("| scenario | numbers | delivered | peak RSS MiB | wall s | CPU s | numbers/s |")
    print("|---|---|---|---|---|---|---|")
    for scenario in options.only or SCENARIOS:
        count = 0 if scenario == "baseline" else options.count
        argv = [sys.executable, "-m", "benchmarks.bench_memory_stream", "--child", scenario]
        completed = subprocess.run(
            [*argv, "--count", str(count)],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(completed.stdout.strip().splitlines()[-1])
        wall = float(row["wall"])
        rate = f"{count / wall:,.0f}" if count and wall > 0 else "-"
        extra = f" (fake log: {row['fake_log']:,})" if "fake_log" in row else ""
        if "in_doubt" in row:
            extra = f" (in doubt, with their dispatches: {row['in_doubt']:,})"
        print(
            f"| {scenario}{extra} | {count:,} | {row['delivered']:,} | {row['rss']:.1f} "
            f"| {wall:.2f} | {float(row['cpu']):.2f} | {rate} |"
        )


if __name__ == "__main__":
    main()
