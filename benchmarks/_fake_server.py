"""
The fake MioGram service with a fixed latency, on 127.0.0.1, in its own process (for benchmarks)::

    python -m benchmarks._fake_server --latency-ms 200            # every request takes 200 ms
    python -m benchmarks._fake_server --agent-ms 20 --agents 4    # 20 ms per chunk, per agent

Prints ``PORT <n>`` once listening; stops after ``--max-seconds`` or when terminated.

By default the fake's ASGI app is served here with uvicorn on a listening socket with
``TCP_NODELAY``: ``FakeMioGram.serve()`` (``--as-shipped``) leaves Nagle's algorithm on, and
uvicorn's h11 protocol writes a response's head and body separately, so every keep-alive request
waits about 40 ms for a delayed ACK.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys

import anyio
import uvicorn

from benchmarks._common import SECRET
from miogram_async.testing import AccountConfig, CreditsConfig, FakeMioGram, TimeModel

_CREDIT = 10**12


async def _serve_shipped(fake: FakeMioGram, max_seconds: float) -> None:
    async with fake.serve(port=0) as url:
        port = url.split("127.0.0.1:", 1)[1].split("/", 1)[0]
        sys.stdout.write(f"PORT {port}\n")
        sys.stdout.flush()
        await anyio.sleep(max_seconds)


async def _serve_nodelay(fake: FakeMioGram, max_seconds: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        fake.app,
        lifespan="off",
        http="h11",
        ws="none",
        access_log=False,
        log_config=None,
        server_header=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server._serve([sock]))  # no signal handlers
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped during start-up")
        await asyncio.sleep(0.01)
    sys.stdout.write(f"PORT {sock.getsockname()[1]}\n")
    sys.stdout.flush()
    try:
        await asyncio.sleep(max_seconds)
    finally:
        server.should_exit = True
        await task


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description="the fake MioGram service for benchmarks")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument(
        "--agent-ms",
        type=float,
        default=0.0,
        help="per 100-number chunk, with one request at a time per agent",
    )
    parser.add_argument("--agents", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--as-shipped", action="store_true", help="serve with FakeMioGram.serve()")
    args = parser.parse_args(argv)
    credits = CreditsConfig(
        message=_CREDIT, photo=_CREDIT, video=_CREDIT, file=_CREDIT, other=_CREDIT
    )
    account = AccountConfig(
        secret=SECRET,
        agents=tuple(f"Agent{i + 1}" for i in range(args.agents)),
        credits=credits,
    )
    time_model = TimeModel(
        base_latency=args.latency_ms / 1000,
        per_number=args.agent_ms / 1000 / 100,
        serialize_agents=args.agent_ms > 0,
    )
    # Parallel requests are the explicit opt-in measured here: the documented profile takes them
    # (the server profile would break its shared credit file, docs/service.md E33).
    fake = FakeMioGram(account, time_model=time_model, profile="documented")
    with contextlib.suppress(KeyboardInterrupt):
        serve = _serve_shipped if args.as_shipped else _serve_nodelay
        anyio.run(serve, fake, args.max_seconds, backend="asyncio")


if __name__ == "__main__":
    main()
