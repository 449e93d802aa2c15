"""
A file send gate holds against its files (issue 19): a slot file or gate folder removed (or made
again) while a request holds the slot never lets a second request through, and a lock taken on a
file that was replaced meanwhile is taken again on the file at the path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.abc
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from miogram_async import FileSendGate, SendGateError
from miogram_async.testing import AccountConfig, FakeMioGram, TimeModel

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="flock, and /proc to find removed slots"),
]

SENDER = Path(__file__).with_name("gate_sender.py")
SECRET = "holding-gate-secret-51d0"
#: Seconds the fake takes for every request: the holder's send is in flight that long.
IN_FLIGHT = 2.5


async def start_sender(
    url: str, folder: Path, first: int, *, wait: bool = False
) -> tuple[anyio.abc.Process, BufferedByteReceiveStream]:
    """Start a process sending one message through the file gate in *folder*."""
    env = {**os.environ, "MIOGRAM_SECRET": SECRET, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [sys.executable, str(SENDER), url, str(folder), "holds", str(first), "1", "1"]
    process = await anyio.open_process(
        [*args, "wait"] if wait else args,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,
    )
    assert process.stdout is not None
    return process, BufferedByteReceiveStream(process.stdout)


async def line(lines: BufferedByteReceiveStream) -> str:
    """The next line a sender prints."""
    return (await lines.receive_until(b"\n", 1 << 16)).decode()


async def until_in_flight(fake: FakeMioGram) -> None:
    """Wait until the fake has a state-changing request in flight."""
    while fake.state_changing_in_flight == 0:  # noqa: ASYNC110 - polling the fake's state
        await anyio.sleep(0.01)


def slow_fake() -> FakeMioGram:
    """A fake whose every request takes `IN_FLIGHT` seconds."""
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    fake.time_model = TimeModel(base_latency=IN_FLIGHT)
    return fake


async def test_a_gate_folder_removed_and_made_again_lets_no_second_request_through(
    tmp_path: Path,
) -> None:
    """A process started after the folder was made again waits for the holder's request."""
    fake = slow_fake()
    folder = tmp_path / "gate"
    folder.mkdir()
    async with fake.serve() as url:
        with anyio.fail_after(60):
            holder, holder_lines = await start_sender(url, folder, 0)
            assert await line(holder_lines) == "ready"
            await until_in_flight(fake)
            shutil.rmtree(folder)  # as a cleaner would, while the holder's request is in flight
            folder.mkdir()
            newcomer, newcomer_lines = await start_sender(url, folder, 100)
            assert await line(newcomer_lines) == "ready"
            assert await line(holder_lines) == "done 1 unknown 0"
            assert await line(newcomer_lines) == "done 1 unknown 0"
            assert await holder.wait() == await newcomer.wait() == 0
    assert len(fake.deliveries) == 2
    assert fake.max_state_changing_in_flight == 1


async def test_a_slot_file_removed_while_held_lets_no_second_request_through(
    tmp_path: Path,
) -> None:
    """A process that used the gate before the slot file went waits for the holder too."""
    fake = slow_fake()
    async with fake.serve() as url:
        with anyio.fail_after(60):
            waiting, waiting_lines = await start_sender(url, tmp_path, 100, wait=True)
            assert await line(waiting_lines) == "ready"  # it took and gave back the slot once
            holder, holder_lines = await start_sender(url, tmp_path, 0)
            assert await line(holder_lines) == "ready"
            await until_in_flight(fake)
            (tmp_path / "holds.0.slot").unlink()
            assert waiting.stdin is not None
            await waiting.stdin.send(b"go\n")
            assert await line(holder_lines) == "done 1 unknown 0"
            assert await line(waiting_lines) == "done 1 unknown 0"
            assert await holder.wait() == await waiting.wait() == 0
    assert len(fake.deliveries) == 2
    assert fake.max_state_changing_in_flight == 1


async def test_a_lock_on_a_file_replaced_meanwhile_is_taken_again(tmp_path: Path) -> None:
    """The slot file replaced between opening and locking: the lock goes to the file at the path."""
    gate = FileSendGate(tmp_path, name="race")
    path = tmp_path / "race.0.slot"
    path.write_bytes(b"idle")
    opened = gate._open
    replaced: list[int] = []

    def racing_open(where: Path) -> tuple[int, bool]:
        found = opened(where)
        if not replaced:  # another process replaces the file right after it was opened
            replaced.append(os.fstat(found[0]).st_ino)
            path.unlink()
            path.write_bytes(b"idle")
        return found

    gate._open = racing_open  # type: ignore[method-assign,assignment]
    other = FileSendGate(tmp_path, name="race")
    async with gate.slot():
        (held,) = gate._by_task[anyio.get_current_task().id]
        assert os.fstat(held).st_ino == path.stat().st_ino != replaced[0]
        assert other._try_slots() is None  # the file at the path is the one locked
    async with other.slot():
        pass


async def test_a_user_gate_whose_folder_is_gone_says_so_and_sends_nothing(tmp_path: Path) -> None:
    """A named gate does not make its folder again: a SendGateError names the folder."""
    folder = tmp_path / "gone"
    folder.mkdir()
    gate = FileSendGate(folder, name="gone")
    shutil.rmtree(folder)
    with pytest.raises(SendGateError) as refused:
        await gate.acquire()
    assert refused.value.sent is False
    assert refused.value.location == str(folder)
    assert "its folder is gone" in str(refused.value)
    assert "nothing was sent" in str(refused.value)
