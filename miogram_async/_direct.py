"""
POSTs sent straight to the transport of the client's own `httpx.AsyncClient`.

``AsyncClient.post`` spends about 0.1 ms of CPU per request on machinery the SDK's own client never
uses: merging its defaults into a new request, generator-based auth, redirect and event-hook flows,
wrapping the reply stream to time it. `DirectPoster` does what that machinery amounts to for a
client built by `build_http_client`, and nothing more:

- the request is the one ``AsyncClient.build_request`` builds: the client's headers (Host first,
  then Accept, Accept-Encoding, Connection, User-Agent) updated with the call's, Content-Length,
  the client's cookies, and the timeouts as the ``timeout`` extension;
- it goes to the transport ``AsyncClient`` picks for the URL (a mounted proxy included), through
  the same ``handle_async_request``: the transports raise the same httpx exceptions as before,
  with the request attached to them as httpx attaches it;
- the reply is read whole and then closed, also on errors and cancellation, which gives the
  connection (and a `ShardedTransport` slot) back as ``AsyncClient`` does; cookies the service
  sets are kept, and the ``httpx`` logger's INFO line is written when that level is enabled;
- a closed client raises httpx's own `RuntimeError`.

A URL with a user name or password (httpx would add Basic auth), or a client with auth, event
hooks, base URL or default parameters of its own, is not eligible: `DirectPoster.for_client`
returns ``None`` and the caller goes through ``AsyncClient.post``. A borrowed client always does
(its hooks, auth and mocks are the caller's).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

import httpx

__all__ = ["DirectPoster"]

_httpx_logger: Final = logging.getLogger("httpx")
_CLOSED: Final = "Cannot send a request, as the client has been closed."


class DirectPoster:
    """
    Sends POSTs of one client to one URL without ``AsyncClient``'s send machinery.

    Build it with `for_client`, which checks that the client has nothing the shortcut skips.
    """

    __slots__ = ("_headers", "_http", "_url")

    def __init__(self, http: httpx.AsyncClient, url: httpx.URL, headers: Mapping[str, str]) -> None:
        self._http = http
        self._url = url
        # AsyncClient._merge_headers: the client's headers, updated with the call's.
        merged = httpx.Headers(http.headers)
        merged.update(httpx.Headers(headers))
        self._headers = merged

    @classmethod
    def for_client(
        cls, http: httpx.AsyncClient, url: httpx.URL, headers: Mapping[str, str]
    ) -> DirectPoster | None:
        """A poster for *http* and *url*, or ``None`` when *http* needs its own send path."""
        if url.username or url.password or url.is_relative_url or url.query:
            return None
        if http.auth is not None or http.params or str(http.base_url):
            return None
        hooks = http.event_hooks
        if hooks["request"] or hooks["response"]:
            return None
        if not callable(getattr(http, "_transport_for_url", None)):
            return None
        return cls(http, url, headers)

    async def post(self, content: bytes, timeouts: httpx.Timeout) -> httpx.Response:
        """POST *content*; the reply, read whole and closed. Errors are httpx's, as `post`'s."""
        http = self._http
        if http.is_closed:
            raise RuntimeError(_CLOSED)
        cookies = http.cookies
        request = httpx.Request(
            "POST",
            self._url,
            content=content,
            headers=self._headers,
            cookies=cookies if cookies else None,
            extensions={"timeout": timeouts.as_dict()},
        )
        # Asked on every request (a dict walk over the mounts): proxies, and respx's httpx mocker.
        transport: httpx.AsyncBaseTransport = http._transport_for_url(request.url)
        try:
            response = await transport.handle_async_request(request)
        except httpx.RequestError as error:
            error.request = request  # as httpx's request_context does
            raise
        try:
            # In AsyncClient's order: cookies and the log line come before the body is read.
            response.request = request
            if "set-cookie" in response.headers:
                cookies.extract_cookies(response)
            if _httpx_logger.isEnabledFor(logging.INFO):
                _httpx_logger.info(
                    'HTTP Request: %s %s "%s %d %s"',
                    request.method,
                    request.url,
                    response.http_version,
                    response.status_code,
                    response.reason_phrase,
                )
            await response.aread()
        finally:
            await response.aclose()
        return response
