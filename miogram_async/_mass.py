"""
A Mass action over any number of phones: the agents to spread over, each chunk's timeout, and one
request per chunk through the session, driven by the fan-out.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Final

import attrs

from ._actions import Action
from ._errors import MioGramError, ValidationError
from ._fanout import Chunk, fan_out
from ._options import MassOptions
from ._result import MassResult
from ._session import GATE_WAITS, Session, check_robot, describe, logger
from ._wire import as_mass_map

__all__ = ["send_mass"]

# The service resolves numbers one by one, about a second each (E24): a Mass chunk may wait long.
_MASS_BASE_SECONDS: Final = 60.0
_MASS_SECONDS_PER_NUMBER: Final = 3.0


async def send_mass(
    session: Session,
    action: Action[dict[str, bool]],
    phones: Iterable[str] | AsyncIterable[str],
    elements: Mapping[str, str | None],
    *,
    normalize: Callable[[str], str],
    robot: str | None,
    read_timeout: float | None,
    options: MassOptions,
    all_robots: Callable[[], Awaitable[Sequence[str]]],
) -> MassResult:
    """
    Send Mass *action* with *elements* to *phones*, in chunks, and return every number's outcome.

    Args:
        session: the client's request path.
        action: the Mass action's row.
        phones: the numbers, streamed.
        elements: the elements every chunk carries besides its numbers.
        normalize: the client's phone normaliser.
        robot: the call's agent (``None``: the client's default).
        read_timeout: seconds to wait for each chunk's reply; ``None``: 60 s + 3 s per number.
        options: the parsed fan-out options (``concurrency`` already resolved).
        all_robots: the account's agents (asked once per client): the chunks rotate over them
            when no agent is named, and ``robots=`` is checked against them.
    """
    session.http_client()  # a closed client fails here, before anything else
    session.request_timeout(read_timeout)  # inside a chunk, a bad one would only FAIL every chunk
    if isinstance(phones, str | bytes):
        raise ValidationError(
            "expected an iterable of phone numbers, got a single "
            f"{type(phones).__name__}: wrap one number in a list"
        )
    check_robot(robot)
    robots = await _agents_for(session, robot, options.robots, all_robots)
    if options.concurrency is None:
        options = attrs.evolve(options, concurrency=session.concurrency)
    waited = [0.0]

    def gate_waited(seconds: float) -> None:
        waited[0] += seconds

    async def send_chunk(chunk: Chunk) -> dict[str, bool]:
        chunk_timeout = read_timeout
        if chunk_timeout is None:
            chunk_timeout = max(
                session.timeout.read or 0.0,
                _MASS_BASE_SECONDS + _MASS_SECONDS_PER_NUMBER * len(chunk.numbers),
            )
        GATE_WAITS.set(gate_waited)  # this worker task's requests report their queueing
        return await session.request(
            action,
            as_mass_map(chunk.numbers),
            {"phone": ",".join(chunk.numbers), **elements},
            robot=chunk.robot or robot,
            read_timeout=chunk_timeout,
        )

    return await fan_out(
        phones,
        send_chunk,
        normalize=normalize,
        options=options,
        robots=robots,
        waited=lambda: waited[0],
    )


async def _agents_for(
    session: Session,
    robot: str | None,
    named: Sequence[str] | str | None,
    all_robots: Callable[[], Awaitable[Sequence[str]]],
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
        return tuple(await all_robots()) or (robot,)
    if named:
        names = tuple(named)
        for name in names:
            check_robot(name)
        known = tuple(await all_robots())
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
        agents = tuple(await all_robots())
    except MioGramError as error:
        # Not knowing the agents is no reason not to send: the first one takes every chunk.
        logger.warning(
            "could not list the account's agents (%s): every chunk goes to its first agent",
            describe(error),
        )
        return (None,)
    return agents if len(agents) > 1 else (None,)
