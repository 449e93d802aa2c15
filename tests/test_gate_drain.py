"""
The drain after an unknown outcome (docs/service.md E32) crosses processes: a request that got 999
keeps a shared send gate (PostgreSQL or file) closed for the others while the gateway may still
deliver.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.abc
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from miogram_async import (
    FileSendGate,
    LocalSendGate,
    MioGram,
    NoResponseError,
    PostgresSendGate,
    SendGate,
)
from miogram_async.testing import AccountConfig, FakeMioGram, TimeModel

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock, the loopback fake")

SENDER = Path(__file__).with_name("gate_sender.py")
SECRET = "drain-secret-5d21"
#: The gateway works this long on one number; the front answers 999 long before (E32).
#: Long enough that the other process, once told to go, reaches the gateway while it still works.
WORK = 1.0
FRONT_WAIT = 0.05
#: The client's drain per number: the gate stays closed until 1.3 s after the request's start,
#: past the gateway's work on it.
DRAIN = 1.3


def gate_location(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the gate of *kind* lives: the test PostgreSQL server or a directory."""
    if kind == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return str(tmp_path)


def open_gate(kind: str, location: str, name: str) -> PostgresSendGate | FileSendGate:
    """A gate of *kind* at *location*."""
    if kind == "postgres":
        return PostgresSendGate(location, name=name)
    return FileSendGate(location, name=name)


async def start_waiting_sender(
    base_url: str, location: str, name: str
) -> tuple[anyio.abc.Process, BufferedByteReceiveStream]:
    """A child that connects to the gate, says ``ready`` and sends one message on a stdin line."""
    env = {**os.environ, "MIOGRAM_SECRET": SECRET, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = await anyio.open_process(
        [sys.executable, str(SENDER), base_url, location, name, "7000", "1", "1", "wait"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,
    )
    assert process.stdout is not None
    lines = BufferedByteReceiveStream(process.stdout)
    assert await lines.receive_until(b"\n", 1 << 16) == b"ready"
    return process, lines


@pytest.mark.parametrize("drain", [DRAIN, 0.0], ids=["drain", "no-drain"])
@pytest.mark.parametrize("kind", ["postgres", "file"])
async def test_a_drain_set_by_one_process_holds_back_another(
    kind: str, drain: float, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """
    This process gets 999 on a send; a second process, told to send right after, passes the gate
    only once the gateway finished the first (never two at the gateway). Without the drain it
    overlaps the gateway's work and breaks the credit file (E33): the check can fail.
    """
    location = gate_location(kind, request, tmp_path)
    name = f"drain-{kind}-{int(drain * 10)}"
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    fake.time_model = TimeModel(per_number=WORK, front_wait=FRONT_WAIT)
    async with fake.serve() as base_url:
        with anyio.fail_after(60):
            other, lines = await start_waiting_sender(base_url, location, name)
            async with (
                open_gate(kind, location, name) as gate,
                MioGram(
                    SECRET, base_url=base_url, send_gate=gate, gateway_drain=drain, max_retries=0
                ) as client,
            ):
                with pytest.raises(NoResponseError):
                    await client.send_message("+989350000001", "first")
            assert other.stdin is not None
            await other.stdin.send(b"go\n")
            assert await lines.receive_until(b"\n", 1 << 16) == b"done 1 unknown 1"
            assert await other.wait() == 0
            await fake.wait_idle()
    first, second = (r for r in fake.requests if r.func == "SendMessage")
    assert first.elements["Phone"].endswith("0000001")
    assert second.elements["Phone"].endswith("7000")
    assert len(fake.deliveries) == 2  # the 999'd message was delivered all the same (E32)
    if drain:
        assert fake.max_gateway_in_flight == 1
        assert not fake.credit_file_corrupted
    else:
        assert fake.max_gateway_in_flight == 2
        assert fake.credit_file_corrupted


def test_the_gates_are_send_gates(tmp_path: Path) -> None:
    """The cross-process gates and the local one satisfy the SendGate protocol."""
    assert isinstance(LocalSendGate(), SendGate)
    assert isinstance(FileSendGate(tmp_path), SendGate)
    assert isinstance(PostgresSendGate("postgresql://app@db.invalid/x"), SendGate)


def test_without_psycopg_the_postgres_gate_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Constructing PostgresSendGate without psycopg says which extra to install."""
    monkeypatch.setitem(sys.modules, "psycopg", None)  # "import psycopg" raises ImportError
    with pytest.raises(Exception, match=r"pip install 'miogram-async\[postgres\]'") as caught:
        PostgresSendGate("postgresql://app@db.invalid/x")
    assert type(caught.value).__name__ == "ValidationError"


async def test_a_file_gate_keeps_a_drain_in_its_slot_file(tmp_path: Path) -> None:
    """release(busy_for) writes the reopen time; another gate on the directory waits for it."""
    first = FileSendGate(tmp_path, name="acct")
    second = FileSendGate(tmp_path, name="acct")
    assert await first.acquire() == 0.0
    assert (tmp_path / "acct.0.slot").read_bytes() == b"busy"
    await first.release(30.0)
    state = (tmp_path / "acct.0.slot").read_bytes().split()
    assert state[0] == b"idle"
    reopen_at = float(state[1])
    with anyio.move_on_after(0.2) as waiting:
        await second.acquire()
    assert waiting.cancelled_caught  # still closed
    # A cancelled wait leaves the drain for the next taker, not an open slot.
    assert (tmp_path / "acct.0.slot").read_bytes().split() == [b"idle", repr(reopen_at).encode()]
    (tmp_path / "acct.0.slot").write_bytes(b"idle")  # the drain is over
    assert await second.acquire() == 0.0
    await second.release(0.0)
    assert (tmp_path / "acct.0.slot").read_bytes() == b"idle"


async def test_a_postgres_gate_keeps_a_drain_on_the_server_clock(postgres_url: str) -> None:
    """release(busy_for) stores now() + busy_for in the slot row; another gate waits for it."""
    import psycopg  # noqa: PLC0415

    from miogram_async._gates.postgres import gate_key  # noqa: PLC0415

    key = gate_key("acct-drain", 0)
    async with (
        PostgresSendGate(postgres_url, name="acct-drain") as first,
        PostgresSendGate(postgres_url, name="acct-drain") as second,
    ):
        assert await first.acquire() == 0.0
        await first.release(30.0)
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT busy, extract(epoch FROM reopen_at - now())::float8 "
                "FROM miogram_gate_slots WHERE key = %s",
                (key,),
            ).fetchone()
        assert row is not None
        busy, left = row
        assert busy is False
        assert 0 < left <= 30
        with anyio.move_on_after(0.2) as waiting:
            await second.acquire()
        assert waiting.cancelled_caught  # still closed
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("UPDATE miogram_gate_slots SET reopen_at = now() WHERE key = %s", (key,))
        assert await second.acquire() == 0.0
        await second.release(0.0)
