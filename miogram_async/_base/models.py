"""
Typed results and the one cattrs converter that builds them from the wire.

Values arrive as JSON strings or numbers (docs/service.md A6, E11), so numbers are parsed leniently;
booleans are parsed strictly, because cattrs' default hook would turn ``"false"`` into ``True``.
Every model keeps the reply's object as it came in ``raw``. Wire names live here and in `wire` only.
"""

from __future__ import annotations

import functools
import math
import zoneinfo
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final, Literal, TypeVar, cast, get_args

import attrs
import cattrs

from .errors import APIResponseError, ValidationError
from .wire import Reply, as_report_list, json_excerpt, parse_bool

__all__ = [
    "CREDIT_KINDS",
    "MEGABYTE",
    "SERVICE_TIMEZONE",
    "CreditKind",
    "Credits",
    "Limits",
    "ReportRecord",
    "as_credits",
    "as_limits",
    "as_reports",
    "converter",
    "credits_from_wire",
    "limits_from_wire",
    "report_from_wire",
]

MEGABYTE: Final = 1_048_576
"""Media limits below this are taken as megabytes, the rest as bytes (A15)."""

CreditKind = Literal["message", "photo", "video", "file", "other"]
"""A kind of credit, as `Credits.exhausted` takes it."""

CREDIT_KINDS: Final[tuple[CreditKind, ...]] = get_args(CreditKind)

SERVICE_TIMEZONE: Final = "Asia/Tehran"
"""The zone of the service's report dates and times (docs/service.md E9)."""


@functools.cache
def _service_zone() -> zoneinfo.ZoneInfo:
    # Loaded on first use, not on import; the tzdata dependency supplies it where the system has
    # no zone database (Windows, slim containers).
    return zoneinfo.ZoneInfo(SERVICE_TIMEZONE)


_Model = TypeVar("_Model")


@attrs.frozen(kw_only=True)
class Limits:
    """
    The account's limits and permission levels (``APIGetLimits``).

    Attributes:
        message: the longest message the service accepts (it counts UTF-8 bytes, E12).
        photo: the largest photo, in bytes.
        video: the largest video, in bytes.
        file: the largest other file, in bytes.
        can_get: whether the account may read chats, users and history (``canGet``).
        is_super: whether the account may control its agents (``isSuper``).
        raw: the object as the service sent it.

    The document gives media limits in megabytes while the service's own code sends bytes (A15,
    E10): a value below 1 MiB (1 048 576) is taken as megabytes and multiplied, a larger one is
    taken as bytes. ``raw`` keeps what was sent.
    """

    message: int
    photo: int
    video: int
    file: int
    can_get: bool
    is_super: bool
    raw: Mapping[str, object] = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class Credits:
    """
    The account's remaining credit per kind of send (``APIGetCredits``).

    Attributes:
        message: text messages (``SendMessage*``, WhatsApp included).
        photo: photos.
        video: videos.
        file: audio, text, document and other files.
        other: locations and contacts.
        raw: the object as the service sent it.
    """

    message: int
    photo: int
    video: int
    file: int
    other: int
    raw: Mapping[str, object] = attrs.field(eq=False, repr=False)

    def exhausted(self, kind: CreditKind) -> bool:
        """
        Whether the credit of *kind* is used up (0 or below, A16).

        Args:
            kind: one of ``"message"``, ``"photo"``, ``"video"``, ``"file"``, ``"other"``.

        Raises:
            ValidationError: *kind* is not one of those (also a ``ValueError``).
        """
        if kind not in CREDIT_KINDS:
            raise ValidationError(f"expected a credit kind in {CREDIT_KINDS}, got {kind!r}")
        remaining: int = getattr(self, kind)
        return remaining <= 0


@attrs.frozen(kw_only=True)
class ReportRecord:
    """
    One record of ``APIGetReport``.

    The field names the service uses are not documented; these follow public server code (E9) and
    are not guaranteed. A missing field reads as ``""`` (``[]`` for ``delivered``).

    Attributes:
        username: the account's username.
        date: the day of the send, ``YYYY-MM-DD`` (Asia/Tehran time).
        time: the time of the send, ``HH:MM:SS`` (Asia/Tehran time).
        ip: the IP the request came from.
        data: the message text, the base64 data for media, or ``Misc`` for a location or contact.
        number: the ``Phone`` value sent (comma-separated for a Mass send).
        delivered: the numbers the send was delivered to.
        raw: the record as the service sent it.
    """

    username: str
    date: str
    time: str
    ip: str
    data: str
    number: str
    # A list, as the contract says; left out of the hash so that records stay hashable.
    delivered: list[str] = attrs.field(hash=False)
    raw: Mapping[str, object] = attrs.field(eq=False, repr=False)

    @property
    def sent_at(self) -> datetime | None:
        """
        When the send happened: ``date`` and ``time`` as an aware datetime in Asia/Tehran time.

        ``None`` when either is missing or not ``YYYY-MM-DD`` / ``HH:MM:SS``. Aware datetimes
        compare by instant; ``sent_at.astimezone(datetime.UTC)`` gives UTC.
        """
        try:
            naive = datetime.strptime(
                f"{self.date.strip()} {self.time.strip()}", "%Y-%m-%d %H:%M:%S"
            )
        except ValueError:
            return None
        return naive.replace(tzinfo=_service_zone())


def _structure_int(value: object, _: object) -> int:
    """Lenient int (A6): ``100``, ``"100"``, ``100.0``, ``" -1 "``; not booleans or ``"abc"``."""
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)  # "100.0"
        except ValueError:
            number = math.nan
        if number.is_integer():
            return int(number)
    raise ValueError(f"expected a whole number, got {value!r}")


def _structure_bool(value: object, _: object) -> bool:
    """Strict bool (A5): true/false, 1/0 and their strings; anything else is refused."""
    parsed = parse_bool(value)
    if parsed is None:
        raise ValueError(f"expected true/false or 1/0, got {value!r}")
    return parsed


def _structure_str(value: object, _: object) -> str:
    """Strings as they are, numbers as decimal text; ``None`` as ``""``; nothing else."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected text, got {value!r}")


def _structure_str_list(value: object, _: object) -> list[str]:
    """A comma-separated string (or a JSON list) as a list of non-empty, trimmed pieces."""
    if value is None:
        return []
    if isinstance(value, list):
        pieces = [_structure_str(item, str) for item in value]
    else:
        pieces = _structure_str(value, str).split(",")
    return [piece.strip() for piece in pieces if piece.strip()]


def _structure_raw(value: object, _: object) -> Mapping[str, object]:
    """``raw`` is kept as it came (`_build` has checked that it is a mapping)."""
    return cast("Mapping[str, object]", value)


converter: Final = cattrs.Converter()
"""The one converter: lenient ints, strict bools (cattrs alone reads ``"false"`` as true)."""
converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook_func(lambda cls: cls == list[str], _structure_str_list)
converter.register_structure_hook_func(lambda cls: cls == Mapping[str, object], _structure_raw)


def _media_bytes(number: int) -> int:
    """A media limit in bytes: values below 1 MiB are megabytes (A15); 0 and below kept."""
    return number * MEGABYTE if 0 < number < MEGABYTE else number


_LIMITS_FIELDS: Final = {
    "message": "Message",
    "photo": "Photo",
    "video": "Video",
    "file": "File",
    "can_get": "canGet",
    "is_super": "isSuper",
}
_CREDITS_FIELDS: Final = {
    "message": "Message",
    "photo": "Photo",
    "video": "Video",
    "file": "File",
    "other": "Other",
}
_REPORT_FIELDS: Final = {
    "username": "Username",
    "date": "DATE",
    "time": "TIME",
    "ip": "IP",
    "data": "DATA",
    "number": "Number",
    "delivered": "Delivered",
}
# canGet / isSuper are integer 0 when unset on the service (E10); absent reads the same.
_FLAG_DEFAULTS: Final = {"can_get": False, "is_super": False}


def _rename(
    obj: Mapping[str, object], fields: Mapping[str, str], defaults: Mapping[str, object]
) -> tuple[dict[str, object], list[str]]:
    """Wire keys (matched exactly, then case-insensitively) -> Python names; missing names."""
    by_lower = {str(key).lower(): value for key, value in obj.items()}
    renamed: dict[str, object] = {}
    missing: list[str] = []
    for python_name, wire_name in fields.items():
        if wire_name in obj:
            renamed[python_name] = obj[wire_name]
        elif wire_name.lower() in by_lower:
            renamed[python_name] = by_lower[wire_name.lower()]
        elif python_name in defaults:
            renamed[python_name] = defaults[python_name]
        else:
            missing.append(wire_name)
    return renamed, missing


def _build(
    obj: object,
    model: type[_Model],
    fields: Mapping[str, str],
    defaults: Mapping[str, object],
    *,
    http_status: int,
    adjust: Callable[[_Model], _Model] | None = None,
) -> _Model:
    what = model.__name__
    if not isinstance(obj, Mapping):
        raise APIResponseError(
            f"unexpected {what} in the reply: expected an object", http_status, json_excerpt(obj)
        )
    renamed, missing = _rename(obj, fields, defaults)
    if missing:
        raise APIResponseError(
            f"unexpected {what} in the reply: missing {', '.join(missing)}",
            http_status,
            json_excerpt(obj),
        )
    try:
        built = converter.structure({**renamed, "raw": obj}, model)
    except (cattrs.BaseValidationError, ValueError, TypeError) as error:
        detail = (
            "; ".join(cattrs.transform_error(error))
            if isinstance(error, cattrs.BaseValidationError)
            else str(error)
        )
        raise APIResponseError(
            f"unexpected {what} in the reply: {detail}", http_status, json_excerpt(obj)
        ) from None
    return adjust(built) if adjust is not None else built


def _adjust_limits(limits: Limits) -> Limits:
    return attrs.evolve(
        limits,
        photo=_media_bytes(limits.photo),
        video=_media_bytes(limits.video),
        file=_media_bytes(limits.file),
    )


def limits_from_wire(obj: object, http_status: int = 200) -> Limits:
    """Build `Limits` from the ``Result`` of ``APIGetLimits``; `APIResponseError` if unusable."""
    return _build(
        obj,
        Limits,
        _LIMITS_FIELDS,
        _FLAG_DEFAULTS,
        http_status=http_status,
        adjust=_adjust_limits,
    )


def credits_from_wire(obj: object, http_status: int = 200) -> Credits:
    """Build `Credits` from the ``Result`` of ``APIGetCredits``; `APIResponseError` if unusable."""
    return _build(obj, Credits, _CREDITS_FIELDS, {}, http_status=http_status)


_REPORT_DEFAULTS: Final[Mapping[str, object]] = dict.fromkeys(_REPORT_FIELDS)


def report_from_wire(obj: object, http_status: int = 200) -> ReportRecord:
    """Build a `ReportRecord` from one ``APIGetReport`` record; `APIResponseError` if unusable."""
    return _build(obj, ReportRecord, _REPORT_FIELDS, _REPORT_DEFAULTS, http_status=http_status)


def as_limits(reply: Reply) -> Limits:
    """Decoder for ``APIGetLimits``."""
    return limits_from_wire(reply.result, reply.http_status)


def as_credits(reply: Reply) -> Credits:
    """Decoder for ``APIGetCredits``."""
    return credits_from_wire(reply.result, reply.http_status)


def as_reports(reply: Reply) -> list[ReportRecord]:
    """Decoder for ``APIGetReport``: a bare array of records or ``{"Result": [...]}``."""
    return [report_from_wire(record, reply.http_status) for record in as_report_list(reply)]
