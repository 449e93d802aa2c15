"""
Users, chats and messages: the telegram-cli JSON the gateway passes through (docs/service.md E19).

The service documents no field of these objects (A8), so every field is read leniently: a missing
or unusable text reads as ``""``, a missing peer id as ``None``, and the object is kept as it came
in ``raw``. Only what the gateway itself relies on is required: a message's ``date``. Scalars go
through the one converter of `models`, so numbers and booleans read as everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

import attrs

from .errors import APIResponseError, NoDataError, NumberNotFoundError
from .models import converter
from .validation import PHONE_PATTERN
from .wire import Reply, json_excerpt, parse_bool

__all__ = [
    "Chat",
    "Message",
    "User",
    "as_chat",
    "as_dialogs",
    "as_history",
    "as_user",
    "chat_from_wire",
    "dialogs_from_wire",
    "history_from_wire",
    "message_from_wire",
    "user_from_wire",
]

# telegram-cli's kinds of peer that are group conversations; everything else with a peer_type is a
# person (secret chats included: their peer is a user).
_GROUP_PEER_TYPES: Final = frozenset({"chat", "channel"})


@attrs.frozen(kw_only=True)
class User:
    """
    A Telegram user as telegram-cli describes it (``GetUserInfo``, ``GetDialogList``).

    Attributes:
        peer_id: telegram-cli's numeric id of the user, or ``None`` when the object carries none.
        first_name: the first name, or ``""``.
        last_name: the last name, or ``""``.
        phone: the phone number in the SDK's form, ``+`` and its digits (``+989121234567``; the
            gateway gives the digits without the ``+``, kept as given in ``raw["phone"]``); a
            value that is not such a number is kept as given; ``""`` when there is none.
        username: the Telegram username without ``@``, or ``""``.
        print_name: telegram-cli's display name (spaces as underscores), or ``""``.
        raw: the object as the service sent it; fields not listed here are read from it.
    """

    peer_id: int | None
    first_name: str
    last_name: str
    phone: str
    username: str
    print_name: str
    raw: Mapping[str, object] = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class Chat:
    """
    A group chat (``ChatInfo``, ``GetDialogList``).

    Attributes:
        peer_id: telegram-cli's numeric id of the chat, or ``None`` when the object carries none.
        title: the chat's title, or ``""``.
        members: the members telegram-cli lists (often only their ``peer_id`` and ``phone``).
        raw: the object as the service sent it.
    """

    peer_id: int | None
    title: str
    # A list, as the contract says; left out of the hash so that chats stay hashable.
    members: list[User] = attrs.field(hash=False)
    raw: Mapping[str, object] = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class Message:
    """
    One message of a conversation (``GetHistory``).

    Attributes:
        id: telegram-cli's message id as text (a number in old versions, hex text in newer ones).
        sender: the ``from`` peer, or ``None`` when the object names none.
        text: the message text, or ``""`` (a media message often has none).
        date: when it was sent, an aware datetime in UTC.
        out: whether the agent sent it (``False`` when the object does not say).
        media: the ``media`` object as it came (its ``type`` says which), or ``None``.
        raw: the object as the service sent it.
    """

    id: str
    sender: User | None
    text: str
    date: datetime
    out: bool
    media: Mapping[str, object] | None = attrs.field(hash=False)
    raw: Mapping[str, object] = attrs.field(eq=False, repr=False)


def _unexpected(what: str, obj: object, http_status: int, detail: str) -> APIResponseError:
    return APIResponseError(
        f"unexpected {what} in the reply: {detail}", http_status, json_excerpt(obj)
    )


def _mapping(obj: object, what: str, http_status: int) -> Mapping[str, object]:
    if not isinstance(obj, Mapping):
        raise _unexpected(what, obj, http_status, "expected an object")
    return obj


def _text(obj: Mapping[str, object], key: str) -> str:
    """A text field, leniently: numbers as decimal text; missing or not text at all reads ``""``."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    text: str = converter.structure(value, str)
    return text


def _phone(obj: Mapping[str, object]) -> str:
    """``phone`` as ``+`` and digits (telegram-cli gives ``989121234567``); else as given."""
    text = _text(obj, "phone")
    digits = text.strip().removeprefix("+")
    if digits.isascii() and digits.isdigit() and PHONE_PATTERN.match("+" + digits):
        return "+" + digits
    return text


def _peer_id(obj: Mapping[str, object]) -> int | None:
    """``peer_id`` as an int (``123`` or ``"123"``); ``None`` when missing or not a number."""
    try:
        peer_id: int = converter.structure(obj.get("peer_id"), int)
    except (ValueError, TypeError):
        return None
    return peer_id


def _date(value: object, obj: object, http_status: int) -> datetime:
    """A Unix timestamp (telegram-cli's form, a number or numeric text) or ISO text, in UTC."""
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _unexpected("Message", obj, http_status, f"unreadable date {value!r}") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _unexpected("Message", obj, http_status, f"expected a date, got {value!r}")
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        raise _unexpected("Message", obj, http_status, f"unreadable date {value!r}") from None


def user_from_wire(obj: object, http_status: int = 200) -> User:
    """Build a `User` from a telegram-cli user object; `APIResponseError` if it is no object."""
    user = _mapping(obj, "User", http_status)
    return User(
        peer_id=_peer_id(user),
        first_name=_text(user, "first_name"),
        last_name=_text(user, "last_name"),
        phone=_phone(user),
        username=_text(user, "username"),
        print_name=_text(user, "print_name"),
        raw=user,
    )


def chat_from_wire(obj: object, http_status: int = 200) -> Chat:
    """Build a `Chat` from a telegram-cli chat object; members that are no object are skipped."""
    chat = _mapping(obj, "Chat", http_status)
    members = chat.get("members")
    return Chat(
        peer_id=_peer_id(chat),
        title=_text(chat, "title"),
        members=[
            user_from_wire(member, http_status)
            for member in (members if isinstance(members, list) else [])
            if isinstance(member, Mapping)
        ],
        raw=chat,
    )


def message_from_wire(obj: object, http_status: int = 200) -> Message:
    """Build a `Message` from a telegram-cli message; `APIResponseError` without a usable date."""
    message = _mapping(obj, "Message", http_status)
    if "date" not in message:
        raise _unexpected("Message", obj, http_status, "missing date")
    sender = message.get("from")
    media = message.get("media")
    out_value = message.get("out", False)
    out = parse_bool(out_value)
    if out is None:
        raise _unexpected(
            "Message", obj, http_status, f"expected out as true/false, got {out_value!r}"
        )
    return Message(
        id=_text(message, "id"),
        sender=user_from_wire(sender, http_status) if isinstance(sender, Mapping) else None,
        text=_text(message, "text"),
        date=_date(message["date"], obj, http_status),
        out=out,
        media=media if isinstance(media, Mapping) else None,
        raw=message,
    )


def _peer_from_wire(obj: object, http_status: int) -> User | Chat:
    peer = _mapping(obj, "dialog", http_status)
    peer_type = peer.get("peer_type")
    if isinstance(peer_type, str):
        is_group = peer_type.strip().lower() in _GROUP_PEER_TYPES
    else:  # no peer_type: only a chat has a title or members
        is_group = "title" in peer or "members" in peer
    return chat_from_wire(peer, http_status) if is_group else user_from_wire(peer, http_status)


def _items(reply: Reply, what: str) -> list[object]:
    """A list ``Result``: ``false`` (or nothing) is the empty list (E46); PHP gaps read in order."""
    result = reply.result
    if result is None or parse_bool(result) is False or result == "":
        return []
    if isinstance(result, Mapping):
        return list(result.values())
    if not isinstance(result, list):
        raise _unexpected(what, result, reply.http_status, "expected a list")
    return result


def dialogs_from_wire(obj: object, http_status: int = 200) -> list[User | Chat]:
    """Build the dialogs of ``GetDialogList`` from its list: users and chats, in order."""
    items = obj if isinstance(obj, list) else [obj]
    return [_peer_from_wire(item, http_status) for item in items]


def history_from_wire(obj: object, http_status: int = 200) -> list[Message]:
    """Build the messages of ``GetHistory`` from its list, in the order they came."""
    items = obj if isinstance(obj, list) else [obj]
    return [message_from_wire(item, http_status) for item in items]


def as_user(reply: Reply) -> User:
    """
    Decoder for ``GetUserInfo``.

    Raises:
        NumberNotFoundError: the service answered ``false``: it knows no user with that number.
        APIResponseError: the result is neither a user object nor ``false``.
    """
    if parse_bool(reply.result) is False or (reply.status == "fail" and reply.result is None):
        raise NumberNotFoundError(
            None, "no Telegram user has this number (the service answered false)", reply.func
        )
    return user_from_wire(reply.result, reply.http_status)


def as_chat(reply: Reply) -> Chat:
    """
    Decoder for ``ChatInfo``.

    Raises:
        NoDataError: the service answered ``false``: the agent is in no chat of that name.
        APIResponseError: the result is neither a chat object nor ``false``.
    """
    if parse_bool(reply.result) is False or (reply.status == "fail" and reply.result is None):
        raise NoDataError(
            None, "the agent is in no chat of that name (the service answered false)", reply.func
        )
    return chat_from_wire(reply.result, reply.http_status)


def as_dialogs(reply: Reply) -> list[User | Chat]:
    """Decoder for ``GetDialogList``: ``false`` is no dialog at all (E46)."""
    return dialogs_from_wire(_items(reply, "dialog list"), reply.http_status)


def as_history(reply: Reply) -> list[Message]:
    """Decoder for ``GetHistory``: ``false`` is no message at all (E46)."""
    return history_from_wire(_items(reply, "history"), reply.http_status)
