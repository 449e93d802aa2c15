"""Journal schema 2: numbers in doubt derived from chunk rows, and grouped journal writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
from journal_steps import finish_chunk, start_chunk

from miogram_async import Chunk, MioGram, Outcome, normalize_phone
from miogram_async.campaign import Campaign, CampaignError, CampaignKind, NumberState
from miogram_async.campaign._hooks import JournalHooks
from miogram_async.campaign.storage import (
    JOURNAL_VERSION,
    CampaignMeta,
    ChunkEnd,
    ChunkStart,
    Journal,
)
from miogram_async.campaign.storage._sqlite import _source
from miogram_async.testing import AccountConfig, FakeMioGram, NumberBook

SECRET = "doubt-secret-5e1b"
NUMBERS = [f"+98912{i:07d}" for i in range(10)]


def new_journal(tmp_path: Path) -> Journal:
    """A new journal of NUMBERS."""
    return Journal.create(
        tmp_path / "c.db",
        meta=CampaignMeta(kind=CampaignKind.MESSAGE, chunk_size=10),
        inputs=NUMBERS,
        normalize=normalize_phone,
    )


def delivered(numbers: Sequence[str]) -> list[tuple[str, NumberState, None, None]]:
    """Outcome updates marking *numbers* delivered."""
    return [(number, NumberState.DELIVERED, None, None) for number in numbers]


def stored_states(journal: Journal) -> dict[str, tuple[str, int | None]]:
    """number -> (stored state, chunk) straight from the numbers table."""
    rows = journal._conn.execute("SELECT number, state, chunk FROM numbers").fetchall()
    return {f"+{number}": (state, chunk) for number, state, chunk in rows}


def test_a_journal_of_schema_version_1_is_refused_untouched(tmp_path: Path) -> None:
    """A journal written by the previous schema (version 1) gives a CampaignError naming both."""
    path = tmp_path / "c.db"
    Campaign.create(path, NUMBERS, message="Hi").close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(CampaignError, match=f"schema version '1'.* reads {JOURNAL_VERSION}"):
        Campaign.open(path)
    assert path.read_bytes() == before
    assert JOURNAL_VERSION == 4


def test_a_journal_of_schema_version_2_is_refused_with_how_to_finish_it(tmp_path: Path) -> None:
    """A version 2 journal is refused untouched, naming the older release and the resume command."""
    path = tmp_path / "c.db"
    Campaign.create(path, NUMBERS, message="Hi").close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    for read_only in (False, True):
        with pytest.raises(CampaignError) as caught:
            Campaign.open(path, read_only=read_only)
        message = str(caught.value)
        assert "schema version 2" in message
        assert "pip install 'miogram-async==0.1.*'" in message
        assert f"miogram campaign resume {str(path)!r}" in message
    assert path.read_bytes() == before


def test_a_chunk_start_writes_one_row_and_its_numbers_read_as_in_doubt(tmp_path: Path) -> None:
    """Starting a chunk leaves its numbers' rows alone, yet counts and export show them sending."""
    journal = new_journal(tmp_path)
    run = journal.begin_run()
    start_chunk(journal, run, 0, "robot-a", NUMBERS[:4])
    assert {stored_states(journal)[number] for number in NUMBERS[:4]} == {("pending", None)}
    assert journal.counts()[NumberState.SENDING] == 4
    assert journal.counts()[NumberState.PENDING] == 6
    rows = {row[2]: (row[3], row[6]) for row in journal.rows()}
    assert {rows[number] for number in NUMBERS[:4]} == {("sending", "robot-a")}
    assert {rows[number] for number in NUMBERS[4:]} == {("pending", None)}
    finish_chunk(journal, run, 0, delivered(NUMBERS[:4]))
    assert journal.counts()[NumberState.SENDING] == 0
    assert journal.counts()[NumberState.DELIVERED] == 4
    assert journal.chunk_counts() == (1, 1, 1)
    journal.close()


def test_a_run_writes_down_what_earlier_runs_left_in_doubt(tmp_path: Path) -> None:
    """begin_run stores 'sending' (and the chunk) for numbers of chunks left attempting."""
    journal = new_journal(tmp_path)
    start_chunk(journal, journal.begin_run(), 0, None, NUMBERS[:3])
    journal.close()
    journal = Journal.open(tmp_path / "c.db")
    journal.begin_run()
    states = stored_states(journal)
    assert {states[number] for number in NUMBERS[:3]} == {("sending", 1)}
    assert [number for _, number in journal.numbers_in([NumberState.SENDING])] == NUMBERS[:3]
    assert journal.counts()[NumberState.SENDING] == 3
    journal.close()


def test_numbers_sent_again_leave_their_old_chunk_only_once_answered(tmp_path: Path) -> None:
    """In-doubt numbers resent in a later chunk stay in doubt there; once answered, not before."""
    journal = new_journal(tmp_path)
    start_chunk(journal, journal.begin_run(), 0, None, NUMBERS[:6])
    journal.close()
    # The next run resends half of them and dies before the answer: both chunks attempting.
    journal = Journal.open(tmp_path / "c.db")
    second = journal.begin_run()
    start_chunk(journal, second, 0, None, NUMBERS[:3])
    journal.close()
    journal = Journal.open(tmp_path / "c.db")
    assert journal.counts()[NumberState.SENDING] == 6
    third = journal.begin_run()
    states = stored_states(journal)
    assert [states[number] for number in NUMBERS[:6]] == [("sending", 2)] * 3 + [("sending", 1)] * 3
    assert journal.chunk_counts() == (2, 0, 3)
    # Resent again and answered: the second chunk is done by its own answer; the first keeps
    # the three numbers nobody resent.
    start_chunk(journal, third, 0, None, NUMBERS[:3])
    finish_chunk(journal, third, 0, delivered(NUMBERS[:3]))
    assert journal.chunk_counts() == (3, 2, 3)
    journal.close()
    journal = Journal.open(tmp_path / "c.db")
    journal.begin_run()
    counts = journal.counts()
    assert (counts[NumberState.DELIVERED], counts[NumberState.SENDING]) == (3, 3)
    assert {stored_states(journal)[number][0] for number in NUMBERS[:3]} == {"delivered"}
    journal.close()


def test_an_old_chunk_is_settled_when_its_last_number_is_answered_elsewhere(
    tmp_path: Path,
) -> None:
    """A chunk left in doubt is marked done once every number of it got an answer in a later run."""
    journal = new_journal(tmp_path)
    start_chunk(journal, journal.begin_run(), 0, None, NUMBERS[:4])
    journal.close()
    journal = Journal.open(tmp_path / "c.db")
    run = journal.begin_run()
    start_chunk(journal, run, 0, None, NUMBERS[:2])
    finish_chunk(journal, run, 0, delivered(NUMBERS[:2]))
    assert journal.chunk_counts() == (2, 1, 2)
    start_chunk(journal, run, 1, None, NUMBERS[2:4])
    finish_chunk(journal, run, 1, delivered(NUMBERS[2:4]))
    assert journal.chunk_counts() == (3, 3, 2)
    assert journal.counts()[NumberState.DELIVERED] == 4
    journal.close()


def test_outcomes_are_written_per_number_when_they_differ(tmp_path: Path) -> None:
    """A chunk whose numbers got different outcomes and errors records each one as given."""
    journal = new_journal(tmp_path)
    run = journal.begin_run()
    start_chunk(journal, run, 0, None, NUMBERS[:4])
    finish_chunk(
        journal,
        run,
        0,
        [
            (NUMBERS[0], NumberState.DELIVERED, None, None),
            (NUMBERS[1], NumberState.UNDELIVERED, None, None),
            (NUMBERS[2], NumberState.FAILED, 23, "APIError: busy"),
            (NUMBERS[3], NumberState.DELIVERED, None, None),
        ],
    )
    columns = ("seq", "input", "number", "state", "error_code", "error", "robot")
    rows = {row[2]: dict(zip(columns, row, strict=True)) for row in journal.rows()}
    assert [rows[n]["state"] for n in NUMBERS[:4]] == [
        "delivered",
        "undelivered",
        "failed",
        "delivered",
    ]
    assert (rows[NUMBERS[2]]["error_code"], rows[NUMBERS[2]]["error"]) == (23, "APIError: busy")
    assert journal._conn.execute("PRAGMA synchronous").fetchone() == (2,)  # back to FULL
    journal.close()


async def test_chunks_starting_together_share_one_commit(tmp_path: Path) -> None:
    """Starts queued while a write is going on go into the next one, with the queued outcomes."""
    journal = new_journal(tmp_path)
    run = journal.begin_run()
    writes: list[tuple[list[int], list[int]]] = []
    real = journal.record

    def record(run: int, started: Sequence[ChunkStart], finished: Sequence[ChunkEnd]) -> None:
        writes.append(([s[0] for s in started], [f[0] for f in finished]))
        real(run, started, finished)

    journal.record = record  # type: ignore[method-assign]
    hooks = JournalHooks(journal, run)
    chunks = [
        Chunk(index=i, numbers=tuple(NUMBERS[2 * i : 2 * i + 2]), robot=None) for i in range(3)
    ]
    async with anyio.create_task_group() as group:
        for chunk in chunks:
            group.start_soon(hooks.chunk_started, chunk)
    await hooks.chunk_finished(chunks[0], dict.fromkeys(chunks[0].numbers, Outcome.DELIVERED), {})
    assert journal.counts()[NumberState.SENDING] == 6  # the outcome is only queued
    later = Chunk(index=3, numbers=tuple(NUMBERS[6:8]), robot=None)
    await hooks.chunk_started(later)
    await hooks.chunk_finished(later, dict.fromkeys(later.numbers, Outcome.DELIVERED), {})
    await hooks.flush()
    assert writes == [([0], []), ([1, 2], []), ([3], [0]), ([], [3])]
    assert hooks.sent == 8
    counts = journal.counts()
    assert (counts[NumberState.DELIVERED], counts[NumberState.SENDING]) == (4, 4)
    journal.close()


async def test_a_failed_grouped_write_fails_its_starts_and_leaves_its_chunks_in_doubt(
    tmp_path: Path,
) -> None:
    """A write that fails raises in the start it carried; the outcome it carried is not kept."""
    journal = new_journal(tmp_path)
    run = journal.begin_run()
    hooks = JournalHooks(journal, run)
    first = Chunk(index=0, numbers=tuple(NUMBERS[:2]), robot=None)
    await hooks.chunk_started(first)
    await hooks.chunk_finished(first, dict.fromkeys(first.numbers, Outcome.DELIVERED), {})
    real = journal.record

    def disk_full(run: int, started: Sequence[ChunkStart], finished: Sequence[ChunkEnd]) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    journal.record = disk_full  # type: ignore[method-assign]
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        await hooks.chunk_started(Chunk(index=1, numbers=tuple(NUMBERS[2:4]), robot=None))
    journal.record = real  # type: ignore[method-assign]
    await hooks.flush()
    assert hooks.sent == 2
    assert journal.chunk_counts() == (1, 0, 1)
    assert journal.counts()[NumberState.SENDING] == 2
    assert journal.counts()[NumberState.PENDING] == 8
    journal.close()


async def test_a_start_cancelled_while_queued_is_never_written(tmp_path: Path) -> None:
    """A chunk start cancelled before its write began leaves no row: it was never sent."""
    journal = new_journal(tmp_path)
    run = journal.begin_run()
    hooks = JournalHooks(journal, run)
    async with anyio.create_task_group() as group:
        group.start_soon(hooks.chunk_started, Chunk(index=0, numbers=(NUMBERS[0],), robot=None))
        await anyio.lowlevel.checkpoint()  # the first start is being written now
        with anyio.CancelScope() as scope:
            scope.cancel()
            await hooks.chunk_started(Chunk(index=1, numbers=(NUMBERS[1],), robot=None))
    assert hooks.sent == 1
    assert journal.chunk_counts() == (1, 0, 1)
    journal.close()


@pytest.mark.parametrize("seqs_max", [100_000, 0])
async def test_outcomes_land_on_the_right_numbers_around_gaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seqs_max: int
) -> None:
    """Invalid and duplicate inputs between sent numbers keep their state (by seq or by number)."""
    monkeypatch.setattr(_source, "_SEQS_MAX", seqs_max)
    fake = FakeMioGram(AccountConfig(secret=SECRET, numbers=NumberBook.except_for({NUMBERS[4]})))
    inputs = [NUMBERS[0], "nope", NUMBERS[1], NUMBERS[0], *NUMBERS[2:7], "12", *NUMBERS[7:]]
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.create(tmp_path / "c.db", inputs, message="Hi", chunk_size=3) as campaign:
            summary = await campaign.run(client, concurrency=2)
            rows = [(row[1], row[3]) for row in campaign._journal.rows()]
    expected = [(raw, "delivered") for raw in inputs]
    expected[1] = ("nope", "invalid")
    expected[3] = (NUMBERS[0], "duplicate")
    expected[6] = (NUMBERS[4], "undelivered")
    expected[9] = ("12", "invalid")
    assert rows == expected
    assert summary.complete
    assert len(fake.deliveries) == 9
