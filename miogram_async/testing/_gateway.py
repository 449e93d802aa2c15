"""
The gateway's timeline: when each forwarded request runs, what overlaps, and what the front sees.

The front forwards a request and waits for the gateway; the gateway works ``per_number`` seconds per
number, one request at a time per agent when agents are serialised. Nothing here starts a task:
every request becomes a :class:`GatewayJob` with a known start and end on the clock, and a job's
effects (deliveries, the gateway's reply) are applied at its end by whoever comes first: the
front that waited for it, the next request, an inspection of the fake, or
:meth:`Gateway.wait_idle`. So when the front gives up after its wait (E32) the gateway still
finishes the work "in the background" with no task left behind, in process and over loopback,
under asyncio and trio alike.

E33: the gateway keeps one credit file for every agent and account and has no lock. Two jobs that
deliver and are in flight at the same time (on any agents, of any accounts) corrupt it; from then
on the gateway refuses sends with 305/306 and everything else with 309 until it is repaired.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import anyio
import attrs

from ._call import Call
from ._replies import NO_RESPONSE, Reply, front_error

__all__ = ["Gateway", "GatewayJob", "Plan"]


@attrs.define(kw_only=True)
class Plan:
    """
    What the gateway will do for one request.

    Attributes:
        units: numbers it works on (``per_number`` seconds each).
        delivers: whether it delivers at least one message (and so rewrites the credit file).
        finish: applies the gateway's effects and returns its reply, at the end of the work.
        front: the front's own work on a reply that came in time (charge, report); ``None``: the
            reply is relayed as it is.
    """

    units: int
    delivers: bool
    finish: Callable[[], Reply]
    front: Callable[[Reply], Reply] | None = None


@attrs.define(kw_only=True, eq=False)
class GatewayJob:
    """One request on the gateway's timeline (``time.monotonic()`` seconds)."""

    call: Call
    plan: Plan
    arrived: float
    start: float
    end: float
    reply: Reply | None = None


class Gateway:
    """The gateway shared by every account of one fake."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._jobs: list[GatewayJob] = []
        self._agent_free: dict[str, float] = {}
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
        """Apply the effects of every job that ends by *until*, in the order they end."""
        with self._lock:
            due = sorted(
                (job for job in self._jobs if job.end <= until),
                key=lambda job: (job.end, job.call.index),
            )
            for job in due:
                self._jobs.remove(job)
                job.reply = job.plan.finish()

    async def wait_idle(self) -> None:
        """Wait until the gateway has finished every job, then apply their effects."""
        while True:
            with self._lock:
                last = max((job.end for job in self._jobs), default=None)
            if last is None:
                return
            await anyio.sleep(max(last - time.monotonic(), 0.0))
            self.settle(last)

    def schedule(self, call: Call, plan: Plan, *, shared_credit_file: bool) -> GatewayJob:
        """Put *plan* on the timeline and record what it overlaps."""
        now = time.monotonic()
        self.settle(now)
        agent = call.agent.name
        serialised = call.time.serialize_agents
        with self._lock:
            start = max(now, self._agent_free.get(agent, now)) if serialised else now
            job = GatewayJob(
                call=call,
                plan=plan,
                arrived=now,
                start=start,
                end=start + call.time.work_seconds(plan.units),
            )
            if serialised:
                self._agent_free[agent] = job.end
            # Every job still on the timeline is in flight now: it arrived earlier and ends later.
            others = self._jobs
            on_agent = [other for other in others if other.call.agent.name == agent]
            delivering = [other for other in others if other.plan.delivers]
            if plan.delivers and delivering and shared_credit_file:
                self.credit_file_corrupted = True
            self._jobs.append(job)
            self.max_in_flight = max(self.max_in_flight, len(self._jobs))
            if plan.delivers:
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
        nothing, while the job stays on the timeline and still delivers (E32).
        """
        deadline = math.inf if front_wait is None else job.arrived + front_wait
        wake = min(job.end, deadline)
        await anyio.sleep(max(wake - time.monotonic(), 0.0))
        if job.end > deadline:
            return front_error(NO_RESPONSE)
        self.settle(job.end)
        reply = job.reply
        if reply is None:  # pragma: no cover - settle(job.end) always finishes the job
            raise RuntimeError("the gateway job did not finish")
        if job.plan.front is not None:
            return job.plan.front(reply)
        return reply
