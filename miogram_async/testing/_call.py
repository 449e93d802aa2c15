"""One authenticated request on its way through the fake: what every action handler receives."""

from __future__ import annotations

import base64
import binascii
import datetime
from collections.abc import Awaitable, Callable, Mapping

import attrs

from ._config import Behaviour, UndeliveredReply
from ._replies import Reply, gateway_error, gateway_result, number_not_found
from ._state import AccountState, AgentState, ServiceState
from ._timing import TimeModel

__all__ = ["Call", "GatewayHandler", "Handler", "decode_file", "strict_b64decode", "tehran_now"]

_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_TEHRAN = datetime.timezone(datetime.timedelta(hours=3, minutes=30), "Asia/Tehran")


def tehran_now(timestamp: float | None = None) -> datetime.datetime:
    """
    The wall clock (or Unix *timestamp*) in the service's time zone.

    Iran has kept +03:30 all year since 2022.
    """
    if timestamp is None:
        return datetime.datetime.now(_TEHRAN)
    return datetime.datetime.fromtimestamp(timestamp, _TEHRAN)


def strict_b64decode(data: str) -> bytes | None:
    """Decode standard base64 strictly (no line breaks, correct padding); ``None`` if invalid."""
    try:
        return base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def decode_file(data: str, *, server: bool) -> bytes | None:
    """
    Decode a file's base64 as the gateway does; ``None`` means ``Error 400 : Not Valid File``.

    The server code accepts spaces inside the base64 and refuses content whose decoded bytes are
    PHP-falsy, the single byte ``0`` (docs/service.md E43); the documented profile is strictly
    base64.
    """
    if not server:
        return strict_b64decode(data)
    decoded = strict_b64decode("".join(data.split(" ")))
    if decoded is None or decoded in (b"", b"0"):
        return None
    return decoded


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
    behaviour: Behaviour
    message: str = ""

    @property
    def server(self) -> bool:
        """Whether to answer as the server code does (else as the document intends)."""
        return self.behaviour.server

    def gateway_error(self, code: int) -> Reply:
        """The gateway's error *code* in the profile's form, as this action prints it."""
        return gateway_error(code, server=self.server, func=self.func)

    def not_found(self) -> Reply:
        """
        The answer for a number that cannot be resolved on a single-number action.

        The server code answers the gateway's ``Number Not Exist or Wrong`` error for every
        single-number action (docs/service.md E39); the document says ``Result`` is ``false``.
        """
        choice = self.account.config.undelivered_reply
        if choice is None:
            choice = UndeliveredReply.ERROR_307 if self.server else UndeliveredReply.FAIL
        if choice is UndeliveredReply.ERROR_307:
            return number_not_found()
        return gateway_result(False, "fail")

    def element(self, name: str) -> str:
        """The value of form element *name* (``""`` when absent, as PHP reads it)."""
        return self.form.get(name, "")

    def misc_parts(self) -> list[str]:
        """``Misc`` split on commas, with no escaping (docs/service.md E16)."""
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
        """
        Store a report record of this send (docs/service.md E9).

        The server code builds the insert by pasting values into SQL, so a value with ``'``
        breaks it and the send is never logged (E44).
        """
        if self.server and ("'" in data or "'" in self.element("Phone")):
            return
        now = tehran_now(self.service.service_time())
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
#: A gateway action: runs when the gateway's work for the call ends, with no waiting of its own.
GatewayHandler = Callable[[Call], Reply]
