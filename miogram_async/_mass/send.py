"""
A Mass action over any number of phones: the agents to spread over, each chunk's `Request`
(numbers, agent, timeout), one request per chunk through the session, driven by the fan-out.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final

import attrs

from .._base.actions import Action
from .._base.checks import check_robot
from .._base.errors import MioGramError, ValidationError
from .._base.log import logger
from .._base.outcomes import gateway_may_be_busy
from .._base.wire import as_mass_map
from .._http.request import GateWaits, Request
from .._http.session import Session, describe
from .fanout import fan_out
from .flights import Admissions
from .inputs import MassInput
from .options import MassOptions
from .result import Chunk, Dispatch, MassResult

__all__ = ["agents_for", "send_mass"]

# The service resolves numbers one by one, a second or more each (E24, E49): a Mass chunk waits
# for the front's answer (its 999 at the end of its wait, E32) and then some.
_MASS_SECONDS_PER_NUMBER: Final = 3.0


async def send_mass(
    session: Session,
    action: Action[dict[str, bool]],
    phones: MassInput,
    elements: Mapping[str, str | None],
    *,
    normalize: Callable[[str], str],
    robot: str | None,
    read_timeout: float | None,
    options: MassOptions,
) -> MassResult:
    """
    Send Mass *action* with *elements* to *phones*, in chunks, and return every number's outcome.

    Args:
        session: the client's request path.
        action: the Mass action's row.
        phones: the numbers, checked (`mass_input`), streamed.
        elements: the elements every chunk carries besides its numbers.
        normalize: the client's phone normaliser.
        robot: the call's agent (``None``: the client's default).
        read_timeout: seconds to wait for each chunk's reply; ``None``: the front's wait + 3 s per
            number (the client's read timeout, if longer).
        options: the parsed fan-out options (``concurrency`` and ``front_wait`` ``None``: the
            client's).

    Raises:
        ValidationError: *robot*, *read_timeout* or an agent of ``options.robots`` is malformed or
            unknown, or the message holds the account's secret; nothing was sent.
    """
    session.http_client()  # a closed client fails here, before anything else
    # Refused as a whole, before the first chunk, rather than chunk after chunk.
    await session.refuse_the_secret(action, elements)
    agent = session.agent(robot)
    # Checked once here: inside a chunk, a bad one would only FAIL every chunk.
    timeouts = None if read_timeout is None else session.request_timeout(read_timeout)
    robots = await _agents_for(session, robot, options.robots)
    if options.concurrency is None:
        options = attrs.evolve(options, concurrency=session.concurrency)
    if options.front_wait is None:
        options = attrs.evolve(options, front_wait=session.front_wait)
    front_wait = options.front_wait or session.front_wait
    waits = GateWaits()
    # The gate's admission of each chunk's request starts the chunk (its hooks, its doubt, then
    # options.on_admitted), and dates its `Dispatch` for settling.
    admissions = Admissions()
    dispatches: dict[int, Dispatch] = {}

    async def send_chunk(chunk: Chunk) -> dict[str, bool]:
        numbers = len(chunk.numbers)
        admitted: list[float] = []
        request = Request(
            action=action,
            decode=as_mass_map(chunk.numbers),
            elements={"phone": ",".join(chunk.numbers), **elements},
            robot=chunk.robot or agent,
            timeouts=timeouts
            or session.read_timeouts(
                max(
                    session.timeout.read or 0.0,
                    front_wait + _MASS_SECONDS_PER_NUMBER * numbers,
                )
            ),
            numbers=numbers,
            paced=True,
            front_wait=front_wait,
            on_gate_wait=waits.add,
            on_admitted=_admission(admitted, chunk, admissions),
        )
        try:
            reply = await session.send(request)
        except BaseException as error:
            _record(session, dispatches, chunk, request, admitted, busy=gateway_may_be_busy(error))
            raise
        _record(session, dispatches, chunk, request, admitted, busy=False)
        return reply

    return await fan_out(
        phones,
        send_chunk,
        normalize=normalize,
        options=options,
        robots=robots,
        gate_waits=waits,
        dispatches=dispatches,
        admissions=admissions,
        pace=session.pace,
    )


def _admission(
    admitted: list[float], chunk: Chunk, admissions: Admissions
) -> Callable[[], Awaitable[object]]:
    """
    A chunk's `Request.on_admitted`: the fan-out starts the chunk, then the time is noted.

    The fan-out hears every attempt's admission and starts the chunk at the first (its hooks'
    ``chunk_started``, then ``MassOptions.on_admitted``). The time is noted only once that
    returned: a chunk whose start failed or was cancelled never left, so it keeps no `Dispatch`;
    a time taken after the hooks is still before the request leaves.
    """

    async def admit() -> None:
        await admissions.admit(chunk)
        admitted.append(time.time())

    return admit


def _record(
    session: Session,
    dispatches: dict[int, Dispatch],
    chunk: Chunk,
    request: Request[object],
    admitted: list[float],
    *,
    busy: bool,
) -> None:
    """
    Keep the `Dispatch` of a chunk that passed the send gate (it may have left).

    On the service's clock, bounded by the replies' ``Date`` headers: it cannot have arrived
    before its first admission; the gateway was done with it by its answer, or after an unknown
    outcome (*busy*) by the end of the drain the send gate waited for, counted from its last
    admission (the one estimate, `Session.drain_seconds`: the gateway's pace as measured, E32,
    E49).
    """
    if not admitted:
        return  # never left the gate: nothing to settle
    answered = time.time()
    if busy:
        drain = session.drain_seconds(request.numbers, request.robot, request.front_wait)
        done = max(answered, admitted[-1] + drain)
    else:
        done = answered
    clock = session.clock
    dispatches[chunk.index] = Dispatch(
        func=request.action.func,
        robot=request.robot or None,
        sent_after=clock.earliest(admitted[0]),
        done_by=clock.latest(done),
        numbers=request.numbers,
    )


async def _agents_for(
    session: Session, robot: str | None, named: Sequence[str] | str | None
) -> Sequence[str | None]:
    """
    The agents a Mass send's chunks rotate over.

    ``robots="all"``: every agent of the account. ``robots=[...]``: those, each checked against
    the account's agents (the service silently sends an unknown name's requests from the first
    agent, docs/service.md E47). Else a call's or the client's *robot*; else every agent of the
    account, as the service's own bulk sender does (E48), or the first agent (no ``Robot``) when it
    has one or the service does not say.
    """
    if named == "all":
        return tuple(await session.account_agents()) or (robot,)
    if named:
        names = tuple(named)
        for name in names:
            check_robot(name)
        known = await session.account_agents()
        unknown = [name for name in dict.fromkeys(names) if name not in known]
        if unknown:
            raise ValidationError(
                f"unknown agents in robots: {', '.join(unknown)}; the account's agents are "
                f"{', '.join(known) or 'none'} (the service would send their chunks from its "
                "first agent, docs/service.md E47); nothing was sent"
            )
        return names
    if robot is not None:
        return (robot or None,)
    if session.robot is not None:
        return (session.robot,)
    try:
        agents = await session.account_agents()
    except MioGramError as error:
        # Not knowing the agents is no reason not to send: the first one takes every chunk.
        logger.warning(
            "could not list the account's agents (%s): every chunk goes to its first agent",
            describe(error),
        )
        return (None,)
    return agents if len(agents) > 1 else (None,)


#: The agents a send's requests rotate over (the single sends of texts of their own use it too).
agents_for = _agents_for
