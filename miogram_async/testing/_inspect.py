"""
What the fake's gateway did, for assertions and benchmarks: its timeline (docs/service.md E32,
E49), the numbers it handed to the messenger and when, the shared credit file (E33).

A mixin of :class:`~miogram_async.testing.FakeMioGram`, kept apart from its configuration.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from ._app import ServiceApp
from ._gateway import GatewayWork
from ._state import Handoff, ServiceState

__all__ = ["GatewayInspection"]


class GatewayInspection:
    """The gateway seen from a test: every property settles what is due first."""

    app: ServiceApp
    _state: ServiceState

    def _settle(self) -> None:
        # Apply what the gateway did since the last request (its work after a 999, E32).
        self.app.gateway.settle(time.monotonic())

    @property
    def handoffs(self) -> list[Handoff]:
        """
        Every number a send's gateway worked through so far, in the order it did.

        Each was handed to the messenger at ``at`` (``time.monotonic()``) and ``date`` (the
        service's clock) and delivered if ``delivered``. A number of a request that is not here
        was never sent: the gateway has not reached it yet, or died first (``GATEWAY_DIES``).
        """
        self._settle()
        with self._state.lock:
            return list(self._state.handoffs)

    @property
    def gateway_work(self) -> list[GatewayWork]:
        """
        What the gateway did for every request it took, in arrival order.

        Per request: its numbers, those handed so far, when it arrived, started and ends, whether
        the front gave up on it (999) and whether the gateway died part way.
        """
        return self.app.gateway.work()

    def gateway_busy_seconds(
        self,
        agent: str | None = None,
        *,
        since: float | None = None,
        until: float | None = None,
    ) -> float:
        """
        Seconds the gateway spent working, on any agent or on *agent*, so far.

        Work on several agents at once counts once. *since* and *until* are ``time.monotonic()``
        instants bounding the count. Divided by the wall time of a run, it is how efficiently the
        run used the gateway (1.0: it never stood idle)::

            began = time.monotonic()
            ...  # the run
            efficiency = fake.gateway_busy_seconds(since=began) / (time.monotonic() - began)
        """
        return self.app.gateway.busy_seconds(agent, since=since, until=until)

    @property
    def max_gateway_in_flight(self) -> int:
        """The most requests in flight at the gateway at once (after the front gave up too)."""
        return self.app.gateway.max_in_flight

    @property
    def credit_file_corrupted(self) -> bool:
        """
        Whether overlapping sends broke the gateway's shared credit file (E33).

        From then on the gateway refuses sends with 305/306 and other actions with 309, for every
        account, until :meth:`repair_credit_file` or :meth:`reset`.
        """
        return self.app.gateway.credit_file_corrupted

    def repair_credit_file(self) -> None:
        """Mend the gateway's credit file (and nothing else)."""
        self.app.gateway.credit_file_corrupted = False

    @property
    def gateway_blocked(self) -> bool:
        """Whether the gateway blocks the front after four 813/814 errors (E41)."""
        return self.app.gateway.blocked

    @property
    def gateway_busy(self) -> bool:
        """Whether the gateway still works on some request (maybe one the front gave up on)."""
        return self.app.gateway.busy

    async def wait_idle(self) -> None:
        """Wait until the gateway has finished all its work, its deliveries recorded (E32)."""
        await self.app.gateway.wait_idle()

    def max_in_flight_per_agent(self) -> Mapping[str, int]:
        """The most requests waiting for or running on each agent at once (at the gateway)."""
        with self._state.lock:
            return dict(self._state.agent_max_in_flight)

    def max_running_per_agent(self) -> Mapping[str, int]:
        """The most requests running on each agent at once (1 while agents are serialised)."""
        with self._state.lock:
            return dict(self._state.agent_max_running)
