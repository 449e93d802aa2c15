"""
Deciding what happened to in-doubt numbers from the service's send report (``APIGetReport``).

A chunk whose request may have reached the service but whose reply was never recorded (the process
died, the reply was lost) is looked up in the report: each record names the numbers a request was
sent to and those it was delivered to (API.md E9). Only records that match the campaign's payload
and are not older than the chunk count, so an earlier campaign to the same numbers is not taken for
this one. What the report cannot confirm stays ``UNKNOWN``: it may have been sent, so it is not
re-sent unless the caller says so.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._errors import ValidationError
from .._models import ReportRecord
from .._validation import normalize_phone
from ._model import NumberState

__all__ = ["CLOCK_SLACK", "media_matcher", "reconcile", "record_time", "text_matcher"]

#: A record may carry a time up to this many seconds before its chunk was recorded as started (the
#: service's clock and ours differ; its times have one-second resolution).
CLOCK_SLACK: Final = 300.0

try:
    _TEHRAN: dt.tzinfo = ZoneInfo("Asia/Tehran")
except ZoneInfoNotFoundError:  # no time-zone database (Windows without tzdata): no DST since 2022
    _TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))


def record_time(record: ReportRecord) -> float | None:
    """The epoch time of *record* (its date and time are Asia/Tehran), or ``None`` if unreadable."""
    try:
        local = dt.datetime.strptime(f"{record.date} {record.time}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return local.replace(tzinfo=_TEHRAN).timestamp()


def _key(number: str) -> str | None:
    """The normalised form of a number as the report shows it (WhatsApp sends drop the ``+``)."""
    text = number.strip()
    for candidate in (text, "+" + text):
        try:
            return normalize_phone(candidate)
        except ValidationError:
            continue
    return None


def _keys(numbers: Sequence[str]) -> set[str]:
    return {key for key in map(_key, numbers) if key is not None}


def text_matcher(message: str) -> Callable[[str], bool]:
    """Match records of a text send of *message* (an ad the service appends may follow it)."""

    def matches(data: str) -> bool:
        return not data or data.startswith(message)

    return matches


def media_matcher(sha256: str) -> Callable[[str], bool]:
    """Match records of a media send whose base64 data decodes to content with digest *sha256*."""

    def matches(data: str) -> bool:
        if not data:
            return True
        try:
            content = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return False
        return hashlib.sha256(content).hexdigest() == sha256

    return matches


def reconcile(
    in_doubt: Mapping[str, float],
    records: Sequence[ReportRecord],
    *,
    payload_matches: Callable[[str], bool],
) -> dict[str, NumberState]:
    """
    Decide the state of every in-doubt number from the report.

    Args:
        in_doubt: each in-doubt (normalised) number and when its chunk was started (epoch seconds).
        records: the report.
        payload_matches: tells whether a record's ``data`` is this campaign's payload.

    Returns:
        For every number of *in_doubt*: ``DELIVERED`` when a matching record lists it delivered,
        ``UNDELIVERED`` when a matching record shows it sent but not delivered, else ``UNKNOWN``.
    """
    # number -> (record time, delivered?) for every matching record that names it
    seen: dict[str, list[tuple[float | None, bool]]] = {}
    for record in records:
        if not payload_matches(record.data):
            continue
        when = record_time(record)
        delivered = _keys(record.delivered)
        for number in _keys(record.number.split(",")) | delivered:
            seen.setdefault(number, []).append((when, number in delivered))
    decided: dict[str, NumberState] = {}
    for number, started_at in in_doubt.items():
        state = NumberState.UNKNOWN
        for when, delivered_here in seen.get(number, ()):
            if when is not None and when < started_at - CLOCK_SLACK:
                continue
            if delivered_here:
                state = NumberState.DELIVERED
                break
            state = NumberState.UNDELIVERED
        decided[number] = state
    return decided
