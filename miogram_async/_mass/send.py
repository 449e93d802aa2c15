"""
A Mass action over any number of phones: the agents to spread over, each chunk's `Request`
(numbers, agent, timeout), one request per chunk through the session, driven by the fan-out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import attrs

from .._base.actions import Action
from .._base.checks import check_robot
from .._base.errors import MioGramError, ValidationError
from .._base.log import logger
from .._base.wire import as_mass_map
from .._http.request import GateWaits, Request
from .._http.session import Session, describe
from .fanout import Chunk, MassInput, fan_out
from .options import MassOptions
from .result import MassResult

__all__ = ["send_mass"]

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
            unknown; nothing was sent.
    """
    session.http_client()  # a closed client fails here, before anything else
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
    on_admitted = options.on_admitted

    async def send_chunk(chunk: Chunk) -> dict[str, bool]:
        numbers = len(chunk.numbers)
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
            on_admitted=None if on_admitted is None else functools.partial(on_admitted, chunk),
        )
        return await session.send(request)

    return await fan_out(
        phones,
        send_chunk,
        normalize=normalize,
        options=options,
        robots=robots,
        gate_waits=waits,
        pace=session.pace,
    )


async def _agents_for(
    session: Session, robot: str | None, named: Sequence[str] | str | None
) -> Sequence[str | None]:
    """
    The agents a Mass send's chunks rotate over.

    ``robots="all"``: every agent of the account. ``robots=[...]``: those, each checked against
    the account's agents (the service silently sends an unknown name's requests from the first
    agent, API.md E47). Else a call's or the client's *robot*; else every agent of the account,
    as the service's own bulk sender does (E48), or the first agent (no ``Robot``) when it has
    one or the service does not say.
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
                "first agent, API.md E47); nothing was sent"
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
