"""
The gateway's pace as a client measures it: seconds per number, per agent (docs/service.md E49).

The gateway resolves a request's numbers one after another, 1.5 to 3 s each against the real
messenger, differently per agent and by the hour (E49), and the front stops waiting for it after
``front_wait`` seconds (60) while it goes on (E32). A `GatewayPace` keeps what one client has
learnt of that pace, shared by its ``with_options`` views, by every Mass send and by its send gate:

- every answered Mass chunk is a sample: its round trip, less the latency of a request that does
  no per-number work, divided by its numbers (`GatewayPace.answered`);
- a 999 at the end of the front's wait proves a lower bound on that agent's pace: the gateway had
  not finished the chunk's numbers in ``front_wait`` (`GatewayPace.overran`);
- a chunk is sized so that, at the pace planned for its agent, it takes a share (`PLAN_SHARE`) of
  ``front_wait`` (`GatewayPace.chunk_size`);
- after an outcome that leaves the gateway possibly still at work, the send gate stays closed until
  the gateway has, at the slowest pace seen (or assumed) times a margin, finished the request
  (`GatewayPace.drain`).

Every constant that stands for a time is a share of ``front_wait``, so a client of a time-scaled
service (a fake 100 times faster, whose ``front_wait`` is 0.6 s) scales them all. The shares were
chosen by measurement: ``benchmarks/bench_pace.py``, figures in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Mapping
from typing import Final

from .._base.log import logger
from .._gates.default import REQUEST_NUMBERS_MAX

__all__ = [
    "DRAIN_MARGIN",
    "NEW_AGENT_MARGIN",
    "PLAN_SHARE",
    "RECENT_CHUNKS",
    "SLOW_PACE_SHARE",
    "GatewayPace",
    "dead_holder_wait",
]

PLAN_SHARE: Final = 0.3
"""A chunk is sized to take this share of ``front_wait`` at its agent's planned pace: the rest is
the margin for jitter and for a slow spell that starts with it (E49). At 0.3 a chunk stays inside
the front's wait even if its agent turns three times slower for the whole chunk; 0.35 and above
let such spells cost 999s in ``bench_pace.py --sweep``."""

SLOW_PACE_SHARE: Final = 1 / 12
"""The pace assumed while nothing is measured, as a share of ``front_wait``: 5 s per number at
60 s, above the 1.5 to 3 s that is ordinary (E49). The first chunk is sized from it."""

NEW_AGENT_MARGIN: Final = 2.0
"""An agent with no measurement of its own plans at this many times the slowest measured agent,
if that is slower than the slow pace assumed while nothing is known."""

DRAIN_MARGIN: Final = 2.0
"""After an unknown outcome the gate stays closed for the request's numbers at this many times the
slowest pace seen (a 999's lower bound included; the slow pace assumed while nothing is
measured)."""

RECENT_CHUNKS: Final = 5
"""How many of an agent's latest answered chunks its pace is measured over."""

LATENCY_SHARE: Final = 0.5
"""At most this share of a chunk's round trip is taken for latency, however slow the requests
that measured it: a pace is never taken for less than half its round trip's share, and a chunk
sized at `PLAN_SHARE` stays inside the front's wait even then."""


class _Agent:
    """What is known of one agent: its latest samples, a 999's lower bound since, its slowest."""

    __slots__ = ("bound", "samples", "slowest")

    def __init__(self) -> None:
        #: (numbers, seconds per number) of the latest answered chunks, oldest first.
        self.samples: collections.deque[tuple[int, float]] = collections.deque(maxlen=RECENT_CHUNKS)
        #: Seconds per number a late 999 proved the pace to exceed; cleared by the next answer.
        self.bound: float | None = None
        #: The slowest pace ever seen on it: a chunk's, or a 999's bound.
        self.slowest = 0.0

    @property
    def measured(self) -> bool:
        return bool(self.samples)

    def mean(self) -> float | None:
        """The recent chunks' total time over their total numbers."""
        if not self.samples:
            return None
        numbers = sum(count for count, _ in self.samples)
        return sum(count * pace for count, pace in self.samples) / numbers

    def planned(self) -> float | None:
        """The pace to plan with: the recent mean, the latest chunk's or the bound, the largest."""
        values = [value for value in (self.mean(), self.bound) if value is not None]
        if self.samples:
            values.append(self.samples[-1][1])
        return max(values, default=None)


class GatewayPace:
    """
    The gateway's pace as one client knows it, per agent (E49); see the module's docstring.

    A client keeps one at its session's root: its ``with_options`` views, all its Mass sends and
    its send gate's drain share it, so a second send on the same client starts from what the first
    one learnt. A campaign keeps `paces` in its journal and a resume hands them to `adopt`.
    Agents are keyed by name (`key`); a request that names none goes to the account's first agent.
    """

    def __init__(self) -> None:
        self._agents: dict[str, _Agent] = {}
        #: The shortest round trip of a request that names no number (no per-number work).
        self.latency: float | None = None
        #: The account's first agent, once known (``APIGetRobot``): requests naming no agent go
        #: to it, and their pace is its pace.
        self.first_agent: str | None = None

    def key(self, robot: str | None) -> str:
        """The key of *robot*: its name; none is the account's first agent (``""`` if unknown)."""
        return robot or self.first_agent or ""

    # -- measuring ------------------------------------------------------------------------------

    def round_trip(self, seconds: float) -> None:
        """A request that names no number was answered in *seconds*: it bounds the latency."""
        if seconds >= 0 and (self.latency is None or seconds < self.latency):
            self.latency = seconds

    def _work(self, seconds: float) -> float:
        """*seconds* of a chunk's round trip less the latency (never more than `LATENCY_SHARE`)."""
        latency = min(self.latency or 0.0, LATENCY_SHARE * seconds)
        return max(seconds - latency, 0.0)

    def answered(self, robot: str | None, numbers: int, seconds: float) -> float:
        """
        A chunk of *numbers* on *robot* was answered *seconds* after it left; its pace (returned).

        The answer came once the gateway had resolved every number, so the round trip less the
        latency is its work.
        """
        pace = self._work(seconds) / max(numbers, 1)
        agent = self._agents.setdefault(self.key(robot), _Agent())
        agent.samples.append((max(numbers, 1), pace))
        agent.bound = None
        agent.slowest = max(agent.slowest, pace)
        return pace

    def overran(self, robot: str | None, numbers: int, seconds: float) -> float:
        """
        A chunk of *numbers* on *robot* got 999 *seconds* after it left, at the front's wait.

        The gateway had not finished its numbers when the front gave up (E32): the agent's pace is
        above the returned lower bound, which later chunks on it and the drain plan with until
        the agent answers again.
        """
        bound = self._work(seconds) / max(numbers, 1)
        agent = self._agents.setdefault(self.key(robot), _Agent())
        agent.bound = max(agent.bound or 0.0, bound)
        agent.slowest = max(agent.slowest, bound)
        return bound

    def adopt(self, paces: Mapping[str, float]) -> None:
        """Start from *paces* (seconds per number by agent: a journal's) where none is known."""
        for name, pace in paces.items():
            if not (isinstance(pace, int | float) and 0 < pace < math.inf):
                continue
            agent = self._agents.setdefault(name, _Agent())
            if not agent.measured:
                agent.samples.append((1, float(pace)))
                agent.slowest = max(agent.slowest, float(pace))

    # -- what is known --------------------------------------------------------------------------

    def pace(self, robot: str | None) -> float | None:
        """The measured pace of *robot* (its recent chunks' mean), or ``None`` while unknown."""
        agent = self._agents.get(self.key(robot))
        return None if agent is None else agent.mean()

    def paces(self) -> dict[str, float]:
        """Every measured agent's pace (`pace`), by agent key."""
        found = {name: agent.mean() for name, agent in self._agents.items()}
        return {name: pace for name, pace in found.items() if pace is not None}

    def _planned_elsewhere(self, besides: str) -> float | None:
        """The slowest pace another measured agent plans with, or ``None``."""
        values = [
            planned
            for name, agent in self._agents.items()
            if name != besides and agent.measured and (planned := agent.planned()) is not None
        ]
        return max(values, default=None)

    def slowest_seen(self) -> float:
        """The slowest pace seen on any agent: a chunk's, or a 999's bound (0 if none)."""
        return max((agent.slowest for agent in self._agents.values()), default=0.0)

    # -- decisions ------------------------------------------------------------------------------

    def planned(self, robot: str | None, front_wait: float) -> float:
        """
        The pace a chunk on *robot* is sized with (seconds per number).

        The agent's own: the largest of its recent mean, its latest chunk's and a 999's bound.
        An agent not measured yet (agents differ, E49): the slow pace assumed while nothing is
        known (`SLOW_PACE_SHARE` of *front_wait*), or `NEW_AGENT_MARGIN` times the slowest
        measured agent if that is slower, so that its first chunk is small too.
        """
        key = self.key(robot)
        agent = self._agents.get(key)
        own = None if agent is None else agent.planned()
        if agent is not None and agent.measured and own is not None:
            return own
        others = self._planned_elsewhere(key)
        fallback = max(SLOW_PACE_SHARE * front_wait, NEW_AGENT_MARGIN * (others or 0.0))
        return max(fallback, own or 0.0)

    def chunk_size(self, robot: str | None, upper: int, front_wait: float) -> int:
        """
        How many numbers the next chunk on *robot* carries: within ``1..upper``, its numbers
        taking `PLAN_SHARE` of *front_wait* at the planned pace (the front's wait is counted from
        the request's arrival, so the latency takes nothing of it).
        """
        pace = self.planned(robot, front_wait)
        if pace <= 0:
            return upper
        return max(1, min(upper, math.floor(PLAN_SHARE * front_wait / pace)))

    def drain_pace(self, robot: str | None, front_wait: float) -> float:
        """
        The pace the drain after an unknown outcome on *robot* assumes (seconds per number).

        `DRAIN_MARGIN` times the slowest pace seen on any agent, a 999's bound included (a chunk
        sized at `PLAN_SHARE` that got 999 proves its agent at least ``1 / PLAN_SHARE`` times
        slower than planned: the drain covers up to ``DRAIN_MARGIN / PLAN_SHARE`` times); while
        the agent has no measurement of its own, that of the slow pace assumed while nothing is
        known, if larger.
        """
        agent = self._agents.get(self.key(robot))
        slowest = self.slowest_seen()
        if agent is None or not agent.measured:
            slowest = max(slowest, SLOW_PACE_SHARE * front_wait)
        return DRAIN_MARGIN * slowest

    def drain(self, robot: str | None, numbers: int, front_wait: float) -> float:
        """Seconds from a request's start on *robot* until the gateway has finished its numbers."""
        seconds = max(numbers, 1) * self.drain_pace(robot, front_wait)
        logger.debug(
            "the gateway may take %.3fs for %d number(s) on agent %s (E32, E49)",
            seconds,
            numbers,
            self.key(robot) or "(first)",
        )
        return seconds


def dead_holder_wait(gateway_drain: float, front_wait: float) -> float:
    """
    Seconds a send gate the package makes waits after a holder that died holding it (E32).

    The dead holder's last request may still be at the gateway, and nothing says how many numbers
    it carried nor at what pace: the drain after an unknown outcome of the largest request
    (`REQUEST_NUMBERS_MAX` numbers) on an agent of which nothing is measured (`GatewayPace.drain`:
    the slow pace assumed, with its margin), at *front_wait*'s scale; ``gateway_drain`` seconds
    per number at least. 1,000 s against the service's 60 s front wait.
    """
    slow = GatewayPace().drain_pace(None, front_wait)
    return REQUEST_NUMBERS_MAX * max(slow, gateway_drain)
