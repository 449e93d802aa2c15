"""
Reconciliation takes a report record only when it is certainly the campaign's: exact payload, the
number, and newer than the run's anchor on the service's clock. Each false match of the past is a
case here, through the public API against the fake.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
from pathlib import Path

import attrs
import pytest
from chunk_layout import first_chunk

from miogram_async import MioGram, ReportRecord
from miogram_async.campaign import Campaign, NumberState
from miogram_async.campaign._reconcile import (
    Anchor,
    media_matcher,
    reconcile,
    record_time,
    text_matcher,
)
from miogram_async.testing import AccountConfig, FakeMioGram, FaultKind, FaultRule, NumberBook

TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))
NOON = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=TEHRAN)
SECRET = "reconcile-secret-5a1e"
NUMBERS = [f"+98912{i:07d}" for i in range(40)]


def record(
    number: str, delivered: list[str], data: str = "hi", at: dt.datetime | None = None
) -> ReportRecord:
    """A report record as the service sends it, stamped at *at* (default: NOON + 5 s)."""
    when = at or NOON + dt.timedelta(seconds=5)
    return ReportRecord(
        username="tester",
        date=when.strftime("%Y-%m-%d"),
        time=when.strftime("%H:%M:%S"),
        ip="127.0.0.1",
        data=data,
        number=number,
        delivered=delivered,
        raw={},
    )


EXACT = text_matcher("hi", ads=False)
BEFORE_ANY = Anchor(newest=None)


def test_delivered_undelivered_and_unconfirmed() -> None:
    """Listed delivered -> DELIVERED; sent but not listed delivered, or absent -> UNKNOWN."""
    doubt = dict.fromkeys(["+989120000001", "+989120000002", "+989120000003"], BEFORE_ANY)
    records = [record("+989120000001,+989120000002", ["+989120000001"])]
    assert reconcile(doubt, records, payload_matches=EXACT) == {
        "+989120000001": NumberState.DELIVERED,
        "+989120000002": NumberState.UNKNOWN,
        "+989120000003": NumberState.UNKNOWN,
    }


def test_numbers_match_in_any_spelling() -> None:
    """Report numbers without '+' (WhatsApp) or with 00 match the journal's normalised numbers."""
    doubt = dict.fromkeys(["+989120000001", "+989120000002"], BEFORE_ANY)
    records = [record("989120000001,00989120000002", ["989120000001", "00989120000002"])]
    decided = reconcile(doubt, records, payload_matches=EXACT)
    assert set(decided.values()) == {NumberState.DELIVERED}


def test_records_count_only_after_the_anchor_on_the_service_clock() -> None:
    """Older than the anchor, or in its second naming a number logged then: not this run's."""
    anchor = Anchor.of([record("+989120000001", ["+989120000001"], at=NOON)])
    assert anchor == Anchor(newest=NOON.timestamp(), numbers=frozenset({"+989120000001"}))
    doubt = dict.fromkeys(["+989120000001", "+989120000002", "+989120000003"], anchor)
    records = [
        record("+989120000001", ["+989120000001"], at=NOON),
        record("+989120000002", ["+989120000002"], at=NOON),
        record("+989120000003", ["+989120000003"], at=NOON - dt.timedelta(seconds=1)),
    ]
    assert reconcile(doubt, records, payload_matches=EXACT) == {
        "+989120000001": NumberState.UNKNOWN,
        "+989120000002": NumberState.DELIVERED,
        "+989120000003": NumberState.UNKNOWN,
    }


def test_without_an_anchor_or_a_certain_payload_nothing_is_confirmed() -> None:
    """A run with no anchor, or a text that cannot be told apart (ads), stays UNKNOWN."""
    records = [record("+989120000001", ["+989120000001"])]
    assert reconcile({"+989120000001": None}, records, payload_matches=EXACT) == {
        "+989120000001": NumberState.UNKNOWN
    }
    assert reconcile({"+989120000001": BEFORE_ANY}, records, payload_matches=None) == {
        "+989120000001": NumberState.UNKNOWN
    }
    assert text_matcher("hi", ads=True) is None
    assert text_matcher("hi", ads=None) is None


def test_an_unreadable_record_time_gives_no_anchor_and_no_match() -> None:
    """An unreadable time could be the newest: no anchor; such a record never confirms."""
    bad = attrs.evolve(record("+989120000001", ["+989120000001"]), date="yesterday")
    assert Anchor.of([bad]) is None
    assert reconcile({"+989120000001": BEFORE_ANY}, [bad], payload_matches=EXACT) == {
        "+989120000001": NumberState.UNKNOWN
    }


def test_anchor_round_trips_through_json() -> None:
    """The anchor a run keeps in the journal reads back the same; junk reads as no anchor."""
    anchor = Anchor(newest=NOON.timestamp(), numbers=frozenset({"+989120000001"}))
    assert Anchor.from_json(anchor.to_json()) == anchor
    assert Anchor.from_json(BEFORE_ANY.to_json()) == BEFORE_ANY
    assert Anchor.from_json("{") is None
    assert Anchor.from_json('{"newest": "noon", "numbers": []}') is None


def test_record_time_reads_tehran_time_and_tolerates_garbage() -> None:
    """Record times are read as Asia/Tehran; unreadable ones give None."""
    assert record_time(record("+989120000001", [])) == NOON.timestamp() + 5
    assert record_time(attrs.evolve(record("+989120000001", []), date="yesterday")) is None


def test_media_matcher_compares_the_decoded_content_digest() -> None:
    """Media records match by the SHA-256 of their strict base64 data; empty data proves nothing."""
    content = b"\x89PNG fake image"
    matches = media_matcher(hashlib.sha256(content).hexdigest())
    assert matches(base64.b64encode(content).decode())
    assert not matches(base64.b64encode(b"other").decode())
    assert not matches("not base64 !!")
    assert not matches("")


def test_text_matcher_takes_the_exact_text_only() -> None:
    """Without ads a record matches the message exactly: no prefix, no suffix, no empty data."""
    matches = text_matcher("Spring sale", ads=False)
    assert matches is not None
    assert matches("Spring sale")
    assert not matches("Spring sale ends tonight!")
    assert not matches("Spring sale\nends tonight!")
    assert not matches("")


# Through the public API: the false matches the issue found.


def make_fake(ads: str = "") -> FakeMioGram:
    """A fake whose numbers all exist."""
    return FakeMioGram(AccountConfig(secret=SECRET, numbers=NumberBook.everyone(), ads=ads))


async def test_another_campaigns_longer_text_is_not_taken_for_this_one(tmp_path: Path) -> None:
    """'Spring sale ends tonight!' sent after the run does not confirm 'Spring sale'."""
    fake = make_fake()
    fake.inject(FaultRule(kind=FaultKind.DROP, funcs="SendMessageMass", times=1))
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.create(
            tmp_path / "c.db", NUMBERS[:20], message="Spring sale", chunk_size=20
        ) as campaign:
            # The report alone: the settle would find the lost chunk's numbers absent from the
            # histories (a later chunk delivered on their agent), leaving nothing to reconcile.
            first = await campaign.run(client, settle=False)
            # Another campaign of the account reaches the same numbers, after this run's anchor.
            await client.send_message_mass(NUMBERS[:20], "Spring sale ends tonight!")
            second = await campaign.run(client, settle=False)
    lost = first_chunk(20)  # the first chunk's connection dropped; the others were answered
    assert first.status.by_state[NumberState.UNKNOWN] == lost
    assert second.reconciled == {NumberState.UNKNOWN: lost}
    assert second.status.delivered == 20 - lost


async def test_with_ads_a_text_record_is_never_certain(tmp_path: Path) -> None:
    """The account appends an ad the API cannot show: no text record confirms anything."""
    fake = make_fake(ads="Visit miogram.net")
    fake.inject(FaultRule(kind=FaultKind.LOST_REPLY, funcs="SendMessageMass", times=1))
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.create(
            tmp_path / "c.db", NUMBERS[:20], message="Spring sale", chunk_size=20
        ) as campaign:
            await campaign.run(client, settle=False)
            second = await campaign.run(client, settle=False)
    assert len(fake.deliveries) == 20
    assert second.reconciled == {NumberState.UNKNOWN: first_chunk(20)}  # the lost reply's chunk
    assert second.report_error is not None
    assert "ad" in second.report_error


async def test_client_clock_an_hour_fast_still_confirms_deliveries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the client's clock 1 h ahead of the service's, a lost reply is still confirmed."""
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)
    fake = make_fake()
    fake.inject(FaultRule(kind=FaultKind.LOST_REPLY, funcs="SendMessageMass", times=1))
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        with Campaign.create(
            tmp_path / "c.db", NUMBERS[:20], message="Spring sale", chunk_size=20
        ) as campaign:
            first = await campaign.run(client, settle=False)
            second = await campaign.run(client, settle=False)
    lost = first_chunk(20)  # the first chunk's reply was lost
    assert first.status.by_state[NumberState.UNKNOWN] == lost
    assert second.reconciled == {NumberState.DELIVERED: lost}
    assert len(fake.deliveries) == 20


async def test_client_clock_an_hour_slow_does_not_confirm_from_an_older_campaign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the client's clock 1 h behind, an earlier send of the same text confirms nothing."""
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3600)
    fake = make_fake()
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        # An older campaign with the same text reached these numbers minutes ago.
        await client.send_message_mass(NUMBERS[:20], "Spring sale")
        fake.inject(FaultRule(kind=FaultKind.DROP, funcs="SendMessageMass", times=1))
        with Campaign.create(
            tmp_path / "c.db", NUMBERS[:20], message="Spring sale", chunk_size=20
        ) as campaign:
            first = await campaign.run(client, settle=False)
            second = await campaign.run(client, settle=False)
    assert first.status.by_state[NumberState.UNKNOWN] == 20
    assert second.reconciled == {NumberState.UNKNOWN: 20}
    assert second.status.delivered == 0
