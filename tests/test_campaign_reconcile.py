"""The pure reconciliation rules: which report records count, and what they prove."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import attrs

from miogram_async import ReportRecord
from miogram_async.campaign import NumberState
from miogram_async.campaign._reconcile import (
    CLOCK_SLACK,
    media_matcher,
    reconcile,
    record_time,
    text_matcher,
)

TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))
STARTED = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=TEHRAN).timestamp()


def record(
    number: str, delivered: list[str], data: str = "hi", at: dt.datetime | None = None
) -> ReportRecord:
    """A report record as the service sends it, stamped at *at* (default: just after STARTED)."""
    when = at or dt.datetime(2026, 11, 26, 12, 0, 5, tzinfo=TEHRAN)
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


def test_delivered_undelivered_and_unconfirmed() -> None:
    """Listed delivered -> DELIVERED; sent but not listed -> UNDELIVERED; absent -> UNKNOWN."""
    doubt = dict.fromkeys(["+989120000001", "+989120000002", "+989120000003"], STARTED)
    records = [record("+989120000001,+989120000002", ["+989120000001"])]
    assert reconcile(doubt, records, payload_matches=text_matcher("hi")) == {
        "+989120000001": NumberState.DELIVERED,
        "+989120000002": NumberState.UNDELIVERED,
        "+989120000003": NumberState.UNKNOWN,
    }


def test_numbers_match_in_any_spelling() -> None:
    """Report numbers without '+' (WhatsApp) or with 00 match the journal's normalised numbers."""
    doubt = dict.fromkeys(["+989120000001", "+989120000002"], STARTED)
    records = [record("989120000001,00989120000002", ["989120000001", "00989120000002"])]
    decided = reconcile(doubt, records, payload_matches=text_matcher("hi"))
    assert set(decided.values()) == {NumberState.DELIVERED}


def test_other_payloads_and_older_records_do_not_count() -> None:
    """A record of another message, or from well before the chunk started, proves nothing."""
    doubt = {"+989120000001": STARTED}
    old = dt.datetime.fromtimestamp(STARTED - CLOCK_SLACK - 60, TEHRAN)
    records = [
        record("+989120000001", ["+989120000001"], data="another message"),
        record("+989120000001", ["+989120000001"], at=old),
    ]
    decided = reconcile(doubt, records, payload_matches=text_matcher("hi"))
    assert decided == {"+989120000001": NumberState.UNKNOWN}


def test_record_time_reads_tehran_time_and_tolerates_garbage() -> None:
    """Record times are read as Asia/Tehran; unreadable ones give None (then time is not used)."""
    assert record_time(record("+989120000001", [])) == STARTED + 5
    assert record_time(attrs.evolve(record("+989120000001", []), date="yesterday")) is None


def test_media_matcher_compares_the_decoded_content_digest() -> None:
    """Media records match by the SHA-256 of their decoded base64 data."""
    content = b"\x89PNG fake image"
    matches = media_matcher(hashlib.sha256(content).hexdigest())
    assert matches(base64.b64encode(content).decode())
    assert not matches(base64.b64encode(b"other").decode())
    assert not matches("not base64 !!")
    assert matches("")


def test_text_matcher_allows_an_appended_ad() -> None:
    """A text record matches the message itself or the message followed by the account's ad."""
    matches = text_matcher("hello")
    assert matches("hello")
    assert matches("hello\nBuy now")
    assert not matches("goodbye")
