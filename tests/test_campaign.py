"""Campaign journals: creation, runs, resume, reconciliation through the report, refusals."""

from __future__ import annotations

import collections
import csv
import io
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
import trio
from chunk_layout import first_chunk, layout
from journal_steps import start_chunk

from miogram_async import MassProgress, MassSendError, MioGram, ValidationError
from miogram_async.campaign import Campaign, CampaignError, NumberState
from miogram_async.campaign._reconcile import Anchor
from miogram_async.campaign.storage import Journal
from miogram_async.testing import (
    AccountConfig,
    CreditsConfig,
    FakeMioGram,
    FaultKind,
    FaultRule,
    Faults,
    NumberBook,
    TimeModel,
)

SECRET = "campaign-secret-7f3a9c"
MESSAGE = "Hello from the campaign"
NUMBERS = [f"+98912{i:07d}" for i in range(250)]
MISSING = set(NUMBERS[::7])


def make_fake(**changes: Any) -> FakeMioGram:
    """A fake with one account whose numbers exist except every seventh."""
    config = AccountConfig(secret=SECRET, numbers=NumberBook.except_for(MISSING))
    return FakeMioGram(attrs.evolve(config, **changes))


@pytest.fixture
async def fake_client() -> AsyncIterator[tuple[FakeMioGram, MioGram]]:
    """A fake service and a client bound to it in process."""
    fake = make_fake()
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        yield fake, client


def begin_anchored_run(journal: Journal) -> int:
    """Begin a run as `Campaign.run` does before sending: anchored on the (empty) report."""
    run = journal.begin_run()
    journal.set_anchor(run, Anchor(newest=None).to_json())
    return run


def delivered_counts(fake: FakeMioGram) -> collections.Counter[str]:
    """How many times the fake delivered to each number."""
    return collections.Counter(delivery.number for delivery in fake.deliveries)


def test_create_records_invalid_and_duplicate_inputs(tmp_path: Path) -> None:
    """Every non-blank input item gets one row: valid ones pending, others invalid or duplicate."""
    inputs = ["+989120000001", "0098 912 000 0002", "garbage", "", "+989120000001", "  "]
    with Campaign.create(tmp_path / "c.db", inputs, message=MESSAGE) as campaign:
        status = campaign.status()
        out = io.StringIO()
        written = campaign.export(out)
    assert status.total == 4
    assert status.by_state[NumberState.PENDING] == 2
    assert status.by_state[NumberState.INVALID] == 1
    assert status.by_state[NumberState.DUPLICATE] == 1
    assert written == 4
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["state"] for row in rows] == ["pending", "pending", "invalid", "duplicate"]
    assert rows[1]["number"] == "+989120000002"
    assert rows[3]["number"] == "+989120000001"
    assert "garbage" in rows[2]["error"]


def test_create_streams_a_large_input(tmp_path: Path) -> None:
    """A 120,000-item input with repeats is recorded in full, de-duplicated by the unique index."""
    numbers = (f"+9891{i % 100_000:08d}" for i in range(120_000))
    with Campaign.create(tmp_path / "big.db", numbers, message=MESSAGE) as campaign:
        status = campaign.status()
    assert status.total == 120_000
    assert status.by_state[NumberState.PENDING] == 100_000
    assert status.by_state[NumberState.DUPLICATE] == 20_000


def test_create_refuses_an_existing_path(tmp_path: Path) -> None:
    """An existing file is never overwritten unless asked, and is left as it was."""
    path = tmp_path / "c.db"
    path.write_bytes(b"precious")
    with pytest.raises(CampaignError, match="already exists"):
        Campaign.create(path, NUMBERS, message=MESSAGE)
    assert path.read_bytes() == b"precious"
    with Campaign.create(path, NUMBERS[:3], message=MESSAGE, overwrite=True) as campaign:
        assert campaign.status().pending == 3


def test_create_checks_kind_and_payload(tmp_path: Path) -> None:
    """A message campaign needs a message, a media campaign a file; bad chunk sizes are refused."""
    with pytest.raises(ValidationError, match="takes message="):
        Campaign.create(tmp_path / "a.db", NUMBERS, kind="message")
    with pytest.raises(ValidationError, match="takes media="):
        Campaign.create(tmp_path / "b.db", NUMBERS, kind="photo", message=MESSAGE)
    with pytest.raises(ValidationError, match="campaign kind"):
        Campaign.create(tmp_path / "c.db", NUMBERS, kind="fax", message=MESSAGE)
    with pytest.raises(ValidationError, match="chunk size"):
        Campaign.create(tmp_path / "d.db", NUMBERS, message=MESSAGE, chunk_size=0)
    assert sorted(tmp_path.iterdir()) == []


def test_create_refuses_a_single_string_of_numbers(tmp_path: Path) -> None:
    """A lone string (one number, or a file name) is refused, not recorded as invalid characters."""
    with pytest.raises(TypeError, match="single string"):
        Campaign.create(tmp_path / "c.db", NUMBERS[0], message=MESSAGE)
    assert sorted(tmp_path.iterdir()) == []


def test_create_records_non_string_items_as_invalid(tmp_path: Path) -> None:
    """An item that is not a string (an int from a spreadsheet) is recorded invalid, not a crash."""
    inputs: list[Any] = ["+989120000001", 989120000002, None]
    # International forms only: under the default region (IR) 989120000002 reads as a number.
    with Campaign.create(
        tmp_path / "c.db", inputs, message=MESSAGE, default_region=None
    ) as campaign:
        out = io.StringIO()
        campaign.export(out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(row["input"], row["state"]) for row in rows] == [
        ("+989120000001", "pending"),
        ("989120000002", "invalid"),
        ("None", "invalid"),
    ]


def test_create_in_a_missing_directory_is_a_campaign_error(tmp_path: Path) -> None:
    """A journal path in a directory that does not exist gives a CampaignError naming it."""
    with pytest.raises(CampaignError, match="no such directory"):
        Campaign.create(tmp_path / "missing" / "c.db", NUMBERS, message=MESSAGE)
    assert sorted(tmp_path.iterdir()) == []


def test_export_never_overwrites_the_journal(tmp_path: Path) -> None:
    """Exporting to the journal (or its WAL files) is refused and the journal survives."""
    path = tmp_path / "c.db"
    with Campaign.create(path, NUMBERS[:3], message=MESSAGE) as campaign:
        for target in (path, tmp_path / "c.db-wal", tmp_path / "." / "c.db-shm"):
            with pytest.raises(CampaignError, match="over the journal"):
                campaign.export(target)
    with Campaign.open(path) as campaign:
        assert campaign.status().pending == 3


async def test_run_sends_every_number_once(
    tmp_path: Path, fake_client: tuple[FakeMioGram, MioGram]
) -> None:
    """A run journals every outcome as the service gave it; a second run sends nothing."""
    fake, client = fake_client
    inputs = [*NUMBERS, "12", NUMBERS[0]]
    with Campaign.create(tmp_path / "c.db", inputs, message=MESSAGE, chunk_size=40) as campaign:
        summary = await campaign.run(client)
        again = await campaign.run(client)
    assert summary.sent == len(NUMBERS)
    assert summary.complete
    status = summary.status
    assert status.delivered == len(NUMBERS) - len(MISSING)
    assert status.by_state[NumberState.UNDELIVERED] == len(MISSING)
    assert status.by_state[NumberState.INVALID] == 1
    assert status.by_state[NumberState.DUPLICATE] == 1
    assert status.chunks == status.chunks_done == len(layout(len(NUMBERS), 40)) == 8
    assert again.sent == 0
    assert set(delivered_counts(fake).values()) == {1}
    assert len(fake.deliveries) == status.delivered


async def test_run_reports_progress_and_export_json(
    tmp_path: Path, fake_client: tuple[FakeMioGram, MioGram]
) -> None:
    """on_progress is called per chunk; the JSON export lists every number with its state."""
    _, client = fake_client
    seen: list[int] = []

    def progress(snapshot: MassProgress) -> None:
        seen.append(snapshot.chunks_done)

    out_path = tmp_path / "out.json"
    with Campaign.create(tmp_path / "c.db", NUMBERS[:30], message=MESSAGE, chunk_size=10) as c:
        await c.run(client, robots=["Agent1"], on_progress=progress)
        assert c.export(out_path, fmt="json") == 30
    assert seen[-1] == len(layout(30, 10)) == 4
    rows = json.loads(out_path.read_text(encoding="utf-8"))
    assert len(rows) == 30
    assert {row["state"] for row in rows} == {"delivered", "undelivered"}
    assert rows[0]["robot"] == "Agent1"


async def test_credit_stop_leaves_the_rest_pending_then_resume_completes(tmp_path: Path) -> None:
    """Out of credit: finished chunks are journalled, the rest stays pending; a resume finishes."""
    fake = make_fake(numbers=NumberBook.everyone(), credits=CreditsConfig(message=150))
    path = tmp_path / "c.db"
    Campaign.create(path, NUMBERS, message=MESSAGE, chunk_size=100).close()
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.open(path) as campaign:
            with pytest.raises(MassSendError):
                await campaign.run(client, concurrency=1)
            stopped = campaign.status()
        fake.account().credits["Message"] = 1000
        with Campaign.open(path) as campaign:
            summary = await campaign.run(client, concurrency=1)
    # A small chunk (the pace unknown, E49), one of 100, then 100 more than the credit left.
    assert layout(250, 100)[:3] == [first_chunk(100), 100, 100]
    assert stopped.delivered == first_chunk(100) + 100
    assert stopped.pending == 250 - first_chunk(100) - 100
    assert stopped.in_doubt == 0
    assert summary.complete
    assert summary.status.delivered == 250
    assert set(delivered_counts(fake).values()) == {1}


async def test_cancelled_run_journals_in_flight_chunks_and_resumes(tmp_path: Path) -> None:
    """Cancelling a run lets in-flight chunks finish and journals them; a resume completes."""
    fake = make_fake(agents=("Agent1", "Agent2"))
    fake.time_model = TimeModel(per_number=0.002)
    path = tmp_path / "c.db"
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.create(path, NUMBERS, message=MESSAGE, chunk_size=25) as campaign:
            with anyio.CancelScope() as scope:

                def progress(snapshot: MassProgress) -> None:
                    if snapshot.chunks_done >= 2:
                        scope.cancel()

                await campaign.run(client, robots="all", on_progress=progress)
            stopped = campaign.status()
            delivered_at_stop = len(fake.deliveries)
            summary = await campaign.run(client, robots="all")
    assert scope.cancelled_caught
    assert stopped.by_state[NumberState.SENDING] == 0
    assert stopped.chunks == stopped.chunks_done
    assert 0 < stopped.delivered < len(NUMBERS) - len(MISSING)
    assert stopped.delivered == delivered_at_stop
    assert stopped.last_run == "cancelled"
    assert summary.complete
    assert summary.status.delivered == len(NUMBERS) - len(MISSING)
    assert set(delivered_counts(fake).values()) == {1}
    assert len(fake.deliveries) == summary.status.delivered


async def test_in_doubt_chunk_is_reconciled_from_the_report(
    tmp_path: Path, fake_client: tuple[FakeMioGram, MioGram]
) -> None:
    """A chunk journalled as attempting (the process died) is resolved through the report."""
    fake, client = fake_client
    path = tmp_path / "c.db"
    Campaign.create(path, NUMBERS[:60], message=MESSAGE, chunk_size=20).close()
    sent, lost = NUMBERS[:20], NUMBERS[20:40]
    # What a process killed mid-request leaves: two chunks attempting, one of them really sent.
    journal = Journal.open(path)
    run = begin_anchored_run(journal)
    start_chunk(journal, run, 0, None, sent)
    start_chunk(journal, run, 1, None, lost)
    journal.close()
    await client.send_message_mass(sent, MESSAGE)
    with Campaign.open(path) as campaign:
        before = campaign.status()
        summary = await campaign.run(client, settle=False)
        out = io.StringIO()
        campaign.export(out)
    assert before.in_doubt == 40
    assert before.chunks_in_doubt == 2
    sent_missing = len(MISSING.intersection(sent))
    # The report proves deliveries only: a number it shows sent and not delivered stays unknown.
    assert summary.reconciled == {
        NumberState.DELIVERED: 20 - sent_missing,
        NumberState.UNKNOWN: 20 + sent_missing,
    }
    assert summary.sent == 20
    states = {row["number"]: row["state"] for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert {states[number] for number in lost} == {"unknown"}
    assert set(delivered_counts(fake).values()) == {1}
    assert summary.status.chunks_done == summary.status.chunks


async def test_lost_reply_is_confirmed_by_the_report_on_resume(tmp_path: Path) -> None:
    """A reply lost after processing gives UNKNOWN; the next run upgrades it from the report."""
    fake = make_fake(numbers=NumberBook.everyone())
    fake.inject(FaultRule(kind=FaultKind.LOST_REPLY, funcs="SendMessageMass", times=1))
    path = tmp_path / "c.db"
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.create(path, NUMBERS[:50], message=MESSAGE, chunk_size=25) as campaign:
            first = await campaign.run(client, concurrency=1, settle=False)
            second = await campaign.run(client, settle=False)
    lost = first_chunk(25)  # the first chunk's reply was lost
    assert first.status.by_state[NumberState.UNKNOWN] == lost
    assert first.status.delivered == 50 - lost
    assert second.reconciled == {NumberState.DELIVERED: lost}
    assert second.sent == 0
    assert second.status.delivered == 50 == len(fake.deliveries)


async def test_unreadable_report_leaves_numbers_in_doubt_and_unsent(tmp_path: Path) -> None:
    """When the report cannot be read, in-doubt numbers stay in doubt and are not sent again."""
    fake = make_fake(numbers=NumberBook.everyone())
    path = tmp_path / "c.db"
    Campaign.create(path, NUMBERS[:30], message=MESSAGE, chunk_size=10).close()
    journal = Journal.open(path)
    start_chunk(journal, begin_anchored_run(journal), 0, None, NUMBERS[:10])
    journal.close()
    fake.faults = Faults.of(FaultRule(kind=FaultKind.HTTP_ERROR, funcs="APIGetReport"))
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.open(path) as campaign:
            blocked = await campaign.run(client, settle=False)
        fake.faults = Faults()
        with Campaign.open(path) as campaign:
            resolved = await campaign.run(client, settle=False)
            again = await campaign.run(client, resend_unknown=True, settle=False)
    assert blocked.report_error is not None
    assert blocked.sent == 20
    assert blocked.status.in_doubt == 10
    assert not blocked.complete
    assert resolved.reconciled == {NumberState.UNKNOWN: 10}
    assert resolved.complete
    assert again.sent == 10
    assert again.status.delivered == 30


async def test_media_campaign_checks_the_file_before_each_run(
    tmp_path: Path, fake_client: tuple[FakeMioGram, MioGram]
) -> None:
    """A photo campaign sends the file it recorded, and refuses to run once the file changed."""
    fake, client = fake_client
    photo = tmp_path / "pic.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + bytes(range(256)) * 4)
    path = tmp_path / "c.db"
    with Campaign.create(path, NUMBERS[:10], kind="photo", media=photo) as campaign:
        assert campaign.media is not None
        assert campaign.media.size == photo.stat().st_size
        summary = await campaign.run(client)
    assert summary.status.delivered == len([n for n in NUMBERS[:10] if n not in MISSING])
    assert {delivery.func for delivery in fake.deliveries} == {"SendPhotoMass"}
    photo.write_bytes(b"changed")
    with Campaign.open(path) as campaign, pytest.raises(CampaignError, match="changed"):
        await campaign.run(client)
    assert photo.read_bytes() == b"changed"
    assert b"\xff\xd8\xff\x00\x01" not in path.read_bytes()


async def test_journal_holds_no_secret(
    tmp_path: Path, fake_client: tuple[FakeMioGram, MioGram]
) -> None:
    """After a run (and while open, WAL included) the journal's bytes never contain the secret."""
    _, client = fake_client
    path = tmp_path / "c.db"
    with Campaign.create(path, NUMBERS[:40], message=MESSAGE, chunk_size=10) as campaign:
        await campaign.run(client)
        while_open = b"".join(
            side.read_bytes() for side in (path, tmp_path / "c.db-wal") if side.exists()
        )
    assert SECRET.encode() not in while_open
    assert SECRET.encode() not in path.read_bytes()
    assert MESSAGE.encode() in path.read_bytes()


def test_foreign_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    """Another application's SQLite database gives CampaignError and is not modified."""
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('format', 'miogram-campaign')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(CampaignError, match="not a campaign journal"):
        Campaign.open(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_corrupt_journal_is_refused_untouched(tmp_path: Path) -> None:
    """A journal with damaged pages gives CampaignError and is left byte for byte as it was."""
    path = tmp_path / "c.db"
    Campaign.create(path, NUMBERS, message=MESSAGE).close()
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size : 3 * page_size] = b"\xa5" * (2 * page_size)
    path.write_bytes(bytes(data))
    with pytest.raises(CampaignError, match="corrupt"):
        Campaign.open(path)
    assert path.read_bytes() == bytes(data)


@pytest.mark.parametrize(
    "content", [b"", b"not a database at all\n", b"SQLite format 3\x00" + b"\x00" * 20]
)
def test_non_database_file_is_refused_untouched(tmp_path: Path, content: bytes) -> None:
    """Empty, text and truncated files give CampaignError and are not modified."""
    path = tmp_path / "c.db"
    path.write_bytes(content)
    with pytest.raises(CampaignError, match="not a campaign journal"):
        Campaign.open(path)
    assert path.read_bytes() == content


def test_missing_journal_and_newer_schema_are_refused(tmp_path: Path) -> None:
    """A missing path and a journal of an unknown schema version give a clear CampaignError."""
    with pytest.raises(CampaignError, match="no campaign journal"):
        Campaign.open(tmp_path / "nope.db")
    path = tmp_path / "c.db"
    Campaign.create(path, NUMBERS[:3], message=MESSAGE).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(CampaignError, match="schema version '99'"):
        Campaign.open(path)
    assert path.read_bytes() == before


def test_a_journal_is_opened_by_one_user_at_a_time(tmp_path: Path) -> None:
    """A second open of a journal in use is refused, so no campaign runs twice at once."""
    path = tmp_path / "c.db"
    with (
        Campaign.create(path, NUMBERS[:3], message=MESSAGE),
        pytest.raises(CampaignError, match="in use"),
    ):
        Campaign.open(path)
    with Campaign.open(path) as campaign:
        assert campaign.status().pending == 3


async def test_a_999_chunk_is_unknown_and_sent_again_only_on_request(tmp_path: Path) -> None:
    """999 (the gateway goes on sending, E32) makes a chunk UNKNOWN; only resend_unknown resends."""
    fake = make_fake(numbers=NumberBook.everyone())
    fake.inject(FaultRule(kind=FaultKind.NO_RESPONSE, funcs="SendMessageMass", times=1))
    path = tmp_path / "c.db"
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.create(path, NUMBERS[:20], message=MESSAGE, chunk_size=10) as campaign:
            first = await campaign.run(client, concurrency=1, settle=False)
            plain = await campaign.run(client, retry_failed=True, settle=False)
            resent = await campaign.run(client, resend_unknown=True, settle=False)
    unknown = first_chunk(10)  # the first chunk got the 999
    assert first.status.by_state[NumberState.UNKNOWN] == unknown
    assert first.status.by_state[NumberState.FAILED] == 0
    assert first.status.last_run == "finished"
    assert plain.sent == 0
    assert plain.reconciled == {NumberState.UNKNOWN: unknown}
    assert resent.sent == unknown
    assert resent.status.delivered == 20 == len(fake.deliveries)


async def test_failed_numbers_are_sent_again_only_on_request(tmp_path: Path) -> None:
    """FAILED numbers (a refusal the service proved) are sent again only with retry_failed."""
    fake = make_fake(numbers=NumberBook.everyone())
    path = tmp_path / "c.db"
    Campaign.create(path, NUMBERS[:20], message=MESSAGE, chunk_size=10).close()
    journal = Journal.open(path)
    refused = [(number, NumberState.FAILED, 400, "Not Valid File") for number in NUMBERS[:10]]
    journal.settle(refused, [])
    journal.close()
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.open(path) as campaign:
            plain = await campaign.run(client)
            retried = await campaign.run(client, retry_failed=True)
            out = io.StringIO()
            campaign.export(out)
    assert plain.sent == 10
    assert plain.status.by_state[NumberState.FAILED] == 10
    assert retried.sent == 10
    assert retried.status.delivered == 20 == len(fake.deliveries)
    assert {row["error_code"] for row in csv.DictReader(io.StringIO(out.getvalue()))} == {""}


async def test_chunks_that_could_not_connect_go_back_to_pending(tmp_path: Path) -> None:
    """A chunk whose connection could not be made sent nothing: a plain resume sends it."""
    fake = make_fake(numbers=NumberBook.everyone())
    fake.inject(FaultRule(kind=FaultKind.CONNECT_ERROR, funcs="SendMessageMass", times=1))
    path = tmp_path / "c.db"
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.create(path, NUMBERS[:20], message=MESSAGE, chunk_size=10) as campaign:
            first = await campaign.run(client, concurrency=1)
            resumed = await campaign.run(client)
    unsent = first_chunk(10)  # the first chunk could not connect
    assert first.status.by_state[NumberState.FAILED] == 0
    assert first.status.pending == unsent
    assert resumed.sent == unsent
    assert resumed.status.delivered == 20
    assert delivered_counts(fake) == collections.Counter(NUMBERS[:20])


def test_runs_under_trio(tmp_path: Path) -> None:
    """A campaign runs and resumes under trio as well as asyncio."""
    fake = make_fake()

    async def main() -> tuple[int, int]:
        async with (
            MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client,
            Campaign.create(tmp_path / "c.db", NUMBERS[:30], message=MESSAGE) as campaign,
        ):
            summary = await campaign.run(client)
            return summary.sent, summary.status.delivered

    sent, delivered = trio.run(main)
    assert sent == 30
    assert delivered == len(fake.deliveries) == len([n for n in NUMBERS[:30] if n not in MISSING])


def test_failed_create_leaves_nothing_behind(tmp_path: Path) -> None:
    """If reading the numbers fails half-way, no journal (and no temporary file) is left."""

    def numbers() -> Iterator[str]:
        yield from NUMBERS[:10]
        raise OSError("the input file went away")

    with pytest.raises(OSError, match="went away"):
        Campaign.create(tmp_path / "c.db", numbers(), message=MESSAGE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kind", "func"),
    [
        ("message", "SendMessageMass"),
        ("whatsapp", "SendMessageWhatsAppMass"),
        ("photo", "SendPhotoMass"),
        ("video", "SendVideoMass"),
        ("file", "SendFileMass"),
    ],
)
async def test_each_kind_runs_through_its_mass_action(
    tmp_path: Path, fake_client: tuple[FakeMioGram, MioGram], kind: str, func: str
) -> None:
    """Every campaign kind sends through the matching Mass action."""
    fake, client = fake_client
    media = tmp_path / "attachment.bin"
    media.write_bytes(b"attachment content")
    payload: dict[str, Any] = (
        {"message": MESSAGE} if kind in {"message", "whatsapp"} else {"media": media}
    )
    if kind in {"video", "file"}:
        payload["file_format"] = "mp4" if kind == "video" else "pdf"
    with Campaign.create(tmp_path / "c.db", NUMBERS[:5], kind=kind, **payload) as campaign:
        summary = await campaign.run(client)
    assert summary.sent == 5
    assert summary.complete
    assert {delivery.func for delivery in fake.deliveries} == {func}
