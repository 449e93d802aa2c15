"""
The machinery under `MioGram`'s action methods: one action through the session (the secret
change and the 307-means-false rule included), a single media send, and a Mass send.

`MioGram` inherits it, so each of its methods stays a docstring, its argument checks and one
``return await self._run...(ROW, ...)``. The other packages send any row of a kind through the
package-level entry points: `send_mass_action` (the campaign's Mass send) and `send_texts_action`
(the campaign's texts of their own, one number per request), each through another send gate when
the campaign has one, and `send_media_action` (the CLI's ``send-file``); `through_gate` gives a
view of a client whose requests pass another gate (a campaign's settle reads). And they ask a
client what a campaign needs to know: its send gate (`gate_settings`), whether a text holds its
secret (`holds_the_secret`) and the gateway's pace it measured (`gateway_pace`, which a campaign
keeps in its journal).
"""

# ASYNC109: ``timeout`` is the actions' per-call reply timeout (the public contract), handed
# to the request path; it bounds the HTTP read, not the coroutine.

from __future__ import annotations

import copy
from collections.abc import AsyncIterable, Callable, Iterable
from typing import TypeVar, cast

import attrs

from ._base.actions import Action
from ._base.errors import NumberNotFoundError
from ._base.scrub import contains_secret
from ._gates.base import SendGate
from ._gates.default import GateChoice
from ._http.options import ClientOptions
from ._http.pace import GatewayPace
from ._http.secret_change import change_secret
from ._http.session import Session
from ._mass.inputs import mass_input
from ._mass.options import FanoutOptions, MassOptions, mass_options
from ._mass.result import MassResult
from ._mass.send import send_mass
from ._mass.singles import send_singles
from ._payload import MediaData, Payloads

__all__ = [
    "ActionRunner",
    "GateSettings",
    "gate_settings",
    "gateway_pace",
    "holds_the_secret",
    "send_mass_action",
    "send_media_action",
    "send_texts_action",
    "through_gate",
]

_T = TypeVar("_T")
_Client = TypeVar("_Client", bound="ActionRunner")


class ActionRunner:
    """
    What every action method of `MioGram` ends in; `MioGram.__init__` sets the attributes.

    Attributes:
        _options: the client's options, checked.
        _session: the request path.
        _normalize: the phone normaliser of the client's default region.
        _payloads: message and file checks against the account's limits once loaded.
    """

    _options: ClientOptions
    _session: Session
    _normalize: Callable[[str], str]
    _payloads: Payloads

    async def _run(
        self,
        action: Action[_T],
        *,
        robot: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
        **elements: str | None,
    ) -> _T:
        """Send one *action* with *elements* (as `call`) and return its row's decoded result."""
        assert action.decode is not None, "a Mass action goes through _run_mass"
        if action.secret_bearing:
            return await change_secret(
                self._session, action, elements, robot=robot, read_timeout=timeout
            )
        try:
            result = await self._session.request(
                action, action.decode, elements, robot=robot, read_timeout=timeout
            )
        except NumberNotFoundError:
            if not action.not_found_is_false:
                raise
            # The gateway answers a number it cannot resolve with 307 (docs/service.md E6) where the
            # document promises false (G2): both mean "not delivered", and neither was charged.
            return cast("_T", False)
        return result

    # Positional parameters (PLR0917): each action method ends in one short call of these.
    async def _run_media(  # noqa: PLR0917
        self,
        action: Action[bool],
        phone: str,
        data: MediaData,
        file_format: str | None,
        robot: str | None,
        timeout: float | None,  # noqa: ASYNC109
    ) -> bool:
        """A single media send: the number, then the file checked against its row's limit."""
        number = self._phone(phone)
        media = await self._payloads.media_elements(action, data, file_format)
        return await self._run(action, phone=number, robot=robot, timeout=timeout, **media)

    async def _run_mass(  # noqa: PLR0917
        self,
        action: Action[dict[str, bool]],
        phones: Iterable[str] | AsyncIterable[str],
        payload: str | MediaData,
        file_format: str | None = None,
        robot: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
        options: MassOptions | FanoutOptions | None = None,
    ) -> MassResult:
        """Mass *action* to *phones* with *payload* (message or file)."""
        if not isinstance(options, MassOptions):
            options = mass_options(options or {})
        numbers = mass_input(phones)  # checked once, before anything is asked or sent
        elements: dict[str, str | None]
        if action.media is None:
            # check_message refuses anything but a str with a ValidationError.
            elements = {"message": await self._payloads.message(cast("str", payload))}
        else:
            elements = await self._payloads.media_elements(action, payload, file_format)
        return await send_mass(
            self._session,
            action,
            numbers,
            elements,
            normalize=self._normalize,
            robot=robot,
            read_timeout=timeout,
            options=options,
        )

    async def _run_singles(
        self,
        action: Action[bool],
        phones: Iterable[str] | AsyncIterable[str],
        text_of: Callable[[str], str],
        options: MassOptions,
    ) -> MassResult:
        """Each number of *phones* its own text (*text_of*), one single *action* per number."""
        numbers = mass_input(phones)
        return await send_singles(
            self._session,
            action,
            numbers,
            text_of,
            self._payloads.message,
            normalize=self._normalize,
            options=options,
        )

    def _phone(self, phone: str) -> str:
        """*phone* normalised under the client's default region."""
        return self._normalize(phone)


async def send_mass_action(
    client: ActionRunner,
    action: Action[dict[str, bool]],
    phones: Iterable[str] | AsyncIterable[str],
    payload: str | MediaData,
    *,
    file_format: str | None = None,
    options: MassOptions,
    send_gate: SendGate | None = None,
) -> MassResult:
    """
    Send the Mass *action* (any Mass row) through *client*, as its ``*_mass`` method would.

    The campaign's entry point: its row comes from the campaign's kind, and its *options* are
    built whole (the journal's hooks, which record every outcome, and the total it knows). With
    *send_gate*, the chunks pass that gate instead of the client's (a campaign's workers' gate).
    """
    client = through_gate(client, send_gate)
    return await client._run_mass(action, phones, payload, file_format, None, None, options)


async def send_texts_action(
    client: ActionRunner,
    action: Action[bool],
    phones: Iterable[str] | AsyncIterable[str],
    text_of: Callable[[str], str],
    *,
    options: MassOptions,
    send_gate: SendGate | None = None,
) -> MassResult:
    """
    Send each number of *phones* its own text with the single text send *action*, one request per
    number, through the fan-out of a Mass send (hooks, gate, outcomes, progress): the campaign's
    entry point for numbers whose text no other number shares. *text_of* gives a number's text;
    each is checked like a message (against the account's limit once the client loaded it). With
    *send_gate*, the requests pass that gate instead of the client's.
    """
    client = through_gate(client, send_gate)
    return await client._run_singles(action, phones, text_of, options)


def through_gate(client: _Client, send_gate: SendGate | None) -> _Client:
    """
    A view of *client* whose gated requests pass *send_gate* instead of its own gate (the same
    connection pool, clock and secret); *client* itself when *send_gate* is ``None``.
    """
    if send_gate is None:
        return client
    view = copy.copy(client)
    view._session = client._session.through(send_gate)
    return view


@attrs.frozen
class GateSettings:
    """
    What a campaign needs to know of a client's send gate.

    Attributes:
        choice: the client's gate and how it was chosen (`GateChoice`).
        concurrency: the client's ``concurrency`` (the slots of a gate made for it).
        dead_holder_wait: how long a gate made for it waits after a holder that died.
    """

    choice: GateChoice
    concurrency: int
    dead_holder_wait: float


def gate_settings(client: ActionRunner) -> GateSettings:
    """The send gate of *client*, how it was chosen, and what a gate made for it should use."""
    session = client._session
    return GateSettings(
        choice=session.gate_choice,
        concurrency=session.concurrency,
        dead_holder_wait=session.dead_holder_wait,
    )


async def holds_the_secret(client: ActionRunner, texts: Iterable[str]) -> bool:
    """
    Whether one of *texts* holds *client*'s secret (asked of its callable, if it has one, once),
    in any form an echo of it may take (`contains_secret`).
    """
    secret = await client._session.resolve_secret()
    try:
        return any(contains_secret(text, secret) for text in texts)
    finally:
        del secret


async def send_media_action(
    client: ActionRunner,
    action: Action[bool],
    phone: str,
    data: MediaData,
    *,
    file_format: str | None = None,
    robot: str | None = None,
) -> bool:
    """
    Send *data* to *phone* with the single file send *action* (any row of `FILE_SENDS`) through
    *client*, as its method would: the CLI's ``send-file``, whose row comes from the kind asked.
    """
    return await client._run_media(action, phone, data, file_format, robot, None)


def gateway_pace(client: ActionRunner) -> GatewayPace:
    """
    The gateway's pace *client* measured (E49), shared with its views and every Mass send: a
    campaign keeps its `GatewayPace.paces` in the journal and hands them to `GatewayPace.adopt`
    when it resumes.
    """
    return client._session.pace
