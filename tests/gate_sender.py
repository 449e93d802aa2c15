"""
Send single messages through a PostgreSQL send gate; the gate tests run this as a child.

    python tests/gate_sender.py BASE_URL GATE GATE_NAME FIRST COUNT TASKS

Sends ``SendMessage`` to COUNT numbers from +98935<FIRST...>, TASKS at a time, every one inside
``gate.slot()`` (through `GatedTransport`). GATE is a ``postgresql://`` URL (`PostgresSendGate`)
or a directory (`FileSendGate`). The secret comes from ``MIOGRAM_SECRET``. Prints
``ready`` once the gate is connected and ``done N`` (messages sent) at the end.
"""

from __future__ import annotations

import sys

import anyio
import httpx
from postgres_support import GatedTransport

from miogram_async import MioGram
from miogram_async._gate_file import FileSendGate
from miogram_async._gate_pg import PostgresSendGate

MESSAGE = "Gated hello"


async def _main(args: list[str]) -> int:
    base_url, gate_url, name = args[:3]
    first, count, tasks = (int(value) for value in args[3:6])
    gate: PostgresSendGate | FileSendGate
    if gate_url.startswith("postgresql://"):
        gate = PostgresSendGate(gate_url, name=name)
    else:
        gate = FileSendGate(gate_url, name=name)
    async with gate:
        async with gate.slot():  # connects, and proves the gate answers
            pass
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        transport = GatedTransport(httpx.AsyncHTTPTransport(), gate.slot)
        numbers = [f"+98935{first + i:07d}" for i in range(count)]
        sent = 0
        async with MioGram(base_url=base_url, transport=transport, max_retries=0) as client:

            async def worker(mine: list[str]) -> None:
                nonlocal sent
                for number in mine:
                    await client.send_message(number, MESSAGE)
                    sent += 1

            async with anyio.create_task_group() as group:
                for index in range(tasks):
                    group.start_soon(worker, numbers[index::tasks])
    sys.stdout.write(f"done {sent}\n")
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(_main, sys.argv[1:7]))
