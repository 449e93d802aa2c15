"""
What the default send gate costs per request (issue 19): the machine-wide `FileSendGate` a client
takes when it names no gate, against the in-process `LocalSendGate` it had before.

    python -m benchmarks.bench_gate             # ~1 min
    python -m benchmarks.bench_gate --quick

Three measurements:

- **the gate alone**: one task takes and gives back a slot, N times (no contention): wall and
  CPU per acquire + release;
- **through the client**: ``send_message`` N times against an instant in-process mock service
  (no network: the gate's share of a request is as large as it can be), once with
  ``send_gate="local"`` and once with the default gate: wall and CPU per request;
- **handed on between processes**: P processes each take the machine-wide slot K times, holding
  it H ms (a request): the wall time beyond P x K x H, per request, is what handing the slot from
  one process to the next costs (waiters poll, 2 ms doubling to 10 ms).

A request to the real service takes seconds (about one a number, E24; at most one in flight,
E33), so the figures compare with 1 to 60 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

import anyio
import httpx

from benchmarks._common import Spread, markdown_table, print_table, run_stamp, write_section
from miogram_async import FileSendGate, LocalSendGate, MioGram, SendGate

SECTION: Final = "send-gate"
URL: Final = "https://miogram.test/dojob.php"
SENT: Final = b'{"Result": true, "Status": "success"}'

#: Run by each process of the hand-on measurement: take the slot K times, hold it H seconds.
_HOLDER = """
import sys, time, anyio
from miogram_async import FileSendGate
from miogram_async._gates.default import FILE_GATE_MAX_POLL

async def main(folder, times, hold):
    # As the package makes the machine-wide gate.
    gate = FileSendGate(folder, name="bench", max_poll=FILE_GATE_MAX_POLL)
    print("ready", flush=True)
    sys.stdin.readline()  # all start together, once every interpreter is up
    for _ in range(times):
        await gate.acquire()
        time.sleep(hold)  # the request, in flight: nothing else runs meanwhile
        await gate.release(0.0)

anyio.run(main, sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
"""


async def _gate_alone(gate: SendGate, count: int) -> tuple[float, float]:
    """(wall, CPU) seconds per acquire + release of *gate*, uncontended."""
    await gate.acquire()  # opens what it needs once
    await gate.release(0.0)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        await gate.acquire()
        await gate.release(0.0)
    return (time.perf_counter() - wall) / count, (time.process_time() - cpu) / count


async def _through_client(send_gate: str | None, count: int) -> tuple[float, float, str]:
    """(wall, CPU) seconds per ``send_message``, and the gate's class, with *send_gate*."""

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=SENT)

    async with MioGram(
        "bench0secret",
        robot="Agent1",
        base_url=URL,
        transport=httpx.MockTransport(handle),
        send_gate=send_gate,
    ) as client:
        await client.send_message("+989120000000", "warm up")
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            await client.send_message("+989120000000", "benchmark message")
        kind = type(client._session.gate).__name__
    return (time.perf_counter() - wall) / count, (time.process_time() - cpu) / count, kind


def _handed_on(folder: str, processes: int, times: int, hold: float) -> float:
    """Wall seconds per request beyond the holding time, P processes sharing one file slot."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _HOLDER, folder, str(times), str(hold)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for child in children:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a holder process did not start")
    started = time.perf_counter()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        if child.wait() != 0:
            raise RuntimeError("a holder process failed")
    wall = time.perf_counter() - started
    requests = processes * times
    return (wall - requests * hold) / requests


def _us(spread: Spread) -> str:
    return spread.fmt(1, 1e6)


def _figures(values: list[tuple[float, float]]) -> list[str]:
    """The wall and CPU columns of (wall, CPU) measurements."""
    return [_us(Spread.of([w for w, _ in values])), _us(Spread.of([c for _, c in values]))]


def main() -> None:
    """Measure, print, and write the ``send-gate`` section of RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, one run")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    runs = 1 if args.quick else 3
    alone_n = 2_000 if args.quick else 20_000
    client_n = 1_000 if args.quick else 5_000
    processes = 4
    # (requests per process, seconds each is held): short requests, and longer ones, where a
    # waiter's poll has grown to its longest pause.
    holds = [(50, 0.01)] if args.quick else [(250, 0.01), (15, 0.25)]

    with tempfile.TemporaryDirectory(prefix="bench-gate-") as runtime:
        # The default gate's folder: the user's runtime directory, here one of the benchmark's.
        os.environ["XDG_RUNTIME_DIR"] = runtime
        os.environ.pop("MIOGRAM_SEND_GATE", None)
        folder = Path(runtime) / "slots"
        folder.mkdir()
        alone: dict[str, list[tuple[float, float]]] = {"LocalSendGate": [], "FileSendGate": []}
        client: dict[str, list[tuple[float, float]]] = {"local": [], "default": []}
        kinds: dict[str, str] = {}
        handoff: dict[tuple[int, float], list[float]] = {hold: [] for hold in holds}
        for _ in range(runs):
            alone["LocalSendGate"].append(anyio.run(_gate_alone, LocalSendGate(), alone_n))
            alone["FileSendGate"].append(
                anyio.run(_gate_alone, FileSendGate(folder, name="alone"), alone_n)
            )
            for name, gate in (("local", "local"), ("default", None)):
                wall, cpu, kind = anyio.run(_through_client, gate, client_n)
                client[name].append((wall, cpu))
                kinds[name] = kind
            for times, hold in holds:
                handoff[times, hold].append(_handed_on(str(folder), processes, times, hold))

    header = ["measurement", "gate", "wall per request (us)", "CPU per request (us)"]
    rows = [
        [f"the gate alone, {alone_n:,} acquire + release", name, *_figures(values)]
        for name, values in alone.items()
    ]
    rows += [
        [
            f"send_message through the client, {client_n:,} requests",
            f"{name} ({kinds[name]})",
            *_figures(values),
        ]
        for name, values in client.items()
    ]
    extra = (
        Spread.of([w for w, _ in client["default"]]).median
        - Spread.of([w for w, _ in client["local"]]).median
    )
    print_table(header, rows)
    handed_header = ["processes", "requests each", "held (ms)", "hand-on per request (us)"]
    handed_rows = [
        [str(processes), str(times), f"{hold * 1e3:.0f}", _us(Spread.of(values))]
        for (times, hold), values in handoff.items()
    ]
    print_table(handed_header, handed_rows)
    print(f"the default gate's extra wall per request through the client: {extra * 1e6:.1f} us")
    if args.no_write:
        return
    body = "\n\n".join(
        [
            "## The default send gate's cost (`benchmarks/bench_gate.py`"
            + (", --quick)" if args.quick else ")"),
            run_stamp(),
            f"Median (min-max) of {runs} run(s). The default gate is the machine-wide "
            "`FileSendGate` a client with `concurrency=1` takes when it names no gate (issue 19); "
            '`local` is `send_gate="local"`, the in-process gate every client had before. The '
            "mock service answers at once, in process: a request costs nothing else.",
            markdown_table(header, rows),
            "Handing the slot on between processes: each takes it, holds it (a request, "
            "`time.sleep`), gives it back, again; the wall time beyond the holding time, per "
            "request. Waiters poll the slot (2 ms, doubling to 10 ms for the gates the package "
            "makes), so a waiter may sleep up to 10 ms past the slot's release.",
            markdown_table(handed_header, handed_rows),
            "A request to the real service takes a second and more (about one a number, E24): "
            "tens of microseconds per request, and a few milliseconds to hand the slot on, are "
            "lost in it.",
        ]
    )
    write_section(SECTION, body)


if __name__ == "__main__":
    main()
