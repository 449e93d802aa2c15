"""
The journal as files: one file at rest, copies, overwrites, read-only status reads during a run,
and storage that fails (disk full, read-only) named as such and leaving the journal resumable.
"""

from __future__ import annotations

import collections
import itertools
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from chunk_layout import layout
from journal_steps import start_chunk

from miogram_async._base.errors import (
    APIConnectionError,
    APIResponseError,
    InvalidRequestError,
    MassSendError,
    NoResponseError,
)
from miogram_async._client import MioGram
from miogram_async._mass.result import Outcome
from miogram_async.campaign import Campaign, CampaignError, NumberState
from miogram_async.campaign._hooks import JournalHooks
from miogram_async.campaign._model import CampaignInUseError, CampaignStorageError
from miogram_async.campaign.storage import Journal
from miogram_async.campaign.storage._sqlite import _files
from miogram_async.testing import AccountConfig, FakeMioGram, NumberBook

SECRET = "files-secret-9b2d"
MESSAGE = "Hello from the journal"
NUMBERS = [f"+98912{i:07d}" for i in range(60)]


def sidecars(path: Path) -> list[str]:
    """The names of the files SQLite keeps beside *path* that exist."""
    return [end for end in ("-wal", "-shm", "-journal") if Path(f"{path}{end}").exists()]


def header_mode(path: Path) -> int:
    """Header byte 18 of the database at *path*: 2 in WAL mode, 1 for a rollback journal."""
    return path.read_bytes()[18]


def make_fake() -> FakeMioGram:
    """A fake whose numbers all exist."""
    return FakeMioGram(AccountConfig(secret=SECRET, numbers=NumberBook.everyone()))


async def test_closing_after_a_run_leaves_one_file(tmp_path: Path) -> None:
    """A run switches the journal to WAL; closing folds it back: no -wal or -shm left, one file."""
    path = tmp_path / "c.db"
    fake = make_fake()
    campaign = Campaign.create(path, NUMBERS[:30], message=MESSAGE, chunk_size=10)
    assert header_mode(path) == 2
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        summary = await campaign.run(client)
    assert summary.complete
    assert "-wal" in sidecars(path)
    campaign.close()
    assert sidecars(path) == []
    assert header_mode(path) == 1
    copy = tmp_path / "copy.db"
    shutil.copyfile(path, copy)
    with Campaign.open(copy) as copied:
        assert copied.status().delivered == 30


def test_a_copy_of_a_running_journal_without_its_wal_is_refused(tmp_path: Path) -> None:
    """A journal open for writing copied alone (as after a SIGKILL) is refused, not read stale."""
    path = tmp_path / "c.db"
    with Campaign.create(path, NUMBERS[:10], message=MESSAGE) as campaign:
        journal = campaign._journal
        start_chunk(journal, journal.begin_run(), 0, None, NUMBERS[:10])
        copy = tmp_path / "copy.db"
        shutil.copyfile(path, copy)
        with pytest.raises(CampaignError, match="-wal") as refused:
            Campaign.open(copy)
        assert "not closed cleanly" in str(refused.value)
        with pytest.raises(CampaignError, match="-wal"):
            Campaign.open(copy, read_only=True)
        # Copied together with its WAL, the copy holds the chunk in doubt.
        shutil.copyfile(f"{path}-wal", f"{copy}-wal")
    with Campaign.open(copy) as copied:
        assert copied.status().in_doubt == 10
    assert sidecars(copy) == []


def test_overwrite_never_replaces_a_journal_in_use(tmp_path: Path) -> None:
    """create(overwrite=True) on a journal another open holds is refused; the old one is intact."""
    path = tmp_path / "c.db"
    with Campaign.create(path, NUMBERS[:10], message=MESSAGE) as running:
        with pytest.raises(CampaignInUseError, match="in use"):
            Campaign.create(path, NUMBERS[:3], message="Another", overwrite=True)
        assert running.status().pending == 10
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("c.db")) == []
    with Campaign.create(path, NUMBERS[:3], message="Another", overwrite=True) as replaced:
        assert replaced.status().total == 3
        assert replaced.message == "Another"


def test_a_second_open_for_writing_is_refused_at_once(tmp_path: Path) -> None:
    """The run lock is taken without waiting: a second writer gets CampaignInUseError."""
    path = tmp_path / "c.db"
    with Campaign.create(path, NUMBERS[:3], message=MESSAGE):
        with pytest.raises(CampaignInUseError, match="in use"):
            Campaign.open(path)
        with Campaign.open(path, read_only=True) as reader:
            status = reader.status()
            assert status.pending == 3
            assert status.last_run is None
    with Campaign.open(path) as campaign:
        assert campaign.status().pending == 3


async def test_a_read_only_open_reads_a_running_campaign(tmp_path: Path) -> None:
    """While a run holds the journal, a read-only open sees its committed counts, rate and state."""
    path = tmp_path / "c.db"
    fake = make_fake()
    seen: list[tuple[int, str | None, float | None]] = []

    def watch(_: Any) -> None:
        with Campaign.open(path, read_only=True) as reader:
            status = reader.status()
            seen.append((status.delivered, status.last_run, status.rate))

    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.create(path, NUMBERS[:40], message=MESSAGE, chunk_size=10) as campaign:
            await campaign.run(client, concurrency=1, on_progress=watch)
            with Campaign.open(path, read_only=True) as reader:
                assert reader.read_only
                with pytest.raises(CampaignError, match="read-only"):
                    await reader.run(client)
                after = reader.status()
    sizes = layout(40, 10)  # the first chunk small (the pace unknown, E49), then 10s
    assert [last for _, last, _ in seen] == ["running"] * len(sizes)
    # Outcomes are committed with the next chunk's start, so a reader lags one chunk behind.
    assert [delivered for delivered, _, _ in seen] == [0, *itertools.accumulate(sizes[:-1])]
    assert all(rate is None or rate > 0 for _, _, rate in seen)
    assert after.delivered == 40
    assert after.last_run == "finished"
    assert after.rate is not None
    assert sidecars(path) == []


def _with_page_limit(limit_pages: Callable[[sqlite3.Connection], None]) -> Callable[..., Any]:
    real = _files.prepare_for_writing

    def prepare(conn: sqlite3.Connection) -> None:
        real(conn)
        limit_pages(conn)

    return prepare


async def test_a_full_disk_is_named_and_the_campaign_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disk full (SQLite's page limit) stops a run as "disk full"; a resume sends nothing twice."""
    path = tmp_path / "c.db"
    numbers = [f"+98935{i:07d}" for i in range(400)]
    Campaign.create(path, numbers, message=MESSAGE, chunk_size=4).close()

    def no_room(conn: sqlite3.Connection) -> None:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")

    monkeypatch.setattr(_files, "prepare_for_writing", _with_page_limit(no_room))
    fake = make_fake()
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.open(path) as campaign:
            with pytest.raises(MassSendError) as stopped:
                await campaign.run(client, concurrency=1)
            full = campaign.status()
        sent_before = len(fake.deliveries)
        monkeypatch.undo()
        with Campaign.open(path) as campaign:
            resumed = await campaign.run(client)
    cause = stopped.value.__cause__
    assert isinstance(cause, CampaignStorageError)
    assert cause.reason == "disk full"
    assert "disk full" in str(cause)
    assert "corrupt" not in str(cause)
    assert 0 < sent_before < len(numbers)
    assert full.pending > 0
    assert resumed.complete
    deliveries = collections.Counter(delivery.number for delivery in fake.deliveries)
    assert sorted(deliveries) == numbers
    assert set(deliveries.values()) == {1}


async def test_a_read_only_journal_is_named_and_the_campaign_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal that turns read-only mid-run stops as "read-only"; once writable it resumes."""
    path = tmp_path / "c.db"
    Campaign.create(path, NUMBERS[:30], message=MESSAGE, chunk_size=5).close()
    fake = make_fake()
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.open(path) as campaign:
            journal = cast(Journal, campaign._journal)

            def turn_read_only(snapshot: Any) -> None:
                # As when the file system is remounted read-only under the run.
                journal._conn.execute("PRAGMA query_only = 1")

            with pytest.raises(MassSendError) as stopped:
                await campaign.run(client, concurrency=1, on_progress=turn_read_only)
        with Campaign.open(path) as campaign:
            resumed = await campaign.run(client)
    cause = stopped.value.__cause__
    assert isinstance(cause, CampaignStorageError)
    assert cause.reason == "read-only"
    assert "corrupt" not in str(cause)
    assert resumed.complete
    deliveries = collections.Counter(delivery.number for delivery in fake.deliveries)
    assert sorted(deliveries) == NUMBERS[:30]
    assert set(deliveries.values()) == {1}


def test_opening_a_read_only_file_is_named_not_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal SQLite can only read (a read-only file or directory) opens as "read-only"."""
    path = tmp_path / "c.db"
    Campaign.create(path, NUMBERS[:3], message=MESSAGE).close()
    before = path.read_bytes()
    real_connect = sqlite3.connect

    def read_only_connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if kwargs.get("uri"):
            conn: sqlite3.Connection = real_connect(database, *args, **kwargs)
        else:
            uri = Path(database).absolute().as_uri() + "?mode=ro"
            conn = real_connect(uri, *args, uri=True, **kwargs)
        return conn

    monkeypatch.setattr(sqlite3, "connect", read_only_connect)
    with pytest.raises(CampaignStorageError, match="read-only") as refused:
        Campaign.open(path)
    assert refused.value.reason == "read-only"
    assert "corrupt" not in str(refused.value)
    monkeypatch.undo()
    assert path.read_bytes() == before
    with Campaign.open(path) as campaign:
        assert campaign.status().pending == 3


def test_a_write_killed_in_rollback_mode_is_recovered_by_the_next_writer(tmp_path: Path) -> None:
    """A hot -journal (a process killed mid-write) is rolled back by the next open for writing."""
    path = tmp_path / "c.db"
    numbers = [f"+98935{i:07d}" for i in range(5000)]  # enough for SQLite to spill mid-write
    Campaign.create(path, numbers, message=MESSAGE).close()
    killed_mid_write = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA cache_size = 1')\n"
        "conn.execute('BEGIN IMMEDIATE')\n"
        "conn.execute(\"UPDATE numbers SET state = 'delivered'\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", killed_mid_write, str(path)], check=True)
    assert sidecars(path) == ["-journal"]
    with pytest.raises(CampaignError, match="interrupted in the middle of a write"):
        Campaign.open(path, read_only=True)
    with Campaign.open(path) as campaign:
        assert campaign.status().pending == len(numbers)
    assert sidecars(path) == []


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (None, NumberState.UNKNOWN),
        (NoResponseError(999, "No Response From Server", "SendMessageMass"), NumberState.UNKNOWN),
        (APIResponseError("not JSON", 502), NumberState.UNKNOWN),
        (APIConnectionError("reset", sent=None), NumberState.UNKNOWN),
        (APIConnectionError("refused", sent=False), NumberState.PENDING),
        (InvalidRequestError(400, "Not Valid File", "SendPhotoMass"), NumberState.FAILED),
    ],
)
def test_the_journal_keeps_failed_only_with_proof_of_a_refusal(
    error: Any, state: NumberState
) -> None:
    """A FAILED outcome is journalled FAILED only when its error proves the request was refused."""
    numbers = NUMBERS[:2]
    errors = {} if error is None else dict.fromkeys(numbers, error)
    groups = JournalHooks._groups(numbers, None, dict.fromkeys(numbers, Outcome.FAILED), errors)
    assert [group[0] for group in groups] == [state]
