"""Helpers for the PostgreSQL tests: campaign URLs and a transport that holds a send gate."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

from miogram_async._actions import BY_FUNC


def campaign_url(server_url: str, name: str) -> str:
    """*server_url* naming the campaign *name*."""
    parts = urllib.parse.urlsplit(server_url)
    query = [*urllib.parse.parse_qsl(parts.query), ("campaign", name)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


class GatedTransport(httpx.AsyncBaseTransport):
    """
    Sends every state-changing request inside ``slot()`` of a send gate; reads pass freely.

    Stands in for ``MioGram(send_gate=...)`` until the client takes a gate itself.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        slot: Callable[[], AbstractAsyncContextManager[object]],
    ) -> None:
        self._inner = inner
        self._slot = slot

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        action = BY_FUNC.get(fields.get("Func", [""])[0])
        if action is None or action.changes_state:
            async with self._slot():
                response = await self._inner.handle_async_request(request)
                await response.aread()  # the reply is in before the slot is given back
                return response
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
