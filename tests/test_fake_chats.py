"""The fake service's agent, chat and profile actions, built from what was sent (in process)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from miogram_async.testing import AccountConfig, FakeMioGram, NumberBook

SECRET = "test-secret"
ALICE = "+989100000001"
BOB = "+989100000002"
NOBODY = "+989100000009"

Poster = Callable[..., Awaitable[Any]]
TRUE = {"Result": True, "Status": "success"}
FALSE = {"Result": False, "Status": "fail"}


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake with two agents where Alice and Bob exist."""
    # documented profile: these tests hold the document's shapes; the server's are in
    # test_fake_server_code.py
    return FakeMioGram(
        AccountConfig(agents=("Agent1", "Stack1"), numbers=NumberBook.except_for([NOBODY])),
        profile="documented",
    )


@pytest.fixture
async def post(fake: FakeMioGram) -> AsyncIterator[Poster]:
    """A function posting one form to the fake in process."""
    async with httpx.AsyncClient(transport=fake.transport()) as http:

        async def send(**form: str) -> Any:
            response = await http.post("http://fake/dojob.php", data={"Secret": SECRET, **form})
            return response.json()

        yield send


async def test_group_chat_lifecycle(fake: FakeMioGram, post: Poster) -> None:
    """Create, inspect, rename, add and remove members of a group chat."""
    assert await post(Func="CreateGroupChat", Phone=f"{ALICE},{NOBODY}", Misc="My Group") == TRUE
    info = await post(Func="ChatInfo", Misc="My Group")
    assert info["Status"] == "success"
    assert info["Result"]["title"] == "My_Group"
    assert [m["phone"] for m in info["Result"]["members"]] == [ALICE[1:]]
    assert await post(Func="RenameChat", Misc="My Group,Team") == TRUE
    assert await post(Func="ChatInfo", Misc="My Group") == FALSE
    assert await post(Func="ChatAddUser", Phone=BOB, Misc="Team,0") == TRUE
    assert await post(Func="ChatAddUser", Phone=BOB, Misc="Team,0") == FALSE
    assert await post(Func="ChatDeleteUser", Phone=ALICE, Misc="Team") == TRUE
    assert fake.agent("Agent1").chats["Team"].members == [BOB[1:]]
    assert await post(Func="RenameChat", Misc="Team") == {
        "Result": False,
        "Status": "error",
        "Message": "Error 302 : Bad Request of Func ",
    }


async def test_history_and_dialogs_come_from_sends(post: Poster) -> None:
    """GetHistory reads Misc as limit,offset (E17); dialogs count unread until MarkRead."""
    for text in ["one", "two", "three"]:
        assert await post(Func="SendMessage", Phone=ALICE, Message=text) == TRUE
    history = await post(Func="GetHistory", Phone=ALICE, Misc="2,0")
    assert [item["text"] for item in history["Result"]] == ["two", "three"]
    skipped = await post(Func="GetHistory", Phone=ALICE, Misc="1,1")
    assert [item["text"] for item in skipped["Result"]] == ["two"]
    floor = await post(Func="GetHistory", Phone=ALICE, Misc="0,5")
    assert floor["Result"] == []
    dialogs = await post(Func="GetDialogList")
    assert [(d["phone"], d["unread_count"]) for d in dialogs["Result"]] == [(ALICE[1:], 3)]
    assert await post(Func="MarkRead", Phone=ALICE) == TRUE
    dialogs = await post(Func="GetDialogList")
    assert dialogs["Result"][0]["unread_count"] == 0
    assert await post(Func="GetHistory", Phone=NOBODY, Misc="5,0") == FALSE


async def test_block_and_user_info(fake: FakeMioGram, post: Poster) -> None:
    """BlockUser/UnBlockUser change the user's blocked flag; a missing number is false."""
    assert await post(Func="BlockUser", Phone=BOB) == TRUE
    info = await post(Func="GetUserInfo", Phone=BOB)
    assert info["Result"]["blocked"] is True
    assert await post(Func="UnBlockUser", Phone=BOB) == TRUE
    assert fake.agent("Agent1").blocked == set()
    assert await post(Func="BlockUser", Phone=NOBODY) == FALSE
    assert await post(Func="GetUserInfo", Phone=NOBODY) == FALSE


async def test_profile_actions(fake: FakeMioGram, post: Poster) -> None:
    """Profile name (object result), username, photo and online status change the agent."""
    named = await post(Func="SetProfileName", Misc="Ali,Rezaei")
    assert named["Status"] == "success"
    assert named["Result"]["first_name"] == "Ali"
    assert await post(Func="SetUsername", Misc="ali_r") == TRUE
    assert await post(Func="SetUsername", Misc="ali r") == FALSE
    photo = base64.b64encode(b"png").decode()
    assert await post(Func="SetProfilePhoto", Data=photo) == TRUE
    assert await post(Func="SetStatusOnline", Misc="Online") == TRUE
    assert await post(Func="SetStatusOnline", Misc="online") == {
        "Result": False,
        "Status": "error",
        "Message": "Error 302 : Bad Request of Func ",
    }
    agent = fake.agent("Agent1")
    assert (agent.first_name, agent.last_name, agent.username, agent.online) == (
        "Ali",
        "Rezaei",
        "ali_r",
        True,
    )
    assert agent.photo_sha256 is not None


async def test_robot_selects_the_agent(fake: FakeMioGram, post: Poster) -> None:
    """Robot picks a named agent; an unknown name falls back to the first agent."""
    await post(Func="SetStatusOnline", Misc="Online", Robot="Stack1")
    await post(Func="SetStatusOnline", Misc="Online", Robot="Nobody")
    assert [record.agent for record in fake.requests] == ["Stack1", "Agent1"]
    assert await post(Func="APIGetRobot") == {"Result": "Agent1,Stack1"}


async def test_stack_agents_refuse_profile_changes(post: Poster) -> None:
    """A stack agent may block nobody and change no profile (309), though it may type."""
    refused = {"Message": "Permission Denied", "Status": "error", "Code": "309"}
    assert await post(Func="BlockUser", Phone=ALICE, Robot="Stack1") == refused
    assert await post(Func="SetUsername", Misc="x", Robot="Stack1") == refused
    assert await post(Func="SendTyping", Phone=ALICE, Robot="Stack1") == TRUE


async def test_account_reads(post: Poster) -> None:
    """The API* reads return only Result, with flags as strings."""
    assert await post(Func="APIGetActive") == {"Result": "1"}
    assert await post(Func="APIGetUsername") == {"Result": "tester"}
    assert await post(Func="APIisSuper") == {"Result": "1"}
    assert await post(Func="APIcanGet") == {"Result": "1"}
    assert await post(Func="APIGetAds") == {"Result": False}


PNG = base64.b64encode(b"png").decode()
#: A valid form for every gateway action, and the elements it cannot do without.
REQUIRED = {
    "SetStatusOnline": ({"Misc": "Online"}, ["Misc"]),
    "SendTyping": ({"Phone": ALICE}, ["Phone"]),
    "SendMessageMass": ({"Phone": ALICE, "Message": "m"}, ["Phone", "Message"]),
    "SendMessage": ({"Phone": ALICE, "Message": "m"}, ["Phone", "Message"]),
    "SendMessageWhatsApp": ({"Phone": ALICE, "Message": "m"}, ["Phone", "Message"]),
    "SendMessageWhatsAppMass": ({"Phone": ALICE, "Message": "m"}, ["Phone", "Message"]),
    "CreateGroupChat": ({"Phone": ALICE, "Misc": "G2"}, ["Phone", "Misc"]),
    "ChatInfo": ({"Misc": "G"}, ["Misc"]),
    "RenameChat": ({"Misc": "G,H"}, ["Misc"]),
    "ChatAddUser": ({"Phone": BOB, "Misc": "G,0"}, ["Phone", "Misc"]),
    "ChatDeleteUser": ({"Phone": ALICE, "Misc": "G"}, ["Phone", "Misc"]),
    "SetProfileName": ({"Misc": "A,B"}, ["Misc"]),
    "BlockUser": ({"Phone": ALICE}, ["Phone"]),
    "UnBlockUser": ({"Phone": ALICE}, ["Phone"]),
    "MarkRead": ({"Phone": ALICE}, ["Phone"]),
    "GetUserInfo": ({"Phone": ALICE}, ["Phone"]),
    "GetDialogList": ({}, []),
    "GetHistory": ({"Phone": ALICE, "Misc": "10,0"}, ["Phone"]),
    "SetUsername": ({"Misc": "name"}, ["Misc"]),
    "SetProfilePhoto": ({"Data": PNG}, ["Data"]),
    **{
        func: ({"Phone": ALICE, "Data": PNG, "Misc": "png"}, ["Phone", "Data"])
        for func in [
            "SendPhoto",
            "SendVideo",
            "SendAudio",
            "SendText",
            "SendFile",
            "SendDocument",
            "SendPhotoMass",
            "SendVideoMass",
            "SendFileMass",
        ]
    },
    "SendLocation": ({"Phone": ALICE, "Misc": "35.7,51.4"}, ["Phone", "Misc"]),
    "SendContact": ({"Phone": ALICE, "Misc": "Ali,+989100000003"}, ["Phone", "Misc"]),
}


@pytest.mark.parametrize("func", sorted(REQUIRED))
async def test_gateway_actions_need_their_elements(func: str, post: Poster) -> None:
    """Each gateway action succeeds with its elements, and is gateway 302 without any of them."""
    form, required = REQUIRED[func]
    await post(Func="CreateGroupChat", Phone=ALICE, Misc="G")
    for element in required:
        reply = await post(Func=func, **{**form, element: ""})
        assert reply == {
            "Result": False,
            "Status": "error",
            "Message": "Error 302 : Bad Request of Func ",
        }, element
    reply = await post(Func=func, **form)
    assert reply["Status"] in {"success", "checking", "sent"}
    assert reply["Result"] not in (False, None)
