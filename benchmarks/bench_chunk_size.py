"""
Chunk size against the front's 60 s wait (docs/service.md E32): which sizes get real answers.

Each size sends the same numbers with the SDK's defaults (one request at a time, rotating over
four agents) to a fresh in-process fake in its server profile, whose time model is the realistic
one (0.3 s a request, 1 s a number at the gateway, a 60 s front wait) scaled by ``--scale``. The
chunk size is pinned as the SDK before issue 18 had it (`benchmarks._common.PinnedPace`: every chunk
of the size, a third smaller after a 999 at the front's wait, a drain of 1.5 s per number, scaled);
the SDK now sizes chunks from the pace (``bench_pace.py``). Per size it prints the share of
chunks answered 999, the numbers delivered per second of the service's time (the measured rate
divided by the scale), the numbers left without an answer (UNKNOWN, or FAILED where a 999 is not
yet ruled UNKNOWN) and whether the gateway's shared credit file broke (E33)::

    python -m benchmarks.bench_chunk_size            # 400 numbers, scale 0.01
    python -m benchmarks.bench_chunk_size --quick    # 200 numbers, fewer sizes
    python -m benchmarks.bench_chunk_size --no-adapt # without the smaller chunks after a 999
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Final

import anyio

from benchmarks._common import (
    PinnedPace,
    markdown_table,
    phone_numbers,
    print_table,
    run_stamp,
    write_section,
)
from miogram_async import MassResult, MassSendError, NoResponseError, Outcome
from miogram_async.testing import AccountConfig, FakeMioGram, NumberBook, TimeModel

SIZES: Final = (20, 30, 40, 50, 55, 60, 80, 100)
QUICK_SIZES: Final = (40, 60, 100)
AGENTS: Final = ("A1", "A2", "A3", "A4")
HEADER: Final = (
    "chunk size",
    "chunks",
    "999 share",
    "delivered/s (service time)",
    "no answer",
    "delivered in fake",
    "credit file",
)


async def one_size(size: int, count: int, scale: float, *, adapt: bool) -> list[str]:
    """Send *count* numbers in chunks of *size*; the table row."""
    fake = FakeMioGram(
        AccountConfig(secret="bench", agents=AGENTS, numbers=NumberBook.everyone()),
        time_model=TimeModel.realistic(scale=scale),
    )
    targets = phone_numbers(count)
    began = time.perf_counter()
    client = fake.client(max_retries=0)
    client._session.pace = PinnedPace(1.5 * scale, shrink=adapt)
    async with client:
        try:
            result: MassResult = await client.send_message_mass(targets, "hello", chunk_size=size)
        except MassSendError as stop:
            result = stop.result  # type: ignore[assignment]  # a MassResult at run time
    await fake.wait_idle()
    wall = time.perf_counter() - began
    chunks = [r for r in fake.requests if r.func == "SendMessageMass"]
    no_response = {id(e) for e in result.errors.values() if isinstance(e, NoResponseError)}
    delivered = len(fake.deliveries)
    answered = result.counts[Outcome.DELIVERED] + result.counts[Outcome.UNDELIVERED]
    return [
        str(size),
        str(len(chunks)),
        f"{len(no_response) / max(1, len(chunks)):.0%}",
        f"{delivered / (wall / scale):.2f}",
        str(count - answered),
        f"{delivered} of {count}"
        + ("" if delivered == len({d.number for d in fake.deliveries}) else " (twice!)"),
        "broken" if fake.credit_file_corrupted else "intact",
    ]


async def run(sizes: Sequence[int], count: int, scale: float, *, adapt: bool) -> list[list[str]]:
    """A row per size."""
    return [await one_size(size, count, scale, adapt=adapt) for size in sizes]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the table, print it and (unless --quick) record it in RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="200 numbers, three sizes")
    parser.add_argument("--numbers", type=int, default=400)
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--no-adapt", action="store_true", help="no smaller chunks after a 999")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    count = 200 if args.quick else args.numbers
    rows = anyio.run(lambda: run(sizes, count, args.scale, adapt=not args.no_adapt))
    print_table(HEADER, rows)
    if not args.quick:
        adapt = "off" if args.no_adapt else "on (front_wait scaled)"
        write_section(
            "chunk-size" + ("-no-adapt" if args.no_adapt else ""),
            f"## Chunk size against the front's wait (E32)\n\n{run_stamp()} {count} numbers, "
            f"4 agents, one request at a time, realistic time model at scale {args.scale}, "
            f"adaptive step {adapt}.\n\n{markdown_table(HEADER, rows)}\n",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
