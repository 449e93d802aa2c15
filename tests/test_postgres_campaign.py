"""Campaigns kept in PostgreSQL: create, run, resume, status and export, against a real server."""

from __future__ import annotations

import collections
import io
import itertools
from collections.abc import AsyncIterator

import psycopg
import pytest
import trio
from chunk_layout import layout
from journal_steps import start_chunk
from postgres_support import campaign_url

from miogram_async import MassProgress, MassSendError, MioGram, PostgresSendGate
from miogram_async.campaign import (
    Campaign,
    CampaignError,
    CampaignInUseError,
    CampaignKind,
    CampaignStorageError,
    NumberState,
)
from miogram_async.campaign.storage import CampaignMeta, PostgresJournal, split_url
from miogram_async.testing import AccountConfig, CreditsConfig, FakeMioGram, NumberBook

SECRET = "pg-campaign-secret-5e1b"
MESSAGE = "Hello from PostgreSQL"
NUMBERS = [f"+98912{i:07d}" for i in range(300)]
MISSING = set(NUMBERS[::9])


@pytest.fixture
async def fake_client() -> AsyncIterator[tuple[FakeMioGram, MioGram]]:
    """A fake service and a client bound to it in process."""
    fake = FakeMioGram(AccountConfig(secret=SECRET, numbers=NumberBook.except_for(MISSING)))
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        yield fake, client


def test_the_url_names_the_campaign_and_hides_the_password() -> None:
    """The campaign parameter is taken out of the libpq URL, and the shown URL has no password."""
    conninfo, name, shown = split_url(
        "postgresql://me:hunter2@db:5432/app?campaign=spring&sslmode=require"
    )
    assert name == "spring"
    assert "campaign" not in conninfo
    assert "sslmode=require" in conninfo
    assert "hunter2" in conninfo
    assert "hunter2" not in shown
    assert shown == "postgresql://me@db:5432/app?sslmode=require&campaign=spring"
    assert split_url("postgresql://db/app")[1] == "default"


async def test_a_postgres_campaign_sends_every_number_once(
    postgres_url: str, fake_client: tuple[FakeMioGram, MioGram]
) -> None:
    """A run delivers each valid number once and records invalid items and repeats."""
    fake, client = fake_client
    url = campaign_url(postgres_url, "once")
    inputs = [*NUMBERS, "not-a-number", NUMBERS[0], "0098 912 000 0003"]
    with Campaign.create(url, inputs, message=MESSAGE, chunk_size=40) as campaign:
        assert campaign.location.endswith("campaign=once")
        summary = await campaign.run(client)
        by_state = summary.status.by_state
    assert by_state[NumberState.DELIVERED] == len(NUMBERS) - len(MISSING)
    assert by_state[NumberState.UNDELIVERED] == len(MISSING)
    assert by_state[NumberState.INVALID] == 1
    assert by_state[NumberState.DUPLICATE] == 2
    assert by_state[NumberState.PENDING] == 0
    sent = collections.Counter(d.number for d in fake.deliveries)
    assert max(sent.values()) == 1
    assert len(sent) == len(NUMBERS) - len(MISSING)
    with Campaign.open(url, read_only=True) as reader:
        status = reader.status()
        out = io.StringIO()
        rows = reader.export(out)
    assert status.by_state == by_state
    assert status.last_run == "finished"
    assert rows == len(inputs)
    assert "not-a-number" in out.getvalue()
    with Campaign.open(url) as again:  # a resume has nothing left to send
        await again.run(client)
    assert collections.Counter(d.number for d in fake.deliveries) == sent


def test_an_existing_campaign_is_not_replaced_without_overwrite(postgres_url: str) -> None:
    """Creating a campaign that exists is refused; overwrite replaces it."""
    url = campaign_url(postgres_url, "twice")
    Campaign.create(url, NUMBERS[:5], message=MESSAGE).close()
    with pytest.raises(CampaignError, match="already exists"):
        Campaign.create(url, NUMBERS[:5], message=MESSAGE)
    with Campaign.create(url, NUMBERS[:3], message=MESSAGE, overwrite=True) as campaign:
        assert campaign.status().total == 3


def test_a_missing_campaign_and_an_unreachable_server_are_named(postgres_url: str) -> None:
    """Opening a campaign that does not exist, or a server that does not answer, says which."""
    with pytest.raises(CampaignError, match="no campaign"):
        Campaign.open(campaign_url(postgres_url, "never-made"))
    with pytest.raises(CampaignError, match="unreachable") as caught:
        Campaign.open("postgresql://me:pw-9f2@127.0.0.1:1/nowhere?connect_timeout=2")
    assert "pw-9f2" not in str(caught.value)


async def test_a_campaign_a_worker_runs_cannot_be_overwritten(postgres_url: str) -> None:
    """While a run holds the campaign, create(overwrite=True) is refused and status says running."""
    url = campaign_url(postgres_url, "held")
    journal = PostgresJournal.create(
        url,
        meta=CampaignMeta(kind=CampaignKind.MESSAGE, chunk_size=10, message="x"),
        inputs=NUMBERS[:20],
        normalize=str,
    )
    try:
        run = journal.begin_run()
        with pytest.raises(CampaignInUseError):
            Campaign.create(url, NUMBERS[:5], message=MESSAGE, overwrite=True)
        with Campaign.open(url, read_only=True) as reader:
            assert reader.status().last_run == "running"
        journal.end_run(run, "finished")
    finally:
        journal.close()
    with Campaign.open(url, read_only=True) as reader:
        assert reader.status().last_run == "finished"


async def test_a_dead_workers_chunk_stays_in_doubt_and_its_unstarted_claims_are_sent(
    postgres_url: str, fake_client: tuple[FakeMioGram, MioGram]
) -> None:
    """A run that dies holding claims: its started chunk is never re-sent, the rest is sent once."""
    fake, client = fake_client
    url = campaign_url(postgres_url, "dead-worker")
    Campaign.create(url, NUMBERS, message=MESSAGE, chunk_size=20).close()
    dead = PostgresJournal.open(url)
    run = dead.begin_run()
    claimed = dead.claim(run, [NumberState.PENDING], 60)
    started = [number for _, number in claimed[:20]]
    start_chunk(dead, run, 0, None, started)
    dead.close()  # the session ends without end_run: as a SIGKILLed worker
    with Campaign.open(url) as campaign:
        summary = await campaign.run(client, settle=False)
    by_state = summary.status.by_state
    sent = collections.Counter(d.number for d in fake.deliveries)
    assert not set(started) & set(sent)  # the in-doubt chunk was not sent again
    assert by_state[NumberState.UNKNOWN] == len(started)  # the report never saw it
    assert by_state[NumberState.PENDING] == by_state[NumberState.SENDING] == 0
    assert len(sent) == len(NUMBERS) - len(started) - len(MISSING - set(started))
    assert summary.status.runs == 2
    with Campaign.open(url) as campaign:  # asked for: the unknown ones are sent, once
        again = await campaign.run(client, resend_unknown=True, settle=False)
    sent = collections.Counter(d.number for d in fake.deliveries)
    assert max(sent.values()) == 1
    assert set(started) - MISSING <= set(sent)
    assert again.status.by_state[NumberState.UNKNOWN] == 0


async def test_a_stopped_run_gives_back_what_it_claimed(postgres_url: str) -> None:
    """Out of credit, the run stops; every number it claimed but did not send is claimable again."""
    fake = FakeMioGram(AccountConfig(secret=SECRET, credits=CreditsConfig(message=100)))
    url = campaign_url(postgres_url, "stopped")
    with Campaign.create(url, NUMBERS, message=MESSAGE, chunk_size=30) as campaign:
        async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
            with pytest.raises(MassSendError):
                await campaign.run(client, concurrency=1)
        status = campaign.status()
    # A small chunk (the pace unknown, E49), then 30s until one is beyond the credit left.
    sent = max(total for total in itertools.accumulate(layout(len(NUMBERS), 30)) if total <= 100)
    assert status.by_state[NumberState.PENDING] == len(NUMBERS) - sent
    other = PostgresJournal.open(url)
    try:
        run = other.begin_run()
        assert len(other.claim(run, [NumberState.PENDING], 1000)) == len(NUMBERS) - sent
        other.end_run(run, "finished")
    finally:
        other.close()


async def test_a_worker_that_loses_its_database_stops_and_sends_nothing_more(
    postgres_url: str, fake_client: tuple[FakeMioGram, MioGram]
) -> None:
    """Its session killed mid-run, a run stops (CampaignStorageError); a resume sends the rest."""
    fake, client = fake_client
    url = campaign_url(postgres_url, "lost-connection")
    campaign = Campaign.create(url, NUMBERS, message=MESSAGE, chunk_size=20)
    journal = campaign._journal
    assert isinstance(journal, PostgresJournal)
    backend = journal._conn.info.backend_pid

    def cut(snapshot: MassProgress) -> None:
        if snapshot.chunks_done == 2:
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (backend,))

    with pytest.raises(MassSendError) as stopped:
        await campaign.run(client, concurrency=1, on_progress=cut)
    campaign.close()
    assert isinstance(stopped.value.cause, CampaignStorageError)
    assert stopped.value.cause.reason == "I/O error"
    before = collections.Counter(d.number for d in fake.deliveries)
    assert 0 < len(before) < len(NUMBERS) - len(MISSING)
    with Campaign.open(url) as again:
        summary = await again.run(client)
    sent = collections.Counter(d.number for d in fake.deliveries)
    assert max(sent.values()) == 1
    assert summary.status.by_state[NumberState.PENDING] == 0
    assert summary.status.by_state[NumberState.SENDING] == 0


def test_a_postgres_campaign_and_gate_run_under_trio(postgres_url: str) -> None:
    """The PostgreSQL storage and send gate work under trio (blocking calls in worker threads)."""
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    url = campaign_url(postgres_url, "trio")

    async def main() -> dict[NumberState, int]:
        async with PostgresSendGate(postgres_url, name="trio-account") as gate:
            async with gate.slot():
                pass
            with Campaign.create(url, NUMBERS[:50], message=MESSAGE, chunk_size=10) as campaign:
                client = MioGram(secret=SECRET, transport=fake.transport(), max_retries=0)
                async with client:
                    summary = await campaign.run(client)
        return dict(summary.status.by_state)

    by_state = trio.run(main)
    assert by_state[NumberState.DELIVERED] == 50
    assert len(fake.deliveries) == 50
