"""
Configuration of the fake service: accounts, their limits and credits, and which numbers exist.

Everything here is a frozen attrs value; the mutable per-account state built from it lives in
``_state.py``.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Callable, Collection, Mapping
from typing import Final

import attrs

__all__ = [
    "PROFILES",
    "AccountConfig",
    "Behaviour",
    "CreditsConfig",
    "LimitsConfig",
    "NumberBook",
    "UndeliveredReply",
    "digits_of",
]

_PHONE_SHAPE = re.compile(r"^\+?[1-9]\d{7,14}$")


def digits_of(number: str) -> str:
    """Return *number* without spaces, a leading ``+`` or ``00`` (how numbers are compared)."""
    text = "".join(number.split())
    if text.startswith("+"):
        return text[1:]
    if text.startswith("00"):
        return text[2:]
    return text


class UndeliveredReply(enum.Enum):
    """How a single send to a number that does not exist is answered."""

    #: ``{"Result": false, "Status": "fail"}``, as the document describes (G2, section 4).
    FAIL = "fail"
    #: ``{"Result": false, "Status": "error", "Message": "Number Not Exist or Wrong"}``
    #: (docs/service.md E6).
    ERROR_307 = "error307"


@attrs.frozen(kw_only=True)
class NumberBook:
    """
    Which phone numbers "exist" (have the messenger), that is, which sends are delivered.

    Build one with :meth:`everyone`, :meth:`only`, :meth:`except_for`, :meth:`ratio` or
    :meth:`predicate`. Numbers are compared by their digits (``+98912...`` and ``0098912...`` are
    the same number); a value that is not shaped like a phone number never exists.
    """

    decide: Callable[[str], bool] = attrs.field(factory=lambda: lambda _digits: True)
    description: str = "every number"

    @classmethod
    def everyone(cls) -> NumberBook:
        """Every well-formed number exists."""
        return cls()

    @classmethod
    def only(cls, numbers: Collection[str]) -> NumberBook:
        """Exactly *numbers* exist."""
        known = frozenset(digits_of(number) for number in numbers)
        return cls(decide=known.__contains__, description=f"{len(known)} listed numbers")

    @classmethod
    def except_for(cls, numbers: Collection[str]) -> NumberBook:
        """Every number except *numbers* exists."""
        missing = frozenset(digits_of(number) for number in numbers)
        return cls(
            decide=lambda digits: digits not in missing,
            description=f"all but {len(missing)} listed numbers",
        )

    @classmethod
    def ratio(cls, share: float, *, seed: int = 0) -> NumberBook:
        """
        About *share* (0..1) of all numbers exist, chosen by a hash of (*seed*, number).

        The same number always gets the same answer for the same seed, whatever the request order.
        """
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"expected a share between 0 and 1, got {share!r}")

        def decide(digits: str) -> bool:
            digest = hashlib.sha256(f"{seed}:{digits}".encode()).digest()
            return int.from_bytes(digest[:8], "big") / 2**64 < share

        return cls(decide=decide, description=f"{share:.0%} of numbers (seed {seed})")

    @classmethod
    def predicate(cls, decide: Callable[[str], bool]) -> NumberBook:
        """Numbers exist when ``decide(digits)`` is true (digits without ``+``)."""
        return cls(decide=decide, description="a predicate")

    def exists(self, number: str) -> bool:
        """Tell whether *number* (as sent on the wire) exists."""
        if not _PHONE_SHAPE.match(number.strip()):
            return False
        return bool(self.decide(digits_of(number)))


@attrs.frozen(kw_only=True)
class LimitsConfig:
    """Per-account limits: message limit in UTF-8 bytes, media limits in megabytes (as stored)."""

    message: int = 4096
    photo_mb: int = 5
    video_mb: int = 16
    file_mb: int = 16


@attrs.frozen(kw_only=True)
class CreditsConfig:
    """Starting credit per bucket (docs/service.md E13)."""

    message: int = 1_000_000
    photo: int = 1_000_000
    video: int = 1_000_000
    file: int = 1_000_000
    other: int = 1_000_000

    def as_buckets(self) -> dict[str, int]:
        """Return the buckets under their wire names."""
        return {
            "Message": self.message,
            "Photo": self.photo,
            "Video": self.video,
            "File": self.file,
            "Other": self.other,
        }


def _agents_converter(value: Collection[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@attrs.frozen(kw_only=True)
class AccountConfig:
    """
    One account of the fake service.

    Attributes:
        secret: the web-service secret.
        username: the account's username (``APIGetUsername``, report records).
        active: an inactive account gets 826 on every request.
        agents: the account's agents in order; ``Robot`` picks one, empty or unknown picks the
            first. No agents at all gives 827.
        is_super: the control permission (actions 1, 2, 7, 9-15, 19, 20).
        can_get: the data-retrieval permission (actions 8, 16-18).
        allowed_ips: the stored allow-list, comma-separated; ``*`` accepts every caller. As in the
            real service the caller's address is accepted when it is a substring of this text.
        ads: ad text appended to every message (newline + ad) before its length is checked.
        limits: message limit (bytes) and media limits (megabytes).
        credits: starting credit per bucket.
        numbers: which numbers exist.
        whatsapp: whether WhatsApp sends are supported (otherwise gateway error 101).
        undelivered_reply: how a single send to a missing number is answered; ``None`` (the
            default) lets the profile decide: the gateway's ``Number Not Exist or Wrong`` error
            in the server profile (E39), ``{"Result": false, "Status": "fail"}`` in the
            documented one.
    """

    secret: str = attrs.field(default="test-secret", repr=False)
    username: str = "tester"
    active: bool = True
    agents: tuple[str, ...] = attrs.field(default=("Agent1",), converter=_agents_converter)
    is_super: bool = True
    can_get: bool = True
    allowed_ips: str = "*"
    ads: str = ""
    limits: LimitsConfig = attrs.field(factory=LimitsConfig)
    credits: CreditsConfig = attrs.field(factory=CreditsConfig)
    numbers: NumberBook = attrs.field(factory=NumberBook.everyone)
    whatsapp: bool = True
    undelivered_reply: UndeliveredReply | None = None


#: The two ways the fake can answer where the server code and the document differ.
PROFILES: Final = ("server", "documented")


@attrs.frozen(kw_only=True)
class Behaviour:
    """
    How the fake answers where the server code (docs/service.md sections 11-12) and the document
    differ.

    Attributes:
        profile: ``"server"`` (as the server code answers) or ``"documented"`` (as the document
            intends).
        front_wait: the front gives up on the gateway after the time model's ``front_wait`` and
            answers 999 while the gateway goes on (E32).
        shared_credit_file: overlapping delivering sends corrupt the gateway's one credit file
            (E33).
        php_strict_mysqli: a text with ``'`` kills the front after delivery: HTTP 500, empty body,
            nothing charged (E45).
        gateway_max_file_bytes: the gateway refuses decoded files above this size with
            ``Error 304 : <Kind> Size is High`` (E40); ``None``: no limit of its own.
    """

    profile: str = attrs.field(default="server", validator=attrs.validators.in_(PROFILES))
    front_wait: bool = True
    shared_credit_file: bool = True
    php_strict_mysqli: bool = False
    gateway_max_file_bytes: int | None = None

    @property
    def server(self) -> bool:
        """Whether replies follow the server code."""
        return self.profile == "server"


def media_limit_bytes(limits: LimitsConfig) -> Mapping[str, int]:
    """Return the media limits in bytes, keyed by bucket, as ``APIGetLimits`` reports them."""
    mib = 1024 * 1024
    return {
        "Photo": limits.photo_mb * mib,
        "Video": limits.video_mb * mib,
        "File": limits.file_mb * mib,
    }
