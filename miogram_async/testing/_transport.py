"""
The in-process way to reach the fake: an ``httpx.AsyncBaseTransport`` that calls the ASGI app
directly, with no server and no socket.

Connection-level faults become the httpx exceptions a real socket would produce: ``DROP`` and
``LOST_REPLY`` raise ``httpx.RemoteProtocolError``, ``CONNECT_ERROR`` raises ``httpx.ConnectError``
and ``TIMEOUT_AFTER`` raises ``httpx.ReadTimeout``.
"""

from __future__ import annotations

from typing import Any

import httpx

from ._app import FaultSignal, ServiceApp
from ._faults import FaultKind

__all__ = ["FakeTransport"]


class FakeTransport(httpx.AsyncBaseTransport):
    """Send httpx requests straight into a :class:`ServiceApp`."""

    def __init__(self, app: ServiceApp, *, client_ip: str = "127.0.0.1") -> None:
        self._app = app
        self.client_ip = client_ip

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Run *request* through the app and return its reply."""
        body = await request.aread()
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path,
            "query_string": request.url.query,
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "client": (self.client_ip, 50000),
            "server": (request.url.host, request.url.port or 80),
        }
        received = False

        async def receive() -> dict[str, Any]:
            nonlocal received
            if received:
                return {"type": "http.disconnect"}
            received = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def send(message: Any) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self._app(scope, receive, send)
        except FaultSignal as signal:
            raise _exception_for(signal.kind, request) from None
        return httpx.Response(status, headers=headers, content=b"".join(chunks), request=request)


def _exception_for(kind: FaultKind, request: httpx.Request) -> httpx.TransportError:
    if kind is FaultKind.CONNECT_ERROR:
        return httpx.ConnectError("All connection attempts failed", request=request)
    if kind is FaultKind.TIMEOUT_AFTER:
        return httpx.ReadTimeout("timed out waiting for the reply", request=request)
    return httpx.RemoteProtocolError(
        "Server disconnected without sending a response.", request=request
    )
