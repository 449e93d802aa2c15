"""The compact journal (schema 3): integer numbers, packed chunks, input kept only if spelled."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest

from miogram_async import MioGram
from miogram_async.campaign import Campaign, CampaignKind, NumberState
from miogram_async.campaign.storage import CampaignMeta, Journal
from miogram_async.campaign.storage._sqlite import _create as journal_create
from miogram_async.testing import AccountConfig, FakeMioGram, NumberBook

SECRET = "compact-secret-90d1"
MESSAGE = "Hello, compactly"

MIXED: list[object] = [
    "+989120000001",
    "0912 000 0002",
    "not a number",
    "",
    "+989120000001",
    "   ",
    "989120000003",
    42,
    "+98 912 000 0002",
    "+989120000004",
]
#: (input as exported, number, state) of each non-blank item of MIXED, in order.
EXPECTED = [
    ("+989120000001", "+989120000001", "pending"),
    ("0912 000 0002", "+989120000002", "pending"),
    ("not a number", "", "invalid"),
    ("+989120000001", "+989120000001", "duplicate"),
    ("989120000003", "+989120000003", "pending"),
    ("42", "", "invalid"),
    ("+98 912 000 0002", "+989120000002", "duplicate"),
    ("+989120000004", "+989120000004", "pending"),
]


def exported(campaign: Campaign) -> list[tuple[str, str, str]]:
    """(input, number, state) of every exported row."""
    out = io.StringIO()
    campaign.export(out)
    return [
        (row["input"], row["number"], row["state"])
        for row in csv.DictReader(io.StringIO(out.getvalue()))
    ]


def stored(path: Path) -> list[tuple[object, ...]]:
    """The numbers table as stored: (seq, number, input, state, duplicate_of)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT seq, number, input, state, duplicate_of FROM numbers ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("batch", [3, 20000])
def test_mixed_inputs_read_back_as_given_whatever_the_batching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """Spelled, invalid, repeated, blank and non-string items export as given, in batches or not."""
    monkeypatch.setattr(journal_create, "_INSERT_BATCH", batch)
    path = tmp_path / "c.db"
    with Campaign.create(path, MIXED, message=MESSAGE) as campaign:  # type: ignore[arg-type]
        assert exported(campaign) == EXPECTED
        status = campaign.status()
    assert status.total == len(EXPECTED)
    assert status.by_state[NumberState.DUPLICATE] == 2
    assert [row[0] for row in stored(path)] == list(range(1, len(EXPECTED) + 1))


def test_numbers_are_integers_and_the_input_is_kept_only_where_it_differs(tmp_path: Path) -> None:
    """An E.164 item stores its digits alone; a spelled, invalid or repeated one keeps its text."""
    path = tmp_path / "c.db"
    Campaign.create(path, MIXED, message=MESSAGE).close()  # type: ignore[arg-type]
    assert stored(path) == [
        (1, 989120000001, None, "pending", None),
        (2, 989120000002, "0912 000 0002", "pending", None),
        (3, None, "not a number", "invalid", None),
        (4, None, None, "duplicate", 989120000001),
        (5, 989120000003, "989120000003", "pending", None),
        (6, None, "42", "invalid", None),
        (7, None, "+98 912 000 0002", "duplicate", 989120000002),
        (8, 989120000004, None, "pending", None),
    ]


def test_a_clean_list_spanning_batches_is_numbered_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of E.164 items (with blanks between them) number every item on from the last."""
    monkeypatch.setattr(journal_create, "_INSERT_BATCH", 4)
    numbers = [f"+98912{i:07d}" for i in range(11)]
    inputs = [*numbers[:4], "", *numbers[4:9], "  ", "bad", *numbers[9:]]
    path = tmp_path / "c.db"
    with Campaign.create(path, inputs, message=MESSAGE) as campaign:
        rows = exported(campaign)
    assert [row[0] for row in rows] == [*numbers[:9], "bad", *numbers[9:]]
    assert [seq for seq, *_ in stored(path)] == list(range(1, 13))


def test_a_chunk_row_packs_its_numbers_eight_bytes_each(tmp_path: Path) -> None:
    """A started chunk stores its numbers as one 8-byte-per-number blob, read back as in doubt."""
    numbers = [f"+98912{i:07d}" for i in range(40)]
    journal = Journal.create(
        tmp_path / "c.db",
        meta=CampaignMeta(kind=CampaignKind.MESSAGE, chunk_size=10),
        inputs=numbers,
        normalize=str,
    )
    try:
        run = journal.begin_run()
        journal.record(run, [(0, None, numbers[:25])], [])
        (blob,) = journal._conn.execute("SELECT numbers FROM chunks").fetchone()
        assert isinstance(blob, bytes)
        assert len(blob) == 25 * 8
        assert journal.counts()[NumberState.SENDING] == 25
        in_doubt = [row[2] for row in journal.rows() if row[3] == "sending"]
        assert in_doubt == numbers[:25]
    finally:
        journal.close()


def test_a_journal_takes_under_48_bytes_a_number_when_created(tmp_path: Path) -> None:
    """20,000 E.164 numbers make a journal of less than 48 bytes a number (version 2: ~75)."""
    path = tmp_path / "c.db"
    numbers = [f"+98912{i:07d}" for i in range(20_000)]
    Campaign.create(path, numbers, message=MESSAGE).close()
    assert path.stat().st_size / len(numbers) < 48


async def test_a_run_of_mixed_inputs_delivers_each_number_once(tmp_path: Path) -> None:
    """Integer numbers go out in E.164 form: each valid number delivered once, repeats skipped."""
    fake = FakeMioGram(AccountConfig(secret=SECRET, numbers=NumberBook.except_for(())))
    path = tmp_path / "c.db"
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.create(path, MIXED, message=MESSAGE, chunk_size=2) as campaign:  # type: ignore[arg-type]
            summary = await campaign.run(client)
            rows = exported(campaign)
    delivered = sorted(delivery.number for delivery in fake.deliveries)
    assert delivered == [f"+98912000000{i}" for i in range(1, 5)]
    assert summary.status.by_state[NumberState.DELIVERED] == 4
    assert [state for _, _, state in rows] == [
        "delivered",
        "delivered",
        "invalid",
        "duplicate",
        "delivered",
        "invalid",
        "duplicate",
        "delivered",
    ]
