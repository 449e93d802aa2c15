"""
A user's program that reads the typed results' fields.

It is type-checked by ``mypy --strict`` (``scripts/check``), which proves that a user program
reading `User`, `Chat`, `Message`, `ReportRecord` and `Credits` fields needs no cast and no
``# type: ignore``; ``tests/test_typing_program.py`` runs it against the fake service.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import assert_type

from miogram_async import Chat, CreditKind, Credits, Message, MioGram, ReportRecord, User


def describe_user(user: User) -> str:
    """A user's name and how to reach them."""
    name = f"{user.first_name} {user.last_name}".strip() or user.print_name
    handle = f"@{user.username}" if user.username else user.phone or "no phone"
    peer: int | None = user.peer_id
    return f"{name} ({handle}, peer {peer if peer is not None else '?'})"


def describe_dialog(dialog: User | Chat) -> str:
    """One line per dialog: a person, or a group and its members."""
    if isinstance(dialog, Chat):
        members = ", ".join(describe_user(member) for member in dialog.members)
        return f"group {dialog.title} ({len(dialog.members)}): {members}"
    return describe_user(dialog)


def message_line(message: Message, now: datetime) -> str:
    """A message as a chat client would list it."""
    sender = describe_user(message.sender) if message.sender is not None else "someone"
    age: timedelta = now - message.date
    kind = str(message.media.get("type", "media")) if message.media is not None else "text"
    arrow = "->" if message.out else "<-"
    return f"[{message.id}] {arrow} {sender}: {message.text!r} ({kind}, {age.days} days ago)"


def delivered_since(records: list[ReportRecord], since: datetime) -> list[str]:
    """The numbers delivered to from *since* on, by the reports' Tehran timestamps."""
    return [
        number
        for record in records
        if record.sent_at is not None and record.sent_at >= since
        for number in record.delivered
    ]


def running_low(credits: Credits, kinds: tuple[CreditKind, ...] = ("message", "photo")) -> bool:
    """Whether any of *kinds* of credit is used up."""
    return any(credits.exhausted(kind) for kind in kinds)


async def daily_summary(client: MioGram) -> list[str]:
    """A report of the last day's sends, built from the client's typed results."""
    records = await client.api_get_report(100)
    assert_type(records, list[ReportRecord])
    credits = await client.api_get_credits()
    since = datetime.now(UTC) - timedelta(days=1)
    lines = [f"{record.date} {record.time} {record.number}: {record.data}" for record in records]
    lines.append(f"delivered to {len(delivered_since(records, since))} numbers in a day")
    lines.append("credit is running low" if running_low(credits) else "credit is fine")
    return lines
