"""
Seeded, per-action fault injection.

A :class:`Faults` holds a seed and an ordered list of :class:`FaultRule`. Each rule has its own
``random.Random`` seeded from (seed, rule position), and draws exactly one number for every request
it matches, so the same seed and the same sequence of requests always produce the same faults.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Collection, Iterable, Sequence

import attrs

__all__ = ["GATEWAY_FAULTS", "FaultKind", "FaultPlan", "FaultRule", "Faults", "FiredFaults"]


class FaultKind(enum.Enum):
    """What goes wrong."""

    #: ``delay`` extra seconds before the request is handled; then it is handled normally.
    LATENCY = "latency"
    #: An HTML error page with HTTP ``status`` (default 502) before anything is processed.
    HTTP_ERROR = "http_error"
    #: The connection is closed before the request is processed: nothing happened.
    #: In process: ``httpx.RemoteProtocolError``; loopback: the socket is closed with no reply.
    DROP = "drop"
    #: The connection could not be made: nothing happened. In process: ``httpx.ConnectError``;
    #: loopback: the same as :attr:`DROP` (a real socket cannot tell the two apart).
    CONNECT_ERROR = "connect_error"
    #: The request is processed and charged, then the connection is closed with no reply.
    #: In process: ``httpx.RemoteProtocolError``.
    LOST_REPLY = "lost_reply"
    #: The request is processed and charged, then no reply ever comes. In process:
    #: ``httpx.ReadTimeout``; loopback: the server holds the connection until the client leaves.
    TIMEOUT_AFTER = "timeout_after"
    #: The request is processed and charged, then a proxy answers an HTML page with HTTP
    #: ``status`` (set it to 504: the web server gave up waiting while the script went on).
    HTTP_ERROR_AFTER = "http_error_after"
    #: The request is processed and charged; the JSON reply is cut in half.
    TRUNCATED_JSON = "truncated_json"
    #: Front error 999 ``No Response From Server``; nothing happened.
    NO_RESPONSE = "no_response"
    #: Front error 302 ``Bad Request of Functions``: the front refused the request before
    #: forwarding it, a proven refusal that dooms no later request; nothing happened.
    BAD_REQUEST = "bad_request"
    #: Front error 815 ``Session Blocked``, and the caller's IP stays blocked afterwards.
    BLOCK = "block"
    #: The gateway refuses the front's token: ``Error 813 : Invalid Token`` (gateway form);
    #: nothing happened. Fires only on actions the front forwards to the gateway. After four
    #: 813/814 errors from any account the gateway blocks the front (E41).
    GATEWAY_TOKEN_ERROR = "gateway_token_error"
    #: The gateway refuses the front's address: ``Error 814 : Invalid IP Address``; as
    #: :attr:`GATEWAY_TOKEN_ERROR` otherwise.
    GATEWAY_IP_ERROR = "gateway_ip_error"
    #: The gateway's worker dies part way through the request: it works through the first
    #: ``handed`` numbers (a send hands each to the messenger, and it is delivered if it exists),
    #: then stops; the other numbers are never sent and no reply is ever made. The front's read
    #: of the gateway fails, so it answers 999 ``No Response From Server`` when the gateway dies,
    #: or at the end of its own wait if that comes first (E32); nothing is charged or logged.
    #: Fires only on actions the front forwards to the gateway.
    GATEWAY_DIES = "gateway_dies"


#: Faults after which the request was processed (its effect happened).
AFTER_PROCESSING = frozenset(
    {
        FaultKind.LOST_REPLY,
        FaultKind.TIMEOUT_AFTER,
        FaultKind.TRUNCATED_JSON,
        FaultKind.HTTP_ERROR_AFTER,
    }
)

#: Faults the gateway answers (the request reaches it; nothing is delivered).
GATEWAY_FAULTS = {FaultKind.GATEWAY_TOKEN_ERROR: 813, FaultKind.GATEWAY_IP_ERROR: 814}


def _funcs_converter(value: Collection[str] | str | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(value)


@attrs.frozen(kw_only=True)
class FaultRule:
    """
    One kind of fault and when it fires.

    Attributes:
        kind: what goes wrong.
        funcs: the actions it applies to (``None``: every action, unknown ones included).
        rate: the chance (0..1) that it fires on a request it matches.
        after: let this many matching requests through before it may fire (``BLOCK`` with
            ``after=N`` is "815 after N requests").
        times: fire at most this many times (``None``: no limit).
        delay: seconds added by ``LATENCY``.
        status: HTTP status of ``HTTP_ERROR``.
        handed: numbers ``GATEWAY_DIES`` lets the gateway work through before it dies.
    """

    kind: FaultKind
    funcs: frozenset[str] | None = attrs.field(default=None, converter=_funcs_converter)
    rate: float = 1.0
    after: int = 0
    times: int | None = None
    delay: float = 0.0
    status: int = 502
    handed: int = attrs.field(default=0, validator=attrs.validators.ge(0))

    def matches(self, func: str) -> bool:
        """Tell whether this rule applies to *func*."""
        return self.funcs is None or func in self.funcs


def _rules_converter(value: Iterable[FaultRule]) -> tuple[FaultRule, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Faults:
    """A seed and the rules it drives; ``Faults()`` injects nothing."""

    seed: int = 0
    rules: tuple[FaultRule, ...] = attrs.field(default=(), converter=_rules_converter)

    @classmethod
    def of(cls, *rules: FaultRule, seed: int = 0) -> Faults:
        """Build from positional rules."""
        return cls(seed=seed, rules=rules)


@attrs.frozen(kw_only=True)
class FiredFaults:
    """The faults chosen for one request: accumulated latency and at most one disruptive fault."""

    delay: float = 0.0
    rule: FaultRule | None = None

    @property
    def kind(self) -> FaultKind | None:
        """The disruptive fault, if any."""
        return None if self.rule is None else self.rule.kind


class FaultPlan:
    """The running state of a :class:`Faults`: one random stream and counters per rule."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._streams = [random.Random(f"{faults.seed}:{i}") for i in range(len(faults.rules))]
        self._seen = [0] * len(faults.rules)
        self._fired = [0] * len(faults.rules)

    @property
    def rules(self) -> Sequence[FaultRule]:
        """The rules, in order."""
        return self.faults.rules

    def choose(self, func: str) -> FiredFaults:
        """
        Decide the faults of the next request for *func*.

        Every matching rule draws once; latency rules add up; the first other rule that fires wins.
        """
        delay = 0.0
        chosen: FaultRule | None = None
        for position, rule in enumerate(self.faults.rules):
            if not rule.matches(func):
                continue
            draw = self._streams[position].random()
            self._seen[position] += 1
            if self._seen[position] <= rule.after:
                continue
            if rule.times is not None and self._fired[position] >= rule.times:
                continue
            if draw >= rule.rate:
                continue
            if rule.kind is FaultKind.LATENCY:
                self._fired[position] += 1
                delay += rule.delay
            elif chosen is None:
                self._fired[position] += 1
                chosen = rule
        return FiredFaults(delay=delay, rule=chosen)
