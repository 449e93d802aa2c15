"""
A Mass action over any number of phones: the agents to spread over, each chunk's timeout, and one
request per chunk through the session, driven by the fan-out.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Final

import attrs

from ._actions import Action
from ._errors import ValidationError
from ._fanout import Chunk, fan_out
from ._options import MassOptions
from ._result import MassResult
from ._session import Session, check_robot
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
    all_robots: Callable[[], Awaitable[list[str]]],
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
        all_robots: asks the service for every agent, for ``robots="all"``.
    """
    session.http_client()  # a closed client fails here, before anything else
    session.request_timeout(read_timeout)  # inside a chunk, a bad one would only FAIL every chunk
    if isinstance(phones, str | bytes):
        raise ValidationError(
            "expected an iterable of phone numbers, got a single "
            f"{type(phones).__name__}: wrap one number in a list"
        )
    check_robot(robot)
    robots: Sequence[str | None]
    if options.robots == "all":
        robots = tuple(await all_robots()) or (robot,)
    else:
        robots = options.robots or (robot,)
    for name in robots:
        check_robot(name)
    if options.concurrency is None:
        options = attrs.evolve(options, concurrency=session.concurrency)

    async def send_chunk(chunk: Chunk) -> dict[str, bool]:
        chunk_timeout = read_timeout
        if chunk_timeout is None:
            chunk_timeout = max(
                session.timeout.read or 0.0,
                _MASS_BASE_SECONDS + _MASS_SECONDS_PER_NUMBER * len(chunk.numbers),
            )
        return await session.request(
            action,
            as_mass_map(chunk.numbers),
            {"phone": ",".join(chunk.numbers), **elements},
            robot=chunk.robot or robot,
            read_timeout=chunk_timeout,
        )

    return await fan_out(phones, send_chunk, normalize=normalize, options=options, robots=robots)
