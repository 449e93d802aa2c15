"""
Deciding what happened to in-doubt numbers from the service's send report (``APIGetReport``).

A chunk whose request may have reached the service but whose reply was never recorded (the process
died, the reply was lost) is looked up in the report: each record names the numbers a request was
sent to and those it was delivered to (docs/service.md E9). A record counts only when it is
certainly this campaign's; anything less leaves the number ``UNKNOWN`` (it may have been sent, so it
is not sent again unless the caller says so). Certain means all three of:

- **The payload, exactly.** A text record's ``DATA`` is the message exactly as sent. The service
  appends the account's ad (newline + ad) to every message before logging it (E30), and the ad's
  text cannot be read through the API (``APIGetAds`` only says whether there is one). A record
  whose ``DATA`` merely starts with the message and a newline could as well be another campaign's
  longer text ("Spring sale" and "Spring sale\\nends tonight!"), so when the account has ads (or
  ``APIGetAds`` cannot be read) no text record is certain and nothing is confirmed. A media
  record's ``DATA`` must be strict base64 of exactly the campaign's file (its SHA-256). An empty
  ``DATA`` proves nothing.
- **The number**, in any spelling the service logs (with or without ``+``).
- **The time, on the service's clock.** Before a run sends anything it reads the report and keeps
  its newest record time and the numbers logged in that second (an `Anchor`; an empty report
  anchors before every record). A record counts for a chunk only if it is newer than the anchor of
  the chunk's run, or of the same second and naming a number not logged in that second before. The
  client's clock is never compared with the service's. A chunk of a run without an anchor (the
  report could not be read, or an older version wrote the journal) is never confirmed.

A certain record proves a delivery; it never proves the opposite. A number it lists as sent but not
delivered stays ``UNKNOWN``: the log is built from the gateway's reply, and a number a reply leaves
out is unknown, not undelivered (docs/service.md A4). The report shows only the first 1000 records
an account ever logged (E44) and never logs a text containing ``'``: such sends stay ``UNKNOWN``, as
they must.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from .._base.errors import ValidationError
from .._base.models import ReportRecord
from .._base.validation import normalize_phone
from ._model import NumberState

__all__ = ["Anchor", "media_matcher", "reconcile", "record_time", "text_matcher"]

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


def _keys(numbers: Iterable[str]) -> set[str]:
    return {key for key in map(_key, numbers) if key is not None}


@attrs.frozen(kw_only=True)
class Anchor:
    """
    Where the service's report stood just before a run sent anything, on the service's clock.

    Attributes:
        newest: the epoch time of the newest record then, or ``None`` when the report was empty.
        numbers: the (normalised) numbers named by records of that second.
    """

    newest: float | None
    numbers: frozenset[str] = frozenset()

    @classmethod
    def of(cls, records: Sequence[ReportRecord]) -> Anchor | None:
        """The anchor the report *records* give; ``None`` if a record's time cannot be read."""
        times = [record_time(record) for record in records]
        if any(when is None for when in times):
            return None  # an unreadable time could be the newest
        known = [when for when in times if when is not None]
        if not known:
            return cls(newest=None)
        newest = max(known)
        named: set[str] = set()
        for record, when in zip(records, known, strict=True):
            if when == newest:
                named |= _keys([*record.number.split(","), *record.delivered])
        return cls(newest=newest, numbers=frozenset(named))

    def covers(self, when: float, number: str) -> bool:
        """Whether a record at *when* naming *number* was certainly written after this anchor."""
        if self.newest is None or when > self.newest:
            return True
        return when == self.newest and number not in self.numbers

    def to_json(self) -> str:
        """The anchor as JSON, to keep in the journal."""
        return json.dumps({"newest": self.newest, "numbers": sorted(self.numbers)})

    @classmethod
    def from_json(cls, text: str) -> Anchor | None:
        """An anchor kept by `to_json`, or ``None`` if *text* is not one."""
        try:
            data = json.loads(text)
            newest = data["newest"]
            numbers = frozenset(str(number) for number in data["numbers"])
        except (ValueError, TypeError, KeyError):
            return None
        if newest is not None and not isinstance(newest, int | float):
            return None
        return cls(newest=None if newest is None else float(newest), numbers=numbers)


def text_matcher(message: str, *, ads: bool | None) -> Callable[[str], bool] | None:
    """
    Match records of a text send of *message*: its ``DATA`` must be exactly the message.

    Returns ``None`` (nothing can be matched for certain) when the account appends an ad or it is
    not known whether it does (*ads* ``None``): see the module notes.
    """
    if ads is not False:
        return None

    def matches(data: str) -> bool:
        return data == message

    return matches


def media_matcher(sha256: str) -> Callable[[str], bool]:
    """Match records of a media send whose strict base64 data decodes to content of *sha256*."""

    def matches(data: str) -> bool:
        if not data:
            return False
        try:
            content = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return False
        return hashlib.sha256(content).hexdigest() == sha256

    return matches


def reconcile(
    in_doubt: Mapping[str, Anchor | None],
    records: Sequence[ReportRecord],
    *,
    payload_matches: Callable[[str], bool] | None,
) -> dict[str, NumberState]:
    """
    Decide the state of every in-doubt number from the report.

    Args:
        in_doubt: each in-doubt (normalised) number and the anchor of the run that sent it
            (``None``: not known, so nothing confirms it).
        records: the report.
        payload_matches: tells whether a record's ``data`` is certainly this campaign's payload;
            ``None`` when no record can be.

    Returns:
        For every number of *in_doubt*: ``DELIVERED`` when a certain record lists it delivered,
        else ``UNKNOWN`` (a record that shows it sent but not delivered included: see above).
    """
    # number -> record times of every record of this payload that lists it delivered
    seen: dict[str, list[float]] = {}
    if payload_matches is not None:
        for record in records:
            if not payload_matches(record.data):
                continue
            when = record_time(record)
            if when is None:
                continue
            for number in _keys(record.delivered):
                seen.setdefault(number, []).append(when)
    decided: dict[str, NumberState] = {}
    for number, anchor in in_doubt.items():
        certain = anchor is not None and any(
            anchor.covers(when, number) for when in seen.get(number, ())
        )
        decided[number] = NumberState.DELIVERED if certain else NumberState.UNKNOWN
    return decided
