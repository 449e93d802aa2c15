"""
What a running campaign says while it runs: counts in the journal's terms (a chunk that never
left is not called failed), what it waits for between answers; and journals of the version before.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path

import anyio
import psycopg
import pytest
from chunk_layout import first_chunk, layout
from postgres_support import campaign_url

from miogram_async import MassProgress, MassSendError, MioGram, Outcome
from miogram_async.campaign import Campaign, NumberState, Waiting
from miogram_async.cli._progress import waiting_text
from miogram_async.testing import AccountConfig, FakeMioGram, FaultKind, FaultRule, TimeModel

SECRET = "s3cr3t-run-state"
NUMBERS = [f"+98912{n:07d}" for n in range(200)]


async def test_live_counts_never_call_failed_what_ends_pending(tmp_path: Path) -> None:
    """The server goes away mid-run: no snapshot says failed; they say not attempted, as the end."""
    # Two chunks answered, then three that never leave (the stop, issue 13) and end the input: a
    # small first chunk while the pace is unknown (E49), then chunks of 40.
    sizes = layout(200)[:5]
    total = sum(sizes)
    answered = sum(sizes[:2])
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    fake.inject(FaultRule(kind=FaultKind.CONNECT_ERROR, funcs="SendMessageMass", after=2))
    snapshots: list[MassProgress] = []
    with Campaign.create(tmp_path / "c.sqlite", NUMBERS[:total], message="hi") as campaign:
        async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
            with pytest.raises(MassSendError):
                await campaign.run(client, on_progress=snapshots.append)
        status = campaign.status()
    assert status.by_state[NumberState.FAILED] == 0
    assert status.delivered == answered
    assert [s.by_outcome[Outcome.FAILED] for s in snapshots] == [0] * len(snapshots)
    not_attempted = [s.by_outcome[Outcome.NOT_ATTEMPTED] for s in snapshots]
    assert not_attempted[-1] == total - answered == status.pending  # three chunks never left
    assert not_attempted[2:5] == list(itertools.accumulate(sizes[2:5]))
    assert snapshots[-1].done == snapshots[-1].total == total


async def test_a_campaign_says_what_it_waits_for(tmp_path: Path) -> None:
    """Between answers, Campaign.waiting names the service's answer or the send gate; then None."""
    fake = FakeMioGram(AccountConfig(secret=SECRET), time_model=TimeModel(per_number=0.005))
    # A 999 leaves the gate closed while the gateway may still work: the next chunk waits there.
    fake.inject(FaultRule(kind=FaultKind.NO_RESPONSE, funcs="SendMessageMass", times=1))
    seen: list[Waiting] = []
    # Every chunk the size of the first (a fresh client's while the pace is unknown, E49), so
    # that every wait names it; a front wait of 0.6 s keeps the drain after the 999 short.
    size = first_chunk()
    with Campaign.create(
        tmp_path / "c.sqlite", NUMBERS[:120], message="hi", chunk_size=size
    ) as campaign:
        assert campaign.waiting is None
        async with fake.client(gateway_drain=0.02, front_wait=0.6) as client:

            async def watch() -> None:
                while True:
                    if campaign.waiting is not None:
                        seen.append(campaign.waiting)
                    await anyio.sleep(0.01)

            async with anyio.create_task_group() as group:
                group.start_soon(watch)
                await campaign.run(client)
                group.cancel_scope.cancel()
        assert campaign.waiting is None
    assert {wait.reason for wait in seen} == {"reply", "gate"}
    assert {wait.numbers for wait in seen} == {size}


def test_the_waiting_line_says_why_after_a_few_seconds() -> None:
    """The display's line: nothing for a short wait; the gate or the service's answer after it."""
    now = time.monotonic()
    assert waiting_text(None, now) == ""
    assert waiting_text(Waiting("reply", now - 1, 40), now) == ""
    reply = waiting_text(Waiting("reply", now - 41, 40), now)
    assert reply.startswith("waiting 41 s for the service's answer (40 numbers)")
    assert "60 s" in reply
    gate = waiting_text(Waiting("gate", now - 12, 1), now)
    assert gate.startswith("waiting 12 s at the send gate (1 number)")
    assert "gateway may still be at work" in gate


def as_version_3(path: Path) -> None:
    """Make the journal at *path* what version 3 wrote: no texts or extras, its version marks."""
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TABLE texts; DROP TABLE extras; "
        "UPDATE meta SET value = '3' WHERE key = 'schema_version'; PRAGMA user_version = 259;"
    )
    conn.close()


async def test_a_version_3_journal_is_read_and_run(tmp_path: Path) -> None:
    """A journal of version 3 (no message per row) opens, runs, resumes and exports as before."""
    path = tmp_path / "old.sqlite"
    Campaign.create(path, NUMBERS[:30], message="hi").close()
    as_version_3(path)
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    with Campaign.open(path, read_only=True) as reader:
        assert reader.status().pending == 30
    with Campaign.open(path) as campaign:
        async with fake.client() as client:
            summary = await campaign.run(client)
        assert campaign.texts([NUMBERS[0]]) == {NUMBERS[0]: "hi"}
        exported = tmp_path / "out.csv"
        assert campaign.export(exported) == 30
    assert summary.status.delivered == 30 == len(fake.deliveries)
    with Campaign.open(path) as again:  # still version 3 after a run: no table was added
        assert again.status().complete
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    conn.close()


def test_a_version_2_postgresql_campaign_is_read(postgres_url: str) -> None:
    """A campaign of the PostgreSQL layout's version 2 opens and reads like any other."""
    url = campaign_url(postgres_url, "layout-2")
    Campaign.create(url, NUMBERS[:3], message="hi", overwrite=True).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE miogram_campaigns SET schema_version = 2 WHERE name = 'layout-2'")
    with Campaign.open(url, read_only=True) as campaign:
        assert campaign.status().pending == 3
        assert campaign.texts([NUMBERS[1]]) == {NUMBERS[1]: "hi"}
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE miogram_campaigns SET schema_version = 1 WHERE name = 'layout-2'")
    with pytest.raises(Exception, match="version 1, this version of miogram-async reads"):
        Campaign.open(url)
