"""One authenticated request on its way through the fake: what every action handler receives."""

from __future__ import annotations

import base64
import binascii
import datetime
from collections.abc import Awaitable, Callable, Mapping

import attrs

from ._replies import Reply, gateway_result
from ._state import AccountState, AgentState, ServiceState
from ._timing import TimeModel

__all__ = ["Call", "Handler", "strict_b64decode", "tehran_now"]

_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_TEHRAN = datetime.timezone(datetime.timedelta(hours=3, minutes=30), "Asia/Tehran")


def tehran_now() -> datetime.datetime:
    """The wall clock in the service's time zone (Iran has kept +03:30 all year since 2022)."""
    return datetime.datetime.now(_TEHRAN)


def strict_b64decode(data: str) -> bytes | None:
    """Decode standard base64 strictly (no line breaks, correct padding); ``None`` if invalid."""
    try:
        return base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def lenient_b64_size(data: str) -> int:
    """The decoded size the front script sees (PHP's lenient ``base64_decode`` skips junk)."""
    significant = sum(1 for char in data if char in _B64_ALPHABET)
    return significant * 3 // 4


@attrs.define(kw_only=True)
class Call:
    """The request being handled, its account and the agent that runs it."""

    index: int
    func: str
    form: Mapping[str, str]
    account: AccountState
    agent: AgentState
    client_ip: str
    service: ServiceState
    time: TimeModel
    message: str = ""

    def element(self, name: str) -> str:
        """The value of form element *name* (``""`` when absent, as PHP reads it)."""
        return self.form.get(name, "")

    def misc_parts(self) -> list[str]:
        """``Misc`` split on commas, with no escaping (API.md E16)."""
        return self.element("Misc").split(",")

    def numbers(self) -> list[str]:
        """``Phone`` split on commas exactly as sent, duplicates dropped, order kept (E8)."""
        return list(dict.fromkeys(self.element("Phone").split(",")))

    def exists(self, number: str) -> bool:
        """Whether *number* exists for this account."""
        return self.account.config.numbers.exists(number)

    def boolean(self, ok: bool) -> Reply:
        """The gateway's answer for a boolean action."""
        return gateway_result(ok, "success" if ok else "fail")

    def add_report(self, data: str, delivered: list[str]) -> None:
        """Store a report record of this send (API.md E9)."""
        now = tehran_now()
        self.account.reports.append(
            {
                "Username": self.account.config.username,
                "DATE": now.strftime("%Y-%m-%d"),
                "TIME": now.strftime("%H:%M:%S"),
                "IP": self.client_ip,
                "DATA": data,
                "Number": self.element("Phone"),
                "Delivered": ",".join(delivered),
            }
        )


Handler = Callable[[Call], Awaitable[Reply]]
