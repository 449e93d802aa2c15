"""The campaign journal under storage faults: a failed write leaves it consistent and usable."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from chunk_layout import first_chunk, layout
from journal_steps import finish_chunk, start_chunk

from miogram_async import MassSendError, MioGram, normalize_phone
from miogram_async.campaign import Campaign, CampaignKind, NumberState
from miogram_async.campaign._model import CampaignStorageError
from miogram_async.campaign._reconcile import Anchor
from miogram_async.campaign.storage import CampaignMeta, ChunkEnd, ChunkStart, Journal
from miogram_async.testing import (
    AccountConfig,
    CreditsConfig,
    FakeMioGram,
    FaultKind,
    FaultRule,
    Faults,
    NumberBook,
)

SECRET = "journal-secret-41c2"

NUMBERS = [f"+98912{i:07d}" for i in range(5)]


def sqlite_error(message: str, code: int) -> sqlite3.OperationalError:
    """An SQLite error as the sqlite3 module raises it, with its result code."""
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


SQLITE_IOERR = 10
SQLITE_FULL = 13


class FaultyConnection:
    """Passes everything to a real connection, except the statements told to fail."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.fail_commit = False
        self.fail_update_after_rollback = False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.fail_commit:
            # As on SQLITE_BUSY (or an I/O error SQLite did not roll back): the transaction stays.
            self.fail_commit = False
            raise sqlite_error("disk I/O error", SQLITE_IOERR)
        return self.conn.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.startswith("UPDATE numbers") and self.fail_update_after_rollback:
            # As on SQLITE_FULL: SQLite has already rolled the transaction back by itself.
            self.fail_update_after_rollback = False
            self.conn.execute("ROLLBACK")
            raise sqlite_error("database or disk is full", SQLITE_FULL)
        return self.conn.executemany(sql, *args)

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def close(self) -> None:
        self.conn.close()


def faulty_journal(tmp_path: Path) -> tuple[Journal, FaultyConnection]:
    """A new journal of NUMBERS whose connection can be told to fail."""
    journal = Journal.create(
        tmp_path / "c.db",
        meta=CampaignMeta(kind=CampaignKind.MESSAGE, chunk_size=10),
        inputs=NUMBERS,
        normalize=normalize_phone,
    )
    faulty = FaultyConnection(journal._conn)
    journal._conn = faulty  # type: ignore[assignment]
    return journal, faulty


def test_a_failed_commit_is_rolled_back_and_the_journal_stays_usable(tmp_path: Path) -> None:
    """A failed COMMIT leaves no open transaction: the chunk is not recorded, later writes work."""
    journal, faulty = faulty_journal(tmp_path)
    run = journal.begin_run()
    faulty.fail_commit = True
    with pytest.raises(CampaignStorageError, match="I/O error") as failed:
        start_chunk(journal, run, 0, None, NUMBERS[:2])
    assert failed.value.reason == "I/O error"
    start_chunk(journal, run, 1, None, NUMBERS[2:4])
    journal.end_run(run, "finished")
    assert journal.counts()[NumberState.PENDING] == 3
    assert journal.counts()[NumberState.SENDING] == 2
    assert journal.chunk_counts() == (1, 0, 1)
    journal.close()


def test_a_write_sqlite_already_rolled_back_raises_its_own_error(tmp_path: Path) -> None:
    """When SQLite rolled back by itself (disk full), its error surfaces, not the ROLLBACK's."""
    journal, faulty = faulty_journal(tmp_path)
    run = journal.begin_run()
    start_chunk(journal, run, 0, None, NUMBERS[:2])
    faulty.fail_update_after_rollback = True
    updates = [(number, NumberState.DELIVERED, None, None) for number in NUMBERS[:2]]
    with pytest.raises(CampaignStorageError, match="disk full") as failed:
        finish_chunk(journal, run, 0, updates)
    assert failed.value.reason == "disk full"
    assert journal.counts()[NumberState.SENDING] == 2
    finish_chunk(journal, run, 0, updates)
    assert journal.counts()[NumberState.DELIVERED] == 2
    journal.close()


async def test_a_failed_outcome_write_stops_the_run_and_a_resume_sends_nothing_twice(
    tmp_path: Path,
) -> None:
    """A failed outcome write stops the run; a resume settles that chunk from the report."""
    fake = FakeMioGram(AccountConfig(secret=SECRET, numbers=NumberBook.everyone()))
    numbers = [f"+98912{i:07d}" for i in range(60)]
    path = tmp_path / "c.db"
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.create(path, numbers, message="Hello", chunk_size=20) as campaign:
            journal = campaign._journal
            real = journal.record

            def disk_full(
                run: int, started: Sequence[ChunkStart], finished: Sequence[ChunkEnd]
            ) -> None:
                # The transaction that carries chunk 1's outcome fails.
                if any(index == 1 for index, _ in finished):
                    raise CampaignStorageError("disk full", "disk full")
                real(run, started, finished)

            journal.record = disk_full  # type: ignore[method-assign]
            with pytest.raises(MassSendError) as stopped:
                await campaign.run(client, concurrency=1)
            journal.record = real  # type: ignore[method-assign]
            after_stop = campaign.status()
            resumed = await campaign.run(client, concurrency=1)
    first, second = layout(60, 20)[:2]  # a small one (the pace unknown, E49), then 20
    assert isinstance(stopped.value.__cause__, CampaignStorageError)
    assert after_stop.in_doubt == second
    assert after_stop.last_run == "stopped: disk full"
    assert after_stop.delivered == first
    assert resumed.reconciled == {NumberState.DELIVERED: second}
    assert resumed.sent == 60 - first - second
    assert resumed.complete
    assert resumed.status.delivered == 60
    assert sorted(delivery.number for delivery in fake.deliveries) == numbers


async def test_resending_in_doubt_numbers_settles_their_old_chunk(tmp_path: Path) -> None:
    """In-doubt numbers sent again (no report, resend_unknown) leave no chunk in doubt behind."""
    fake = FakeMioGram(AccountConfig(secret=SECRET, numbers=NumberBook.everyone()))
    fake.faults = Faults.of(FaultRule(kind=FaultKind.HTTP_ERROR, funcs="APIGetReport"))
    numbers = [f"+98912{i:07d}" for i in range(30)]
    path = tmp_path / "c.db"
    Campaign.create(path, numbers, message="Hello", chunk_size=10).close()
    # What a process killed mid-request leaves: one chunk attempting, its numbers sending.
    journal = Journal.open(path)
    run = journal.begin_run()
    journal.set_anchor(run, Anchor(newest=None).to_json())
    start_chunk(journal, run, 0, None, numbers[:10])
    journal.close()
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.open(path) as campaign:
            summary = await campaign.run(client, resend_unknown=True)
    assert summary.report_error is not None
    assert summary.sent == 30
    assert summary.status.in_doubt == 0
    assert summary.status.chunks_in_doubt == 0
    # The old chunk, settled, and the chunks of this run.
    assert summary.status.chunks == summary.status.chunks_done == 1 + len(layout(30, 10))
    assert summary.complete


async def test_a_failed_end_of_run_write_does_not_hide_why_the_run_stopped(tmp_path: Path) -> None:
    """If the run's end cannot be journalled, a stop still raises MassSendError, with a note."""
    fake = FakeMioGram(
        AccountConfig(
            secret=SECRET, numbers=NumberBook.everyone(), credits=CreditsConfig(message=20)
        )
    )
    numbers = [f"+98912{i:07d}" for i in range(60)]
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.create(tmp_path / "c.db", numbers, message="Hi", chunk_size=20) as campaign:

            def disk_full(run: int, outcome: str) -> None:
                raise sqlite3.OperationalError("database or disk is full")

            campaign._journal.end_run = disk_full  # type: ignore[method-assign]
            with pytest.raises(MassSendError) as stopped:
                await campaign.run(client, concurrency=1)
            status = campaign.status()
    first = first_chunk(20)  # the pace unknown (E49); the next chunk is beyond the credit
    assert "disk is full" in "".join(stopped.value.__notes__)
    assert status.delivered == first
    assert status.pending == 60 - first
