"""
A default Mass send at the gateway's real paces (E32, E33, E49): chunks sized from the pace.

Each row sends 400 numbers with ``send_message_mass`` on a client with the SDK's own defaults
(one request at a time, rotating over four agents, chunks of at most 40), to a fresh in-process
fake in its server profile whose time model is ``TimeModel.realistic`` at the row's pace, scaled by
``--scale``. The client gets nothing from the fake but its front's wait (``fake.client()`` sets
``front_wait`` from the time model, a fact of the service); it measures the pace itself. Per row it
prints the share of numbers left UNKNOWN, the gateway-busy efficiency (the seconds the fake's
gateway worked over the wall time of the send, until the gateway was idle), the numbers delivered
twice, the largest number of state-changing requests in flight at the fake, whether the gateway's
shared credit file stayed intact (E33), and how the chunks went.

The baseline rows pin the behaviour before issue 18 (`benchmarks._common.PinnedPace`; the rest of
the SDK as it is): chunks of 40 whatever the pace, two thirds the size of a chunk whose 999 came at
the front's wait, and a drain after an unknown outcome of 1.5 s per number (the SDK's old default,
scaled) or of 1.5 times the fake's own pace (what ``fake.client()`` used to hand the client).

``--sweep`` sends the varied rows again for other values of the SDK's margins
(`miogram_async._http.pace.PLAN_SHARE`, the share of the front's wait a chunk is sized to take),
the measurement the defaults were chosen by::

    python -m benchmarks.bench_pace              # every row, 3 seeds, written to RESULTS.md
    python -m benchmarks.bench_pace --quick      # one seed, fewer rows, printed only
    python -m benchmarks.bench_pace --sweep      # the margins against the varied rows
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

import anyio
import attrs

import miogram_async._http.pace as pace_module
from benchmarks._common import (
    PinnedPace,
    markdown_table,
    phone_numbers,
    print_table,
    run_stamp,
    write_section,
)
from miogram_async import MassResult, MassSendError, MioGram, NoResponseError, Outcome
from miogram_async.testing import AccountConfig, FakeMioGram, NumberBook, SlowSpells, TimeModel

AGENTS: Final = ("A1", "A2", "A3", "A4")
NUMBERS: Final = 400
SPELLS: Final = SlowSpells(chance=0.01, length=20, factor=3.0)


@attrs.frozen
class Scenario:
    """One row's service: a pace, its jitter, how agents differ, slow spells."""

    name: str
    pace: float
    jitter: float = 0.0
    agent_spread: float = 0.0
    slow_spells: SlowSpells | None = None

    def model(self, scale: float, seed: int) -> TimeModel:
        """The fake's time model for this row."""
        return TimeModel.realistic(
            scale=scale,
            pace=self.pace,
            jitter=self.jitter,
            agent_spread=self.agent_spread,
            slow_spells=self.slow_spells,
            seed=seed,
        )


SCENARIOS: Final = (
    Scenario("1.0 s/number", 1.0),
    Scenario("2.0 s/number", 2.0),
    Scenario("3.0 s/number", 3.0),
    Scenario("2.0 s/number, jitter 0.3, agents +-25%", 2.0, 0.3, 0.25),
    Scenario("3.0 s/number, jitter 0.3, agents +-25%", 3.0, 0.3, 0.25),
    Scenario("2.0 s/number, jitter 0.3, agents +-25%, slow spells", 2.0, 0.3, 0.25, SPELLS),
    Scenario("3.0 s/number, jitter 0.3, agents +-25%, slow spells", 3.0, 0.3, 0.25, SPELLS),
)
QUICK: Final = (SCENARIOS[1], SCENARIOS[3], SCENARIOS[5])
SPELLED: Final = SCENARIOS[5:]
VARIED: Final = SCENARIOS[3:]


@attrs.frozen
class Run:
    """What one send gave."""

    unknown: int
    not_attempted: int
    efficiency: float
    twice: int
    in_flight: int
    intact: bool
    chunks: int
    late_999: int
    sizes: tuple[int, ...]
    stopped: str | None


async def one_send(
    scenario: Scenario, scale: float, seed: int, *, baseline: float | None = None
) -> Run:
    """Send 400 numbers to a fresh fake at *scenario*'s pace (*baseline*: the old drain)."""
    fake = FakeMioGram(
        AccountConfig(secret="bench", agents=AGENTS, numbers=NumberBook.everyone()),
        time_model=scenario.model(scale, seed),
    )
    targets = phone_numbers(NUMBERS)
    stopped: str | None = None
    client: MioGram = fake.client()
    if baseline is not None:
        client._session.pace = PinnedPace(baseline)
    async with client:
        began = time.monotonic()
        try:
            result: MassResult = await client.send_message_mass(targets, "hello")
        except MassSendError as stop:
            result = stop.result  # type: ignore[assignment]  # a MassResult at run time
            stopped = str(stop.cause)
        await fake.wait_idle()
        wall = time.monotonic() - began
    busy = fake.gateway_busy_seconds(since=began)
    sends = [work for work in fake.gateway_work if work.func == "SendMessageMass"]
    counts = Counter(delivery.number for delivery in fake.deliveries)
    late = len({id(e) for e in result.errors.values() if isinstance(e, NoResponseError)})
    return Run(
        unknown=result.counts[Outcome.UNKNOWN],
        not_attempted=result.counts[Outcome.NOT_ATTEMPTED],
        efficiency=busy / wall,
        twice=sum(1 for count in counts.values() if count > 1),
        in_flight=fake.max_state_changing_in_flight,
        intact=not fake.credit_file_corrupted,
        chunks=len(sends),
        late_999=late,
        sizes=tuple(len(work.numbers) for work in sends),
        stopped=stopped,
    )


HEADER: Final = (
    "gateway pace",
    "SDK",
    "UNKNOWN",
    "not attempted",
    "efficiency",
    "delivered twice",
    "max in flight",
    "credit file",
    "chunks (999)",
    "chunk sizes",
)


def row(scenario: Scenario, label: str, runs: Sequence[Run]) -> list[str]:
    """One table row over *runs* of the same scenario (worst UNKNOWN, median efficiency)."""
    unknown = max(run.unknown for run in runs)
    not_attempted = max(run.not_attempted for run in runs)
    efficiency = [run.efficiency for run in runs]
    sizes = sorted(size for run in runs for size in run.sizes)
    stops = {run.stopped for run in runs if run.stopped}
    return [
        scenario.name,
        label + (f" (stopped: {'; '.join(sorted(stops))})" if stops else ""),
        f"{unknown / NUMBERS:.1%} (max {unknown})",
        str(not_attempted),
        f"{statistics.median(efficiency):.3f} ({min(efficiency):.3f}-{max(efficiency):.3f})",
        str(max(run.twice for run in runs)),
        str(max(run.in_flight for run in runs)),
        "intact" if all(run.intact for run in runs) else "BROKEN",
        f"{statistics.median(run.chunks for run in runs):.0f} "
        f"({sum(run.late_999 for run in runs)})",
        f"{sizes[0]}-{sizes[-1]}, median {statistics.median(sizes):.0f}",
    ]


async def table(
    scenarios: Sequence[Scenario], scale: float, seeds: Sequence[int], *, baseline: bool
) -> list[list[str]]:
    """A row per scenario for the SDK as it is, then (with *baseline*) as before issue 18."""
    rows = []
    for scenario in scenarios:
        runs = [await one_send(scenario, scale, seed) for seed in seeds]
        rows.append(row(scenario, "measured pace", runs))
        print(" | ".join(rows[-1]), file=sys.stderr)
    if baseline:
        for scenario in scenarios:
            for label, drain in (
                ("before: 40, drain 1.5 s", 1.5 * scale),
                ("before: 40, drain 1.5 x fake's pace", 1.5 * scenario.pace * scale),
            ):
                runs = [await one_send(scenario, scale, seed, baseline=drain) for seed in seeds]
                rows.append(row(scenario, label, runs))
                print(" | ".join(rows[-1]), file=sys.stderr)
    return rows


SWEEP: Final = (0.3, 0.4, 0.5, 0.6, 0.7)


async def sweep(
    scale: float, seeds: Sequence[int], shares: Sequence[float], scenarios: Sequence[Scenario]
) -> list[list[str]]:
    """*scenarios* again for each `PLAN_SHARE` of *shares*."""
    rows = []
    chosen = pace_module.PLAN_SHARE
    try:
        for share in shares:
            setattr(pace_module, "PLAN_SHARE", share)  # noqa: B010 - a Final, on purpose
            for scenario in scenarios:
                runs = [await one_send(scenario, scale, seed) for seed in seeds]
                label = f"PLAN_SHARE {share}" + (" (default)" if share == chosen else "")
                rows.append(row(scenario, label, runs))
                print(" | ".join(rows[-1]), file=sys.stderr)
    finally:
        setattr(pace_module, "PLAN_SHARE", chosen)  # noqa: B010
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the table (or the sweep), print it and (unless --quick or --no-write) record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="three rows, one seed, no baseline")
    parser.add_argument("--sweep", action="store_true", help="the margins against the varied rows")
    parser.add_argument(
        "--shares", type=float, nargs="+", default=SWEEP, help="the PLAN_SHARE values swept"
    )
    parser.add_argument("--spells-only", action="store_true", help="sweep the slow-spell rows only")
    parser.add_argument("--section", default="pace-sweep", help="the RESULTS.md section of a sweep")
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seeds", type=int, default=3, help="runs per row, each its own seed")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    seeds = range(1 if args.quick else args.seeds)
    job: Callable[[], Awaitable[list[list[str]]]]
    if args.sweep:
        scenarios = SPELLED if args.spells_only else VARIED
        job = lambda: sweep(args.scale, seeds, args.shares, scenarios)  # noqa: E731
    elif args.quick:
        job = lambda: table(QUICK, args.scale, seeds, baseline=False)  # noqa: E731
    else:
        job = lambda: table(SCENARIOS, args.scale, seeds, baseline=True)  # noqa: E731
    rows = anyio.run(job)
    print_table(HEADER, rows)
    if args.quick or args.no_write:
        return 0
    what = (
        f"{NUMBERS} numbers over 4 agents, a default `send_message_mass` (one request at a "
        f"time, chunks of at most 40), the fake's server profile at scale {args.scale} "
        f"(front wait {60 * args.scale:g} s); {len(seeds)} seeds per row: UNKNOWN is the worst "
        "run, efficiency the median (min-max), chunks the median count (chunks answered 999, over "
        "every run)."
    )
    if args.sweep:
        write_section(
            args.section,
            f"### Chunk sizing margins (`bench_pace.py --sweep`)\n\n{run_stamp()} {what}\n\n"
            f"{markdown_table(HEADER, rows)}\n",
        )
    else:
        write_section(
            "pace",
            f"## Chunks sized from the gateway's pace (`bench_pace.py`, E49)\n\n{run_stamp()} "
            f"{what}\n\n{markdown_table(HEADER, rows)}\n",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
