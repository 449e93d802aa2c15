"""
A minimal HTTP/1.1 keep-alive server on 127.0.0.1 that answers like MioGram after a fixed delay.

Run it as its own process so its CPU time is not counted in the client's::

    python -m benchmarks._loopback_server --latency-ms 20 --port 0 --max-seconds 600

It prints ``PORT <n>`` on stdout once listening, then serves until it is terminated or
``--max-seconds`` pass. Every POST is answered after the latency with a MioGram envelope: a
per-number map of ``true`` for a ``Phone`` list (the Mass actions), else ``true``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from urllib.parse import parse_qs

_MAX_HEAD = 64 * 1024


def _reply_body(form: dict[str, list[str]]) -> bytes:
    func = form.get("Func", [""])[0]
    phones = form.get("Phone", [""])[0]
    result: object
    if func.endswith("Mass") or "," in phones:
        result = dict.fromkeys((p for p in phones.split(",") if p), True)
    else:
        result = True
    return json.dumps({"Result": result, "Status": "checking"}).encode()


async def _handle(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    latency: float,
    agents: dict[str, asyncio.Lock] | None,
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            length = 0
            keep_alive = True
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                lname = name.strip().lower()
                if lname == b"content-length":
                    length = int(value.strip())
                elif lname == b"connection" and value.strip().lower() == b"close":
                    keep_alive = False
            body = await reader.readexactly(length) if length else b""
            form = parse_qs(body.decode("utf-8", "replace"))
            if agents is not None:
                robot = form.get("Robot", [""])[0]
                lock = agents.setdefault(robot, asyncio.Lock())
                async with lock:
                    await asyncio.sleep(latency)
            elif latency > 0:
                await asyncio.sleep(latency)
            payload = _reply_body(form)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(payload)).encode()
                + b"\r\n\r\n"
                + payload
            )
            await writer.drain()
            if not keep_alive:
                return
    except (asyncio.IncompleteReadError, ConnectionError):
        return
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def serve(
    port: int, latency_ms: float, max_seconds: float, *, serialize_agents: bool = False
) -> None:
    """
    Serve on 127.0.0.1:*port* (0 = ephemeral) for at most *max_seconds*.

    With *serialize_agents* each ``Robot`` value is served one request at a time, as the real
    gateway drives one messenger session per agent.
    """
    latency = latency_ms / 1000
    agents: dict[str, asyncio.Lock] | None = {} if serialize_agents else None

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _handle(reader, writer, latency, agents)

    server = await asyncio.start_server(handler, "127.0.0.1", port, backlog=1024, limit=_MAX_HEAD)
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"PORT {bound}\n")
    sys.stdout.flush()
    async with server:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.serve_forever(), max_seconds)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--serialize-agents", action="store_true")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(
                args.port, args.latency_ms, args.max_seconds, serialize_agents=args.serialize_agents
            )
        )


if __name__ == "__main__":
    main()
