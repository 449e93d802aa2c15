"""
What a campaign kept in PostgreSQL costs, next to the SQLite journal and a plain Mass send
(L = 20 ms, C = 64 by default)::

    python -m benchmarks.bench_postgres_campaign
    python -m benchmarks.bench_postgres_campaign --quick --write

The PostgreSQL server is started here from the ``pgserver`` wheel (a dev dependency), on a unix
socket in a temporary directory, and deleted at the end; the minimal loopback server runs in its
own process. One worker: the same ``Campaign.run`` as with the SQLite journal, the storage changed.
Creating (``Campaign.create``: normalising and copying every number in) is timed separately.
``--write`` puts the table into RESULTS.md (section ``postgres``).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import urllib.parse
import warnings
from pathlib import Path
from typing import Final

from benchmarks._common import (
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
from benchmarks.bench_journal import journalled, plain
from miogram_async.campaign import Campaign

MESSAGE: Final = "benchmark message"


def _campaign_url(server: str, name: str) -> str:
    parts = urllib.parse.urlsplit(server)
    query = [*urllib.parse.parse_qsl(parts.query), ("campaign", name)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def timed(
    url: str, target: str, numbers: list[str], args: argparse.Namespace
) -> tuple[Timed, Timed]:
    """(create, run) of one campaign kept at *target* (a path or a database URL)."""
    with Stopwatch() as create_watch:
        campaign = Campaign.create(target, numbers, message=MESSAGE, overwrite=True)
    try:
        run = asyncio.run(journalled(url, campaign, args.concurrency, args.backend))
    finally:
        campaign.close()
    return create_watch.timed, run


def main(argv: list[str] | None = None) -> None:
    """Time the three ways, print the table and, with --write, put it into RESULTS.md."""
    parser = argparse.ArgumentParser(description="cost of a PostgreSQL campaign")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=["auto", "httpx", "aiohttp"], default="auto")
    parser.add_argument("--quick", action="store_true", help="20,000 numbers, 1 run")
    parser.add_argument("--write", action="store_true", help="write the table into RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.numbers, args.runs = 20_000, 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        from pgserver.postgres_server import get_server  # noqa: PLC0415 - a dev dependency

    numbers = phone_numbers(args.numbers)
    results: dict[str, list[Timed]] = {
        "send_message_mass (no journal)": [],
        "Campaign.run, SQLite journal": [],
        "Campaign.run, PostgreSQL": [],
        "Campaign.create, SQLite journal": [],
        "Campaign.create, PostgreSQL": [],
    }
    parent = Path(tempfile.mkdtemp(prefix="miogram-bench-pg-"))
    server = get_server(parent / "pgdata", cleanup_mode="delete")
    try:
        database = _campaign_url(str(server.get_uri()), "bench")
        with loopback_server(args.latency_ms) as url:
            for run in range(args.runs):
                results["send_message_mass (no journal)"].append(
                    asyncio.run(plain(url, numbers, args.concurrency, args.backend))
                )
                created, ran = timed(url, str(parent / f"c-{run}.sqlite"), numbers, args)
                results["Campaign.create, SQLite journal"].append(created)
                results["Campaign.run, SQLite journal"].append(ran)
                created, ran = timed(url, database, numbers, args)
                results["Campaign.create, PostgreSQL"].append(created)
                results["Campaign.run, PostgreSQL"].append(ran)
                print(
                    f"run {run + 1}: "
                    + ", ".join(
                        f"{name} {times[-1].wall:.2f} s" for name, times in results.items()
                    ),
                    flush=True,
                )
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)

    n = args.numbers
    plain_wall = Spread.of([t.wall for t in results["send_message_mass (no journal)"]]).median
    header = ["way", "wall s", "CPU s", "numbers/s", "extra wall us/number", "extra wall"]
    rows = []
    for name, times in results.items():
        wall = Spread.of([t.wall for t in times])
        is_send = not name.startswith("Campaign.create")
        extra = wall.median - plain_wall if is_send else wall.median
        rows.append(
            [
                name,
                wall.fmt(2),
                Spread.of([t.cpu for t in times]).fmt(2),
                f"{n / wall.median:,.0f}",
                f"{extra / n * 1e6:.1f}",
                f"{extra / plain_wall:+.0%}" if is_send else "-",
            ]
        )
    print()
    print_table(header, rows)
    if args.write:
        command = " ".join(
            [
                "python -m benchmarks.bench_postgres_campaign",
                *(argv if argv is not None else sys.argv[1:]),
            ]
        )
        write_section(
            "postgres",
            "### Campaign kept in PostgreSQL (`bench_postgres_campaign.py`)\n\n"
            f"{run_stamp()} `{command}`: {n:,} numbers, L = {args.latency_ms:g} ms, "
            f"C = {args.concurrency}, backend {args.backend}, minimal server in its own process, "
            "PostgreSQL 16 from the pgserver wheel on a unix socket, one worker; median (min-max) "
            f"of {args.runs} runs; extra = median minus the plain send's median.\n\n"
            + markdown_table(header, rows),
        )


if __name__ == "__main__":
    main()
