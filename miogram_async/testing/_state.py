"""
Mutable state of the fake service and the records kept for assertions.

All of it is touched only from the event loop that runs the app (the loopback server runs in the
caller's loop), so plain Python structures suffice; a ``threading.Lock`` still guards the counters
and logs so that reading them from another thread never sees a half-made update.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
import time
from collections.abc import Mapping

import attrs

from ._config import AccountConfig, digits_of

__all__ = [
    "AccountState",
    "AgentState",
    "ChatState",
    "ContactCard",
    "Delivery",
    "Handoff",
    "HistoryItem",
    "RequestRecord",
    "ServiceState",
    "peer_id_of",
    "strip_secret",
]


@attrs.frozen(kw_only=True)
class RequestRecord:
    """One request the fake received; the secret is never kept."""

    index: int
    func: str
    elements: Mapping[str, str]
    robot: str
    agent: str | None
    client_ip: str
    method: str
    received_at: float
    fault: str | None = None
    added_delay: float = 0.0


@attrs.frozen(kw_only=True)
class ContactCard:
    """The contact card a ``SendContact`` delivered (docs/service.md E18, E35)."""

    phone: str
    first_name: str
    last_name: str


@attrs.frozen(kw_only=True)
class Delivery:
    """One message the fake delivered to one number."""

    request_index: int
    number: str
    func: str
    agent: str
    text: str | None
    data_sha256: str | None
    misc: str | None
    contact: ContactCard | None = None


@attrs.frozen(kw_only=True)
class Handoff:
    """
    One number the gateway handed to the messenger: a message was sent to it, or tried.

    Attributes:
        request_index: the request (``fake.requests[...].index``) whose number it is.
        number: the number as the request gave it.
        agent: the agent that sent it.
        username: the account whose request it was.
        at: when, on ``time.monotonic()`` (the test's clock).
        date: when, on the service's clock (Unix seconds, ``clock_offset`` included): the date
            its history message carries.
        delivered: whether the messenger delivered it (the number exists).
    """

    request_index: int
    number: str
    agent: str
    username: str
    at: float
    date: float
    delivered: bool


@attrs.define(kw_only=True)
class HistoryItem:
    """
    One message in an agent's conversation with a number (docs/service.md E50).

    Attributes:
        id: telegram-cli's message id, counted across the whole fake.
        number: the number's digits (the conversation's key).
        text: the text exactly as the messenger sent it (``""`` for media).
        media: telegram-cli's ``media`` object (``{"type": "photo"}``...), or ``None``.
        date: when it was sent, Unix seconds on the service's clock.
        out: whether the agent sent it (always, in the fake).
        username: the account whose request sent it (the fake's knowledge, not on the wire).
        request_index: that request's index.
        unread: not yet read by the number (until ``MarkRead``).
    """

    id: int
    number: str
    text: str
    media: Mapping[str, object] | None
    date: int
    out: bool = True
    username: str = ""
    request_index: int = -1
    unread: bool = True


@attrs.define(kw_only=True)
class ChatState:
    """A group chat an agent created."""

    name: str
    peer_id: int
    members: list[str]


@attrs.define(kw_only=True)
class AgentState:
    """
    What one agent (one Telegram account behind one messenger session) looks like from outside.

    Agents belong to the service, not to an account: every account naming the agent ``Agent1``
    reaches the same session, so its history, dialogs, chats, contacts and profile are shared by
    all of them (docs/service.md E14, E50).

    Attributes:
        contacts: the name each number was last added under: the gateway re-adds a number as a
            contact before it uses it, named after the number and the account that asked
            (first name, last name).
    """

    name: str
    online: bool = False
    first_name: str = ""
    last_name: str = ""
    username: str = ""
    photo_sha256: str | None = None
    blocked: set[str] = attrs.field(factory=set)
    chats: dict[str, ChatState] = attrs.field(factory=dict)
    history: dict[str, list[HistoryItem]] = attrs.field(factory=dict)
    contacts: dict[str, tuple[str, str]] = attrs.field(factory=dict)

    def add_contact(self, number: str, username: str) -> None:
        """Re-add *number* as a contact the way the gateway's number lookup does (E49, E50)."""
        self.contacts[digits_of(number)] = (number.strip(), username)


@attrs.define(kw_only=True)
class AccountState:
    """One account: its configuration and everything requests changed."""

    config: AccountConfig
    secret: str = attrs.field(repr=False)
    allowed_ips: str
    credits: dict[str, int]
    agents: dict[str, AgentState]
    reports: list[dict[str, str]] = attrs.field(factory=list)

    @classmethod
    def from_config(
        cls, config: AccountConfig, agents: Mapping[str, AgentState] | None = None
    ) -> AccountState:
        """Build fresh state from *config*, with the service's agents of those names if given."""
        known = agents or {}
        return cls(
            config=config,
            secret=config.secret,
            allowed_ips=config.allowed_ips,
            credits=config.credits.as_buckets(),
            agents={name: known.get(name) or AgentState(name=name) for name in config.agents},
        )

    def pick_agent(self, robot: str) -> str | None:
        """
        Return the agent *robot* names, else the first agent, else ``None`` (docs/service.md E14).
        """
        if robot in self.agents:
            return robot
        return next(iter(self.agents), None)

    def ip_allowed(self, client_ip: str) -> bool:
        """The service's allow-list test: ``*`` anywhere, or the caller's IP as a substring."""
        return "*" in self.allowed_ips or client_ip in self.allowed_ips


_SECRET_JUNK = str.maketrans("", "", "()[]{}*?!;&%-_=|<>/\\+.")


def strip_secret(secret: str) -> str:
    """
    Remove the characters the service strips from ``Secret`` before its lookup (docs/service.md
    E21).
    """
    return secret.translate(_SECRET_JUNK)


def peer_id_of(name: str) -> int:
    """Return a stable telegram-like peer id for a number or chat name."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 900_000_000 + 100_000_000


@attrs.define
class ServiceState:
    """Everything the fake remembers across requests."""

    accounts: dict[str, AccountState] = attrs.field(factory=dict)
    #: Every agent of every account, by name: one session per name, shared (E50).
    agents: dict[str, AgentState] = attrs.field(factory=dict)
    #: Seconds the service's clock is ahead of this machine's (report records, history dates).
    clock_offset: float = 0.0
    requests: list[RequestRecord] = attrs.field(factory=list)
    deliveries: list[Delivery] = attrs.field(factory=list)
    undelivered: list[Delivery] = attrs.field(factory=list)
    handoffs: list[Handoff] = attrs.field(factory=list)
    intrusion: dict[str, int] = attrs.field(factory=dict)
    blocked_ips: set[str] = attrs.field(factory=set)
    arrived: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    state_changing_in_flight: int = 0
    max_state_changing_in_flight: int = 0
    agent_max_in_flight: dict[str, int] = attrs.field(factory=dict)
    agent_max_running: dict[str, int] = attrs.field(factory=dict)
    next_message_id: int = 1
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    def add_account(self, config: AccountConfig) -> AccountState:
        """Register an account built from *config* (its secret must be unique)."""
        with self.lock:
            if self.find_by_secret(config.secret) is not None:
                raise ValueError("an account with this secret already exists")
            if config.username in self.accounts:
                raise ValueError(f"an account named {config.username!r} already exists")
            state = AccountState.from_config(config, self.agents)
            self.accounts[config.username] = state
            self.agents.update(state.agents)
            return state

    def service_time(self, monotonic: float | None = None) -> float:
        """
        The service's clock (Unix seconds) now, or at the ``time.monotonic()`` instant given.

        It runs ``clock_offset`` seconds ahead of this machine's clock.
        """
        now = time.time() + self.clock_offset
        if monotonic is None:
            return now
        return now + (monotonic - time.monotonic())

    def find_by_secret(self, secret: str) -> AccountState | None:
        """Return the account whose current secret is *secret*, compared as the service does."""
        wanted = strip_secret(secret)
        for account in self.accounts.values():
            if strip_secret(account.secret) == wanted:
                return account
        return None

    def claim_index(self) -> int:
        """Give the arriving request its index (requests are numbered in arrival order)."""
        with self.lock:
            index = self.arrived
            self.arrived += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return index

    def finished(self, record: RequestRecord) -> None:
        """Log a finished (or abandoned) request."""
        with self.lock:
            self.in_flight -= 1
            bisect.insort(self.requests, record, key=lambda item: item.index)

    def enter_state_changing(self) -> None:
        """Count a state-changing request as in flight (from its arrival to its reply)."""
        with self.lock:
            self.state_changing_in_flight += 1
            self.max_state_changing_in_flight = max(
                self.max_state_changing_in_flight, self.state_changing_in_flight
            )

    def leave_state_changing(self) -> None:
        """Count a state-changing request as answered."""
        with self.lock:
            self.state_changing_in_flight -= 1

    def hand_off(
        self,
        handoff: Handoff,
        delivery: Delivery,
        *,
        agent: AgentState | None,
        text: str = "",
        media: Mapping[str, object] | None = None,
    ) -> None:
        """
        Log one number a send's gateway worked through, and what it delivered.

        A delivered message joins *agent*'s conversation with the number (``None``: another
        messenger, no Telegram history).
        """
        with self.lock:
            self.handoffs.append(handoff)
            (self.deliveries if handoff.delivered else self.undelivered).append(delivery)
            if agent is None or not handoff.delivered:
                return
            digits = digits_of(handoff.number)
            item = HistoryItem(
                id=self.next_message_id,
                number=digits,
                text=text,
                media=media,
                date=int(handoff.date),
                username=handoff.username,
                request_index=handoff.request_index,
            )
            self.next_message_id += 1
            agent.history.setdefault(digits, []).append(item)
