"""
The service's clock, as the ``Date`` headers of its replies bound it.

Settling an unknown number from an agent's history (docs/service.md E50) compares the dates of the
agent's messages with the moment its chunk was sent, and those dates are on the service's clock,
not on this machine's. Every reply of the service carries an HTTP ``Date`` header (whole seconds,
stamped while the reply is made); a reply that left this machine at local time ``sent`` and came
back at ``received`` with ``Date: D`` proves that the service's clock ran between ``D - received``
and ``D + 1 - sent`` seconds ahead of this one. `ServiceClock` keeps the intersection of those
intervals: its bounds never claim more than the replies prove, so a time converted with them is a
true lower (`ServiceClock.earliest`) or upper (`ServiceClock.latest`) bound on the service's clock,
up to the clocks' own drift.

A sample that does not overlap the bounds kept means a clock was stepped (NTP, a suspended
machine): the bounds start again from that sample.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
from typing import Final

__all__ = ["ServiceClock", "parse_http_date"]

#: Bounds wider than this prove nothing useful (a reply that took minutes); they are not kept.
_WIDEST: Final = 600.0


def parse_http_date(value: str | None) -> float | None:
    """An HTTP ``Date`` header as Unix seconds, or ``None`` when missing or unreadable."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000": RFC 9110 dates are always GMT
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


class ServiceClock:
    """
    How far the service's clock runs ahead of this machine's (``time.time()``), within bounds.

    ``low <= offset <= high``: both are ``None`` until a reply with a readable ``Date`` came.
    """

    __slots__ = ("high", "low", "samples")

    def __init__(self) -> None:
        self.low: float | None = None
        self.high: float | None = None
        self.samples = 0

    def observe(self, date: float | None, sent: float, received: float) -> None:
        """
        Narrow the bounds with one reply: its ``Date`` (Unix seconds, ``None``: none), and the
        local times (``time.time()``) its request left and its reply's head came back.
        """
        if date is None or not math.isfinite(date) or received < sent:
            return
        low, high = date - received, date + 1.0 - sent
        if high - low > _WIDEST:
            return
        self.samples += 1
        if self.low is None or self.high is None or low > self.high or high < self.low:
            self.low, self.high = low, high  # the first sample, or a clock was stepped
            return
        self.low = max(self.low, low)
        self.high = min(self.high, high)

    @property
    def known(self) -> bool:
        """Whether any reply bounded the offset."""
        return self.low is not None

    def earliest(self, local: float) -> float | None:
        """The earliest the service's clock can have read at local time *local* (or ``None``)."""
        return None if self.low is None else local + self.low

    def latest(self, local: float) -> float | None:
        """The latest the service's clock can have read at local time *local* (or ``None``)."""
        return None if self.high is None else local + self.high

    def __repr__(self) -> str:
        if self.low is None or self.high is None:
            return "<ServiceClock unknown>"
        return f"<ServiceClock offset {self.low:+.3f}..{self.high:+.3f} s ({self.samples} replies)>"
