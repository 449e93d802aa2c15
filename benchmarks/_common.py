"""Shared helpers for the benchmark scripts: servers in their own process, stats, RESULTS.md."""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode

import attrs

from miogram_async import HttpBackend, MioGram
from miogram_async._http.pace import GatewayPace

RESULTS = Path(__file__).with_name("RESULTS.md")
SECRET = "bench0secret"
_START_TIMEOUT = 30.0


def phone_numbers(count: int, start: int = 0) -> list[str]:
    """*count* distinct, valid-looking Iranian mobile numbers."""
    return [f"+98912{n:07d}" for n in range(start, start + count)]


def mass_form(numbers: Sequence[str], message: str = "benchmark message") -> bytes:
    """The form body of one ``SendMessageMass`` call, as the SDK would send it."""
    form = {"Secret": SECRET, "Func": "SendMessageMass", "Phone": ",".join(numbers)}
    return urlencode({**form, "Message": message}).encode()


@contextlib.contextmanager
def server_process(argv: Sequence[str], *, env: dict[str, str] | None = None) -> Iterator[int]:
    """
    Start a server as a separate process and yield its port.

    The process must print a line containing ``PORT <n>`` (or a ``127.0.0.1:<n>`` address) on
    stdout once it listens. It is terminated (then killed) on exit.
    """
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=Path(__file__).parent.parent,
    )
    try:
        port = _read_port(proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def _read_port(proc: subprocess.Popen[str]) -> int:
    assert proc.stdout is not None
    deadline = time.monotonic() + _START_TIMEOUT
    pattern = re.compile(r"PORT (\d+)|127\.0\.0\.1:(\d+)")
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited before listening: {proc.args!r}")
        found = pattern.search(line)
        if found:
            return int(found.group(1) or found.group(2))
    raise RuntimeError(f"server did not report a port within {_START_TIMEOUT} s: {proc.args!r}")


@contextlib.contextmanager
def loopback_server(
    latency_ms: float, max_seconds: float = 900.0, *, serialize_agents: bool = False
) -> Iterator[str]:
    """The minimal loopback server in its own process; yields its URL."""
    argv = [
        sys.executable,
        "-m",
        "benchmarks._loopback_server",
        "--latency-ms",
        str(latency_ms),
        "--max-seconds",
        str(max_seconds),
        *(["--serialize-agents"] if serialize_agents else []),
    ]
    with server_process(argv) as port:
        yield f"http://127.0.0.1:{port}/api/"


@attrs.frozen
class Spread:
    """Median, minimum and maximum of repeated measurements."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The spread of *values* (at least one)."""
        return cls(statistics.median(values), min(values), max(values))

    def fmt(self, digits: int = 2, scale: float = 1.0) -> str:
        """``median (min-max)`` with *digits* decimals after multiplying by *scale*."""
        m, lo, hi = self.median * scale, self.low * scale, self.high * scale
        return f"{m:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_description() -> str:
    """One line naming the CPU, core count, Python and HTTP library versions."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ""
    with contextlib.suppress(OSError):
        load = ", load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (
        f"{model}, nproc {os.cpu_count()}{load}; {platform.python_implementation()} "
        f"{platform.python_version()}; httpx {_version('httpx')}, httpcore {_version('httpcore')}, "
        f"aiohttp {_version('aiohttp')}, httpx-aiohttp {_version('httpx-aiohttp')}, "
        f"anyio {_version('anyio')}"
    )


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print an aligned plain-text table."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def write_section(name: str, body: str) -> None:
    """Replace (or append) the ``name`` section of ``benchmarks/RESULTS.md``."""
    begin, end = f"<!-- begin:{name} -->", f"<!-- end:{name} -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def run_stamp() -> str:
    """When and where a run happened, for the top of a RESULTS.md section."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"Run {when} on {machine_description()}."


@contextlib.contextmanager
def fake_server(
    *,
    latency_ms: float = 0.0,
    agent_ms: float = 0.0,
    agents: int = 1,
    max_seconds: float = 900.0,
    as_shipped: bool = False,
) -> Iterator[str]:
    """
    The SDK's fake service (``benchmarks._fake_server``) in its own process; yields its URL.

    *latency_ms* is added to every request; *agent_ms* is the time of one 100-number chunk with
    one request at a time per agent. *as_shipped* serves it with ``FakeMioGram.serve()`` (whose
    socket lacks ``TCP_NODELAY``) instead of on a ``TCP_NODELAY`` socket.
    """
    argv = [
        sys.executable,
        "-m",
        "benchmarks._fake_server",
        "--latency-ms",
        str(latency_ms),
        "--agent-ms",
        str(agent_ms),
        "--agents",
        str(agents),
        "--max-seconds",
        str(max_seconds),
        *(["--as-shipped"] if as_shipped else []),
    ]
    with server_process(argv) as port:
        yield f"http://127.0.0.1:{port}/dojob.php"


@attrs.frozen
class Timed:
    """CPU seconds (this process) and wall seconds of one measured run."""

    cpu: float
    wall: float


class Stopwatch:
    """Measure wall time and this process's CPU time: ``with Stopwatch() as sw: ...; sw.timed``."""

    def __init__(self) -> None:
        self._cpu = 0.0
        self._wall = 0.0
        self.timed = Timed(0.0, 0.0)

    def __enter__(self) -> Stopwatch:
        gc.collect()
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timed = Timed(time.process_time() - self._cpu, time.perf_counter() - self._wall)


def sdk_client(url: str, concurrency: int, backend: HttpBackend) -> MioGram:
    """A `MioGram` for a benchmark server: no retries, the given ``http_backend``."""
    return MioGram(
        SECRET, base_url=url, concurrency=concurrency, http_backend=backend, max_retries=0
    )


class PinnedPace(GatewayPace):
    """
    A client's pace store pinned to the SDK before issue 18: chunks of the call's ``chunk_size``
    whatever the pace (with *shrink*, two thirds the size of a chunk whose 999 came at the front's
    wait), and a drain of *drain* seconds per number after an unknown outcome. Set it as a
    client's ``_session.pace`` to measure fixed chunk sizes.
    """

    def __init__(self, drain: float, *, shrink: bool = True) -> None:
        super().__init__()
        self._drain = drain
        self._shrink = shrink
        self._size: int | None = None

    def chunk_size(self, robot: str | None, upper: int, front_wait: float) -> int:
        return upper if self._size is None else min(upper, self._size)

    def overran(self, robot: str | None, numbers: int, seconds: float) -> float:
        if self._shrink:
            self._size = max(1, numbers * 2 // 3)
        return super().overran(robot, numbers, seconds)

    def drain(self, robot: str | None, numbers: int, front_wait: float) -> float:
        return numbers * self._drain
