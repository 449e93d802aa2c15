"""
Texts of their own, one number per request: the single send (``SendMessage``) of each number with
its text, driven by the same fan-out as a Mass send, so that the hooks, the send gate, the outcome
rule, progress and a cancellation's grace are those of any Mass send.

Each number is a chunk of one: it starts (its hooks' ``chunk_started``, then
``MassOptions.on_admitted``) when the send gate lets its request through, just before it leaves
(the fan-out's `Admissions`, as for a Mass chunk), and its reply is judged like a chunk's
(``true`` delivered, ``false`` undelivered, an error ``FAILED`` only when it proves a refusal,
else ``UNKNOWN``). The gateway answers a number it cannot resolve with 307 where the document
promises ``false`` (E39): on a row that says so (`Action.not_found_is_false`) that is ``false``,
as the single methods have it. Each answer is a sample of its agent's pace (E49), as a Mass
chunk's is, and an unknown outcome keeps the send gate closed for the drain of its one number.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import attrs

from .._base.actions import Action
from .._base.errors import NumberNotFoundError
from .._http.request import GateWaits, Request
from .._http.session import Session
from .fanout import fan_out
from .flights import Admissions
from .inputs import MassInput
from .options import MassOptions
from .result import Chunk, MassResult
from .send import agents_for

__all__ = ["send_singles"]


async def send_singles(
    session: Session,
    action: Action[bool],
    phones: MassInput,
    text_of: Callable[[str], str],
    check: Callable[[str], Awaitable[str]],
    *,
    normalize: Callable[[str], str],
    options: MassOptions,
) -> MassResult:
    """
    Send each number of *phones* its own text with the single *action*, one request per number.

    Args:
        session: the client's request path.
        action: a single text send's row (``SendMessage``, ``SendMessageWhatsApp``).
        phones: the numbers, checked (`mass_input`), streamed.
        text_of: each number's text (called once, just before its request is made).
        check: checks a text (against the account's limit, once loaded) before it is sent;
            a `ValidationError` there fails that number only, nothing sent.
        normalize: the client's phone normaliser.
        options: the fan-out's options; every chunk holds one number whatever their
            ``chunk_size``.
    """
    session.http_client()  # a closed client fails here, before anything else
    agent = session.agent(None)
    robots = await agents_for(session, None, options.robots)
    options = attrs.evolve(
        options,
        chunk_size=1,
        concurrency=session.concurrency if options.concurrency is None else options.concurrency,
        front_wait=options.front_wait or session.front_wait,
    )
    front_wait = options.front_wait
    decode = action.decode
    assert decode is not None, "a single send's row decodes its reply"
    waits = GateWaits()
    # The gate's admission of each number's request starts its chunk (its hooks, its doubt).
    admissions = Admissions()

    async def send_chunk(chunk: Chunk) -> dict[str, bool]:
        (number,) = chunk.numbers
        text = await check(text_of(number))
        request = Request(
            action=action,
            decode=decode,
            elements={"phone": number, "message": text},
            robot=chunk.robot or agent,
            timeouts=session.timeout,
            numbers=1,
            # Its answer comes once the gateway resolved the number: a sample of the agent's
            # pace for the Mass chunks after it (E49); its 999 at the front's wait a bound.
            paced=True,
            front_wait=front_wait,
            on_gate_wait=waits.add,
            on_admitted=functools.partial(admissions.admit, chunk),
        )
        try:
            delivered = await session.send(request)
        except NumberNotFoundError:
            if not action.not_found_is_false:
                raise
            delivered = False  # 307 for a number the gateway cannot resolve (E39)
        return {number: bool(delivered)}

    return await fan_out(
        phones,
        send_chunk,
        normalize=normalize,
        options=options,
        robots=robots,
        gate_waits=waits,
        admissions=admissions,
        pace=session.pace,
    )
