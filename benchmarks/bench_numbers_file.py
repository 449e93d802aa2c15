"""
A numbers file read the way ``miogram campaign run`` reads it, into a new journal: time and memory.

Each scenario runs in its own process (its peak RSS is its own) and goes through the CLI's own
reader (``cli._numbers.open_numbers``: format and encoding told, the phone column found, the first
valid number read ahead) and then ``Campaign.create`` into an SQLite journal; nothing is sent.

- ``numbers-list``: one ``+98912...`` number a line, ASCII (what ``bench_memory_campaign`` reads).
- ``customers-utf8``: ``name,city,phone`` with Persian names and ``0912...`` numbers, UTF-8 with a
  byte-order mark (Excel's "CSV UTF-8").
- ``customers-1256``, ``customers-utf16``: the same list in Windows-1256 and UTF-16 with a BOM.
- ``customers-xlsx``: the same list as an .xlsx workbook (``--xlsx-rows``, default 100,000).

The first two are the common case the reader must not slow down: run this script against an older
commit (it also drives the reader of before issue 20, ``NumbersReader``) for the "before" figures.
Run ``python -m benchmarks.bench_numbers_file [--rows N] [--only SCENARIO ...] [--no-write]``.
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
from typing import Any, Final

from benchmarks._common import markdown_table, print_table, run_stamp, write_section
from miogram_async.campaign import Campaign

SCENARIOS: Final = (
    "numbers-list",
    "customers-utf8",
    "customers-1256",
    "customers-utf16",
    "customers-xlsx",
)
_NAMES: Final = ("علی رضایی", "سارا محمدی", "رضا کریمی", "مریم احمدی", "نگار صالح\u200cپور")
_CITIES: Final = ("تهران", "شیراز", "اصفهان", "تبریز", "مشهد")


def _customers(rows: int) -> Iterator[list[str]]:
    yield ["name", "city", "phone"]
    for n in range(rows):
        yield [_NAMES[n % 5], _CITIES[n % 5], f"0912{n:07d}"]


def write_file(scenario: str, rows: int, folder: Path) -> Path:
    """
    The numbers file of *scenario* with *rows* data rows, written as it is made.

    (Never held whole: a child process's peak RSS starts from its parent's size.)
    """
    if scenario == "numbers-list":
        path = folder / "numbers.txt"
        with path.open("w", encoding="utf-8") as out:
            out.writelines(f"+98912{n:07d}\n" for n in range(rows))
        return path
    if scenario == "customers-xlsx":
        import openpyxl  # noqa: PLC0415 - the xlsx extra

        path = folder / "customers.xlsx"
        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet("customers")
        for cells in _customers(rows):
            sheet.append(cells)
        workbook.save(path)
        return path
    encoding = {"customers-utf8": "utf-8-sig", "customers-1256": "cp1256"}.get(scenario, "utf-16")
    # Excel's "Unicode text" is tab-separated; Windows-1256 has no Persian yeh (Windows writes ي).
    separator = "\t" if scenario == "customers-utf16" else ","
    path = folder / f"{scenario}.csv"
    with path.open("w", encoding=encoding, newline="") as out:
        for cells in _customers(rows):
            line = separator.join(cells) + "\r\n"
            out.write(line.replace("\u06cc", "\u064a") if encoding == "cp1256" else line)
    return path


def _open(path: Path) -> Any:
    """The CLI's reader over *path*, read up to its first valid number (as ``campaign run``)."""
    from miogram_async.cli import _numbers  # noqa: PLC0415 - which reader depends on the commit

    if hasattr(_numbers, "NumbersReader"):  # before issue 20 (up to commit a3ca99f)
        stream = _numbers.open_numbers(str(path))
        reader = _numbers.NumbersReader(stream, region="IR", source=repr(str(path)))
        reader.first_valid()
        return reader
    reader = _numbers.open_numbers(str(path), region="IR")
    assert reader.read_to_first_valid()
    return reader


def child(path: Path, workdir: Path) -> None:
    """Read *path* into a new journal in this process; print one JSON line about it."""
    began, cpu_began = time.perf_counter(), time.process_time()
    reader = _open(path)
    opened = time.perf_counter() - began
    campaign = Campaign.create(workdir / "c.sqlite", reader, message="benchmark")
    created = time.perf_counter() - began
    cpu = time.process_time() - cpu_began
    with campaign:
        total = campaign.status().total
    facts = {
        "open_s": opened,
        "create_s": created,
        "cpu_s": cpu,
        "total": total,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "encoding": getattr(reader, "encoding", None),
    }
    print(json.dumps(facts))


def main(argv: list[str] | None = None) -> None:
    """Run every scenario in its own process, print the table and write it into RESULTS.md."""
    parser = argparse.ArgumentParser(description="numbers files read into a new journal")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, help="scenarios to run")
    parser.add_argument("--quick", action="store_true", help="100,000 rows, 10,000 in the xlsx")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--section", default="numbers-file", help="RESULTS.md section")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.workdir)
        return
    if args.quick:
        args.rows, args.xlsx_rows = 100_000, 10_000
    header = [
        "scenario",
        "rows",
        "file MiB",
        "open s",
        "create s",
        "CPU s",
        "rows/s",
        "peak RSS MiB",
    ]
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in args.only or SCENARIOS:
            count = args.xlsx_rows if scenario == "customers-xlsx" else args.rows
            folder = Path(tmp) / scenario
            folder.mkdir()
            path = write_file(scenario, count, folder)
            argv_child = [sys.executable, "-m", "benchmarks.bench_numbers_file"]
            argv_child += ["--child", str(path), "--workdir", str(folder)]
            done = subprocess.run(argv_child, capture_output=True, text=True, check=True)
            facts = json.loads(done.stdout.strip().splitlines()[-1])
            if facts["total"] != count:
                raise RuntimeError(f"{scenario}: {facts['total']} rows in the journal, not {count}")
            rows.append(
                [
                    scenario,
                    f"{count:,}",
                    f"{path.stat().st_size / 2**20:.1f}",
                    f"{facts['open_s']:.2f}",
                    f"{facts['create_s']:.2f}",
                    f"{facts['cpu_s']:.2f}",
                    f"{count / facts['create_s']:,.0f}",
                    f"{facts['rss']:.1f}",
                ]
            )
            print("  ".join(rows[-1]), flush=True)
    print()
    print_table(header, rows)
    if not args.no_write:
        command = f"`python -m benchmarks.bench_numbers_file --rows {args.rows}"
        if args.only:
            command += " --only " + " ".join(args.only)
        write_section(
            args.section,
            "### Numbers files read into a new journal (`bench_numbers_file.py`)\n\n"
            f"{run_stamp()} {command}`. Each scenario in its own process: the CLI's reader "
            "(format, encoding, column, read ahead to the first valid number), then "
            '`Campaign.create`; "open" is the reader\'s part before the create, "create" the '
            "whole (wall, and CPU); rows/s is rows over the create's wall time. One run each. "
            "The customers files' other columns (name, city) are kept beside each number, for "
            "exports and messages per row: the journal stores them (`keep_columns=False` does "
            "not, and reads as fast as a plain list of numbers in that format)."
            "\n\n" + markdown_table(header, rows),
        )


if __name__ == "__main__":
    main()
