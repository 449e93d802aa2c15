"""
Send single messages through a cross-process send gate; the gate tests run this as a child.

    python tests/gate_sender.py BASE_URL GATE GATE_NAME FIRST COUNT TASKS [wait]

Sends ``SendMessage`` to COUNT numbers from +98935<FIRST...>, TASKS at a time, through
``MioGram(send_gate=...)``. GATE is a ``postgresql://`` URL (`PostgresSendGate`) or a directory
(`FileSendGate`). The secret comes from ``MIOGRAM_SECRET``. Prints ``ready`` once the gate answers
(with ``wait``: then waits for a line on stdin before sending) and ``done N unknown U`` at the end:
N messages sent, U of them answered 999 (the front gave up; the gateway may deliver, E32).
"""

from __future__ import annotations

import sys

import anyio
import anyio.to_thread

from miogram_async import FileSendGate, MioGram, NoResponseError, PostgresSendGate

MESSAGE = "Gated hello"


async def _main(args: list[str]) -> int:
    base_url, gate_url, name = args[:3]
    first, count, tasks = (int(value) for value in args[3:6])
    gate: PostgresSendGate | FileSendGate
    if gate_url.startswith("postgresql://"):
        gate = PostgresSendGate(gate_url, name=name)
    else:
        gate = FileSendGate(gate_url, name=name)
    numbers = [f"+98935{first + i:07d}" for i in range(count)]
    sent = unknown = 0
    async with gate:
        async with gate.slot():  # connects, and proves the gate answers
            pass
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        if args[6:] == ["wait"]:
            await anyio.to_thread.run_sync(sys.stdin.readline)
        async with MioGram(base_url=base_url, send_gate=gate, max_retries=0) as client:

            async def worker(mine: list[str]) -> None:
                nonlocal sent, unknown
                for number in mine:
                    try:
                        await client.send_message(number, MESSAGE)
                    except NoResponseError:
                        unknown += 1
                    sent += 1

            async with anyio.create_task_group() as group:
                for index in range(tasks):
                    group.start_soon(worker, numbers[index::tasks])
    sys.stdout.write(f"done {sent} unknown {unknown}\n")
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(_main, sys.argv[1:]))
