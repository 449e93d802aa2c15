"""The file send gate: one state-changing request in flight across the processes of one host."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from miogram_async import FileSendGate, ValidationError
from miogram_async.testing import AccountConfig, FakeMioGram, TimeModel

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")

SENDER = Path(__file__).with_name("gate_sender.py")
SECRET = "file-gate-secret-2b8f"
PROCESSES = 4
PER_PROCESS = 15


async def test_four_processes_never_have_two_sends_in_flight(tmp_path: Path) -> None:
    """Four processes, three tasks each, through one file gate: never two sends at once."""
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    fake.time_model = TimeModel(base_latency=0.01, per_number=0.005)
    env = {**os.environ, "MIOGRAM_SECRET": SECRET, "PYTHONPATH": os.pathsep.join(sys.path)}
    async with fake.serve() as url:
        processes = [
            await anyio.open_process(
                [
                    sys.executable,
                    str(SENDER),
                    url,
                    str(tmp_path),
                    "acct",
                    str(i * 1000),
                    str(PER_PROCESS),
                    "3",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=None,
            )
            for i in range(PROCESSES)
        ]
        outputs: list[str] = []
        with anyio.fail_after(120):
            for process in processes:
                assert process.stdout is not None
                chunks = [chunk async for chunk in process.stdout]
                assert await process.wait() == 0
                outputs.append(b"".join(chunks).decode())
    assert all(f"done {PER_PROCESS}" in out for out in outputs)
    assert len(fake.deliveries) == PROCESSES * PER_PROCESS
    assert fake.max_state_changing_in_flight == 1


async def test_a_slot_its_holder_died_in_is_waited_out(tmp_path: Path) -> None:
    """A slot file left 'busy' by a holder whose lock is gone costs the next taker a wait, once."""
    gate = FileSendGate(tmp_path, name="acct", dead_holder_wait=0.01)
    fd = os.open(tmp_path / "acct.0.slot", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, b"busy", 0)
    entered = anyio.Event()
    async with anyio.create_task_group() as group:

        async def take() -> None:
            async with gate.slot():
                entered.set()

        group.start_soon(take)
        await anyio.sleep(0.1)
        assert not entered.is_set()  # held by "another process"
        os.close(fd)  # it dies: the kernel drops its lock, the file still says busy
        with anyio.fail_after(10):
            await entered.wait()
    assert gate.taken_from_the_dead == 1
    async with gate.slot():
        pass
    assert gate.taken_from_the_dead == 1


async def test_a_limit_of_two_lets_two_in_and_no_third(tmp_path: Path) -> None:
    """limit=2: two holders at once across gates, a third waits."""
    gates = [FileSendGate(tmp_path, name="two", limit=2) for _ in range(3)]
    inside = 0
    most = 0
    async with anyio.create_task_group() as group:

        async def hold(gate: FileSendGate) -> None:
            nonlocal inside, most
            for _ in range(5):
                async with gate.slot():
                    inside += 1
                    most = max(most, inside)
                    await anyio.sleep(0.02)
                    inside -= 1

        for gate in gates:
            group.start_soon(hold, gate)
    assert most == 2


def test_bad_file_gate_settings_are_named(tmp_path: Path) -> None:
    """A missing directory, a name with a slash or a limit below 1 raise ValidationError."""
    with pytest.raises(ValidationError, match="directory"):
        FileSendGate(tmp_path / "missing")
    with pytest.raises(ValidationError, match="name"):
        FileSendGate(tmp_path, name="../x")
    with pytest.raises(ValidationError, match="limit"):
        FileSendGate(tmp_path, limit=0)
