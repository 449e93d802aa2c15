"""
The wire format: the form body that goes out and the JSON envelope that comes back.

Pure functions, no I/O. ``encode_form`` is the only function here that ever sees the secret;
nothing else takes it, formats it or logs it. Wire names (``Result``, ``Status``, ``Phone``...) live
here and in `models`; the rest of the package speaks Python names.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Final
from urllib.parse import quote

import attrs

from .errors import ERROR_CLASSES, APIResponseError
from .outcomes import error_for_code

__all__ = [
    "FORM_HEADERS",
    "Reply",
    "as_bool",
    "as_flag",
    "as_json",
    "as_mass_map",
    "as_report_list",
    "as_str",
    "as_str_list",
    "decode_reply",
    "encode_form",
    "excerpt",
    "json_excerpt",
    "matched_mass_map",
    "parse_bool",
    "percent_quote",
]

FORM_HEADERS: Final[Mapping[str, str]] = types.MappingProxyType(
    {"Content-Type": "application/x-www-form-urlencoded", "Accept-Charset": "UTF-8"}
)
"""Headers every request carries (docs/service.md section 1, A29)."""

# Python element names -> wire names, in the order they are written to the body.
_ELEMENTS: Final[Mapping[str, str]] = types.MappingProxyType(
    {"phone": "Phone", "message": "Message", "misc": "Misc", "data": "Data"}
)

_EXCERPT_CHARS: Final = 200
_MAX_CODE_DIGITS: Final = 9

_ERROR_PREFIX: Final = re.compile(
    r"^\s*Error\s*([0-9]{1,9})\s*:\s*(.*?)\s*$", re.IGNORECASE | re.DOTALL
)

# Message texts of docs/service.md section 7 and their variants seen in public server code (E5, E6),
# lower-cased, trailing '*' stripped, inner whitespace collapsed to one space.
_TEXT_CODES: Final[Mapping[str, int]] = types.MappingProxyType(
    {
        "empty secret": 800,
        "invalid secret": 801,
        # Shared with 814 (D12); text alone means the front script's 802 (A1).
        "invalid ip address": 802,
        "bad request": 812,
        "invalid token": 813,
        "session blocked": 815,
        "account not activated": 826,
        "no robot has been set yet": 827,
        "no userid": 301,
        "no user id": 301,
        "bad request of func": 302,
        "bad request of functions": 302,
        "file size is too high": 303,
        "message length is too high": 304,
        "message length is high": 304,
        "photo size is high": 304,
        "video size is high": 304,
        "audio size is high": 304,
        "text size is high": 304,
        "file size is high": 304,
        "document size is high": 304,
        "no credit": 305,
        "low credit": 306,
        "number not exist or wrong": 307,
        "permission denied": 309,
        "no input": 330,
        "no valid file": 400,
        "not valid file": 400,
        "secret changed": 407,
        "allow ip sets": 409,
        "no data": 111,
        "no response from server": 999,
        "whatsapp not supported": 101,
    }
)

_SUCCESS_STATUSES: Final = frozenset({"success", "checking", "sent", "fail"})
_SUCCESS_CODES: Final = frozenset({407, 409})

_TRUE_TEXTS: Final = frozenset({"true", "1"})
_FALSE_TEXTS: Final = frozenset({"false", "0"})


# Characters `urllib.parse.quote` with ``safe=""`` leaves alone; every other ASCII character becomes
# ``%XX``, ``%`` itself first so that no escape is escaped twice.
_UNQUOTED: Final = re.compile(r"[A-Za-z0-9_.~-]*")
_ASCII_ESCAPES: Final = tuple(
    (char, f"%{ord(char):02X}")
    for char in sorted(map(chr, range(128)), key=lambda char: char != "%")
    if _UNQUOTED.fullmatch(char) is None
)


def percent_quote(value: str) -> str:
    """`urllib.parse.quote` with ``safe=""``; ASCII text (the usual case) without a byte loop."""
    if not value.isascii():
        return quote(value, safe="", encoding="utf-8")
    if _UNQUOTED.fullmatch(value) is not None:
        return value
    for char, escape in _ASCII_ESCAPES:
        if char in value:
            value = value.replace(char, escape)
    return value


def encode_form(
    secret: str, func: str, elements: Mapping[str, str | None], robot: str | None
) -> bytes:
    """
    Build the form-urlencoded request body.

    Order: ``Secret``, ``Func``, then ``Phone``, ``Message``, ``Misc``, ``Data`` (whichever are
    given), then ``Robot`` when *robot* is a non-empty string. Values are percent-encoded UTF-8 (a
    ``+`` in a phone becomes ``%2B``).

    Args:
        secret: the account's secret key.
        func: the action name, e.g. ``SendMessage``.
        elements: Python names ``phone``, ``message``, ``misc``, ``data`` (or their wire names) to
            values; ``None`` values are left out.
        robot: the agent name, or ``None`` / ``""`` for the account's default agent.

    Raises:
        ValueError: an element name is unknown, or an element, the secret or *func* is empty (the
            service answers 302 for empty elements, so sending one is a programming error).
        TypeError: a value is not a string.
    """
    if not isinstance(secret, str) or not secret:
        raise ValueError("the secret must be a non-empty string")
    if not isinstance(func, str) or not func:
        raise ValueError("Func must be a non-empty string")
    wire_values: dict[str, str] = {}
    for name, value in elements.items():
        wire_name = _ELEMENTS.get(name) or (name if name in _ELEMENTS.values() else None)
        if wire_name is None:
            raise ValueError(f"unknown form element {name!r}; expected one of {sorted(_ELEMENTS)}")
        if value is None:
            continue
        if not isinstance(value, str):
            raise TypeError(f"form element {name!r} must be a str, got {type(value).__name__}")
        if not value:
            raise ValueError(f"form element {name!r} is empty; leave it out instead")
        wire_values[wire_name] = value
    pairs: list[tuple[str, str]] = [("Secret", secret), ("Func", func)]
    pairs.extend((wire, wire_values[wire]) for wire in _ELEMENTS.values() if wire in wire_values)
    if robot is not None:
        if not isinstance(robot, str):
            raise TypeError(f"Robot must be a str, got {type(robot).__name__}")
        if robot:
            pairs.append(("Robot", robot))
    return "&".join(
        f"{percent_quote(name)}={percent_quote(value)}" for name, value in pairs
    ).encode("ascii")


def _repr_reply(reply: Reply) -> str:
    if reply.secret_bearing:
        shown = "<hidden>"
        return (
            f"Reply(func={reply.func!r}, http_status={reply.http_status!r}, "
            f"status={reply.status!r}, result={shown}, message={reply.message!r}, "
            f"code={reply.code!r}, raw={shown})"
        )
    return (
        f"Reply(func={reply.func!r}, http_status={reply.http_status!r}, "
        f"status={reply.status!r}, result={reply.result!r}, message={reply.message!r}, "
        f"code={reply.code!r}, raw={reply.raw!r})"
    )


@attrs.frozen(repr=False)
class Reply:
    """
    One decoded reply that was not an error.

    Attributes:
        func: the action that was called.
        http_status: the HTTP status of the reply.
        status: ``Status`` lower-cased, or ``None`` when absent, ``null`` or ``"NULL"``.
        result: the ``Result`` value as decoded JSON (``None`` when absent; the whole body for a
            bare JSON array).
        message: ``Message`` as a string, or ``None``.
        code: the service code carried by a success reply (407 ``Secret Changed``, 409
            ``Allow IP Sets``), or ``None``.
        raw: the decoded JSON body as it came.
        secret_bearing: the reply carries a secret (the action's row says so): its result is
            never shown, in the repr or in an error.
    """

    func: str
    http_status: int
    status: str | None
    result: object
    message: str | None
    code: int | None
    raw: object
    secret_bearing: bool = attrs.field(default=False, kw_only=True)

    def __repr__(self) -> str:
        return _repr_reply(self)


def excerpt(text: str) -> str:
    """Collapse whitespace and cut *text* to at most 200 characters, for error messages."""
    collapsed = " ".join(text.split())
    if len(collapsed) <= _EXCERPT_CHARS:
        return collapsed
    return collapsed[: _EXCERPT_CHARS - 1] + "…"


def _safe_excerpt(secret_bearing: bool, text: str) -> str:
    return "" if secret_bearing else excerpt(text)


def json_excerpt(value: object) -> str:
    """`excerpt` of a decoded JSON value, written back as JSON."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (ValueError, RecursionError):  # nested too deep to write back
        text = f"<{type(value).__name__} nested too deep to show>"
    return excerpt(text)


def _parse_code(value: object) -> int | None:
    """A ``Code`` field as an int: JSON strings and numbers both occur (E4)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= _MAX_CODE_DIGITS:
            return int(text)
    return None


def _normalize_text(text: str) -> str:
    return " ".join(text.strip().rstrip("*").split()).lower()


def _resolve_code(code_field: object, message: str | None) -> tuple[int | None, str | None, bool]:
    """
    Find the service code (A1), the message text without an ``Error NNN :`` prefix, and whether
    the code came from that prefix alone (the gateway's form, E4, E41).
    """
    code = _parse_code(code_field)
    text = message
    gateway_form = False
    if message is not None:
        prefixed = _ERROR_PREFIX.match(message)
        if prefixed is not None:
            text = prefixed.group(2)
            if code is None:
                code = int(prefixed.group(1))
                gateway_form = True
        if code is None:
            code = _TEXT_CODES.get(_normalize_text(message))
    return code, text, gateway_form


def _field(envelope: Mapping[str, object], name: str) -> tuple[bool, object]:
    """Look an envelope key up exactly, then case-insensitively."""
    if name in envelope:
        return True, envelope[name]
    lowered = name.lower()
    for key, value in envelope.items():
        if key.lower() == lowered:
            return True, value
    return False, None


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json_excerpt(value)


_DECODER: Final = json.JSONDecoder()
_LEADING_SPACE: Final = re.compile(r"[ \t\n\r]*")


def _leading_json(text: str) -> object:
    """
    The JSON value at the start of *text*, whatever follows it.

    Some gateway replies print the script's exit status after the JSON body (``{...}302``,
    docs/service.md E40). A body that does not start with a complete JSON value (empty, HTML,
    truncated) raises `ValueError`.
    """
    start = _LEADING_SPACE.match(text)
    value, _ = _DECODER.raw_decode(text, start.end() if start is not None else 0)
    return value


def decode_reply(
    func: str,
    http_status: int,
    body: bytes,
    *,
    secret_bearing: bool = False,
    changes_state: bool = True,
) -> Reply:
    """
    Decode one reply body, raising for anything that is not a success.

    *secret_bearing* (the action row's flag) keeps the body out of every excerpt and repr: such a
    reply carries a secret. *changes_state* (the row's flag too) decides the ``sent`` of a raised
    `APIError`: ``False`` when it proves a refusal (`outcomes.proves_refusal`), else ``None``.

    The body is parsed as UTF-8 JSON whatever the HTTP status and ``Content-Type`` (A24); only its
    leading JSON value is read, so bytes after it are ignored (E40). A JSON object is the
    documented envelope; a top-level JSON array is accepted as a bare result (``APIGetReport``,
    E9).

    Raises:
        APIResponseError: the body does not start with a JSON value (empty, HTML, truncated), or
            that value is not a JSON object or array; its ``sent`` is ``None``.
        APIError: ``Status`` is ``error``, or ``fail`` with a documented error code, or unknown
            or absent with a ``Message`` and no ``Result`` (407/409 never raise); the subclass is
            chosen by the service code (``Code``, an ``Error NNN :`` prefix, or the message text).
    """
    # utf-8-sig: a PHP script saved with a byte-order mark prints it before the JSON.
    text = body.decode("utf-8-sig", errors="replace")
    try:
        decoded: object = _leading_json(text)
    except (ValueError, RecursionError):
        problem = "the reply is empty" if not text.strip() else "the reply is not JSON"
        raise APIResponseError(problem, http_status, _safe_excerpt(secret_bearing, text)) from None
    if isinstance(decoded, list):
        return Reply(
            func=func,
            http_status=http_status,
            status=None,
            result=decoded,
            message=None,
            code=None,
            raw=decoded,
            secret_bearing=secret_bearing,
        )
    if not isinstance(decoded, dict):
        raise APIResponseError(
            "the reply is not a JSON object or array",
            http_status,
            _safe_excerpt(secret_bearing, text),
        )

    has_result, result = _field(decoded, "Result")
    has_status, status_value = _field(decoded, "Status")
    _, message_value = _field(decoded, "Message")
    _, code_value = _field(decoded, "Code")
    if not (has_result or has_status or message_value is not None):
        raise APIResponseError(
            "the reply is not the service's envelope",
            http_status,
            _safe_excerpt(secret_bearing, text),
        )

    status_text = _as_text(status_value)
    status = status_text.strip().lower() if status_text is not None else None
    if status in ("", "null"):
        status = None
    message = _as_text(message_value)
    code, text_only, gateway_form = _resolve_code(code_value, message)

    # A2: an unknown Status is an error when it brings a Message and no Result. A reply with no
    # Status at all is read the same way (the API* reads that omit Status always carry a Result).
    # 407 and 409 are never errors, whatever the Status (D11, A3): the document files them under
    # Status error, and raising on 407 would lose the new secret of an account whose old one is
    # already dead.
    # A fail that names a documented error code (say 305 No Credit) is that error: read as a
    # plain false, a Mass send would mark its numbers undelivered and go on to the next chunk.
    is_error = code not in _SUCCESS_CODES and (
        status == "error"
        or (status == "fail" and code in ERROR_CLASSES)
        or (status not in _SUCCESS_STATUSES and message is not None and not has_result)
    )
    if is_error:
        raise error_for_code(
            code,
            (text_only or "").strip().rstrip("*").rstrip(),
            func,
            changes_state=changes_state,
            gateway_form=gateway_form,
        )
    return Reply(
        func=func,
        http_status=http_status,
        status=status,
        result=result,
        message=message,
        code=code,
        raw=decoded,
        secret_bearing=secret_bearing,
    )


def parse_bool(value: object) -> bool | None:
    """
    Read a wire boolean (A5): JSON booleans, ``1``/``0`` and the strings ``true``, ``false``, ``1``,
    ``0`` (case-insensitive, trimmed). Anything else gives ``None``.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {1: True, 0: False}.get(value)
    if isinstance(value, float):
        return {1.0: True, 0.0: False}.get(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_TEXTS:
            return True
        if text in _FALSE_TEXTS:
            return False
    return None


def _unexpected(reply: Reply, what: str) -> APIResponseError:
    return APIResponseError(
        f"unexpected result for {reply.func}: expected {what}",
        reply.http_status,
        "" if reply.secret_bearing else json_excerpt(reply.result),
    )


def as_bool(reply: Reply) -> bool:
    """``Result`` as a boolean (A5); ``Status: fail`` means ``False`` whatever ``Result`` says."""
    if reply.status == "fail":
        return False
    parsed = parse_bool(reply.result)
    if parsed is None:
        raise _unexpected(reply, "true or false")
    return parsed


def as_flag(reply: Reply) -> bool:
    """A ``1``/``0`` flag (``APIGetActive``, ``APIisSuper``, ``APIcanGet``, ``APIGetAds``)."""
    parsed = parse_bool(reply.result)
    if parsed is None:
        raise _unexpected(reply, "1 or 0")
    return parsed


def as_json(reply: Reply) -> object:
    """``Result`` as decoded JSON, unchanged (A8): objects, or ``false`` on failure."""
    return reply.result


def as_str(reply: Reply) -> str:
    """``Result`` as a string (``APIGetUsername``, the new secret); numbers are accepted."""
    result = reply.result
    if isinstance(result, str):
        return result
    if isinstance(result, int) and not isinstance(result, bool):
        return str(result)
    raise _unexpected(reply, "a string")


def as_str_list(reply: Reply) -> list[str]:
    """A comma-separated ``Result`` (``APIGetIP``, ``APISetIP``, ``APIGetRobot``) as a list."""
    result = reply.result
    if isinstance(result, str):
        pieces = result.split(",")
    elif isinstance(result, list) and all(isinstance(item, str) for item in result):
        pieces = result
    else:
        raise _unexpected(reply, "a comma-separated string")
    return [piece.strip() for piece in pieces if piece.strip()]


def _number_key(number: str) -> str:
    """The form a number takes for matching Mass keys: no spaces, no leading '+' or '00'."""
    key = "".join(number.split())
    if key.startswith("+"):
        key = key[1:]
    elif key.startswith("00"):
        key = key[2:]
    return key


_PLAIN_NUMBERS: Final = re.compile(r"\+[0-9]+(?:,\+[0-9]+)*")

_ABSENT: Final = object()


def _exact_mass_map(sent: tuple[str, ...], result: dict[object, object]) -> dict[str, bool] | None:
    """
    The reply map when its keys are exactly the numbers sent, all in the wire form; else ``None``.

    What the general matching in `as_mass_map` gives for such a map, one lookup per number.
    ``None`` (leave it to the general matching) for anything else, a value that is not a wire
    boolean included.
    """
    if len(result) != len(set(sent)):
        return None
    decoded: dict[str, bool] = {}
    for number in sent:
        value = result.get(number, _ABSENT)
        if value is True or value is False:
            decoded[number] = value
            continue
        parsed = None if value is _ABSENT else parse_bool(value)
        if parsed is None:
            return None
        decoded[number] = parsed
    return decoded


def matched_mass_map(
    reply: Reply, sent: tuple[str, ...], result: dict[object, object]
) -> dict[str, bool]:
    """
    The reply map matched to the numbers sent by `_number_key` (see `as_mass_map`): the general
    matching, which `as_mass_map`'s fast path for wire-form numbers must equal.
    """
    by_key: dict[str, bool] = {}
    conflicting: set[str] = set()
    for key, value in result.items():
        parsed = parse_bool(value)
        if parsed is None:
            raise _unexpected(reply, "true or false for every number")
        number_key = _number_key(str(key))
        if by_key.get(number_key, parsed) != parsed:
            # One number answered true and false under two spellings: which one holds is unknown.
            conflicting.add(number_key)
        by_key[number_key] = parsed
    keys = [_number_key(number) for number in sent]
    wanted = set(keys)
    if not wanted <= by_key.keys() and not by_key.keys() <= wanted:
        # Some number has no key and some key names no number sent: it may be that number
        # in another form. Reading it as false would call a delivered message undelivered,
        # and a caller re-sending undelivered numbers would send it twice.
        raise _unexpected(reply, "keys matching the numbers sent")
    # Only a reply still "checking" says that a number it leaves out was not delivered (A4);
    # after "success" (or no Status) the number's outcome is unknown: it is left out too.
    absent_is_false = reply.status == "checking"
    decoded: dict[str, bool] = {}
    for number, key in zip(sent, keys, strict=True):
        if key in conflicting:
            continue
        said = by_key.get(key)
        if said is not None:
            decoded[number] = said
        elif absent_is_false:
            decoded[number] = False
    return decoded


def as_mass_map(numbers: Sequence[str]) -> Callable[[Reply], dict[str, bool]]:
    """
    A decoder for a Mass ``Result``, keyed back to the *numbers* that were sent.

    The service keys its map by each number as sent (E8), but keys with the ``+`` or ``00``
    stripped are matched too. A single boolean ``Result`` (WhatsApp Mass) applies to every number;
    ``Status: fail`` means every number failed. A number the map does not mention is ``False``
    when the ``Status`` is ``checking``; otherwise (``success``, none) it is left out of the
    decoded map: its outcome is unknown (A4). A number answered both true and false under two
    spellings (``+98912...`` and ``98912...``) is left out too. A map that also has keys matching
    no number sent raises `APIResponseError` (that number may be under another form).
    """
    sent = tuple(numbers)
    # Numbers in the wire form ('+' and digits) keep their '+'-less keys apart, so a map keyed by
    # exactly the numbers sent can be read as it is (`_exact_mass_map`).
    plain = _PLAIN_NUMBERS.fullmatch(",".join(sent)) is not None

    def decode(reply: Reply) -> dict[str, bool]:
        if reply.status == "fail":
            return dict.fromkeys(sent, False)
        result = reply.result
        single = parse_bool(result) if not isinstance(result, (dict, list)) else None
        if single is not None:
            return dict.fromkeys(sent, single)
        if isinstance(result, list) and not result:
            result = {}  # PHP encodes an empty array as []
        if not isinstance(result, dict):
            raise _unexpected(reply, "an object keyed by number")
        if plain:
            exact = _exact_mass_map(sent, result)
            if exact is not None:
                return exact
        return matched_mass_map(reply, sent, result)

    return decode


def as_report_list(reply: Reply) -> list[dict[str, object]]:
    """
    ``APIGetReport`` records as dicts, from a bare JSON array (E9) or ``{"Result": [...]}`` (A9).

    An object keyed by index (a PHP array with gaps) is read in key order. "No records" arrives as
    error 111 and is raised by `decode_reply` as `NoDataError`.
    """
    result = reply.result
    if isinstance(result, dict):
        result = list(result.values())
    if not isinstance(result, list):
        raise _unexpected(reply, "a list of report records")
    records: list[dict[str, object]] = []
    for item in result:
        if not isinstance(item, dict):
            raise _unexpected(reply, "a list of report records")
        records.append({str(key): value for key, value in item.items()})
    return records
