"""
A message per row: the throughput of a campaign whose numbers get texts of their own.

Rows that share a text go out as Mass requests of it (up to ``chunk_size`` numbers a request);
a text no other row has goes out alone, one single send (``SendMessage``) per number. Each
scenario makes a campaign of ``--rows`` rows from a CSV (``name,city,phone``) through the SDK's
`NumbersFile` and `Campaign` (an SQLite journal in a temporary folder) and runs it with the
SDK's defaults (one request at a time) against a fresh in-process fake in its server profile, at
the realistic pace (0.3 s a request, ``--pace`` seconds a number at the gateway) scaled by
``--scale``:

- ``one text``: ``-m "Hello"``: one text, Mass chunks sized from the measured pace (at most 40).
- ``10 texts``: ``-m "Hello {city}"`` over 10 cities: ten Mass passes.
- ``per row``: ``-m "Hello {name}"``, every name different: single sends.

Per scenario: requests made, wall time, seconds per number *in the service's time* (wall divided
by the scale and the numbers: what a real run takes), numbers per hour, numbers left unknown, and
what the fake saw (double deliveries, the most state-changing requests in flight, its credit
file)::

    python -m benchmarks.bench_per_row                  # 300 rows, scale 0.05, pace 1.0
    python -m benchmarks.bench_per_row --pace 2.0       # the gateway at 2 s a number (E49)
    python -m benchmarks.bench_per_row --quick          # 100 rows
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import anyio

from benchmarks._common import markdown_table, print_table, run_stamp, write_section
from miogram_async import MassSendError
from miogram_async.campaign import Campaign, NumbersFile, NumberState
from miogram_async.testing import AccountConfig, FakeMioGram, NumberBook, TimeModel

SCENARIOS: Final = (
    ("one text", "Hello"),
    ("10 texts", "Hello {city}"),
    ("per row", "Hello {name}"),
)
HEADER: Final = (
    "scenario",
    "rows",
    "requests",
    "wall s",
    "s per number (service time)",
    "numbers per hour",
    "unknown",
    "double deliveries",
    "most in flight",
    "credit file",
)


def write_rows(path: Path, rows: int) -> None:
    """A customer list: distinct names, ten cities, distinct numbers."""
    with path.open("w", encoding="utf-8") as out:
        out.write("name,city,phone\n")
        out.writelines(f"Customer {n},City {n % 10},0912{n:07d}\n" for n in range(rows))


async def one_scenario(  # noqa: PLR0917 - one scenario's figures, as main passes them
    name: str, message: str, rows: int, scale: float, pace: float, folder: Path
) -> list[str]:
    """Run one campaign; its table row."""
    numbers = folder / f"{name.replace(' ', '-')}.csv"
    write_rows(numbers, rows)
    fake = FakeMioGram(
        AccountConfig(secret="bench", numbers=NumberBook.everyone()),
        time_model=TimeModel.realistic(scale=scale, pace=pace),
    )
    with NumbersFile(numbers) as reader:
        campaign = Campaign.create(folder / f"{numbers.stem}.sqlite", reader, message=message)
    began = time.perf_counter()
    async with fake.client(max_retries=0) as client:
        try:
            summary = await campaign.run(client)
            status = summary.status
        except MassSendError:
            status = campaign.status()
    wall = time.perf_counter() - began
    campaign.close()
    await fake.wait_idle()
    sends = [r for r in fake.requests if r.func in ("SendMessage", "SendMessageMass")]
    delivered = collections.Counter((d.number, d.text) for d in fake.deliveries)
    per_number = wall / scale / rows
    return [
        name,
        f"{rows:,}",
        f"{len(sends):,}",
        f"{wall:.1f}",
        f"{per_number:.2f}",
        f"{3600 / per_number:,.0f}",
        str(status.by_state[NumberState.UNKNOWN] + status.by_state[NumberState.SENDING]),
        str(sum(1 for times in delivered.values() if times > 1)),
        str(fake.max_state_changing_in_flight),
        "broken" if fake.credit_file_corrupted else "intact",
    ]


async def main(rows: int, scale: float, pace: float) -> list[list[str]]:
    """Every scenario, one after another; the table's rows."""
    table: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-per-row-") as folder:
        for name, message in SCENARIOS:
            row = await one_scenario(name, message, rows, scale, pace, Path(folder))
            print_table(HEADER, [row])
            table.append(row)
    return table


def run(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments, run, print and record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--pace", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="100 rows")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    rows = 100 if args.quick else args.rows
    table = anyio.run(main, rows, args.scale, args.pace)
    print()
    print_table(HEADER, table)
    if args.no_write:
        return
    section = "per-row" if args.pace == 1.0 else f"per-row-pace-{args.pace:g}"
    command = " ".join(["python -m benchmarks.bench_per_row", *(argv or sys.argv[1:])])
    title = "" if args.pace == 1.0 else f", the gateway at {pace_text(args.pace)} a number"
    late = (
        f"\n\nAt {pace_text(args.pace)} a number a chunk of 40 would outlast the front's 60 s "
        "wait (docs/service.md E32, E49): before issue 18 the one-text run left 280 of its 300 "
        "numbers unknown here. Its chunks are now sized from the measured pace (the requests "
        "column: a small first chunk per agent, then chunks that take 30% of the front's wait). "
        "A single send carries one number and is not affected."
        if args.pace * 40 > 60
        else ""
    )
    body = (
        f"### A message per row: Mass passes and single sends{title} (`bench_per_row.py`)\n\n"
        f"{run_stamp()} `{command.strip()}`. In-process fake, server profile, realistic pace "
        f"(0.3 s a request, {pace_text(args.pace)} a number) x {args.scale:g}; the SDK's "
        "defaults (one request at a time, Mass chunks sized from the measured pace, at most 40). "
        "Seconds per number are in the "
        "service's time (wall / scale / rows). One run each.\n\n"
        + markdown_table(HEADER, table)
        + late
    )
    write_section(section, body)


def pace_text(pace: float) -> str:
    """``1 s`` or ``2.5 s``."""
    return f"{pace:g} s"


if __name__ == "__main__":
    run()
