"""
Two gates one after the other (a PostgreSQL campaign's worker: its host's gate, then the
campaign's): a process that queues at the second holds the first without sending, and a
process killed there must leave no dead holder behind it (E32, E33).
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from miogram_async import FileSendGate, LocalSendGate, SendGateError
from miogram_async._gates.stack import StackedSendGate


async def test_the_first_gates_slot_reads_busy_only_once_both_are_held(tmp_path: Path) -> None:
    """Queued at the second gate, the first's slot file is held but not marked busy."""
    outer = FileSendGate(tmp_path, dead_holder_wait=30.0)
    inner = LocalSendGate()
    await inner.acquire()  # another worker's request is in flight
    slot = tmp_path / "default.0.slot"
    admitted, done = anyio.Event(), anyio.Event()
    stacked = StackedSendGate(outer, inner)

    async def worker() -> None:
        await stacked.acquire()
        admitted.set()
        await done.wait()
        await stacked.release(0.0)

    async with anyio.create_task_group() as group:
        group.start_soon(worker)
        with anyio.fail_after(5):
            while not slot.exists():  # noqa: ASYNC110 - polling the file system
                await anyio.sleep(0.01)
        await anyio.sleep(0.1)  # queued at the inner gate, holding the outer slot
        assert not admitted.is_set()
        assert slot.read_bytes() != b"busy"  # killed now, it would leave no dead holder
        await inner.release(0.0)
        with anyio.fail_after(5):
            await admitted.wait()
        assert slot.read_bytes() == b"busy"  # about to send: a death now is a dead holder
        done.set()
    assert slot.read_bytes().startswith(b"idle")
    assert outer.taken_from_the_dead == 0


async def test_a_second_gate_that_fails_gives_the_first_back_unmarked(tmp_path: Path) -> None:
    """The inner gate cannot be used: the outer slot is given back idle, nothing sent."""

    class Broken(LocalSendGate):
        async def acquire(self) -> float:
            raise SendGateError("send gate 'broken' cannot be used", "broken", "nowhere")

    outer = FileSendGate(tmp_path, dead_holder_wait=30.0)
    with pytest.raises(SendGateError):
        await StackedSendGate(outer, Broken()).acquire()
    assert (tmp_path / "default.0.slot").read_bytes().startswith(b"idle")
    with anyio.fail_after(5):
        assert await outer.acquire() == 0.0  # no dead holder to wait for
    await outer.release(0.0)
    assert outer.taken_from_the_dead == 0
