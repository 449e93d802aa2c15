"""
The gateway's timeline: when each forwarded request runs, what overlaps, and what the front sees.

The front forwards a request and waits for the gateway; the gateway works through the request's
numbers one after another, each for the time the time model's :class:`~._timing.Pacer` draws for
its agent, one request at a time per agent when agents are serialised. Nothing here starts a task:
every request becomes a :class:`GatewayJob` with a known start, a known moment for each of its
numbers, and a known end on the clock. Its effects are applied when their moment has passed, by
whoever comes first: the front that waits for it, the next request, an inspection of the fake, or
:meth:`Gateway.wait_idle`. A send hands each number to the messenger at that number's moment, so
when the front gives up after its wait (E32) the first numbers are delivered and the rest follow
"in the background", with no task left behind, in process and over loopback, under asyncio and
trio alike.

E33: the gateway keeps one credit file for every agent and account and has no lock. Two jobs that
deliver and are in flight at the same time (on any agents, of any accounts) corrupt it; from then
on the gateway refuses sends with 305/306 and everything else with 309 until it is repaired.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Sequence

import anyio
import attrs

from ._call import Call
from ._replies import NO_RESPONSE, Reply, front_error
from ._timing import Pacer

__all__ = ["Gateway", "GatewayJob", "GatewayWork", "Plan"]


@attrs.define(kw_only=True)
class Plan:
    """
    What the gateway will do for one request.

    Attributes:
        units: numbers it works on, one after another (each takes the time the pacer draws).
        delivers: whether it delivers at least one message (and so rewrites the credit file).
        finish: the gateway's remaining effects and its reply, at the end of the work.
        front: the front's own work on a reply that came in time (charge, report); ``None``: the
            reply is relayed as it is.
        numbers: the numbers the units stand for, in order (for inspection).
        step: applies the effect of unit *i* at its moment (a ``time.monotonic()`` instant):
            a send hands that number to the messenger; ``None``: nothing happens before the end.
        delivered: per unit, whether its step delivers a message (so that a gateway that dies
            part way only counts what it delivered); empty: *delivers* for the whole request.
    """

    units: int
    delivers: bool
    finish: Callable[[], Reply]
    front: Callable[[Reply], Reply] | None = None
    numbers: Sequence[str] = ()
    step: Callable[[int, float], None] | None = None
    delivered: Sequence[bool] = ()


@attrs.define(kw_only=True, eq=False)
class GatewayJob:
    """
    One request on the gateway's timeline (``time.monotonic()`` seconds).

    Attributes:
        marks: when each unit's work ends (a send hands that number to the messenger then).
        dies_after: the gateway's worker dies after this many units (fault ``GATEWAY_DIES``):
            the rest never happen, no reply is ever made; ``None``: it runs to the end.
        applied: units whose effects were applied so far.
        front_gave_up: whether the front answered 999 for it; ``None`` while nobody knows yet.
    """

    call: Call
    plan: Plan
    arrived: float
    start: float
    end: float
    marks: list[float]
    dies_after: int | None = None
    delivers: bool = False
    applied: int = 0
    finished: bool = False
    reply: Reply | None = None
    front_gave_up: bool | None = None
    slot: int = -1

    @property
    def runs(self) -> int:
        """How many units the gateway will work through (all of them unless it dies first)."""
        if self.dies_after is None:
            return self.plan.units
        return min(self.dies_after, self.plan.units)


@attrs.frozen(kw_only=True)
class GatewayWork:
    """
    What the gateway did (or is doing) for one request, as the fake knows it.

    Times are ``time.monotonic()`` seconds.

    Attributes:
        request_index: the request's index (``fake.requests[...].index``).
        func: its action.
        username: its account.
        agent: the agent that ran it.
        numbers: the numbers it was to work through, in order (a send's recipients, the number
            of ``GetHistory``...).
        handed: the numbers it has worked through so far, in order; for a send, those handed
            to the messenger (each delivered if it exists), the rest never sent yet (or never,
            if the gateway died).
        arrived: when it reached the gateway.
        start: when its agent took it up (later than *arrived* while the agent was busy).
        end: when its work ends or ended (a dying gateway's work ends at its last number).
        finished: whether its work is over.
        died_after: the fault ``GATEWAY_DIES``: how many numbers it handed before dying.
        front_gave_up: whether the front answered 999 for it (its wait ran out, or the gateway
            died); ``None`` while the front is still waiting.
    """

    request_index: int
    func: str
    username: str
    agent: str
    numbers: tuple[str, ...]
    handed: tuple[str, ...]
    arrived: float
    start: float
    end: float
    finished: bool
    died_after: int | None
    front_gave_up: bool | None


class Gateway:
    """The gateway shared by every account of one fake."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._jobs: list[GatewayJob] = []
        # Every job in arrival order; a finished one as its snapshot, which keeps no request.
        self._history: list[GatewayJob | GatewayWork] = []
        self._agent_free: dict[str, float] = {}
        self._pacer: Pacer | None = None
        self.credit_file_corrupted = False
        self.auth_errors = 0
        self.blocked = False
        self.max_in_flight = 0
        self.max_delivering_in_flight = 0

    # -- the timeline ------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether some job has not finished yet (settling what is due first)."""
        self.settle(time.monotonic())
        with self._lock:
            return bool(self._jobs)

    def settle(self, until: float) -> None:
        """Apply every unit and every end due by *until*, in the order they happen."""
        with self._lock:
            # Per job, in order: (moment, 0 for a unit / 1 for its end, request index, unit,
            # job). Merged, a job's units come before its end and equal moments go in arrival
            # order.
            streams: list[list[tuple[float, int, int, int, GatewayJob]]] = []
            for job in self._jobs:
                index = job.call.index
                stop = bisect.bisect_right(job.marks, until, job.applied, job.runs)
                due = [(job.marks[unit], 0, index, unit, job) for unit in range(job.applied, stop)]
                if job.end <= until:
                    due.append((job.end, 1, index, job.runs, job))
                if due:
                    streams.append(due)
            events = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_order)
            for moment, kind, _index, unit, job in events:
                if kind == 0:
                    job.applied = unit + 1
                    if job.plan.step is not None:
                        job.plan.step(unit, moment)
                    continue
                self._jobs.remove(job)
                job.finished = True
                if job.dies_after is None:
                    job.reply = job.plan.finish()
                self._history[job.slot] = _snapshot(job)

    async def wait_idle(self) -> None:
        """Wait until the gateway has finished every job, then apply their effects."""
        while True:
            with self._lock:
                last = max((job.end for job in self._jobs), default=None)
            if last is None:
                return
            await anyio.sleep(max(last - time.monotonic(), 0.0))
            self.settle(last)

    def schedule(
        self,
        call: Call,
        plan: Plan,
        *,
        shared_credit_file: bool,
        dies_after: int | None = None,
    ) -> GatewayJob:
        """Put *plan* on the timeline and record what it overlaps."""
        now = time.monotonic()
        self.settle(now)
        agent = call.agent.name
        serialised = call.time.serialize_agents
        with self._lock:
            if self._pacer is None or self._pacer.model is not call.time:
                self._pacer = call.time.pacer()
            start = max(now, self._agent_free.get(agent, now)) if serialised else now
            times = self._pacer.draw(agent, plan.units)
            marks = [start + spent for spent in itertools.accumulate(times)]
            job = GatewayJob(call=call, plan=plan, arrived=now, start=start, end=start, marks=marks)
            job.dies_after = dies_after
            if job.runs:
                job.end = marks[job.runs - 1]
            if plan.delivered:
                job.delivers = any(plan.delivered[: job.runs])
            else:
                job.delivers = plan.delivers and job.runs > 0
            if serialised:
                self._agent_free[agent] = job.end
            # Every job still on the timeline is in flight now: it arrived earlier and ends later.
            others = self._jobs
            on_agent = [other for other in others if other.call.agent.name == agent]
            delivering = [other for other in others if other.delivers]
            if job.delivers and delivering and shared_credit_file:
                self.credit_file_corrupted = True
            self._jobs.append(job)
            job.slot = len(self._history)
            self._history.append(job)
            self.max_in_flight = max(self.max_in_flight, len(self._jobs))
            if job.delivers:
                self.max_delivering_in_flight = max(
                    self.max_delivering_in_flight, len(delivering) + 1
                )
        running = 1 if serialised else len(on_agent) + 1
        service = call.service
        with service.lock:
            service.agent_max_in_flight[agent] = max(
                service.agent_max_in_flight.get(agent, 0), len(on_agent) + 1
            )
            service.agent_max_running[agent] = max(service.agent_max_running.get(agent, 0), running)
        return job

    async def answer(self, job: GatewayJob, *, front_wait: float | None) -> Reply:
        """
        Wait for *job* as the front does and return what the front answers.

        With *front_wait* (seconds) the front gives up when the job ends later than that: it
        answers 999 ``No Response From Server`` at the wait's end, charges nothing and logs
        nothing, while the job stays on the timeline and still delivers (E32). A job whose
        gateway dies (fault ``GATEWAY_DIES``) gets the same 999, as soon as it dies: the front's
        read of the gateway fails.
        """
        deadline = math.inf if front_wait is None else job.arrived + front_wait
        wake = min(job.end, deadline)
        await anyio.sleep(max(wake - time.monotonic(), 0.0))
        if job.end > deadline:
            self._front_answered(job, gave_up=True)
            return front_error(NO_RESPONSE)
        self.settle(job.end)
        if job.dies_after is not None:
            self._front_answered(job, gave_up=True)
            return front_error(NO_RESPONSE)
        reply = job.reply
        if reply is None:  # pragma: no cover - settle(job.end) always finishes the job
            raise RuntimeError("the gateway job did not finish")
        self._front_answered(job, gave_up=False)
        if job.plan.front is not None:
            return job.plan.front(reply)
        return reply

    def _front_answered(self, job: GatewayJob, *, gave_up: bool) -> None:
        with self._lock:
            job.front_gave_up = gave_up
            if job.finished:
                self._history[job.slot] = _snapshot(job)

    # -- inspection --------------------------------------------------------------------------

    def work(self) -> list[GatewayWork]:
        """What the gateway did for every request it took, in arrival order (settled to now)."""
        self.settle(time.monotonic())
        with self._lock:
            return [
                item if isinstance(item, GatewayWork) else _snapshot(item) for item in self._history
            ]

    def busy_seconds(
        self,
        agent: str | None = None,
        *,
        since: float | None = None,
        until: float | None = None,
    ) -> float:
        """
        Seconds the gateway spent working, on any agent (or on *agent*), between two instants.

        Overlapping work on several agents counts once. *since* and *until* are
        ``time.monotonic()`` instants (default: from the first request; now).
        """
        now = time.monotonic()
        end_at = now if until is None else min(until, now)
        begin_at = -math.inf if since is None else since
        with self._lock:
            spans = sorted(
                (max(item.start, begin_at), min(item.end, end_at))
                for item in self._history
                if agent is None or _agent(item) == agent
            )
        total = 0.0
        reach = -math.inf
        for begin, end in spans:
            counted_from = max(begin, reach)
            if end > counted_from:
                total += end - counted_from
                reach = end
        return total


def _order(event: tuple[float, int, int, int, GatewayJob]) -> tuple[float, int, int, int]:
    return event[:4]


def _agent(item: GatewayJob | GatewayWork) -> str:
    return item.agent if isinstance(item, GatewayWork) else item.call.agent.name


def _snapshot(job: GatewayJob) -> GatewayWork:
    numbers = tuple(job.plan.numbers)
    return GatewayWork(
        request_index=job.call.index,
        func=job.call.func,
        username=job.call.account.config.username,
        agent=job.call.agent.name,
        numbers=numbers,
        handed=numbers[: job.applied],
        arrived=job.arrived,
        start=job.start,
        end=job.end,
        finished=job.finished,
        died_after=None if job.dies_after is None else job.runs,
        front_gave_up=job.front_gave_up,
    )
