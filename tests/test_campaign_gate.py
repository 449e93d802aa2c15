"""
The send gate of a campaign's runs (issue 19): the workers of a PostgreSQL campaign share a gate
in its database by default, the campaign records which gate its runs pass, and a worker with
another gate is refused; a chunk is in doubt only once the gate let it through, so a worker that
dies or is stopped while it waits at the gate leaves its numbers pending.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import psycopg
import pytest
from postgres_support import campaign_url

from miogram_async import FileSendGate, MassSendError, MioGram, PostgresSendGate
from miogram_async._gates.default import machine_gate
from miogram_async._gates.postgres import gate_key
from miogram_async.campaign import Campaign, CampaignError
from miogram_async.testing import AccountConfig, CreditsConfig, FakeMioGram

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock, POSIX signals")

SECRET = "campaign-gate-secret-4c2e"
MESSAGE = "Hello through one gate"
NUMBERS = [f"+98915{i:07d}" for i in range(120)]
MIOGRAM = (sys.executable, "-m", "miogram_async")


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake account where every number exists."""
    return FakeMioGram(AccountConfig(secret=SECRET))


def mass_requests(fake: FakeMioGram) -> int:
    """How many Mass sends the fake received."""
    return sum(1 for request in fake.requests if request.func == "SendMessageMass")


def gate_row(database: str) -> tuple[bool] | None:
    """The row of the database's gate 'default', slot 0: (busy,)."""
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute(
            "SELECT busy FROM miogram_gate_slots WHERE key = %s", (gate_key("default", 0),)
        ).fetchone()
    return None if row is None else (bool(row[0]),)


async def test_a_postgres_campaign_records_its_own_gate_and_its_runs_pass_it(
    postgres_url: str, fake: FakeMioGram
) -> None:
    """A worker naming no gate passes the campaign database's gate, recorded without a password."""
    with_password = postgres_url.replace("postgres:@", "postgres:pw-in-url-77@")
    url = campaign_url(with_password, "own-gate")
    with Campaign.create(url, NUMBERS[:30], message=MESSAGE, chunk_size=10) as campaign:
        async with fake.client() as client:
            summary = await campaign.run(client)
    assert summary.status.delivered == 30
    assert gate_row(postgres_url) == (False,)  # taken by the run's chunks, given back idle
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT value FROM miogram_meta WHERE campaign = 'own-gate' AND key = 'send_gate'"
        ).fetchone()
    assert row is not None
    recorded = str(row[0])
    assert recorded.startswith("postgresql://")
    assert recorded.endswith("gate 'default'")
    assert "pw-in-url-77" not in recorded
    assert fake.max_state_changing_in_flight == 1


async def first_run_stopped(url: str, **options: object) -> None:
    """A first worker runs the campaign until the service refuses it for credit: nothing sent."""
    broke = FakeMioGram(AccountConfig(secret=SECRET, credits=CreditsConfig(message=0)))
    with Campaign.open(url) as campaign:
        async with broke.client(**options) as client:  # type: ignore[arg-type]
            with pytest.raises(MassSendError):
                await campaign.run(client)


async def test_a_worker_with_another_gate_is_refused_saying_why_and_how_to_join(
    postgres_url: str, fake: FakeMioGram, tmp_path: Path
) -> None:
    """A worker naming a folder gate, on a campaign whose runs pass its own gate, sends nothing."""
    url = campaign_url(postgres_url, "refused")
    Campaign.create(url, NUMBERS[:20], message=MESSAGE, chunk_size=10).close()
    await first_run_stopped(url)  # records the campaign's own gate
    with Campaign.open(url) as campaign:
        async with fake.client(send_gate=FileSendGate(tmp_path)) as other:
            with pytest.raises(CampaignError) as refused:
                await campaign.run(other)
        assert campaign.status().pending == 20
    said = str(refused.value)
    assert "campaign's runs pass" in said
    assert "E33" in said
    assert "Nothing was sent" in said
    assert "without --send-gate and MIOGRAM_SEND_GATE" in said
    assert fake.requests == []


async def test_a_worker_naming_the_campaigns_database_joins_it(
    postgres_url: str, fake: FakeMioGram
) -> None:
    """A gate naming the campaign's own database is the same gate: the worker runs."""
    url = campaign_url(postgres_url, "joined")
    Campaign.create(url, NUMBERS[:40], message=MESSAGE, chunk_size=10).close()
    await first_run_stopped(url)
    async with PostgresSendGate(postgres_url) as gate:
        with Campaign.open(url) as campaign:
            async with fake.client(send_gate=gate) as named:
                summary = await campaign.run(named)
    assert summary.status.delivered == 40


async def test_a_gate_named_by_the_first_worker_is_kept_for_the_others(
    postgres_url: str, fake: FakeMioGram, tmp_path: Path
) -> None:
    """The first run named a folder gate: a worker naming none is told to name that one."""
    url = campaign_url(postgres_url, "named-first")
    Campaign.create(url, NUMBERS[:20], message=MESSAGE, chunk_size=10).close()
    with Campaign.open(url) as campaign:
        async with fake.client(send_gate=FileSendGate(tmp_path)) as named:
            await campaign.run(named)
        async with fake.client() as unnamed:
            with pytest.raises(CampaignError) as refused:
                await campaign.run(unnamed)
    said = str(refused.value)
    assert f":{tmp_path} gate 'default'" in said
    assert "give this worker that gate" in said


async def test_chunks_queued_at_the_gate_are_not_in_doubt_and_stay_pending_when_stopped(
    postgres_url: str, fake: FakeMioGram
) -> None:
    """Three workers queued at one held gate: nothing in doubt; stopped, every number pending."""
    url = campaign_url(postgres_url, "queued")
    Campaign.create(url, NUMBERS, message=MESSAGE, chunk_size=40).close()
    async with PostgresSendGate(postgres_url) as held:
        await held.acquire()  # another process's request in flight
        try:
            with anyio.CancelScope() as workers:
                async with anyio.create_task_group() as group:
                    for _ in range(3):
                        group.start_soon(run_campaign, url, fake)
                    with anyio.fail_after(30):
                        while claimed(postgres_url, "queued") < 3 * 40:  # noqa: ASYNC110 - polling the database
                            await anyio.sleep(0.02)
                    await anyio.sleep(0.3)  # each worker is at the gate with its first chunk
                    with Campaign.open(url, read_only=True) as watcher:
                        status = watcher.status()
                    assert status.last_run == "running"
                    assert (status.chunks_in_doubt, status.in_doubt) == (0, 0)
                    workers.cancel()
        finally:
            await held.release(0.0)
    assert mass_requests(fake) == 0
    with Campaign.open(url) as campaign:
        assert campaign.status().pending == len(NUMBERS)
        summary = await campaign.run(fake.client())
    assert summary.status.delivered == len(NUMBERS)
    assert sorted(d.number for d in fake.deliveries) == sorted(NUMBERS)


async def run_campaign(url: str, fake: FakeMioGram) -> None:
    """One worker: open the campaign and run it with a client of the fake."""
    with Campaign.open(url) as campaign:
        async with fake.client() as client:
            await campaign.run(client)


def claimed(database: str, name: str) -> int:
    """How many numbers of the campaign *name* a worker holds."""
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM miogram_numbers WHERE campaign = %s AND claimed_by IS NOT NULL",
            (name,),
        ).fetchone()
    return 0 if row is None else int(row[0])


def child_environment() -> dict[str, str]:
    """A worker's environment: the secret, the fake's drain, the suite's runtime directory."""
    return {**os.environ, "MIOGRAM_SECRET": SECRET, "PYTHONPATH": os.pathsep.join(sys.path)}


@pytest.mark.slow
async def test_a_postgres_worker_killed_at_the_gate_leaves_its_numbers_pending(
    postgres_url: str, fake: FakeMioGram
) -> None:
    """SIGKILLed while it waits at the campaign's gate: pending, then delivered once each."""
    url = campaign_url(postgres_url, "killed-at-gate")
    Campaign.create(url, NUMBERS, message=MESSAGE, chunk_size=40).close()
    async with fake.serve() as base_url:
        async with PostgresSendGate(postgres_url) as held:
            await held.acquire()
            try:
                worker = await anyio.open_process(
                    [*MIOGRAM, "--base-url", base_url, "campaign", "resume", url],
                    env=child_environment(),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                with anyio.fail_after(60):
                    while claimed(postgres_url, "killed-at-gate") == 0:  # noqa: ASYNC110 - polling the database
                        await anyio.sleep(0.02)
                await anyio.sleep(0.5)  # its first chunk is at the gate
                with Campaign.open(url, read_only=True) as watcher:
                    assert watcher.status().in_doubt == 0
                worker.send_signal(signal.SIGKILL)
                await worker.wait()
            finally:
                await held.release(0.0)
        assert mass_requests(fake) == 0
        with Campaign.open(url) as campaign:
            status = campaign.status()
            assert (status.pending, status.in_doubt) == (len(NUMBERS), 0)
            async with MioGram(SECRET, base_url=base_url, max_retries=0) as client:
                summary = await campaign.run(client)
                host_gate = client._session.gate
    # The killed worker held this host's gate while it queued at the campaign's, unmarked: the
    # next process took it without waiting as for a dead holder (nothing had left, E32).
    assert isinstance(host_gate, FileSendGate)
    assert host_gate.taken_from_the_dead == 0
    assert summary.status.delivered == len(NUMBERS)
    delivered = [d.number for d in fake.deliveries]
    assert sorted(delivered) == sorted(NUMBERS)  # each once


@pytest.mark.slow
async def test_a_journal_run_killed_at_the_machine_gate_leaves_its_numbers_pending(
    tmp_path: Path, fake: FakeMioGram
) -> None:
    """SQLite: a run SIGKILLed while queued at the host's gate left no chunk in doubt."""
    numbers_file = tmp_path / "numbers.txt"
    numbers_file.write_text("\n".join(NUMBERS) + "\n", encoding="utf-8")
    journal = tmp_path / "c.sqlite"
    run_args = ["-m", MESSAGE, "-j", str(journal)]
    async with fake.serve() as base_url:
        gate = machine_gate(base_url, dead_holder_wait=0.0)
        assert isinstance(gate, FileSendGate)
        await gate.acquire()  # another process of the host has a request in flight
        try:
            worker = await anyio.open_process(
                [*MIOGRAM, "--base-url", base_url, "campaign", "run", str(numbers_file), *run_args],
                env=child_environment(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            with anyio.fail_after(60):
                while not journal.exists():  # noqa: ASYNC110 - polling the file system
                    await anyio.sleep(0.02)
            await anyio.sleep(1.0)  # its first chunk is at the gate
            worker.send_signal(signal.SIGKILL)
            await worker.wait()
        finally:
            await gate.release(0.0)
        assert mass_requests(fake) == 0
        with Campaign.open(journal) as campaign:
            status = campaign.status()
            assert (status.pending, status.in_doubt, status.chunks) == (len(NUMBERS), 0, 0)
            async with MioGram(SECRET, base_url=base_url, max_retries=0) as client:
                summary = await campaign.run(client)
    assert summary.status.delivered == len(NUMBERS)
    assert sorted(d.number for d in fake.deliveries) == sorted(NUMBERS)
