"""
What the campaign journal costs: extra wall time per number of ``Campaign.run`` over a plain
``send_message_mass`` (L = 20 ms, C = 64 by default)::

    python -m benchmarks.bench_journal
    python -m benchmarks.bench_journal --quick

Both send the same numbers through the same kind of client to the minimal loopback server (its own
process). Creating the journal (``Campaign.create``: normalising and writing every number) is
timed separately; ``Campaign.run`` journals every chunk as it starts and finishes, and ``close``
(timed separately) folds the run's WAL back into the one journal file.

In the same run, the journal is also timed as it was before it became one file at rest (rows
"as before"): WAL mode kept after close, ``locking_mode=EXCLUSIVE`` instead of the run lock, and no
report anchor read before sending. ``--no-compare`` leaves those rows out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from benchmarks._common import (
    SECRET,
    Spread,
    Stopwatch,
    Timed,
    loopback_server,
    markdown_table,
    phone_numbers,
    print_table,
    run_stamp,
    write_section,
)
from miogram_async import HttpBackend, MioGram, Outcome
from miogram_async.campaign import Campaign, NumberState
from miogram_async.campaign import _campaign as campaign_module
from miogram_async.campaign.storage._sqlite import _files

MESSAGE: Final = "benchmark message"


def _client(url: str, concurrency: int, backend: HttpBackend) -> MioGram:
    return MioGram(
        SECRET, base_url=url, concurrency=concurrency, http_backend=backend, max_retries=0
    )


async def plain(url: str, numbers: list[str], concurrency: int, backend: HttpBackend) -> Timed:
    """``send_message_mass`` without a journal."""
    async with _client(url, concurrency, backend) as client:
        await client.send_message_mass(phone_numbers(concurrency * 100, start=5_000_000), "warm")
        with Stopwatch() as watch:
            result = await client.send_message_mass(numbers, MESSAGE)
    if result.counts[Outcome.DELIVERED] != len(numbers):
        raise RuntimeError(f"not all delivered: {dict(result.counts)}")
    return watch.timed


async def journalled(url: str, campaign: Campaign, concurrency: int, backend: HttpBackend) -> Timed:
    """``Campaign.run`` over an already created journal."""
    async with _client(url, concurrency, backend) as client:
        await client.send_message_mass(phone_numbers(concurrency * 100, start=5_000_000), "warm")
        with Stopwatch() as watch:
            summary = await campaign.run(client)
    delivered = summary.status.by_state[NumberState.DELIVERED]
    if delivered != summary.status.total:
        raise RuntimeError(f"not all delivered: {dict(summary.status.by_state)}")
    return watch.timed


def _legacy_prepare(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")


async def _no_anchor(self: Campaign, client: MioGram, run: int) -> None:
    return None


@contextlib.contextmanager
def journal_as_before() -> Iterator[None]:
    """The journal as it was before one file at rest: WAL kept, exclusive locking, no anchor."""
    saved = (_files.prepare_for_writing, _files.set_journal_mode)
    saved_anchor = campaign_module.Campaign._anchor
    real_switch = _files.set_journal_mode

    def switch(conn: sqlite3.Connection, mode: str) -> None:
        if mode != "DELETE":  # closing no longer leaves WAL mode
            real_switch(conn, mode)

    _files.prepare_for_writing = _legacy_prepare
    _files.set_journal_mode = switch
    campaign_module.Campaign._anchor = _no_anchor  # type: ignore[method-assign]
    try:
        yield
    finally:
        _files.prepare_for_writing, _files.set_journal_mode = saved
        campaign_module.Campaign._anchor = saved_anchor  # type: ignore[method-assign]


def timed_campaign(
    url: str, path: Path, numbers: list[str], args: argparse.Namespace
) -> tuple[Timed, Timed, Timed]:
    """(create, run, close) of one journalled campaign."""
    with Stopwatch() as create_watch:
        campaign = Campaign.create(path, numbers, message=MESSAGE)
    run = asyncio.run(journalled(url, campaign, args.concurrency, args.backend))
    with Stopwatch() as close_watch:
        campaign.close()
    return create_watch.timed, run, close_watch.timed


def main(argv: list[str] | None = None) -> None:
    """Time both ways, print the table and write it into RESULTS.md."""
    parser = argparse.ArgumentParser(description="extra wall time of the campaign journal")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=["auto", "httpx", "aiohttp"], default="auto")
    parser.add_argument(
        "--dir", default=None, help="where to put the journal (default: a temp dir)"
    )
    parser.add_argument("--section", default="journal", help="RESULTS.md section name")
    parser.add_argument("--quick", action="store_true", help="20,000 numbers, 1 run")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--no-compare", action="store_true", help="leave out the journal as it was before"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.numbers, args.runs = 20_000, 1
    numbers = phone_numbers(args.numbers)
    plain_runs: list[Timed] = []
    create_runs: list[Timed] = []
    journal_runs: list[Timed] = []
    close_runs: list[Timed] = []
    before_runs: list[Timed] = []
    before_close_runs: list[Timed] = []
    with loopback_server(args.latency_ms) as url, tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for run in range(args.runs):
            plain_runs.append(asyncio.run(plain(url, numbers, args.concurrency, args.backend)))
            created, ran, closed = timed_campaign(
                url, Path(tmp) / f"campaign-{run}.sqlite", numbers, args
            )
            create_runs.append(created)
            journal_runs.append(ran)
            close_runs.append(closed)
            line = (
                f"run {run + 1}: plain {plain_runs[-1].wall:.2f} s, create {created.wall:.2f} s, "
                f"journalled run {ran.wall:.2f} s, close {closed.wall:.3f} s"
            )
            if not args.no_compare:
                with journal_as_before():
                    _, ran, closed = timed_campaign(
                        url, Path(tmp) / f"before-{run}.sqlite", numbers, args
                    )
                before_runs.append(ran)
                before_close_runs.append(closed)
                line += f"; as before: run {ran.wall:.2f} s, close {closed.wall:.3f} s"
            print(line, flush=True)

    n = args.numbers
    floor = n / 100 * args.latency_ms / 1000 / args.concurrency
    header = ["way", "wall s", "efficiency", "CPU s", "extra wall us/number", "extra wall"]
    plain_wall = Spread.of([t.wall for t in plain_runs]).median
    rows = []
    ways = [
        ("send_message_mass (no journal)", plain_runs),
        ("Campaign.run (journal on)", journal_runs),
    ]
    if before_runs:
        ways.append(("Campaign.run, journal as before", before_runs))
    ways += [
        ("Campaign.create (before sending)", create_runs),
        ("Campaign.close (WAL folded into one file)", close_runs),
    ]
    if before_close_runs:
        ways.append(("Campaign.close, journal as before", before_close_runs))
    for name, runs in ways:
        wall = Spread.of([t.wall for t in runs])
        is_send = name.startswith(("send_message_mass", "Campaign.run"))
        extra = wall.median - plain_wall if is_send else wall.median
        rows.append(
            [
                name,
                wall.fmt(2),
                Spread.of([floor / t.wall for t in runs]).fmt(2) if is_send else "-",
                Spread.of([t.cpu for t in runs]).fmt(2),
                f"{extra / n * 1e6:.1f}",
                f"{extra / plain_wall:+.0%}",
            ]
        )
    print()
    print_table(header, rows)
    if not args.no_write:
        where = f"a temporary directory under {args.dir}" if args.dir else "a temporary directory"
        command = " ".join(
            ["python -m benchmarks.bench_journal", *(argv if argv is not None else sys.argv[1:])]
        )
        write_section(
            args.section,
            f"### Campaign journal cost, journal in {args.dir or 'the temp dir'} "
            "(`bench_journal.py`)\n\n"
            f"{run_stamp()} `{command}`: {n:,} numbers, "
            f"L = {args.latency_ms:g} ms, C = {args.concurrency}, "
            f"backend {args.backend}, minimal server in its own process, SQLite journal in "
            f"{where}; median (min-max) of {args.runs} runs; extra = median minus "
            "the plain send's median.\n\n" + markdown_table(header, rows),
        )


if __name__ == "__main__":
    main()
