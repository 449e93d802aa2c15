"""
The loopback way to reach the fake: uvicorn serving the same ASGI app on 127.0.0.1.

The server runs as a task in the caller's (asyncio) event loop, so the fake's state is only ever
touched from one thread. uvicorn is imported only when a server is started; it comes with the
``testing`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import sniffio

from ._app import FaultSignal, Receive, Scope, Send, ServiceApp
from ._faults import FaultKind

__all__ = ["serve_loopback"]

LOOPBACK = "127.0.0.1"


def _wrap(app: ServiceApp, stopping: anyio.Event) -> Any:
    """Turn the app's :class:`FaultSignal` into what a real socket does."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except FaultSignal as signal:
            if signal.kind is FaultKind.TIMEOUT_AFTER:
                await _hold(receive, stopping)
            # uvicorn exposes no ASGI way to drop a connection: close the socket of this cycle.
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is None:  # pragma: no cover - another server than uvicorn's h11
                raise
            transport.close()
            # Let uvicorn see the connection lost, so it does not try to answer it.
            for _ in range(20):
                await anyio.lowlevel.checkpoint()

    return wrapped


async def _hold(receive: Receive, stopping: anyio.Event) -> None:
    """Keep a processed request unanswered until the client leaves or the server stops."""
    async with anyio.create_task_group() as group:

        async def watch_client() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch_client)
        await stopping.wait()
        group.cancel_scope.cancel()


@contextlib.asynccontextmanager
async def serve_loopback(app: ServiceApp, *, port: int = 0) -> AsyncIterator[str]:
    """
    Serve *app* on ``127.0.0.1:port`` (``0``: a free port) for the duration of the block.

    Yields:
        The endpoint URL, ``http://127.0.0.1:<port>/dojob.php``.

    Raises:
        RuntimeError: not running under asyncio (uvicorn needs it; use the in-process transport
            under trio).
    """
    if sniffio.current_async_library() != "asyncio":
        raise RuntimeError("the loopback server needs asyncio; under trio use fake.transport()")
    import uvicorn  # noqa: PLC0415 - optional dependency, only needed to serve

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit it: uvicorn's h11 protocol writes a reply's head and body
        # separately, and with Nagle's algorithm on every reply waits ~40 ms for a delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((LOOPBACK, port))
        bound_port = sock.getsockname()[1]
        stopping = anyio.Event()
        config = uvicorn.Config(
            _wrap(app, stopping),
            lifespan="off",
            http="h11",
            ws="none",
            proxy_headers=False,
            server_header=False,
            date_header=False,  # the app's own Date carries the fake service's clock_offset
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        # ``_serve`` is ``serve`` without taking over SIGINT/SIGTERM of the host process.
        run = getattr(server, "_serve", server.serve)
        # A plain asyncio task, not a task group: uvicorn is asyncio-only anyway, and a task group
        # would tie the server to the task that entered the block, which breaks when a pytest
        # fixture sets up and tears down in different tasks.
        task = asyncio.get_running_loop().create_task(run([sock]))
        try:
            while not server.started:
                if task.done():
                    task.result()  # re-raise what stopped it
                    raise RuntimeError("the loopback server stopped during start-up")
                await anyio.sleep(0.005)
            yield f"http://{LOOPBACK}:{bound_port}/dojob.php"
        finally:
            stopping.set()
            server.should_exit = True
            with anyio.CancelScope(shield=True):
                await task
    finally:
        sock.close()
