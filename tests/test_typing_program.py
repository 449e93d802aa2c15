"""The user program of tests/typing (type-checked by scripts/check) also runs and reads right."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from miogram_async import MioGram
from miogram_async._base.models import report_from_wire
from miogram_async._base.peers import as_dialogs, as_history, as_user
from miogram_async._base.wire import Reply, decode_reply
from miogram_async.testing import FakeMioGram

PROGRAM = Path(__file__).resolve().parent / "typing" / "user_program.py"
ALICE = "+989100000001"


@pytest.fixture(scope="module")
def program() -> ModuleType:
    """tests/typing/user_program.py, imported from its path."""
    spec = importlib.util.spec_from_file_location("user_program", PROGRAM)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reply(func: str, result: object) -> Reply:
    """A decoded success reply to *func* carrying *result*."""
    body = json.dumps({"Result": result, "Status": "success"}).encode("utf-8")
    return decode_reply(func, 200, body)


def test_program_reads_users_chats_and_messages(program: ModuleType) -> None:
    """The program's helpers read the typed fields of users, chats and messages."""
    user = as_user(
        reply(
            "GetUserInfo",
            {"peer_id": 7, "first_name": "Sara", "last_name": "", "phone": "989100000001"},
        )
    )
    assert program.describe_user(user) == "Sara (+989100000001, peer 7)"
    (chat, person) = as_dialogs(
        reply("GetDialogList", [{"peer_type": "chat", "title": "Team", "members": []}, {}])
    )
    assert program.describe_dialog(chat) == "group Team (0): "
    assert program.describe_dialog(person) == " (no phone, peer ?)"
    (message,) = as_history(
        reply(
            "GetHistory",
            [{"id": 3, "date": 0, "out": True, "text": "hi", "media": {"type": "photo"}}],
        )
    )
    now = datetime(1970, 1, 11, tzinfo=UTC)
    assert program.message_line(message, now) == "[3] -> someone: 'hi' (photo, 10 days ago)"


def test_program_reads_reports(program: ModuleType) -> None:
    """delivered_since compares the reports' Tehran timestamps with an aware UTC instant."""
    records = [
        report_from_wire({"DATE": "2026-01-02", "TIME": "03:30:00", "Delivered": "+1,+2"}),
        report_from_wire({"DATE": "2026-01-02", "TIME": "03:29:59", "Delivered": "+3"}),
        report_from_wire({"DATE": "", "TIME": "", "Delivered": "+4"}),
    ]
    since = datetime(2026, 1, 2, 0, 0, 0, tzinfo=UTC)  # 03:30 in Tehran
    assert program.delivered_since(records, since) == ["+1", "+2"]


async def test_program_against_the_fake(program: ModuleType) -> None:
    """daily_summary runs against the fake service through the client's typed results."""
    fake = FakeMioGram()
    async with MioGram(secret=fake.secret(), transport=fake.transport()) as client:
        assert await client.send_message(ALICE, "salam") is True
        lines = await program.daily_summary(client)
    assert lines[0].endswith(f"{ALICE}: salam")
    assert lines[1:] == ["delivered to 1 numbers in a day", "credit is fine"]
