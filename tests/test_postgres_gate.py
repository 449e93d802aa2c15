"""The PostgreSQL send gate: one state-changing request in flight across processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import psycopg
import pytest

from miogram_async import APIConnectionError, PostgresSendGate, ValidationError
from miogram_async._gates.postgres import GATE_LOCK_SPACE, gate_key
from miogram_async.testing import AccountConfig, FakeMioGram, TimeModel

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake's loopback server")

SENDER = Path(__file__).with_name("gate_sender.py")
SECRET = "gate-secret-0c4e7d"
PROCESSES = 4
PER_PROCESS = 15


async def test_four_processes_never_have_two_sends_in_flight(postgres_url: str) -> None:
    """Four processes, three tasks each, through one gate: the fake never sees two sends at once."""
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
                    postgres_url,
                    "acct-4",
                    str(i * 1000),
                    str(PER_PROCESS),
                    "3",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for i in range(PROCESSES)
        ]
        outputs: list[str] = []
        with anyio.fail_after(120):
            for process in processes:
                assert process.stdout is not None
                chunks = [chunk async for chunk in process.stdout]
                await process.wait()
                assert process.returncode == 0, process.stderr
                outputs.append(b"".join(chunks).decode())
    assert all(f"done {PER_PROCESS}" in out for out in outputs)
    assert len(fake.deliveries) == PROCESSES * PER_PROCESS
    assert fake.max_state_changing_in_flight == 1


async def test_a_slot_is_held_until_released_and_a_dead_session_frees_it(
    postgres_url: str,
) -> None:
    """
    With limit 1 a second gate waits; closing the holder's connection frees the slot, and the
    taker knows its holder died in it (and waits out its request).
    """
    first = PostgresSendGate(postgres_url, name="acct-dead")
    second = PostgresSendGate(postgres_url, name="acct-dead", dead_holder_wait=0.05)
    entered = anyio.Event()
    try:
        async with first.slot(), anyio.create_task_group() as group:

            async def wait_for_slot() -> None:
                async with second.slot():
                    entered.set()

            group.start_soon(wait_for_slot)
            await anyio.sleep(0.2)
            assert not entered.is_set()
            await first.aclose()  # as a process that dies: its session ends
            with anyio.fail_after(10):
                await entered.wait()
        assert second.taken_from_the_dead == 1
        async with second.slot():  # given back normally: no wait for a dead holder this time
            pass
        assert second.taken_from_the_dead == 1
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_limit_of_two_lets_two_in_and_no_third(postgres_url: str) -> None:
    """limit=2: two holders at once across gates, a third waits."""
    gates = [PostgresSendGate(postgres_url, name="acct-two", limit=2) for _ in range(3)]
    inside = 0
    most = 0
    try:
        async with anyio.create_task_group() as group:

            async def hold(gate: PostgresSendGate) -> None:
                nonlocal inside, most
                for _ in range(5):
                    async with gate.slot():
                        inside += 1
                        most = max(most, inside)
                        await anyio.sleep(0.02)
                        inside -= 1

            for gate in gates:
                group.start_soon(hold, gate)
    finally:
        for gate in gates:
            await gate.aclose()
    assert most == 2


async def test_a_cancelled_wait_leaves_no_lock_behind(postgres_url: str) -> None:
    """A task cancelled while waiting for a slot holds no advisory lock afterwards."""
    holder = PostgresSendGate(postgres_url, name="acct-cancel")
    waiter = PostgresSendGate(postgres_url, name="acct-cancel")
    try:
        async with holder.slot():
            with anyio.move_on_after(0.2):
                async with waiter.slot():
                    pytest.fail("entered a slot another gate holds")
        async with waiter.slot():  # free again, and the waiter can take it
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND classid::bigint = %s AND objid::bigint = %s AND granted",
                    (GATE_LOCK_SPACE, gate_key("acct-cancel", 0) & 0xFFFFFFFF),
                ).fetchone()
            assert row == (1,)
    finally:
        await holder.aclose()
        await waiter.aclose()


async def test_an_unreachable_gate_database_says_nothing_was_sent() -> None:
    """A gate whose database does not answer raises APIConnectionError with sent=False."""
    gate = PostgresSendGate("postgresql://me:pw-77a@127.0.0.1:1/x?connect_timeout=2")
    with pytest.raises(APIConnectionError) as caught:
        async with gate.slot():
            pytest.fail("entered a slot of an unreachable gate")
    assert caught.value.sent is False
    assert "pw-77a" not in str(caught.value)
    assert "pw-77a" not in repr(gate)
    await gate.aclose()


def test_bad_gate_settings_are_named() -> None:
    """A limit below 1, an empty name or a bad poll raise ValidationError naming the setting."""
    with pytest.raises(ValidationError, match="limit"):
        PostgresSendGate("postgresql://x/y", limit=0)
    with pytest.raises(ValidationError, match="name"):
        PostgresSendGate("postgresql://x/y", name="")
    with pytest.raises(ValidationError, match="poll"):
        PostgresSendGate("postgresql://x/y", poll=0)
