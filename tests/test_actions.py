"""One table over all 43 actions: the exact form each sends and what each returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from miogram_async._base.models import MEGABYTE, Credits, Limits, ReportRecord
from miogram_async._base.peers import Chat, User
from miogram_async._client import MioGram
from miogram_async._mass.fanout import Outcome

URL = "https://miogram.test/dojob.php"
SECRET = "x32nv86ss5z-table"
ROBOT = "Agent1"
ONE = "+989100000000"
TWO = "+989100000001"
THREE = "+989100000002"


class Row(NamedTuple):
    """One action: how to call it, the elements it must send, a reply and the value it gives."""

    func: str
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    sent: dict[str, str]
    reply: object
    expected: object


def ok(result: object, status: str = "success") -> dict[str, object]:
    """A success envelope."""
    return {"Result": result, "Status": status}


LIMITS_WIRE = {
    "Message": "500",
    "Photo": 5,
    "Video": "10",
    "File": 20 * MEGABYTE,
    "canGet": "1",
    "isSuper": 0,
}
CREDITS_WIRE = {"Message": "100", "Photo": 0, "Video": "-1", "File": 7, "Other": "3"}
REPORT_WIRE = {
    "Username": "ali",
    "DATE": "2026-01-01",
    "TIME": "10:00:00",
    "IP": "203.0.113.7",
    "DATA": "hi",
    "Number": ONE,
    "Delivered": ONE,
}

ROWS: tuple[Row, ...] = (
    Row("SetStatusOnline", "set_status_online", (True,), {}, {"Misc": "Online"}, ok(True), True),
    Row("SendTyping", "send_typing", (ONE,), {}, {"Phone": ONE}, ok("true"), True),
    Row(
        "SendMessageMass",
        "send_message_mass",
        ([TWO, "0098 910 000 0002"], "Hello"),
        {},
        {"Phone": f"{TWO},{THREE}", "Message": "Hello"},
        ok({TWO: True, THREE: False}, "checking"),
        {TWO: Outcome.DELIVERED, THREE: Outcome.UNDELIVERED},
    ),
    Row(
        "SendMessage",
        "send_message",
        ("۰۰۹۸ ۹۱۰-۰۰۰-۰۰۰۰", "سلام, world\nline two"),
        {"robot": "Agent2"},
        {"Phone": ONE, "Message": "سلام, world\nline two", "Robot": "Agent2"},
        ok(True),
        True,
    ),
    Row(
        "SendMessageWhatsApp",
        "send_message_whatsapp",
        (ONE, "Hi"),
        {},
        {"Phone": ONE, "Message": "Hi"},
        ok(True, "sent"),
        True,
    ),
    Row(
        "SendMessageWhatsAppMass",
        "send_message_whatsapp_mass",
        ([ONE, TWO], "Hi"),
        {},
        {"Phone": f"{ONE},{TWO}", "Message": "Hi"},
        ok(True, "sent"),
        {ONE: Outcome.DELIVERED, TWO: Outcome.DELIVERED},
    ),
    Row(
        "CreateGroupChat",
        "create_group_chat",
        ("My Group", [ONE, "0098 910 000 0001", ONE]),
        {},
        {"Phone": f"{ONE},{TWO}", "Misc": "My Group"},
        ok(True),
        True,
    ),
    Row(
        "ChatInfo",
        "chat_info",
        ("My Group",),
        {},
        {"Misc": "My Group"},
        ok({"id": 5, "title": "My Group"}),
        Chat(peer_id=None, title="My Group", members=[], raw={}),
    ),
    Row("RenameChat", "rename_chat", ("Old", "New"), {}, {"Misc": "Old,New"}, ok(1), True),
    Row(
        "ChatAddUser",
        "chat_add_user",
        ("Team", ONE, 5),
        {},
        {"Phone": ONE, "Misc": "Team,5"},
        ok(True),
        True,
    ),
    Row(
        "ChatDeleteUser",
        "chat_delete_user",
        ("Team", ONE),
        {},
        {"Phone": ONE, "Misc": "Team"},
        {"Result": False, "Status": "fail"},
        False,
    ),
    Row(
        "SetProfileName",
        "set_profile_name",
        ("Ali", "Rezaei"),
        {},
        {"Misc": "Ali,Rezaei"},
        # The gateway relays the updated user object on success (docs/service.md E19).
        ok({"first_name": "Ali", "last_name": "Rezaei", "peer_id": 7}),
        True,
    ),
    Row("BlockUser", "block_user", (ONE,), {}, {"Phone": ONE}, ok(True), True),
    Row("UnBlockUser", "unblock_user", (ONE,), {}, {"Phone": ONE}, ok(True), True),
    Row("MarkRead", "mark_read", (ONE,), {}, {"Phone": ONE}, ok(True), True),
    Row(
        "GetUserInfo",
        "get_user_info",
        (ONE,),
        {},
        {"Phone": ONE},
        ok({"peer_id": 42}),
        User(peer_id=42, first_name="", last_name="", phone="", username="", print_name="", raw={}),
    ),
    Row(
        "GetDialogList",
        "get_dialog_list",
        (),
        {},
        {},
        ok([{"peer": "x"}]),
        [
            User(
                peer_id=None,
                first_name="",
                last_name="",
                phone="",
                username="",
                print_name="",
                raw={},
            )
        ],
    ),
    Row(
        "GetHistory",
        "get_history",
        (ONE,),
        {"offset": 10, "limit": 20},
        # limit first, as the server code reads it (docs/service.md E34); false is no message (E46).
        {"Phone": ONE, "Misc": "20,10"},
        ok(False),
        [],
    ),
    Row("SetUsername", "set_username", ("ali_r",), {}, {"Misc": "ali_r"}, ok(True), True),
    Row(
        "SetProfilePhoto",
        "set_profile_photo",
        (b"\x89PNG",),
        {"file_format": ".PNG"},
        {"Misc": "png", "Data": "iVBORw=="},
        ok(True),
        True,
    ),
    Row(
        "SendPhoto",
        "send_photo",
        (ONE, b"img"),
        {},
        {"Phone": ONE, "Misc": "jpg", "Data": "aW1n"},
        ok(True),
        True,
    ),
    Row(
        "SendVideo",
        "send_video",
        (ONE, b"vid"),
        {},
        {"Phone": ONE, "Misc": "mp4", "Data": "dmlk"},
        ok(True),
        True,
    ),
    Row(
        "SendAudio",
        "send_audio",
        (ONE, b"aud"),
        {"file_format": "ogg"},
        {"Phone": ONE, "Misc": "ogg", "Data": "YXVk"},
        ok(True),
        True,
    ),
    Row(
        "SendText",
        "send_text",
        (ONE, b"txt"),
        {},
        {"Phone": ONE, "Misc": "txt", "Data": "dHh0"},
        ok(True),
        True,
    ),
    Row(
        "SendFile",
        "send_file",
        (ONE, b"zip"),
        {},
        {"Phone": ONE, "Misc": "zip", "Data": "emlw"},
        ok(True),
        True,
    ),
    Row(
        "SendDocument",
        "send_document",
        (ONE, b"doc"),
        {},
        {"Phone": ONE, "Misc": "doc", "Data": "ZG9j"},
        ok(False),
        False,
    ),
    Row(
        "SendPhotoMass",
        "send_photo_mass",
        ([ONE, TWO], b"img"),
        {},
        {"Phone": f"{ONE},{TWO}", "Misc": "jpg", "Data": "aW1n"},
        ok({ONE.lstrip("+"): True, TWO: "false"}, "checking"),
        {ONE: Outcome.DELIVERED, TWO: Outcome.UNDELIVERED},
    ),
    Row(
        "SendVideoMass",
        "send_video_mass",
        ([ONE], b"vid"),
        {"file_format": "mkv"},
        {"Phone": ONE, "Misc": "mkv", "Data": "dmlk"},
        ok({ONE: True}, "checking"),
        {ONE: Outcome.DELIVERED},
    ),
    Row(
        "SendFileMass",
        "send_file_mass",
        ([ONE], b"zip"),
        {"robots": ["Stack1"]},
        {"Phone": ONE, "Misc": "zip", "Data": "emlw", "Robot": "Stack1"},
        ok({ONE: True}, "checking"),
        {ONE: Outcome.DELIVERED},
    ),
    Row(
        "SendLocation",
        "send_location",
        (ONE, 35.6892, 51.389),
        {},
        {"Phone": ONE, "Misc": "35.6892,51.389"},
        ok(True),
        True,
    ),
    Row(
        "SendContact",
        "send_contact",
        (ONE, "Ali", "+989120000000"),
        {},
        {"Phone": ONE, "Misc": "Ali,+989120000000"},
        ok(True),
        True,
    ),
    Row(
        "APIGetLimits",
        "api_get_limits",
        (),
        {},
        {},
        ok(LIMITS_WIRE, "checking"),
        Limits(
            message=500,
            photo=5 * MEGABYTE,
            video=10 * MEGABYTE,
            file=20 * MEGABYTE,
            can_get=True,
            is_super=False,
            raw=LIMITS_WIRE,
        ),
    ),
    Row(
        "APIGetCredits",
        "api_get_credits",
        (),
        {},
        {},
        ok(CREDITS_WIRE, "checking"),
        Credits(message=100, photo=0, video=-1, file=7, other=3, raw=CREDITS_WIRE),
    ),
    Row("APIGetIP", "api_get_ip", (), {}, {}, {"Result": "*"}, ["*"]),
    Row(
        "APISetIP",
        "api_set_ip",
        (["203.0.113.7", "198.51.100.1"],),
        {},
        {"Misc": "203.0.113.7,198.51.100.1"},
        {
            "Result": "203.0.113.7,198.51.100.1,192.0.2.9",
            "Message": "Allow IP Sets",
            "Status": "success",
            "Code": "409",
        },
        ["203.0.113.7", "198.51.100.1", "192.0.2.9"],
    ),
    Row(
        "APIChangeSecret",
        "api_change_secret",
        (),
        {},
        {},
        {"Result": "0123abcdef", "Message": "Secret Changed", "Status": "success", "Code": 407},
        "0123abcdef",
    ),
    Row(
        "APIGetRobot",
        "api_get_robot",
        (),
        {},
        {},
        {"Result": "Agent1,Agent2"},
        ["Agent1", "Agent2"],
    ),
    Row("APIGetActive", "api_get_active", (), {}, {}, {"Result": "1"}, True),
    Row("APIGetUsername", "api_get_username", (), {}, {}, {"Result": "ali"}, "ali"),
    Row("APIisSuper", "api_is_super", (), {}, {}, {"Result": "0"}, False),
    Row("APIcanGet", "api_can_get", (), {}, {}, {"Result": 1}, True),
    Row("APIGetAds", "api_get_ads", (), {}, {}, {"Result": False}, False),
    Row(
        "APIGetReport",
        "api_get_report",
        (5,),
        {},
        {"Misc": "5"},
        [REPORT_WIRE],
        [
            ReportRecord(
                username="ali",
                date="2026-01-01",
                time="10:00:00",
                ip="203.0.113.7",
                data="hi",
                number=ONE,
                delivered=[ONE],
                raw=REPORT_WIRE,
            )
        ],
    ),
)


def test_the_table_covers_all_43_actions_once() -> None:
    """Every documented action has exactly one row."""
    assert len(ROWS) == 43
    assert len({row.func for row in ROWS}) == 43


def _form(request: httpx.Request) -> dict[str, str]:
    pairs = parse_qsl(request.content.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    form = dict(pairs)
    assert len(form) == len(pairs), "an element was sent twice"
    return form


@pytest.mark.parametrize("row", ROWS, ids=[row.func for row in ROWS])
async def test_action_sends_exact_form_and_decodes_reply(row: Row) -> None:
    """Each action POSTs exactly its documented elements and returns the decoded reply."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL, data__contains={"Func": row.func}).mock(
            return_value=httpx.Response(200, json=row.reply)
        )
        if "robots" in row.kwargs:  # named agents are checked against the account's first
            mock.post(URL, data__contains={"Func": "APIGetRobot"}).mock(
                return_value=httpx.Response(200, json={"Result": "Stack1,Stack2", "Status": "ok"})
            )
        async with MioGram(
            SECRET, robot=ROBOT, base_url=URL, max_retries=0, http_backend="httpx"
        ) as client:
            method: Callable[..., Awaitable[object]] = getattr(client, row.method)
            result = await method(*row.args, **row.kwargs)

    assert route.call_count == 1
    request = route.calls.last.request
    expected_form = {"Secret": SECRET, "Func": row.func, "Robot": ROBOT, **row.sent}
    assert _form(request) == expected_form
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept-Charset"] == "UTF-8"
    if isinstance(row.expected, Mapping) and row.func.endswith("Mass"):
        assert dict(result) == row.expected  # type: ignore[call-overload]
    else:
        assert result == row.expected
