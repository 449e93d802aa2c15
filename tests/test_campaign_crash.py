"""
Crash safety of campaigns: a runner process is killed (SIGKILL) or interrupted (SIGINT) mid-send
against the loopback fake, then resumed; the fake's delivery log proves nothing was sent twice.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import io
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.abc
import attrs
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from miogram_async import MioGram
from miogram_async.campaign import Campaign, CampaignError, CampaignInUseError, NumberState
from miogram_async.campaign._model import FINAL_STATES
from miogram_async.testing import (
    AccountConfig,
    FakeMioGram,
    FaultKind,
    FaultRule,
    Faults,
    NumberBook,
    TimeModel,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and SIGINT semantics are POSIX"),
]

RUNNER = Path(__file__).with_name("campaign_runner.py")
SECRET = "crash-secret-41d8e2"
MESSAGE = "Crash-safe hello"
VALID = [f"+98935{i:07d}" for i in range(400)]
# Invalid items and repeats (also in another spelling) mixed into the input.
INPUTS = [
    *VALID[:200],
    "not-a-number",
    VALID[3],
    "0098 935 000 0007",
    *VALID[200:],
    "+12",
    VALID[0],
]
EXIT_INTERRUPTED = 130


@pytest.fixture(autouse=True)
def short_front_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Plan as against a service 200 times faster (the runners and the resumes alike): a run that
    takes the gate after a killed holder waits for the gateway a share of this (E32, E49).
    """
    monkeypatch.setenv("MIOGRAM_FRONT_WAIT", "0.3")


def make_fake() -> FakeMioGram:
    """Two agents, 80% of numbers exist, and sends take time per number (a run lasts seconds)."""
    fake = FakeMioGram(
        AccountConfig(
            secret=SECRET, agents=("Agent1", "Agent2"), numbers=NumberBook.ratio(0.8, seed=3)
        )
    )
    fake.time_model = TimeModel(base_latency=0.02, per_number=0.01)
    return fake


async def start_runner(
    journal: Path, url: str
) -> tuple[anyio.abc.Process, BufferedByteReceiveStream]:
    """Start the runner on *journal* and wait until it has the journal open."""
    env = {**os.environ, "MIOGRAM_SECRET": SECRET}
    process = await anyio.open_process(
        [sys.executable, str(RUNNER), str(journal), url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    lines = BufferedByteReceiveStream(process.stdout)
    assert await lines.receive_until(b"\n", 1000) == b"running"
    return process, lines


async def wait_until_idle(fake: FakeMioGram) -> None:
    """Let requests a dead runner left behind finish on the server before the report is read."""
    # The fake offers no event for "idle": poll until no request is in flight and none arrived
    # for a moment (a request may still sit in the socket buffer), bounded by the deadline.
    with anyio.fail_after(10):
        seen = -1
        while fake.in_flight or len(fake.requests) != seen:
            seen = len(fake.requests)
            await anyio.sleep(0.05)


def check_outcomes(journal: Path, fake: FakeMioGram) -> dict[str, str]:
    """Assert the journal and the fake agree, with every input once; return number -> state."""
    deliveries = collections.Counter(delivery.number for delivery in fake.deliveries)
    assert [number for number, times in deliveries.items() if times > 1] == []
    with Campaign.open(journal) as campaign:
        out = io.StringIO()
        campaign.export(out)
        status = campaign.status()
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [int(row["seq"]) for row in rows] == list(range(1, len(INPUTS) + 1))
    assert {NumberState(row["state"]) for row in rows} <= FINAL_STATES
    assert status.complete
    assert status.by_state[NumberState.INVALID] == 2
    assert status.by_state[NumberState.DUPLICATE] == 3
    delivered = {row["number"] for row in rows if row["state"] == "delivered"}
    assert delivered == set(deliveries)
    assert status.delivered == len(fake.deliveries)
    # Undelivered only from a reply that said so: the report never makes a number undelivered.
    undelivered = {row["number"] for row in rows if row["state"] == "undelivered"}
    assert undelivered <= {delivery.number for delivery in fake.undelivered}
    assert SECRET.encode() not in journal.read_bytes()
    return {row["number"]: row["state"] for row in rows if row["number"]}


async def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    """Killed four times at seeded random points and resumed: each number sent at most once."""
    journal = tmp_path / "campaign.db"
    Campaign.create(journal, INPUTS, message=MESSAGE, chunk_size=20, robots="all").close()
    fake = make_fake()
    rng = random.Random(20261126)
    killed_alive = 0
    async with fake.serve() as url:
        for _ in range(4):
            process, _lines = await start_runner(journal, url)
            await anyio.sleep(rng.uniform(0.1, 0.6))
            if process.returncode is None:
                killed_alive += 1
            process.kill()
            with anyio.fail_after(10):
                await process.wait()
            await process.aclose()
            await wait_until_idle(fake)
        with Campaign.open(journal) as campaign:
            interrupted = campaign.status()
            async with MioGram(secret=SECRET, base_url=url, max_retries=0) as client:
                summary = await campaign.run(client)
    assert killed_alive >= 2
    assert not interrupted.complete
    assert summary.complete
    # Whatever the last kill left in doubt or unknown was looked up in the report, not re-sent.
    unsure = interrupted.in_doubt + interrupted.by_state[NumberState.UNKNOWN]
    assert sum(summary.reconciled.values()) == unsure
    states = check_outcomes(journal, fake)
    # A number never reached by a request stays at zero deliveries; every valid input was decided.
    assert len(states) == len(set(VALID))


async def test_sigint_stops_gracefully_then_resume(tmp_path: Path) -> None:
    """SIGINT lets in-flight chunks finish and journals them (none in doubt); a resume completes."""
    journal = tmp_path / "campaign.db"
    Campaign.create(journal, INPUTS, message=MESSAGE, chunk_size=20, robots="all").close()
    fake = make_fake()
    async with fake.serve() as url:
        process, lines = await start_runner(journal, url)
        assert (await lines.receive_until(b"\n", 1000)).startswith(b"chunk")
        process.send_signal(signal.SIGINT)
        with anyio.fail_after(30):
            await process.wait()
        await process.aclose()
        assert process.returncode == EXIT_INTERRUPTED
        await wait_until_idle(fake)
        with Campaign.open(journal) as campaign:
            stopped = campaign.status()
            async with MioGram(secret=SECRET, base_url=url, max_retries=0) as client:
                summary = await campaign.run(client)
    assert stopped.by_state[NumberState.SENDING] == 0
    assert stopped.chunks == stopped.chunks_done
    assert stopped.delivered == len(fake.deliveries) - (
        summary.status.delivered - stopped.delivered
    )
    assert stopped.pending > 0
    assert summary.reconciled == {}
    assert summary.complete
    check_outcomes(journal, fake)


async def kill_mid_run(journal: Path, url: str) -> None:
    """Start the runner on *journal*, let it send a few chunks, and SIGKILL it."""
    process, lines = await start_runner(journal, url)
    for _ in range(3):
        assert (await lines.receive_until(b"\n", 1000)).startswith(b"chunk")
    process.kill()
    with anyio.fail_after(10):
        await process.wait()
    await process.aclose()


async def test_a_journal_copied_after_sigkill_never_sends_twice(tmp_path: Path) -> None:
    """Killed mid-run: the file copied alone is refused; copied with its -wal it resumes exactly."""
    journal = tmp_path / "campaign.db"
    Campaign.create(journal, INPUTS, message=MESSAGE, chunk_size=20, robots="all").close()
    fake = make_fake()
    async with fake.serve() as url:
        await kill_mid_run(journal, url)
        await wait_until_idle(fake)
        sent_before = len(fake.requests)
        assert sent_before > 0
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        alone = elsewhere / "campaign.db"
        shutil.copyfile(journal, alone)
        with pytest.raises(CampaignError, match="-wal"):
            Campaign.open(alone)
        with pytest.raises(CampaignError, match="-wal"):
            Campaign.open(alone, read_only=True)
        assert len(fake.requests) == sent_before
        # The documented way: the file and its -wal together (or a clean close first).
        shutil.copyfile(f"{journal}-wal", f"{alone}-wal")
        with Campaign.open(alone) as campaign:
            async with MioGram(secret=SECRET, base_url=url, max_retries=0) as client:
                summary = await campaign.run(client)
    assert summary.complete
    assert not list(elsewhere.glob("*-wal"))
    assert not list(elsewhere.glob("*-shm"))
    check_outcomes(alone, fake)


async def test_overwrite_is_refused_while_another_process_runs(tmp_path: Path) -> None:
    """create(overwrite=True) while a runner process holds the journal: refused, nothing doubled."""
    journal = tmp_path / "campaign.db"
    Campaign.create(journal, INPUTS, message=MESSAGE, chunk_size=20, robots="all").close()
    fake = make_fake()
    async with fake.serve() as url:
        process, lines = await start_runner(journal, url)
        assert (await lines.receive_until(b"\n", 1000)).startswith(b"chunk")
        with pytest.raises(CampaignInUseError, match="in use"):
            Campaign.create(journal, INPUTS, message=MESSAGE, overwrite=True)
        with Campaign.open(journal, read_only=True) as reader:
            watching = reader.status()
        with anyio.fail_after(60):
            await process.wait()
        await process.aclose()
        assert process.returncode == 0
    assert watching.last_run == "running"
    assert watching.total == len(INPUTS)
    check_outcomes(journal, fake)


def copy_at_a_kill_point(journal: Path, elsewhere: Path) -> bool:
    """
    Copy the journal of a killed run, if it left a -wal: alone the copy is refused, with its -wal
    it reads exactly as the original. Returns whether there was a -wal to copy.
    """
    wal = Path(f"{journal}-wal")
    if not wal.exists():
        return False
    alone = elsewhere / "alone.db"
    shutil.copyfile(journal, alone)
    with pytest.raises(CampaignError, match="-wal"):
        Campaign.open(alone)
    paired = elsewhere / "paired.db"
    shutil.copyfile(journal, paired)
    shutil.copyfile(wal, f"{paired}-wal")
    with Campaign.open(journal, read_only=True) as original:
        at_kill = original.status()
    with Campaign.open(paired, read_only=True) as copy:
        assert copy.status() == attrs.evolve(at_kill, path=str(paired))
    return True


async def test_twenty_sigkills_with_faults_and_copies_at_a_kill_point(tmp_path: Path) -> None:
    """20 seeded kill points with faults on: no double send; copies at a kill point stay exact."""
    journal = tmp_path / "campaign.db"
    Campaign.create(journal, INPUTS, message=MESSAGE, chunk_size=10, robots="all").close()
    fake = make_fake()
    fake.time_model = TimeModel(base_latency=0.02, per_number=0.015)
    fake.faults = Faults.of(
        FaultRule(kind=FaultKind.LOST_REPLY, funcs="SendMessageMass", rate=0.1),
        FaultRule(kind=FaultKind.DROP, funcs="SendMessageMass", rate=0.1),
        FaultRule(kind=FaultKind.TRUNCATED_JSON, funcs="SendMessageMass", rate=0.05),
        FaultRule(kind=FaultKind.HTTP_ERROR_AFTER, funcs="SendMessageMass", rate=0.05, status=504),
        seed=11,
    )
    rng = random.Random(20261201)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    killed_alive = 0
    copied = False
    async with fake.serve() as url:
        for kill in range(20):
            process, _lines = await start_runner(journal, url)
            await anyio.sleep(rng.uniform(0.05, 0.3))
            with contextlib.suppress(ProcessLookupError):  # it may have finished already
                process.kill()
            with anyio.fail_after(10):
                await process.wait()
            killed = process.returncode == -signal.SIGKILL
            killed_alive += killed
            await process.aclose()
            await wait_until_idle(fake)
            if killed and kill >= 9 and not copied:
                copied = copy_at_a_kill_point(journal, elsewhere)
        fake.faults = Faults()
        with Campaign.open(journal) as campaign:
            async with MioGram(secret=SECRET, base_url=url, max_retries=0) as client:
                summary = await campaign.run(client)
    assert killed_alive >= 10
    assert copied
    assert summary.complete
    check_outcomes(journal, fake)
