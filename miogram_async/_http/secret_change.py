"""
The secret-changing exchange (``APIChangeSecret``): the request, the switch to the new secret and
the application's callback, carried through to the end whatever cancels the caller.

A reply lost after the service switched would leave the account with a secret nobody knows, so
once the request has started to leave, no cancellation (anyio's, trio's, or asyncio's own) cuts
the exchange off; it is bounded by the client's timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Mapping
from typing import TypeVar

import sniffio

from .._base.actions import Action
from .request import Request
from .session import Session

__all__ = ["change_secret"]

_T = TypeVar("_T")


async def change_secret(
    session: Session,
    action: Action[_T],
    elements: Mapping[str, str | None],
    *,
    robot: str | None,
    read_timeout: float | None,
) -> _T:
    """
    Send the secret-bearing *action*, adopt the secret it returns, run the callback, return it.

    Args:
        session: the client's request path (its `Session.adopt_secret` switches and tells).
        action: the secret-bearing row.
        elements: the action's elements (none for ``APIChangeSecret``).
        robot: the call's agent (``None``: the client's default).
        read_timeout: seconds to wait for the reply (``None``: the client's).
    """
    assert action.decode is not None
    mark = _SendMark()
    request = session.prepare(
        action,
        action.decode,
        elements,
        robot=robot,
        read_timeout=read_timeout,
        on_leaving=mark.leave,
    )
    return await _finish_despite_cancellation(_exchange(session, request), mark)


class _SendMark:
    """Set by the request path (`Request.on_leaving`) when the request starts to leave."""

    def __init__(self) -> None:
        self.leaving = False

    def leave(self) -> None:
        self.leaving = True


async def _exchange(session: Session, request: Request[_T]) -> _T:
    """Send the secret-changing *request*, then adopt the new secret and run the callback."""
    result = await session.send(request)
    await session.adopt_secret(result)
    return result


async def _finish_despite_cancellation(work: Coroutine[object, object, _T], mark: _SendMark) -> _T:
    """
    Await *work*; once its request has started to leave (*mark*), finish it whatever cancels the
    caller.

    An anyio shield (in the request path) holds off anyio's and trio's cancellation, but not a
    native asyncio one (``Task.cancel()``, ``asyncio.wait_for``): under asyncio *work* runs in a
    task of its own, which the caller waits for through `asyncio.shield`. A cancellation before
    the request leaves (waiting for the rate limit or the secret) cancels *work* too; one after
    waits for *work* to end (bounded by the client's timeouts), then goes on.
    """
    if sniffio.current_async_library() != "asyncio":
        return await work
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not mark.leaving:
            task.cancel()
        # However often the cancellation is repeated (anyio repeats it), wait for the task.
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        if not task.cancelled():
            task.exception()  # seen: the cancellation wins, the task's outcome goes with it
        raise
