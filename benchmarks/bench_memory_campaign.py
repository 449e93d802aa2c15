"""
Peak memory of a 1,000,000-number send read from a file, with and without the campaign journal.

Complements ``bench_memory_stream.py`` (numbers from a generator). Each scenario runs in its own
process so its peak RSS (``ru_maxrss``) is its own; requests go to an ``httpx.MockTransport`` that
answers every chunk ``true`` (SDK cost only, no server):

- ``from-file``: ``send_message_mass`` over the lines of a text file, read lazily.
- ``with-journal``: ``Campaign.create`` from the same file, then ``Campaign.run``.

Run ``python -m benchmarks.bench_memory_campaign [--numbers N] [--only SCENARIO ...]``;
``--quick`` uses 100,000 numbers. ``--section NAME`` writes the table under another RESULTS.md
section (e.g. ``memory-campaign-10m`` for a 10,000,000-number run of ``with-journal`` only).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import anyio

from benchmarks._common import (
    SECRET,
    markdown_table,
    print_table,
    run_stamp,
    write_section,
)
from benchmarks.bench_memory_stream import mock_transport, numbers
from miogram_async import MioGram, Outcome
from miogram_async.campaign import Campaign, NumberState

SCENARIOS: Final = ("baseline", "from-file", "with-journal")
MESSAGE: Final = "benchmark message"


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield line.strip()


async def _run(scenario: str, source: Path, workdir: Path) -> dict[str, object]:
    if scenario == "baseline":
        return {"delivered": 0}
    async with MioGram(secret=SECRET, transport=mock_transport(), concurrency=8) as client:
        if scenario == "from-file":
            result = await client.send_message_mass(_lines(source), MESSAGE)
            return {"delivered": result.counts[Outcome.DELIVERED]}
        began = time.perf_counter()
        campaign = await anyio.to_thread.run_sync(
            lambda: Campaign.create(workdir / "campaign.sqlite", _lines(source), message=MESSAGE)
        )
        created = time.perf_counter() - began
        with campaign:
            summary = await campaign.run(client)
        journal_bytes = (workdir / "campaign.sqlite").stat().st_size
        total = summary.status.total
        return {
            "delivered": summary.status.by_state[NumberState.DELIVERED],
            "create_s": round(created, 2),
            "create_rate": round(total / created) if created > 0 else 0,
            "journal_mb": round(journal_bytes / 2**20, 1),
            "bytes_per_number": round(journal_bytes / total, 1) if total else 0.0,
        }


def child(scenario: str, source: Path, workdir: Path) -> None:
    """Run *scenario* in this process and print one JSON line about it."""
    began, cpu_began = time.perf_counter(), time.process_time()
    facts = anyio.run(_run, scenario, source, workdir)
    print(
        json.dumps(
            {
                "wall": time.perf_counter() - began,
                "cpu": time.process_time() - cpu_began,
                "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                **facts,
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    """Run every scenario in its own process, print the table and write it into RESULTS.md."""
    parser = argparse.ArgumentParser(description="peak RSS of file-fed and journalled sends")
    parser.add_argument("--numbers", "--count", dest="count", type=int, default=1_000_000)
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, help="scenarios to run")
    parser.add_argument("--section", default="memory-campaign", help="RESULTS.md section")
    parser.add_argument("--quick", action="store_true", help="100,000 numbers")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--no-stream", action="store_true", help="do not also run bench_memory_stream.py"
    )
    parser.add_argument("--child", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.source, args.workdir)
        return
    if args.quick:
        args.count = 100_000
    header = ["scenario", "numbers", "delivered", "peak RSS MiB", "wall s", "CPU s", "notes"]
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "numbers.txt"
        with source.open("w", encoding="utf-8") as out:
            for number in numbers(args.count):
                out.write(number + "\n")
        for scenario in args.only or SCENARIOS:
            workdir = Path(tmp) / scenario
            workdir.mkdir()
            argv_child = [sys.executable, "-m", "benchmarks.bench_memory_campaign"]
            argv_child += ["--child", scenario, "--source", str(source), "--workdir", str(workdir)]
            done = subprocess.run(argv_child, capture_output=True, text=True, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            notes = ""
            if "journal_mb" in row:
                notes = (
                    f"create {row['create_s']} s ({row['create_rate']:,} numbers/s), journal "
                    f"{row['journal_mb']} MiB ({row['bytes_per_number']} bytes/number)"
                )
            count = 0 if scenario == "baseline" else args.count
            rows.append(
                [
                    scenario,
                    f"{count:,}",
                    f"{row['delivered']:,}",
                    f"{row['rss']:.1f}",
                    f"{row['wall']:.2f}",
                    f"{row['cpu']:.2f}",
                    notes,
                ]
            )
            print("  ".join(rows[-1]), flush=True)
    print()
    print_table(header, rows)
    stream_table = ""
    if not args.no_stream:
        # The generator-fed scenarios live in bench_memory_stream.py; its in-process fake scenario
        # is left out (the fake keeps a log of every delivery, which is not the SDK's memory).
        stream = [sys.executable, "-m", "benchmarks.bench_memory_stream", "--count"]
        stream += [str(args.count), "--only", "baseline", "dict", "fan_out", "client-mock"]
        done = subprocess.run(stream, capture_output=True, text=True, check=True)
        stream_table = done.stdout.strip()
        print(stream_table)
    if not args.no_write and stream_table:
        write_section(
            "memory-stream",
            "### Peak memory, numbers from a generator (`bench_memory_stream.py`)\n\n"
            f"{run_stamp()} `python -m benchmarks.bench_memory_stream --only baseline dict "
            "fan_out client-mock`, each scenario in its own process, one run.\n\n" + stream_table,
        )
    if not args.no_write:
        command = f"`python -m benchmarks.bench_memory_campaign --numbers {args.count}"
        if args.only:
            command += " --only " + " ".join(args.only)
        command += "`"
        write_section(
            args.section,
            f"### Peak memory for {args.count:,} numbers, from a file and with the journal "
            "(`bench_memory_campaign.py`)\n\n"
            f"{run_stamp()} {command}. Each scenario in its own process; an in-process mock "
            "transport answers every chunk (SDK cost only); one run each.\n\n"
            + markdown_table(header, rows),
        )


if __name__ == "__main__":
    main()
