"""``FakeMioGram``: configuration, the two ways to reach the app, and inspection for assertions."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._app import ServiceApp
from ._config import AccountConfig
from ._faults import FaultPlan, FaultRule, Faults
from ._server import serve_loopback
from ._state import AccountState, AgentState, Delivery, RequestRecord, ServiceState
from ._timing import TimeModel
from ._transport import FakeTransport

if TYPE_CHECKING:
    from .._client import MioGram

__all__ = ["FakeMioGram"]


class FakeMioGram:
    """
    A faithful fake of the MioGram.net web service.

    One ASGI app (:attr:`app`) holds every account's state; reach it in process with
    :meth:`transport` or over loopback HTTP with :meth:`serve`::

        fake = FakeMioGram()                      # one account, secret "test-secret"
        async with httpx.AsyncClient(transport=fake.transport()) as http:
            ...
        async with fake.serve() as url:           # http://127.0.0.1:<port>/dojob.php
            ...

    Args:
        accounts: the accounts; default one :class:`AccountConfig` with its defaults.
        time_model: how long requests take (default: instantly).
        faults: seeded fault injection (default: none).
    """

    def __init__(
        self,
        accounts: Iterable[AccountConfig] | AccountConfig | None = None,
        *,
        time_model: TimeModel | None = None,
        faults: Faults | None = None,
    ) -> None:
        if accounts is None:
            accounts = [AccountConfig()]
        elif isinstance(accounts, AccountConfig):
            accounts = [accounts]
        self._configs = list(accounts)
        self._state = ServiceState()
        for config in self._configs:
            self._state.add_account(config)
        self.app = ServiceApp(self._state, time_model or TimeModel(), faults or Faults())

    def __repr__(self) -> str:
        return f"<FakeMioGram accounts={len(self._state.accounts)} requests={len(self.requests)}>"

    # -- configuration -----------------------------------------------------------------------

    def add_account(self, config: AccountConfig) -> None:
        """Add another account (its secret must not collide with an existing one)."""
        self._state.add_account(config)
        self._configs.append(config)

    @property
    def time_model(self) -> TimeModel:
        """The time model in use."""
        return self.app.time

    @time_model.setter
    def time_model(self, value: TimeModel) -> None:
        self.app.time = value

    @property
    def faults(self) -> Faults:
        """The fault rules in use."""
        return self.app.plan.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        # A new plan restarts every rule's random stream from the seed.
        self.app.plan = FaultPlan(value)

    def inject(self, *rules: FaultRule, seed: int = 0) -> None:
        """Replace the fault rules with *rules* driven by *seed*."""
        self.faults = Faults(seed=seed, rules=rules)

    def block_ip(self, ip: str) -> None:
        """Block *ip*: its requests get 815 from now on."""
        self._state.blocked_ips.add(ip)

    # -- reaching the app --------------------------------------------------------------------

    def transport(self, *, client_ip: str = "127.0.0.1") -> FakeTransport:
        """An in-process httpx transport into the app; requests appear to come from *client_ip*."""
        return FakeTransport(self.app, client_ip=client_ip)

    def client(self, *, username: str | None = None, **options: Any) -> MioGram:
        """
        A ``MioGram`` client bound to :meth:`transport`, with the account's current secret.

        *options* go to ``MioGram`` (``robot=``, ``max_retries=``...). Use it with ``async with``.
        """
        from .._client import MioGram  # noqa: PLC0415 - the fake does not need the SDK otherwise

        return MioGram(self.secret(username), transport=self.transport(), **options)

    @contextlib.asynccontextmanager
    async def serve(self, *, port: int = 0) -> AsyncIterator[str]:
        """Serve the app on 127.0.0.1 (asyncio only) and yield the endpoint URL."""
        async with serve_loopback(self.app, port=port) as url:
            yield url

    # -- inspection --------------------------------------------------------------------------

    def account(self, username: str | None = None) -> AccountState:
        """The live state of the account *username* (default: the first account)."""
        if username is None:
            return next(iter(self._state.accounts.values()))
        return self._state.accounts[username]

    def agent(self, name: str, *, username: str | None = None) -> AgentState:
        """The live state of agent *name* of an account."""
        return self.account(username).agents[name]

    def secret(self, username: str | None = None) -> str:
        """The account's current secret (it changes with ``APIChangeSecret``)."""
        return self.account(username).secret

    def credits(self, username: str | None = None) -> Mapping[str, int]:
        """The account's remaining credit per bucket."""
        return dict(self.account(username).credits)

    def reports(self, username: str | None = None) -> list[dict[str, str]]:
        """The account's report records, oldest first."""
        return list(self.account(username).reports)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received, in arrival order (secrets removed)."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every message delivered, one entry per number."""
        with self._state.lock:
            return list(self._state.deliveries)

    @property
    def undelivered(self) -> list[Delivery]:
        """Every send to a number that does not exist (not charged)."""
        with self._state.lock:
            return list(self._state.undelivered)

    @property
    def max_in_flight(self) -> int:
        """The most requests the app was handling at once."""
        return self._state.max_in_flight

    @property
    def in_flight(self) -> int:
        """Requests being handled right now."""
        return self._state.in_flight

    def max_in_flight_per_agent(self) -> Mapping[str, int]:
        """The most requests waiting for or running on each agent at once."""
        with self._state.lock:
            return dict(self._state.agent_max_in_flight)

    def max_running_per_agent(self) -> Mapping[str, int]:
        """The most requests running on each agent at once (1 while agents are serialised)."""
        with self._state.lock:
            return dict(self._state.agent_max_running)

    def funcs(self) -> list[str]:
        """The ``Func`` of every request, in arrival order."""
        return [record.func for record in self.requests]

    def reset(self) -> None:
        """Forget every request and delivery and rebuild each account from its configuration."""
        self._state = ServiceState()
        for config in self._configs:
            self._state.add_account(config)
        self.app.state = self._state
        self.app.plan = FaultPlan(self.app.plan.faults)
        self.app.locks.clear()
