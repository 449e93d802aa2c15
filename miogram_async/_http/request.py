"""
The request value: everything one call hands down the request path, made once by the layer that
makes the call (as httpx's ``Request`` or openai's ``FinalRequestOptions``).

The layer above resolves what the request needs (its agent, its deadlines, how many numbers it
carries, who wants to hear about the gate) and passes the value down; the request path reads it
and never calls back up for more. `GateWaits` is what a Mass send's requests tell about their
queueing, for `MassProgress.waiting`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, TypeVar

import attrs
import httpx

from .._base.actions import Action
from .._base.wire import Reply

__all__ = ["GateWaits", "Request"]

_R_co = TypeVar("_R_co", covariant=True)


@attrs.frozen(kw_only=True)
class Request(Generic[_R_co]):
    """
    One call of an action, as the request path sends it (every attempt of it).

    Attributes:
        action: the action's row: its retry rule, whether it is gated, whether its reply carries
            the secret.
        decode: turns the decoded envelope into the result (the row's, a chunk's map, or raw JSON
            for ``call()``).
        elements: ``phone``, ``message``, ``misc``, ``data``; ``None`` values are left out.
        robot: the agent named on the wire, already checked; ``None`` or ``""``: no ``Robot``.
        timeouts: the request's timeouts; their ``read`` is also each attempt's total deadline.
        numbers: how many numbers it carries (a Mass chunk's): the send gate's drain after an
            unknown outcome counts them (E32).
        paced: its round trip measures the gateway's pace on its agent (a Mass chunk: an answer
            comes once the gateway has resolved every number; E49).
        front_wait: the front's wait this request is judged by (a Mass send's own); ``None``:
            the client's.
        on_gate_wait: told the seconds an attempt spent queued at the send gate.
        on_admitted: awaited once the send gate has let an attempt through, before it leaves;
            an error there sends nothing and leaves the gate open.
        on_leaving: called just before an attempt starts to leave (no await in between): from
            then on it may arrive.
        gated: pass the send gate even though the action changes nothing: a read the gateway
            does with the messenger (``GetHistory`` re-adds the number as a contact of the agent,
            E50), which the settle step keeps to one request at a time, after the drain.
    """

    action: Action[object]
    decode: Callable[[Reply], _R_co]
    elements: Mapping[str, str | None]
    robot: str | None
    timeouts: httpx.Timeout
    numbers: int = 1
    paced: bool = False
    front_wait: float | None = None
    on_gate_wait: Callable[[float], object] | None = None
    on_admitted: Callable[[], Awaitable[object]] | None = None
    on_leaving: Callable[[], object] | None = None
    gated: bool = False


class GateWaits:
    """The seconds the requests of one Mass send spent queued at the send gate, added up."""

    __slots__ = ("total",)

    def __init__(self) -> None:
        self.total = 0.0

    def add(self, seconds: float) -> None:
        """Count *seconds* more (a `Request.on_gate_wait`)."""
        self.total += seconds
