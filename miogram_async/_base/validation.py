"""
Input checks that run before anything is sent.

Pure functions (``load_media`` alone reads a file) raising `ValidationError` with a message that
says what was expected and what came. Each returns the value as it goes on the wire.
"""

from __future__ import annotations

import base64
import decimal
import io
import ipaddress
import math
import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Final

import attrs

from .errors import ValidationError

__all__ = [
    "REPORT_MAX",
    "WIRE_PHONE",
    "Media",
    "check_file_format",
    "check_forward_count",
    "check_history",
    "check_ips",
    "check_location",
    "check_media_size",
    "check_message",
    "check_misc_piece",
    "check_online",
    "check_report_count",
    "check_username",
    "clean_phone",
    "is_builtin_region",
    "load_media",
    "normalize_phone",
]

PHONE_PATTERN: Final = re.compile(r"^\+[1-9][0-9]{7,14}$")

# A number already in the wire form: `normalize_phone` returns it as it is, without the clean-up.
WIRE_PHONE: Final = re.compile(r"\+[1-9][0-9]{7,14}")

# Persian (U+06F0-06F9) and Arabic-Indic (U+0660-0669) digits -> ASCII.
_DIGITS: Final = str.maketrans(
    {**{0x06F0 + i: str(i) for i in range(10)}, **{0x0660 + i: str(i) for i in range(10)}}
)

# Separators people type inside numbers, and the invisible marks right-to-left text carries.
_PHONE_NOISE: Final = re.compile(
    r"[\s\-.()\u2010-\u2015\u2212\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)

# The region read without `phonenumbers`, and its mobile numbers written without the `+`:
# 09xxxxxxxxx (national), 9xxxxxxxxx (national without the trunk 0), 989xxxxxxxxx (country
# code without the +). Only a 9 followed by nine digits is an Iranian mobile; anything else
# (a landline, a short or long number) is left to fail rather than be guessed.
_IRAN: Final = "IR"
_IRAN_MOBILE: Final = re.compile(r"(?:0|98)?(?P<subscriber>9[0-9]{9})")

# The largest integer the service's PHP reads as an integer (PHP_INT_MAX on 64 bits).
_MAX_WIRE_INT: Final = 2**63 - 1

# Control characters and Unicode line/paragraph separators: the gateway builds command lines
# from Misc pieces (E16), where these split or cut the text. Format characters (Cf, e.g. the
# zero-width non-joiner of Persian names) are ordinary text and allowed.
_BREAKING_CATEGORIES: Final = frozenset({"Cc", "Zl", "Zp"})

_SHOW_CHARS: Final = 40
_SHOW_INT_BITS: Final = 128
_PATH_CHARS: Final = 300
_MAX_FILE_FORMAT: Final = 16
REPORT_MAX: Final = 999
"""The most report records one ``APIGetReport`` asks for (A20): a count, not the error 999."""


def _show(value: object, limit: int = _SHOW_CHARS) -> str:
    """A short repr of a bad value for an error message."""
    if isinstance(value, int) and value.bit_length() > _SHOW_INT_BITS:
        return f"an int of {value.bit_length()} bits"  # repr() of a huge int raises ValueError
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 4] + "...'"
    return text


def _type_name(value: object) -> str:
    return type(value).__name__


def _require_encodable(value: str, what: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"expected {what} as valid Unicode text, got a lone surrogate in {_show(value)}"
        ) from None


def normalize_phone(phone: str, *, default_region: str | None = "IR") -> str:
    """
    Bring a phone number to the form the service wants: ``+`` and 8 to 15 digits.

    Spaces, dashes, dots and parentheses are removed, Persian and Arabic-Indic digits become ASCII
    and a leading ``00`` becomes ``+``. Under the default region ``"IR"`` the Iranian mobile forms
    ``09xxxxxxxxx``, ``9xxxxxxxxx`` and ``989xxxxxxxxx`` become ``+989xxxxxxxxx`` (the forms the
    service's own helper code reads, docs/service.md E15), with no extra package. ``None`` accepts
    only the international forms (``+...``, ``00...``); any other region parses national forms with
    ``phonenumbers`` (the ``miogram-async[phone]`` extra).

    Raises:
        ValidationError: the result is not ``+`` and 8 to 15 digits, or *default_region* is
            neither ``None`` nor ``"IR"`` and ``phonenumbers`` is not installed or does not know
            the region.
    """
    if type(phone) is str and WIRE_PHONE.fullmatch(phone) and is_builtin_region(default_region):
        return phone  # the usual input: `clean_phone` would return it unchanged
    return clean_phone(phone, default_region)


def is_builtin_region(region: object) -> bool:
    """Whether *region* needs no ``phonenumbers``: none at all, or Iran (handled here)."""
    return region is None or (isinstance(region, str) and region.upper() == _IRAN)


def clean_phone(phone: str, default_region: str | None) -> str:
    """
    `normalize_phone` without its fast path for input already in the wire form: the general
    reading, which the fast path must equal.
    """
    if not isinstance(phone, str):
        raise ValidationError(
            f"expected a phone like +989100000000 as a str, got {_type_name(phone)}"
        )
    iran = default_region is not None and is_builtin_region(default_region)
    region_code = _check_region(default_region) if default_region is not None and not iran else None
    compact = _PHONE_NOISE.sub("", phone.translate(_DIGITS))
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if PHONE_PATTERN.match(compact):
        return compact
    if iran:
        mobile = _IRAN_MOBILE.fullmatch(compact)
        if mobile is not None:
            return "+98" + mobile.group("subscriber")
    if region_code is not None:
        parsed = _parse_national(compact, region_code)
        if parsed is not None:
            return parsed
    raise ValidationError(f"expected a phone like +989100000000, got {_show(phone)}")


def _check_region(region: object) -> str:
    """The upper-cased region code, once ``phonenumbers`` is known to be there and to know it."""
    try:
        import phonenumbers  # noqa: PLC0415 - optional dependency, the `phone` extra
    except ImportError:
        raise ValidationError(
            "default_region needs the phonenumbers package: pip install 'miogram-async[phone]'"
        ) from None
    region_code = region.upper() if isinstance(region, str) else None
    if region_code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(f"expected a region code like 'IR', got {_show(region)}")
    return region_code


def _parse_national(compact: str, region_code: str) -> str | None:
    """A national number through ``phonenumbers``; ``None`` when it cannot be read."""
    import phonenumbers  # noqa: PLC0415 - present: _check_region imported it

    if not compact.isascii():
        return None
    try:
        number = phonenumbers.parse(compact, region_code)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return formatted if isinstance(formatted, str) and PHONE_PATTERN.match(formatted) else None


def check_message(message: str, *, max_bytes: int | None = None, ads: bool = False) -> str:
    """
    Check a message text; it is returned unchanged.

    Args:
        message: the text (UTF-8 on the wire; may contain spaces and new lines).
        max_bytes: when given and positive, the service's limit (``Limits.message``), compared
            with the message's own UTF-8 bytes (E12).
        ads: the account has ads. The service appends its advertisement to the message before it
            compares (E12, E30), but the ad's text is not published: the SDK cannot know how long
            it is, so it reserves nothing for it (a guess would refuse messages the service takes)
            and only says, when refusing, that the service adds more.

    Raises:
        ValidationError: not a string, empty or blank, with a NUL or a lone surrogate, or longer
            than *max_bytes* on its own.
    """
    if not isinstance(message, str):
        raise ValidationError(f"expected a message as a str, got {_type_name(message)}")
    if not message.strip():
        raise ValidationError(f"expected a non-empty message, got {_show(message)}")
    _require_encodable(message, "a message")
    if "\x00" in message:
        raise ValidationError(f"expected a message without NUL characters, got {_show(message)}")
    # A limit of 0 or less is none the service enforces as such: never a negative budget.
    if max_bytes is not None and max_bytes > 0:
        size = len(message.encode("utf-8"))
        if size > max_bytes:
            advert = " (and the service appends its advertisement to it)" if ads else ""
            raise ValidationError(
                f"expected a message of at most {max_bytes} UTF-8 bytes{advert}, got {size} bytes"
            )
    return message


def check_misc_piece(value: str, what: str) -> str:
    """
    Check one piece of ``Misc`` (a chat name, a person's name...); it is returned unchanged.

    ``Misc`` pieces are joined with commas and the service has no escaping (A10), so a piece may
    not contain a comma; nor a line break or another control character. Other characters are left
    alone.
    """
    if not isinstance(value, str):
        raise ValidationError(f"expected {what} as a str, got {_type_name(value)}")
    if not value.strip():
        raise ValidationError(f"expected {what}, got the blank value {_show(value)}")
    if "," in value:
        raise ValidationError(f"expected {what} without a comma, got {_show(value)}")
    if any(unicodedata.category(char) in _BREAKING_CATEGORIES for char in value):
        raise ValidationError(f"expected {what} on one line, got {_show(value)}")
    _require_encodable(value, what)
    return value


def check_online(online: bool) -> str:
    """``True`` -> ``"Online"``, ``False`` -> ``"Offline"`` (the only two values, A28)."""
    if not isinstance(online, bool):
        raise ValidationError(f"expected online as True or False, got {_show(online)}")
    return "Online" if online else "Offline"


def _format_degrees(value: float) -> str:
    # repr() is the shortest text that reads back as the same float; Decimal drops the exponent.
    text = format(decimal.Decimal(repr(float(value))), "f").rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def check_location(latitude: float, longitude: float) -> str:
    """
    ``"latitude,longitude"`` in decimal degrees, without exponent or spaces (A21).

    Raises:
        ValidationError: not a number, not finite, or outside -90..90 / -180..180.
    """
    pieces = []
    for name, value, limit in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"expected {name} as a number, got {_show(value)}")
        # A huge int is compared as an int: math.isfinite() would raise OverflowError on it.
        if (isinstance(value, float) and not math.isfinite(value)) or not -limit <= value <= limit:
            raise ValidationError(
                f"expected {name} between -{limit} and {limit}, got {_show(value)}"
            )
        pieces.append(_format_degrees(value))
    return ",".join(pieces)


def _check_int(value: object, what: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"expected {what} as an int, got {_show(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        expected = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ValidationError(f"expected {what} {expected}, got {_show(value)}")
    if value > _MAX_WIRE_INT:
        raise ValidationError(f"expected {what} of at most {_MAX_WIRE_INT}, got {_show(value)}")
    return value


def check_report_count(count: int) -> str:
    """The number of report records, 1..999, as a decimal string (A20)."""
    return str(_check_int(count, "a report count", 1, REPORT_MAX))


def check_forward_count(count: int) -> str:
    """The number of messages to forward to a new chat member, >= 0, as a string (A19)."""
    return str(_check_int(count, "a forward count", 0))


def check_history(offset: int, limit: int) -> str:
    """``"offset,limit"`` for ``GetHistory`` (document order, A17); offset >= 0, limit >= 1."""
    return f"{_check_int(offset, 'offset', 0)},{_check_int(limit, 'limit', 1)}"


def check_ips(ips: str | Iterable[str]) -> str:
    """
    The allowed IPs for ``APISetIP``: IPv4 or IPv6 addresses joined by ``,``, or ``*`` alone.

    Accepts ``"a,b"`` or an iterable of addresses.
    """
    if isinstance(ips, str):
        pieces = ips.split(",")
    elif isinstance(ips, (bytes, bytearray, memoryview)) or not isinstance(ips, Iterable):
        raise ValidationError(
            f"expected IP addresses as a str or a list of str, got {_type_name(ips)}"
        )
    else:
        pieces = list(ips)
    addresses: list[str] = []
    for piece in pieces:
        if not isinstance(piece, str):
            raise ValidationError(f"expected an IP address as a str, got {_show(piece)}")
        text = piece.strip()
        if text == "*":
            addresses.append(text)
            continue
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            address = None
        # A zone id ("fe80::1%eth0") names an interface of the caller's own host: the service
        # compares addresses as text and would never match it.
        if address is None or (isinstance(address, ipaddress.IPv6Address) and address.scope_id):
            raise ValidationError(
                f"expected an IP address like 203.0.113.7 or '*', got {_show(piece)}"
            )
        addresses.append(str(address))
    if not addresses:
        raise ValidationError(f"expected at least one IP address or '*', got {_show(ips)}")
    if "*" in addresses and len(addresses) > 1:
        raise ValidationError(f"expected '*' alone (it allows every IP), got {_show(ips)}")
    return ",".join(addresses)


def check_username(username: str) -> str:
    """A username: non-empty, no spaces, commas or control characters; returned unchanged."""
    if not isinstance(username, str):
        raise ValidationError(f"expected a username as a str, got {_type_name(username)}")
    if (
        not username
        or "," in username
        or any(char.isspace() or unicodedata.category(char) == "Cc" for char in username)
    ):
        raise ValidationError(
            f"expected a username without spaces or commas, got {_show(username)}"
        )
    _require_encodable(username, "a username")
    return username


def check_file_format(file_format: str) -> str:
    """
    A file extension as the service wants it (A22): lower-case, without the leading dot.

    Raises:
        ValidationError: empty, longer than 16 characters, or containing spaces, commas, slashes
            or control characters.
    """
    if not isinstance(file_format, str):
        raise ValidationError(f"expected a file format like 'jpg', got {_type_name(file_format)}")
    text = file_format.lower()
    text = text.removeprefix(".")
    if (
        not text
        or len(text) > _MAX_FILE_FORMAT
        or text.startswith(".")
        or text.endswith(".")
        or not text.isprintable()
        or any(char.isspace() or char in ",/\\" for char in text)
    ):
        raise ValidationError(f"expected a file format like 'jpg', got {_show(file_format)}")
    _require_encodable(text, "a file format")
    return text


@attrs.frozen(kw_only=True)
class Media:
    """
    File data ready for the ``Data`` element.

    Attributes:
        data_b64: standard base64 with padding, no line breaks (A23).
        size: the decoded size in bytes (what the service compares with its limit, E12).
        file_format: the extension for ``Misc``, e.g. ``jpg``.
    """

    data_b64: str = attrs.field(repr=False)
    size: int
    file_format: str


def load_media(
    data: bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO,
    file_format: str | None,
    default_format: str,
) -> Media:
    """
    Read file data and base64-encode it once.

    Args:
        data: the bytes, a path to read, or a binary file object (read to its end).
        file_format: the extension to send; when ``None`` it comes from the file name's suffix,
            else *default_format*.
        default_format: the extension used when no other is known (e.g. ``jpg`` for a photo).

    Raises:
        ValidationError: *data* is of another type, a text-mode file, unreadable, or empty.
    """
    name: str | None = None
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    elif isinstance(data, (str, os.PathLike)):
        location = os.fspath(data)
        if not isinstance(location, str):
            raise ValidationError(f"expected a path as str, got {_type_name(location)}")
        path = Path(location)
        name = path.name
        try:
            raw = path.read_bytes()
        except (OSError, ValueError) as error:  # ValueError: a NUL in the path
            reason = getattr(error, "strerror", None) or str(error)
            raise ValidationError(
                f"expected a readable file, got {_show(location, _PATH_CHARS)}: {reason}"
            ) from None
    elif isinstance(data, io.TextIOBase):
        raise ValidationError("expected a binary file object (open it with 'rb'), got a text file")
    elif callable(getattr(data, "read", None)):
        try:
            content = data.read()
        except (OSError, ValueError) as error:  # ValueError: a closed file
            raise ValidationError(
                f"expected a readable file object, got one that failed: {error}"
            ) from None
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise ValidationError(
                "expected a binary file object (open it with 'rb'), "
                f"got one whose read() returns {_type_name(content)}"
            )
        raw = bytes(content)
        file_name = getattr(data, "name", None)
        name = file_name if isinstance(file_name, str) else None
    else:
        raise ValidationError(
            f"expected bytes, a path or a binary file object, got {_type_name(data)}"
        )
    if not raw:
        raise ValidationError("expected file data, got an empty file")
    return Media(
        data_b64=base64.b64encode(raw).decode("ascii"),
        size=len(raw),
        file_format=_pick_format(file_format, name, default_format),
    )


def _pick_format(file_format: str | None, name: str | None, default_format: str) -> str:
    if file_format is not None:
        return check_file_format(file_format)
    if name:
        suffix = Path(name).suffix
        if suffix:
            try:
                return check_file_format(suffix)
            except ValidationError:
                pass  # an odd suffix is no reason to refuse the file: use the default
    return check_file_format(default_format)


def check_media_size(media: Media, max_bytes: int | None) -> Media:
    """Refuse *media* larger than *max_bytes* (decoded size); ``None`` means no limit."""
    if max_bytes is not None and media.size > max_bytes:
        raise ValidationError(
            f"expected a file of at most {max_bytes} bytes, got {media.size} bytes"
        )
    return media
