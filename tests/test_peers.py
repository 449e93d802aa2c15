"""Users, chats and messages: telegram-cli JSON read leniently, the fake's replies included."""

from __future__ import annotations

import json
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest

from miogram_async import Chat, Message, MioGram, User
from miogram_async._base.errors import APIResponseError, NoDataError, NumberNotFoundError
from miogram_async._base.peers import (
    as_chat,
    as_dialogs,
    as_history,
    as_user,
    chat_from_wire,
    message_from_wire,
    user_from_wire,
)
from miogram_async._base.wire import Reply, decode_reply
from miogram_async.testing import AccountConfig, FakeMioGram, NumberBook

SECRET = "test-secret"
ALICE = "+989100000001"
BOB = "+989100000002"
NOBODY = "+989100000009"

# Shaped like telegram-cli 1.3's JSON: string ids, nested peers, media without text.
USER_WIRE: dict[str, object] = {
    "id": "$010000000f1e2d3c",
    "peer_type": "user",
    "peer_id": 254549564,
    "print_name": "Sara_Ahmadi",
    "flags": 1,
    "first_name": "Sara",
    "last_name": "Ahmadi",
    "phone": "989100000001",
    "username": "sara_a",
    "when": "2026-01-02 10:11:12",
}
CHAT_WIRE: dict[str, object] = {
    "peer_type": "chat",
    "peer_id": "77",
    "print_name": "Team",
    "title": "Team",
    "members_num": 2,
    "members": [USER_WIRE, {"peer_id": 5, "phone": "989100000002"}, "not a member"],
}
MESSAGE_WIRE: dict[str, object] = {
    "event": "message",
    "id": "0100000044b1a6e1",
    "from": USER_WIRE,
    "to": {"peer_type": "user", "peer_id": 9},
    "out": False,
    "unread": True,
    "date": 1767340272,
    "media": {"type": "photo", "caption": "look"},
}


def reply_of(body: object, func: str) -> Reply:
    """Decode *body* (JSON-encoded here) as the reply to *func*."""
    return decode_reply(func, 200, json.dumps(body).encode("utf-8"))


def test_user_fields_and_raw() -> None:
    """A telegram-cli user reads into User; unknown fields stay in raw."""
    user = user_from_wire(USER_WIRE)
    assert user == User(
        peer_id=254549564,
        first_name="Sara",
        last_name="Ahmadi",
        phone="+989100000001",
        username="sara_a",
        print_name="Sara_Ahmadi",
        raw=USER_WIRE,
    )
    assert user.raw["when"] == "2026-01-02 10:11:12"
    assert user.raw["phone"] == "989100000001"


def test_user_is_lenient() -> None:
    """Missing texts read "", numbers read as text, a missing or bad peer_id reads None."""
    user = user_from_wire({"phone": 989100000001, "first_name": None, "username": ["x"]})
    assert (user.peer_id, user.phone, user.first_name, user.username) == (
        None,
        "+989100000001",
        "",
        "",
    )
    assert user_from_wire({"peer_id": "abc"}).peer_id is None
    assert user_from_wire({"peer_id": True}).peer_id is None
    assert user_from_wire({"peer_id": " 12 "}).peer_id == 12


@pytest.mark.parametrize(
    ("wire", "phone"),
    [
        ("989100000001", "+989100000001"),
        ("+989100000001", "+989100000001"),
        (" 14155552671 ", "+14155552671"),
        (989100000001, "+989100000001"),
        ("09100000001", "09100000001"),
        ("hidden", "hidden"),
        ("۹۸۹۱۰۰۰۰۰۰۰۱", "۹۸۹۱۰۰۰۰۰۰۰۱"),
        ("", ""),
    ],
)
def test_user_phone_is_in_the_sdk_form_and_raw_keeps_it(wire: object, phone: str) -> None:
    """Digits become + and digits (as every number in the SDK); other values stay as given."""
    user = user_from_wire({"phone": wire})
    assert user.phone == phone
    assert user.raw["phone"] == wire


def test_user_must_be_an_object() -> None:
    """A user that is not a JSON object is an APIResponseError that quotes it."""
    with pytest.raises(APIResponseError, match="unexpected User in the reply: expected an object"):
        user_from_wire(["Sara"], 200)


def test_chat_members_are_users() -> None:
    """A chat's members become Users; members that are not objects are skipped."""
    chat = chat_from_wire(CHAT_WIRE)
    assert chat.peer_id == 77
    assert chat.title == "Team"
    assert [member.phone for member in chat.members] == ["+989100000001", "+989100000002"]
    assert chat.members[1] == User(
        peer_id=5,
        first_name="",
        last_name="",
        phone="+989100000002",
        username="",
        print_name="",
        raw={},
    )
    assert chat_from_wire({"title": "x", "members": "nobody"}).members == []


def test_message_fields() -> None:
    """A message has its sender, an aware UTC date, out, media and "" for a missing text."""
    message = message_from_wire(MESSAGE_WIRE)
    assert message.id == "0100000044b1a6e1"
    assert message.sender == user_from_wire(USER_WIRE)
    assert message.text == ""
    assert message.date == datetime(2026, 1, 2, 7, 51, 12, tzinfo=UTC)
    assert message.date.tzinfo is UTC
    assert message.out is False
    assert message.media == {"type": "photo", "caption": "look"}


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("1767340272", datetime(2026, 1, 2, 7, 51, 12, tzinfo=UTC)),
        (1767340272.5, datetime(2026, 1, 2, 7, 51, 12, 500000, tzinfo=UTC)),
        ("2026-01-02T07:51:12", datetime(2026, 1, 2, 7, 51, 12, tzinfo=UTC)),
        ("2026-01-02T11:21:12+03:30", datetime(2026, 1, 2, 7, 51, 12, tzinfo=UTC)),
    ],
)
def test_message_date_forms(date: object, expected: datetime) -> None:
    """Unix seconds (number or text) and ISO text all become the same aware UTC datetime."""
    message = message_from_wire({"id": 5, "date": date, "out": "1", "text": "hi"})
    assert message.date == expected
    assert message.date.utcoffset() == expected.utcoffset()
    assert (message.id, message.out, message.sender, message.media) == ("5", True, None, None)


@pytest.mark.parametrize(
    ("wire", "problem"),
    [
        ({"id": 1}, "missing date"),
        ({"id": 1, "date": "yesterday"}, "unreadable date 'yesterday'"),
        ({"id": 1, "date": None}, "expected a date, got None"),
        ({"id": 1, "date": 10**20}, "unreadable date"),
        ({"id": 1, "date": 1, "out": "maybe"}, "expected out as true/false, got 'maybe'"),
        ("hello", "expected an object"),
    ],
)
def test_message_refused(wire: object, problem: str) -> None:
    """A message without a usable date or out flag is an APIResponseError naming the problem."""
    with pytest.raises(APIResponseError, match="unexpected Message in the reply") as caught:
        message_from_wire(wire, 200)
    assert problem in str(caught.value)


def test_models_are_frozen_hashable_and_pickle() -> None:
    """Users, chats and messages are frozen, hashable despite their lists, and pickle."""
    for model in (
        user_from_wire(USER_WIRE),
        chat_from_wire(CHAT_WIRE),
        message_from_wire(MESSAGE_WIRE),
    ):
        assert isinstance(hash(model), int)
        assert pickle.loads(pickle.dumps(model)) == model
        with pytest.raises(AttributeError):
            model.raw = {}  # type: ignore[misc]


def test_as_user_false_is_number_not_found() -> None:
    """GetUserInfo's false means no such user: NumberNotFoundError, a MioGramError."""
    with pytest.raises(NumberNotFoundError, match="GetUserInfo failed: no Telegram user"):
        as_user(reply_of({"Result": False, "Status": "fail"}, "GetUserInfo"))
    assert as_user(reply_of({"Result": USER_WIRE, "Status": "success"}, "GetUserInfo")).peer_id == (
        254549564
    )


def test_as_chat_false_is_no_data() -> None:
    """ChatInfo's false means the agent is in no such chat: NoDataError."""
    with pytest.raises(NoDataError, match="ChatInfo failed: the agent is in no chat"):
        as_chat(reply_of({"Result": False, "Status": "fail"}, "ChatInfo"))
    assert as_chat(reply_of({"Result": CHAT_WIRE, "Status": "success"}, "ChatInfo")).title == "Team"


@pytest.mark.parametrize(
    "body",
    [
        {"Result": False, "Status": "fail"},  # E46: what the service answers for []
        {"Result": [], "Status": "success"},
        {"Result": None, "Status": "fail"},
        {"Status": "fail"},
    ],
)
def test_empty_lists(body: object) -> None:
    """An empty dialog list or history is [] in every form it comes in (E46)."""
    assert as_dialogs(reply_of(body, "GetDialogList")) == []
    assert as_history(reply_of(body, "GetHistory")) == []


def test_dialogs_tell_users_from_chats() -> None:
    """Dialogs are Users and Chats by peer_type, or by a title when peer_type is missing."""
    body = {
        "Result": {
            "0": USER_WIRE,
            "2": CHAT_WIRE,
            "3": {"peer_type": "channel", "peer_id": 8, "title": "News"},
            "4": {"title": "No type"},
            "5": {"print_name": "Someone"},
        },
        "Status": "success",
    }
    dialogs = as_dialogs(reply_of(body, "GetDialogList"))
    assert [type(dialog) for dialog in dialogs] == [User, Chat, Chat, Chat, User]


def test_list_result_of_the_wrong_shape() -> None:
    """A list action answering a string is an APIResponseError, not an empty list."""
    with pytest.raises(APIResponseError, match="unexpected history in the reply"):
        as_history(reply_of({"Result": "oops", "Status": "success"}, "GetHistory"))


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake where everyone but NOBODY exists."""
    return FakeMioGram(AccountConfig(secret=SECRET, numbers=NumberBook.except_for([NOBODY])))


Post = Callable[..., Awaitable[Reply]]


@pytest.fixture
async def post(fake: FakeMioGram) -> AsyncIterator[Post]:
    """Post one form to the fake in process and decode the reply as the client does."""
    async with httpx.AsyncClient(transport=fake.transport()) as http:

        async def send(func: str, **form: str) -> Reply:
            response = await http.post(
                "http://fake/dojob.php", data={"Secret": SECRET, "Func": func, **form}
            )
            return decode_reply(func, response.status_code, response.content)

        yield send


async def test_the_fakes_shapes(fake: FakeMioGram, post: Post) -> None:
    """Every read the fake answers decodes into the typed results, empty ones into []."""
    assert await as_dialogs_of(post) == []
    assert as_history(await post("GetHistory", Phone=ALICE, Misc="10,0")) == []
    async with MioGram(secret=SECRET, transport=fake.transport()) as client:
        assert await client.send_message(ALICE, "salam") is True
        assert await client.create_group_chat("Team", [ALICE, BOB]) is True

    user = as_user(await post("GetUserInfo", Phone=ALICE))
    assert user.phone == ALICE
    assert user.raw["phone"] == ALICE[1:]
    assert user.peer_id is not None
    with pytest.raises(NumberNotFoundError):
        as_user(await post("GetUserInfo", Phone=NOBODY))

    chat = as_chat(await post("ChatInfo", Misc="Team"))
    assert chat.title == "Team"
    assert [member.phone for member in chat.members] == [ALICE, BOB]
    with pytest.raises(NoDataError):
        as_chat(await post("ChatInfo", Misc="Nope"))

    dialogs = await as_dialogs_of(post)
    assert [type(dialog) for dialog in dialogs] == [User, Chat]

    (message,) = as_history(await post("GetHistory", Phone=ALICE, Misc="10,0"))
    assert isinstance(message, Message)
    assert (message.text, message.out, message.media) == ("salam", True, None)
    assert message.sender is not None
    assert message.sender.print_name == "Agent1"
    assert message.date.tzinfo is UTC


async def as_dialogs_of(post: Post) -> list[User | Chat]:
    """The fake's dialog list, decoded."""
    return as_dialogs(await post("GetDialogList"))
