"""``FakeMioGram``: configuration, the two ways to reach the app, and inspection for assertions."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from ._app import ServiceApp
from ._config import PROFILES, AccountConfig, Behaviour
from ._faults import FaultPlan, FaultRule, Faults
from ._gateway import Gateway
from ._inspect import GatewayInspection
from ._server import serve_loopback
from ._state import AccountState, AgentState, Delivery, RequestRecord, ServiceState
from ._timing import TimeModel
from ._transport import FakeTransport

if TYPE_CHECKING:
    from .._client import MioGram

__all__ = ["PROFILE_VARIABLE", "FakeMioGram"]


class FakeMioGram(GatewayInspection):
    """
    A faithful fake of the MioGram.net web service.

    One ASGI app (:attr:`app`) holds every account's state; reach it in process with
    :meth:`transport` or over loopback HTTP with :meth:`serve`::

        fake = FakeMioGram()                      # one account, secret "test-secret"
        async with httpx.AsyncClient(transport=fake.transport()) as http:
            ...
        async with fake.serve() as url:           # http://127.0.0.1:<port>/dojob.php
            ...

    By default the fake answers as the service's server code does (``profile="server"``,
    docs/service.md sections 11-12): the front gives up on the gateway after ``front_wait`` and
    answers 999 while the gateway still delivers (E32), overlapping sends corrupt the gateway's
    shared credit file (E33), and every reply shape of E34-E47. ``profile="documented"`` answers as
    the document intends where the two differ.

    Args:
        accounts: the accounts; default one :class:`AccountConfig` with its defaults.
        time_model: how long requests take (default: instantly).
        faults: seeded fault injection (default: none).
        profile: ``"server"`` or ``"documented"``; default: the ``MIOGRAM_FAKE_PROFILE``
            environment variable, else ``"server"``.
        shared_credit_file: model E33 (default: on in the server profile, off in the documented
            one). Turn it off in tests about something else that send in parallel.
        front_wait: model E32 (default: on in the server profile, off in the documented one).
        php_strict_mysqli: a text with ``'`` gets HTTP 500 with an empty body after delivery,
            nothing charged (E45; server profile only).
        gateway_max_file_bytes: the gateway's own file size limit (decoded bytes), above which it
            answers ``Error 304 : Photo Size is High`` and the like (E40); default none.
        clock_offset: seconds the service's clock runs ahead of this machine's (negative:
            behind). Report records (E9) and history dates (E50) are on the service's clock; a
            client must never compare them with its own.

    Raises:
        ValueError: an unknown *profile* (or ``MIOGRAM_FAKE_PROFILE``).
    """

    def __init__(
        self,
        accounts: Iterable[AccountConfig] | AccountConfig | None = None,
        *,
        time_model: TimeModel | None = None,
        faults: Faults | None = None,
        profile: str | None = None,
        shared_credit_file: bool | None = None,
        front_wait: bool | None = None,
        php_strict_mysqli: bool = False,
        gateway_max_file_bytes: int | None = None,
        clock_offset: float = 0.0,
    ) -> None:
        behaviour = _behaviour(
            _profile_name(profile),
            front_wait=front_wait,
            shared_credit_file=shared_credit_file,
            php_strict_mysqli=php_strict_mysqli,
            gateway_max_file_bytes=gateway_max_file_bytes,
        )
        if accounts is None:
            accounts = [AccountConfig()]
        elif isinstance(accounts, AccountConfig):
            accounts = [accounts]
        self._configs = list(accounts)
        self._state = ServiceState(clock_offset=clock_offset)
        for config in self._configs:
            self._state.add_account(config)
        self.app = ServiceApp(self._state, time_model or TimeModel(), faults or Faults(), behaviour)

    def __repr__(self) -> str:
        return (
            f"<FakeMioGram profile={self.profile} accounts={len(self._state.accounts)} "
            f"requests={len(self.requests)}>"
        )

    @property
    def profile(self) -> str:
        """
        ``"server"`` or ``"documented"``.

        Setting it switches every choice to that profile's defaults (``front_wait`` and
        ``shared_credit_file`` included) and keeps the rest.
        """
        return self.app.behaviour.profile

    @profile.setter
    def profile(self, value: str) -> None:
        current = self.app.behaviour
        self.app.behaviour = _behaviour(
            _profile_name(value),
            front_wait=None,
            shared_credit_file=None,
            php_strict_mysqli=current.php_strict_mysqli,
            gateway_max_file_bytes=current.gateway_max_file_bytes,
        )

    @property
    def behaviour(self) -> Behaviour:
        """Every choice between the server code and the document, as set up."""
        return self.app.behaviour

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
    def clock_offset(self) -> float:
        """Seconds the service's clock runs ahead of this machine's; settable at any time."""
        return self._state.clock_offset

    @clock_offset.setter
    def clock_offset(self, value: float) -> None:
        self._state.clock_offset = value

    def service_time(self) -> float:
        """The service's clock now, in Unix seconds (``time.time()`` plus :attr:`clock_offset`)."""
        return self._state.service_time()

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
        Unless given, ``front_wait`` is this fake's: its time model's front wait, scaled (a fact
        of the service, E32), so that the client's chunk sizes and drains, which are shares of it,
        scale with the model. The instant model takes no time and has no wait to speak of: the
        client keeps its own (``MIOGRAM_FRONT_WAIT`` or 60 s). Nothing of the fake's pace is handed
        to the client: it measures the gateway's pace itself, as against the real service (E49).

        Unless given, ``send_gate`` is ``"local"``: the in-process fake is reached by this process
        alone, so the client keeps its requests one at a time with its own gate rather than the
        machine-wide one of a real service's clients (which every test process of the host would
        share). Pass ``send_gate=`` to test a shared gate.
        """
        from .._client import MioGram  # noqa: PLC0415 - the fake does not need the SDK otherwise

        model = self.time_model
        options.setdefault("send_gate", "local")
        if (model.per_number > 0 or model.base_latency > 0) and model.front_wait_seconds() > 0:
            options.setdefault("front_wait", model.front_wait_seconds())
        return MioGram(self.secret(username), transport=self.transport(), **options)

    @contextlib.asynccontextmanager
    async def serve(self, *, port: int = 0) -> AsyncIterator[str]:
        """Serve the app on 127.0.0.1 (asyncio only) and yield the endpoint URL."""
        async with serve_loopback(self.app, port=port) as url:
            yield url

    # -- inspection --------------------------------------------------------------------------

    def account(self, username: str | None = None) -> AccountState:
        """The live state of the account *username* (default: the first account)."""
        self._settle()
        if username is None:
            return next(iter(self._state.accounts.values()))
        return self._state.accounts[username]

    def agent(self, name: str, *, username: str | None = None) -> AgentState:
        """
        The live state of agent *name*: of any account, or of the account *username*.

        Agents are the service's: two accounts naming the same agent share one (E50).
        """
        if username is not None:
            return self.account(username).agents[name]
        self._settle()
        return self._state.agents[name]

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
        """Every message delivered, one entry per number (including after a 999, E32)."""
        self._settle()
        with self._state.lock:
            return list(self._state.deliveries)

    def deliveries_since(self, start: int) -> list[Delivery]:
        """The deliveries from the *start*-th on (``fake.deliveries[start:]``, without the copy)."""
        self._settle()
        with self._state.lock:
            return self._state.deliveries[start:]

    @property
    def undelivered(self) -> list[Delivery]:
        """Every send to a number that does not exist (not charged)."""
        self._settle()
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

    @property
    def max_state_changing_in_flight(self) -> int:
        """
        The most state-changing requests the fake was handling at once, from arrival to reply.

        Every action but the reads counts, whatever its account, agent or answer; the service
        takes one at a time safely (E33).
        """
        return self._state.max_state_changing_in_flight

    @property
    def state_changing_in_flight(self) -> int:
        """State-changing requests being handled right now."""
        return self._state.state_changing_in_flight

    def funcs(self) -> list[str]:
        """The ``Func`` of every request, in arrival order."""
        return [record.func for record in self.requests]

    def reset(self) -> None:
        """
        Forget every request and delivery and rebuild each account from its configuration.

        The gateway starts afresh too: idle, its credit file intact, not blocked, the time model's
        draws from their seed again. Work it had not finished is dropped; ``await
        fake.wait_idle()`` first to keep it.
        """
        self._state = ServiceState(clock_offset=self._state.clock_offset)
        for config in self._configs:
            self._state.add_account(config)
        self.app.state = self._state
        self.app.plan = FaultPlan(self.app.plan.faults)
        self.app.gateway = Gateway()


#: Chooses the default profile of every ``FakeMioGram()`` that names none.
PROFILE_VARIABLE: Final = "MIOGRAM_FAKE_PROFILE"


def _profile_name(profile: str | None) -> str:
    if profile is None:
        profile = os.environ.get(PROFILE_VARIABLE) or "server"
        where = f" (from {PROFILE_VARIABLE})"
    else:
        where = ""
    if profile not in PROFILES:
        raise ValueError(f"expected profile 'server' or 'documented'{where}, got {profile!r}")
    return profile


def _behaviour(
    profile: str,
    *,
    front_wait: bool | None,
    shared_credit_file: bool | None,
    php_strict_mysqli: bool,
    gateway_max_file_bytes: int | None,
) -> Behaviour:
    server = profile == "server"
    return Behaviour(
        profile=profile,
        front_wait=server if front_wait is None else front_wait,
        shared_credit_file=server if shared_credit_file is None else shared_credit_file,
        php_strict_mysqli=php_strict_mysqli,
        gateway_max_file_bytes=gateway_max_file_bytes,
    )
