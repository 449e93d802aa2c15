"""
The fake answers as the service's server code does (docs/service.md section 12, E32-E47), on the
wire.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest

from miogram_async.testing import (
    AccountConfig,
    ContactCard,
    CreditsConfig,
    FakeMioGram,
    FaultKind,
    FaultRule,
    Faults,
    NumberBook,
    TimeModel,
    UndeliveredReply,
)

SECRET = "test-secret"
OTHER_SECRET = "other-secret"
ALICE = "+989120000001"
BOB = "+989120000002"
NOBODY = "+989120000009"
URL = "http://fake/dojob.php"
#: The front waits 60 s x 0.005 = 0.3 s; the gateway takes 1 s x 0.005 = 5 ms per number.
SCALED = TimeModel(per_number=1.0, scale=0.005)
NOT_FOUND = {"Result": False, "Message": "Number Not Exist or Wrong", "Status": "error"}
FAIL = {"Result": False, "Status": "fail"}
NO_RESPONSE = {"Message": "No Response From Server", "Status": "error", "Code": "999"}

Post = Callable[..., Awaitable[httpx.Response]]


def numbers(count: int) -> list[str]:
    """*count* distinct well-formed numbers."""
    return [f"+98912{index:07d}" for index in range(count)]


def gateway(code: int, text: str) -> dict[str, str]:
    """The gateway's error as the server code prints it: no Result, no Code (E40)."""
    return {"Message": f"Error {code} : {text}", "Status": "error"}


@asynccontextmanager
async def wire(
    fake: FakeMioGram, *, loopback: bool = False, client_ip: str = "127.0.0.1"
) -> AsyncIterator[Post]:
    """A function posting one form to *fake*, in process or over loopback."""
    if loopback:
        async with fake.serve() as url, httpx.AsyncClient(timeout=30) as http:
            yield _poster(http, url)
    else:
        transport = fake.transport(client_ip=client_ip)
        async with httpx.AsyncClient(transport=transport) as http:
            yield _poster(http, URL)


def _poster(http: httpx.AsyncClient, url: str) -> Post:
    async def post(**form: str) -> httpx.Response:
        return await http.post(url, data={"Secret": SECRET, **form})

    return post


async def until_busy(fake: FakeMioGram) -> None:
    """Wait until the gateway works on something."""
    with anyio.fail_after(10):
        while not fake.gateway_busy:  # noqa: ASYNC110 - polling the fake's state
            await anyio.sleep(0.001)


async def send_mass(post: Post, robot: str, count: int) -> None:
    """Send a Mass of *count* numbers through *robot*."""
    await post(Func="SendMessageMass", Phone=",".join(numbers(count)), Message="m", Robot=robot)


async def read_credits(post: Post) -> None:
    """Read the credits (a read: it changes nothing)."""
    await post(Func="APIGetCredits")


# -- E32 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("loopback", [False, True], ids=["in-process", "loopback"])
async def test_e32_front_gives_up_after_its_wait_and_the_gateway_still_delivers(
    loopback: bool,
) -> None:
    """A Mass longer than the front's wait gets 999, is delivered anyway, uncharged, unlogged."""
    fake = FakeMioGram(time_model=SCALED)
    chunk = numbers(100)  # 0.5 s of gateway work against a 0.3 s wait
    async with wire(fake, loopback=loopback) as post:
        reply = await post(Func="SendMessageMass", Phone=",".join(chunk), Message="hi")
        assert reply.json() == NO_RESPONSE
        assert reply.headers["content-type"] == "application/json"
        await fake.wait_idle()
        assert not fake.gateway_busy
        assert sorted(d.number for d in fake.deliveries) == sorted(chunk)
        assert fake.credits()["Message"] == 1_000_000
        assert fake.reports() == []
        short = await post(Func="SendMessageMass", Phone=",".join(chunk[:40]), Message="hi")
    # 40 numbers (0.2 s) finish inside the wait: a real answer, charged and logged.
    assert short.json()["Status"] == "checking"
    assert len(short.json()["Result"]) == 40
    assert fake.credits()["Message"] == 1_000_000 - 40
    assert len(fake.reports()) == 1
    assert len(fake.deliveries) == 140


async def test_e32_queueing_for_the_agent_counts_against_the_wait() -> None:
    """A request that waits for a busy agent past the front's wait gets 999, and still runs."""
    # shared_credit_file off: only the wait is under test here, not E33.
    fake = FakeMioGram(time_model=SCALED, shared_credit_file=False)
    replies: dict[str, object] = {}
    async with wire(fake) as post, anyio.create_task_group() as group:

        async def mass() -> None:
            reply = await post(Func="SendMessageMass", Phone=",".join(numbers(50)), Message="a")
            replies["mass"] = reply.json()

        group.start_soon(mass)
        await until_busy(fake)
        # 0.25 s of the agent's queue ahead of 0.15 s of work: past the 0.3 s wait.
        group_chat = await post(Func="CreateGroupChat", Phone=",".join(numbers(30)), Misc="Team")
        replies["group"] = group_chat.json()
    await fake.wait_idle()
    assert replies["group"] == NO_RESPONSE
    assert isinstance(replies["mass"], dict)
    assert replies["mass"]["Status"] == "checking"
    assert list(fake.agent("Agent1").chats) == ["Team"]


def test_e32_wait_idle_works_under_trio() -> None:
    """The gateway's work after a 999 needs no task, so it finishes under trio as well."""

    async def main() -> list[object]:
        fake = FakeMioGram(time_model=SCALED)
        async with wire(fake) as post:
            reply = await post(Func="SendMessageMass", Phone=",".join(numbers(80)), Message="t")
        await fake.wait_idle()
        return [reply.json(), len(fake.deliveries)]

    assert anyio.run(main, backend="trio") == [NO_RESPONSE, 80]


# -- E33 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("loopback", [False, True], ids=["in-process", "loopback"])
async def test_e33_parallel_sends_on_two_agents_corrupt_the_shared_credit_file(
    loopback: bool,
) -> None:
    """Two delivering sends in flight at once break the credit file for every account."""
    fake = FakeMioGram(
        [
            AccountConfig(agents=("Agent1", "Agent2")),
            AccountConfig(secret=OTHER_SECRET, username="other", agents=("Agent9",)),
        ],
        time_model=SCALED,
    )
    async with wire(fake, loopback=loopback) as post:
        # One at a time never breaks it.
        for robot in ("Agent1", "Agent2", "Agent1"):
            await post(
                Func="SendMessageMass", Phone=",".join(numbers(10)), Message="s", Robot=robot
            )
        assert not fake.credit_file_corrupted
        assert fake.max_state_changing_in_flight == 1
        async with anyio.create_task_group() as group:

            async def long_mass() -> None:
                await post(Func="SendMessageMass", Phone=",".join(numbers(40)), Message="p")

            group.start_soon(long_mass)
            await until_busy(fake)
            await post(Func="SendMessage", Phone=ALICE, Message="p", Robot="Agent2")
        assert fake.credit_file_corrupted
        assert fake.max_state_changing_in_flight == 2
        single = await post(Func="SendMessage", Phone=ALICE, Message="x")
        mass = await post(Func="SendMessageMass", Phone=f"{ALICE},{BOB}", Message="x")
        typing = await post(Func="SendTyping", Phone=ALICE)
        other = await post(Func="SendMessage", Phone=ALICE, Message="x", Secret=OTHER_SECRET)
        credits = await post(Func="APIGetCredits")  # the front's own reads still work
        fake.repair_credit_file()
        repaired = await post(Func="SendMessage", Phone=ALICE, Message="x")
    assert single.json() == gateway(305, "No Credit")
    assert mass.json() == gateway(306, "Low Credit")
    assert typing.json() == gateway(309, "Permission Denied")
    assert other.json() == gateway(305, "No Credit")
    assert credits.json()["Status"] == "checking"
    assert repaired.json() == {"Result": True, "Status": "success"}


async def test_e33_sending_after_a_999_overlaps_the_gateway_still_at_work() -> None:
    """The next chunk sent right after a 999 meets the previous one still running: corrupt."""
    fake = FakeMioGram(time_model=SCALED)
    async with wire(fake) as post:
        first = await post(Func="SendMessageMass", Phone=",".join(numbers(100)), Message="1")
        await post(Func="SendMessage", Phone=ALICE, Message="2")
    assert first.json() == NO_RESPONSE
    assert fake.max_state_changing_in_flight == 1
    assert fake.credit_file_corrupted


async def test_e33_reads_count_nothing_and_the_opt_out_keeps_the_file() -> None:
    """Reads are not state-changing; shared_credit_file=False measures overlap but never breaks."""
    fake = FakeMioGram(
        AccountConfig(agents=("A", "B")), time_model=SCALED, shared_credit_file=False
    )
    async with wire(fake) as post, anyio.create_task_group() as group:
        for robot in ("A", "B"):
            group.start_soon(send_mass, post, robot, 20)
        for _ in range(5):
            group.start_soon(read_credits, post)
    assert fake.max_state_changing_in_flight == 2
    assert fake.max_in_flight > 2  # reads overlapped the sends, and were not counted
    assert not fake.credit_file_corrupted
    assert len(fake.deliveries) == 40


async def test_e33_reset_repairs_the_credit_file() -> None:
    """fake.reset() brings back an intact credit file and an idle gateway."""
    fake = FakeMioGram(time_model=SCALED)
    async with wire(fake) as post, anyio.create_task_group() as group:
        for _ in range(2):
            group.start_soon(send_mass, post, "", 5)
    assert fake.credit_file_corrupted
    fake.reset()
    assert not fake.credit_file_corrupted
    assert not fake.gateway_busy


# -- E34-E47 --------------------------------------------------------------------------------


async def test_e34_history_misc_is_limit_offset_and_short_is_false() -> None:
    """GetHistory reads limit,offset (limit < 1 is 1); an empty window answers Result false."""
    fake = FakeMioGram()
    async with wire(fake) as post:
        for text in ("one", "two", "three"):
            await post(Func="SendMessage", Phone=ALICE, Message=text)
        documented_order = (await post(Func="GetHistory", Phone=ALICE, Misc="0,100")).json()
        everything = (await post(Func="GetHistory", Phone=ALICE, Misc="100,0")).json()
        window = (await post(Func="GetHistory", Phone=ALICE, Misc="2,1")).json()
        raised = (await post(Func="GetHistory", Phone=ALICE, Misc="0,0")).json()
    assert documented_order == FAIL
    assert [item["text"] for item in everything["Result"]] == ["one", "two", "three"]
    assert [item["text"] for item in window["Result"]] == ["one", "two"]
    assert [item["text"] for item in raised["Result"]] == ["three"]


async def test_e35_contact_card_carries_the_recipients_own_number() -> None:
    """SendContact's card has the recipient's number, the name first, the intended phone last."""
    fake = FakeMioGram()
    async with wire(fake) as post:
        reply = await post(Func="SendContact", Phone=ALICE, Misc=f"Ali,{BOB}")
    assert reply.json() == {"Result": True, "Status": "success"}
    (delivery,) = fake.deliveries
    assert delivery.contact == ContactCard(phone=ALICE, first_name="Ali", last_name=BOB)


async def test_e36_send_location_always_fails() -> None:
    """SendLocation answers Result false, delivers nothing and charges nothing."""
    fake = FakeMioGram(AccountConfig(numbers=NumberBook.only([ALICE])))
    async with wire(fake) as post:
        reply = await post(Func="SendLocation", Phone=ALICE, Misc="35.7,51.4")
        missing = await post(Func="SendLocation", Phone=NOBODY, Misc="35.7,51.4")
    assert reply.content == b'{"Result":false,"Status":"fail"}'
    assert missing.json() == NOT_FOUND
    assert fake.deliveries == []
    assert fake.credits()["Other"] == 1_000_000


async def test_e37_get_ip_is_the_caller_and_set_ip_appends_the_server() -> None:
    """APIGetIP answers the caller's address; APISetIP stores the list plus the server's own."""
    fake = FakeMioGram()
    async with wire(fake, client_ip="10.0.0.7") as post:
        caller = (await post(Func="APIGetIP")).json()
        stored = (await post(Func="APISetIP", Misc="10.0.0.1")).json()
        after = (await post(Func="APIGetIP")).json()
    # The server's own address was appended, so a loopback caller still gets in.
    async with wire(fake) as post:
        anyone = (await post(Func="APISetIP", Misc="*")).json()
    assert caller == {"Result": "10.0.0.7"}
    assert stored == {
        "Result": "10.0.0.1,127.0.0.1",
        "Message": "Allow IP Sets",
        "Status": "success",
        "Code": "409",
    }
    assert after == front(802, "Invalid IP Address")
    assert anyone["Result"] == "*"
    assert fake.account().allowed_ips == "*"


def front(code: int, text: str) -> dict[str, str]:
    """The front script's error form."""
    return {"Message": text, "Status": "error", "Code": str(code)}


async def test_e38_unset_flags_are_integers_stored_values_strings() -> None:
    """Unset canGet/isSuper are integer 0; set ones and stored limits strings; bytes integers."""
    fake = FakeMioGram(AccountConfig(is_super=False, can_get=True))
    async with wire(fake) as post:
        limits = (await post(Func="APIGetLimits")).json()
        is_super = (await post(Func="APIisSuper")).json()
        can_get = (await post(Func="APIcanGet")).json()
    assert limits["Result"] == {
        "Message": "4096",
        "Photo": 5 * 1024 * 1024,
        "Video": 16 * 1024 * 1024,
        "File": 16 * 1024 * 1024,
        "canGet": "1",
        "isSuper": 0,
    }
    assert is_super == {"Result": 0}
    assert can_get == {"Result": "1"}


PHOTO_DATA = base64.b64encode(b"\x89PNG image").decode()
SINGLE_NUMBER_FORMS: dict[str, dict[str, str]] = {
    "SendTyping": {},
    "SendMessage": {"Message": "hi"},
    "SendPhoto": {"Data": PHOTO_DATA, "Misc": "png"},
    "SendVideo": {"Data": PHOTO_DATA},
    "SendAudio": {"Data": PHOTO_DATA},
    "SendText": {"Data": PHOTO_DATA},
    "SendFile": {"Data": PHOTO_DATA},
    "SendDocument": {"Data": PHOTO_DATA},
    "SendLocation": {"Misc": "35.7,51.4"},
    "SendContact": {"Misc": f"Ali,{BOB}"},
    "ChatAddUser": {"Misc": "Team,0"},
    "ChatDeleteUser": {"Misc": "Team"},
    "BlockUser": {},
    "UnBlockUser": {},
    "MarkRead": {},
    # GetUserInfo and GetHistory answer fail instead (NumberToPeer, not NumberToPeerX):
    # test_e51_get_user_info_of_a_missing_number_is_a_bare_fail and
    # test_e51_get_history_of_a_missing_number_is_the_fail_of_an_empty_one
}


@pytest.mark.parametrize("func", sorted(SINGLE_NUMBER_FORMS))
async def test_e39_missing_number_is_the_same_error_on_every_single_number_action(
    func: str,
) -> None:
    """Every single-number action answers an unresolvable number with the gateway's 307 form."""
    fake = FakeMioGram(AccountConfig(numbers=NumberBook.only([ALICE])))
    async with wire(fake) as post:
        reply = await post(Func=func, Phone=NOBODY, **SINGLE_NUMBER_FORMS[func])
    assert reply.content == (
        b'{"Result":false,"Message":"Number Not Exist or Wrong","Status":"error"}'
    )
    assert fake.deliveries == []


async def test_e40_gateway_errors_have_no_result_sizes_name_the_kind_302_trails() -> None:
    """Gateway errors carry no Result; size errors are 'Photo Size is High'; 302 trails the JSON."""
    fake = FakeMioGram(gateway_max_file_bytes=16)
    big = base64.b64encode(bytes(17)).decode()
    async with wire(fake) as post:
        invalid = await post(Func="SendPhoto", Phone=ALICE, Data="not base64!")
        photo = await post(Func="SendPhoto", Phone=ALICE, Data=big)
        document = await post(Func="SendDocument", Phone=ALICE, Data=big)
        fits = await post(Func="SendPhoto", Phone=ALICE, Data=base64.b64encode(bytes(16)).decode())
        missing = await post(Func="SendMessage", Message="no phone")
    assert invalid.json() == gateway(400, "Not Valid File")
    assert photo.json() == gateway(304, "Photo Size is High")
    assert document.json() == gateway(304, "Document Size is High")
    assert fits.json() == {"Result": True, "Status": "success"}
    assert missing.status_code == 200
    assert missing.content.endswith(b"}302")
    leading, end = json.JSONDecoder().raw_decode(missing.text)
    assert leading == gateway(302, "Bad Request of Func ")
    assert missing.text[end:] == "302"


async def test_e41_four_gateway_auth_errors_block_every_account() -> None:
    """After four 813/814 errors from any account every gateway action gets the gateway's 815."""
    fake = FakeMioGram(
        [AccountConfig(), AccountConfig(secret=OTHER_SECRET, username="other")],
        faults=Faults.of(
            FaultRule(kind=FaultKind.GATEWAY_TOKEN_ERROR, funcs={"SendMessage"}, times=2),
            FaultRule(kind=FaultKind.GATEWAY_IP_ERROR, funcs={"SendTyping"}, times=2),
        ),
    )
    async with wire(fake) as post:
        errors = [
            (await post(Func="SendMessage", Phone=ALICE, Message="a")).json(),
            (await post(Func="SendTyping", Phone=ALICE, Secret=OTHER_SECRET)).json(),
            (await post(Func="SendMessage", Phone=ALICE, Message="a", Secret=OTHER_SECRET)).json(),
        ]
        assert not fake.gateway_blocked
        errors.append((await post(Func="SendTyping", Phone=ALICE)).json())
        assert fake.gateway_blocked
        blocked = await post(Func="SendMessage", Phone=ALICE, Message="a", Secret=OTHER_SECRET)
        front_only = await post(Func="APIGetUsername")
    assert errors == [
        gateway(813, "Invalid Token"),
        gateway(814, "Invalid IP Address"),
        gateway(813, "Invalid Token"),
        gateway(814, "Invalid IP Address"),
    ]
    assert blocked.json() == {"Message": "Error 815 : Session Blocked", "Status": "error"}
    assert front_only.json() == {"Result": "tester"}
    assert fake.deliveries == []
    fake.reset()
    assert not fake.gateway_blocked


async def test_e42_mass_beyond_credit_is_the_fronts_305() -> None:
    """A Mass with more numbers than credit gets the front's 305, not the gateway's 306."""
    fake = FakeMioGram(AccountConfig(credits=CreditsConfig(message=3)))
    async with wire(fake) as post:
        reply = await post(Func="SendMessageMass", Phone=",".join(numbers(5)), Message="m")
    assert reply.json() == front(305, "No Credit")
    assert reply.headers["content-type"] == "application/json"
    assert fake.deliveries == []


async def test_e43_base64_spaces_accepted_php_falsy_content_refused() -> None:
    """Base64 with spaces inside is accepted; content that decodes to b'0' is refused with 400."""
    fake = FakeMioGram()
    spaced = PHOTO_DATA[:4] + " " + PHOTO_DATA[4:]
    async with wire(fake) as post:
        accepted = await post(Func="SendPhoto", Phone=ALICE, Data=spaced)
        falsy = await post(Func="SendFile", Phone=ALICE, Data=base64.b64encode(b"0").decode())
    assert accepted.json() == {"Result": True, "Status": "success"}
    assert falsy.json() == gateway(400, "Not Valid File")
    assert [d.func for d in fake.deliveries] == ["SendPhoto"]


async def test_e44_reports_read_the_first_1000_and_quotes_are_never_logged() -> None:
    """APIGetReport reverses the 1000 oldest records; a text with ' is charged but never logged."""
    fake = FakeMioGram()
    fake.account().reports.extend({"DATA": str(index)} for index in range(1005))
    async with wire(fake) as post:
        newest_reported = (await post(Func="APIGetReport", Misc="3")).json()
        everything = (await post(Func="APIGetReport", Misc="")).json()
        quoted = await post(Func="SendMessage", Phone=ALICE, Message="it's here")
    assert newest_reported == [{"DATA": "999"}, {"DATA": "998"}, {"DATA": "997"}]
    assert len(everything) == 1000
    assert quoted.json() == {"Result": True, "Status": "success"}
    assert [d.text for d in fake.deliveries] == ["it's here"]
    assert fake.credits()["Message"] == 999_999
    assert len(fake.reports()) == 1005


async def test_e45_strict_mysqli_kills_the_front_after_delivery() -> None:
    """With php_strict_mysqli a text with ' is delivered, then HTTP 500, empty body, no charge."""
    fake = FakeMioGram(php_strict_mysqli=True)
    async with wire(fake) as post:
        quoted = await post(Func="SendMessage", Phone=ALICE, Message="it's here")
        plain = await post(Func="SendMessage", Phone=ALICE, Message="fine")
    assert quoted.status_code == 500
    assert quoted.content == b""
    assert plain.json() == {"Result": True, "Status": "success"}
    assert [d.text for d in fake.deliveries] == ["it's here", "fine"]
    assert fake.credits()["Message"] == 999_999
    assert [record["DATA"] for record in fake.reports()] == ["fine"]


async def test_e46_empty_dialog_list_and_history_are_false() -> None:
    """An empty dialog list or history answers Result false with Status fail."""
    fake = FakeMioGram()
    async with wire(fake) as post:
        dialogs = (await post(Func="GetDialogList")).json()
        history = (await post(Func="GetHistory", Phone=ALICE, Misc="100,0")).json()
    assert dialogs == FAIL
    assert history == FAIL


async def test_e47_unknown_or_foreign_robot_falls_back_to_the_first_agent() -> None:
    """A Robot the account does not own, or nobody owns, runs on the account's first agent."""
    fake = FakeMioGram(
        [
            AccountConfig(agents=("Mine1", "Mine2")),
            AccountConfig(secret=OTHER_SECRET, username="other", agents=("Theirs",)),
        ]
    )
    async with wire(fake) as post:
        for robot in ("Theirs", "Nobody", "Mine2"):
            await post(Func="SendMessage", Phone=ALICE, Message=robot, Robot=robot)
    assert [(d.text, d.agent) for d in fake.deliveries] == [
        ("Theirs", "Mine1"),
        ("Nobody", "Mine1"),
        ("Mine2", "Mine2"),
    ]


# -- E49-E51 --------------------------------------------------------------------------------


@pytest.mark.parametrize(("pace", "answered"), [(1.0, True), (2.0, False)])
async def test_e49_a_40_number_chunk_fits_the_wait_only_at_the_loopback_pace(
    pace: float, answered: bool
) -> None:
    """At 1 s per number 40 numbers get their answer; at 2 s they outlast the 60 s wait: 999."""
    fake = FakeMioGram(time_model=TimeModel.realistic(scale=0.005, pace=pace))
    chunk = numbers(40)
    async with wire(fake) as post:
        reply = await post(Func="SendMessageMass", Phone=",".join(chunk), Message="pace")
    await fake.wait_idle()
    assert (reply.json() == NO_RESPONSE) is not answered
    assert sorted(d.number for d in fake.deliveries) == sorted(chunk)  # delivered either way


THEIRS = "theirs-secret"


def two_accounts_on_agent1(**options: Any) -> FakeMioGram:
    """Account 'tester' (agents Agent1, Agent2) and 'them' (agent Agent1, with an ad)."""
    return FakeMioGram(
        [
            AccountConfig(agents=("Agent1", "Agent2")),
            AccountConfig(secret=THEIRS, username="them", agents=("Agent1",), ads="Ad line"),
        ],
        **options,
    )


async def test_e50_history_and_dialogs_belong_to_the_agent_shared_by_every_account() -> None:
    """What any account sent through Agent1 is in Agent1's history and dialogs, for both."""
    fake = two_accounts_on_agent1()
    async with wire(fake) as post:
        await post(Func="SendMessage", Phone=ALICE, Message="mine")
        await post(Func="SendMessageMass", Phone=f"{ALICE},{BOB}", Message="yours", Secret=THEIRS)
        await post(Func="SendMessage", Phone=ALICE, Message="elsewhere", Robot="Agent2")
        mine = (await post(Func="GetHistory", Phone=ALICE, Misc="100,0")).json()
        theirs = (await post(Func="GetHistory", Phone=ALICE, Misc="100,0", Secret=THEIRS)).json()
        dialogs = (await post(Func="GetDialogList")).json()
        other_agent = await post(Func="GetHistory", Phone=ALICE, Misc="100,0", Robot="Agent2")
    assert [(m["text"], m["out"]) for m in mine["Result"]] == [
        ("mine", True),
        ("yours\nAd line", True),  # the account's ad, appended by the front (E30)
    ]
    assert [m["text"] for m in theirs["Result"]] == ["mine", "yours\nAd line"]
    assert sorted(d["phone"] for d in dialogs["Result"]) == [ALICE[1:], BOB[1:]]
    assert [m["text"] for m in other_agent.json()["Result"]] == ["elsewhere"]
    assert fake.agent("Agent1") is fake.agent("Agent1", username="them")
    assert [item.username for item in fake.agent("Agent1").history[ALICE[1:]]] == [
        "tester",
        "them",
    ]


async def test_e50_history_items_carry_the_sent_text_direction_and_service_date() -> None:
    """Each message: out true, the exact text (or media object), its date on the service clock."""
    fake = FakeMioGram(AccountConfig(ads="Sent with MioGram"), clock_offset=-3600.0)
    photo = base64.b64encode(b"\x89PNG image").decode()
    async with wire(fake) as post:
        before = int(time.time()) - 3600
        await post(Func="SendMessage", Phone=ALICE, Message="Salam, ali!")
        await post(Func="SendPhoto", Phone=ALICE, Data=photo)
        await post(Func="SendDocument", Phone=ALICE, Data=photo)
        await post(Func="SendContact", Phone=ALICE, Misc=f"Ali,{BOB}")
        await post(Func="SendMessageWhatsApp", Phone=ALICE, Message="not Telegram")
        after = int(time.time()) - 3600
        history = (await post(Func="GetHistory", Phone=ALICE, Misc="100,0")).json()["Result"]
    text, picture, document, contact = history
    assert text["text"] == "Salam, ali!\nSent with MioGram"
    assert "media" not in text
    assert [(m.get("text"), m["media"]["type"]) for m in (picture, document, contact)] == [
        (None, "photo"),
        (None, "document"),
        (None, "contact"),
    ]
    assert (contact["media"]["phone"], contact["media"]["last_name"]) == (ALICE[1:], BOB)
    assert all(m["out"] is True and before <= m["date"] <= after + 1 for m in history)
    assert text["from"]["peer_id"] == picture["from"]["peer_id"]
    assert text["to"]["phone"] == ALICE[1:]
    # The gateway re-adds the number as a contact named after the number and the account.
    assert (text["to"]["first_name"], text["to"]["last_name"]) == (ALICE, "tester")
    assert len({m["id"] for m in history}) == 4


async def test_e50_reads_take_a_numbers_time_on_the_agent_and_leave_the_credit_file() -> None:
    """GetHistory waits for the agent's Mass, counts as no state change and breaks nothing."""
    fake = FakeMioGram(time_model=SCALED)
    replies: dict[str, Any] = {}
    async with wire(fake) as post, anyio.create_task_group() as group:

        async def mass() -> None:
            reply = await post(Func="SendMessageMass", Phone=",".join(numbers(30)), Message="q")
            replies["mass"] = reply.json()

        group.start_soon(mass)
        await until_busy(fake)
        reply = await post(Func="GetHistory", Phone=numbers(30)[-1], Misc="5,0")
        replies["history"] = reply.json()
    # It ran after the whole Mass on the agent, so it sees the Mass's last message.
    assert [m["text"] for m in replies["history"]["Result"]] == ["q"]
    assert replies["mass"]["Status"] == "checking"
    sends, history = fake.gateway_work
    assert history.start == pytest.approx(max(history.arrived, sends.end), abs=1e-9)
    assert history.start >= sends.end
    assert history.end - history.start == pytest.approx(0.005, abs=1e-9)
    assert fake.max_state_changing_in_flight == 1
    assert not fake.credit_file_corrupted


async def test_e51_get_user_info_of_a_missing_number_is_a_bare_fail() -> None:
    """GetUserInfo of an unresolvable number: {"Result":false,"Status":"fail"}, no Message."""
    fake = FakeMioGram(AccountConfig(numbers=NumberBook.only([ALICE])))
    async with wire(fake) as post:
        missing = await post(Func="GetUserInfo", Phone=NOBODY)
        found = await post(Func="GetUserInfo", Phone=ALICE)
    assert missing.content == b'{"Result":false,"Status":"fail"}'
    assert found.json()["Result"]["phone"] == ALICE[1:]


async def test_e51_get_history_of_a_missing_number_is_the_fail_of_an_empty_one() -> None:
    """GetHistory of an unresolvable number answers like an empty history: a bare fail (E46)."""
    fake = FakeMioGram(AccountConfig(numbers=NumberBook.only([ALICE, BOB])))
    async with wire(fake) as post:
        await post(Func="SendMessage", Phone=ALICE, Message="hi")
        missing = await post(Func="GetHistory", Phone=NOBODY, Misc="100,0")
        empty = await post(Func="GetHistory", Phone=BOB, Misc="100,0")
        found = await post(Func="GetHistory", Phone=ALICE, Misc="100,0")
    assert missing.content == empty.content == b'{"Result":false,"Status":"fail"}'
    assert [item["text"] for item in found.json()["Result"]] == ["hi"]
    forced = FakeMioGram(
        AccountConfig(
            numbers=NumberBook.only([ALICE]), undelivered_reply=UndeliveredReply.ERROR_307
        ),
        profile="documented",
    )
    async with wire(forced) as post:
        reply = await post(Func="GetHistory", Phone=NOBODY, Misc="100,0")
    assert reply.json()["Message"] == "Number Not Exist or Wrong"  # the 307 of E39, on request


async def test_e51_set_status_online_bad_misc_has_nothing_after_the_json() -> None:
    """SetStatusOnline's 302 ends with its JSON; SendMessage's and ChatInfo's 302 trail '302'."""
    fake = FakeMioGram()
    async with wire(fake) as post:
        status = await post(Func="SetStatusOnline", Misc="Away")
        block = await post(Func="BlockUser")
        message = await post(Func="SendMessage", Message="no phone")
        chat = await post(Func="ChatInfo")
        online = await post(Func="SetStatusOnline", Misc="Online")
    bare = b'{"Message":"Error 302 : Bad Request of Func ","Status":"error"}'
    assert status.content == block.content == bare
    assert message.content == chat.content == bare + b"302"
    assert online.json() == {"Result": True, "Status": "success"}
    assert fake.agent("Agent1").online


# -- the documented profile -----------------------------------------------------------------


async def test_documented_profile_keeps_the_documents_answers() -> None:
    """profile='documented': location works, the card carries the given number, stored IPs."""
    fake = FakeMioGram(AccountConfig(allowed_ips="127.0.0.1,10.0.0.1"), profile="documented")
    async with wire(fake) as post:
        location = (await post(Func="SendLocation", Phone=ALICE, Misc="35.7,51.4")).json()
        contact = (await post(Func="SendContact", Phone=ALICE, Misc=f"Ali,{BOB}")).json()
        ips = (await post(Func="APIGetIP")).json()
        stored = (await post(Func="APISetIP", Misc="127.0.0.1")).json()
        dialogs = (await post(Func="GetDialogList")).json()
        invalid = (await post(Func="SendPhoto", Phone=ALICE, Data="no base64!")).json()
    assert location == {"Result": True, "Status": "success"}
    assert contact == {"Result": True, "Status": "success"}
    assert fake.deliveries[1].contact == ContactCard(phone=BOB, first_name="Ali", last_name="")
    assert ips == {"Result": "127.0.0.1,10.0.0.1"}
    assert stored["Result"] == "127.0.0.1"
    assert dialogs["Status"] == "success"
    assert invalid == {"Result": False, "Status": "error", "Message": "Error 400 : Not Valid File"}
    assert fake.credits()["Other"] == 1_000_000 - 2


async def test_documented_profile_neither_times_out_nor_breaks_the_credit_file() -> None:
    """profile='documented' answers a long Mass for real and takes parallel sends."""
    fake = FakeMioGram(AccountConfig(agents=("A", "B")), time_model=SCALED, profile="documented")
    replies: list[Any] = []
    async with wire(fake) as post, anyio.create_task_group() as group:
        for robot in ("A", "B"):

            async def mass(robot: str = robot) -> None:
                phone = ",".join(numbers(70))
                reply = await post(Func="SendMessageMass", Phone=phone, Message="d", Robot=robot)
                replies.append(reply.json())

            group.start_soon(mass)
    assert [reply["Status"] for reply in replies] == ["checking", "checking"]
    assert fake.max_state_changing_in_flight == 2
    assert not fake.credit_file_corrupted
    assert fake.credits()["Message"] == 1_000_000 - 140


async def test_documented_profile_can_opt_into_the_server_hazards() -> None:
    """front_wait and shared_credit_file can be switched on in the documented profile."""
    fake = FakeMioGram(
        time_model=SCALED, profile="documented", front_wait=True, shared_credit_file=True
    )
    async with wire(fake) as post:
        reply = await post(Func="SendMessageMass", Phone=",".join(numbers(100)), Message="x")
    assert reply.json() == NO_RESPONSE
    assert fake.behaviour.front_wait
    await fake.wait_idle()
    assert len(fake.deliveries) == 100


def test_unknown_profile_is_refused() -> None:
    """An unknown profile name is a ValueError naming it."""
    with pytest.raises(ValueError, match="'doc'"):
        FakeMioGram(profile="doc")


def test_profile_comes_from_the_environment_and_can_be_switched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MIOGRAM_FAKE_PROFILE sets the default; fake.profile switches with that profile's defaults."""
    assert FakeMioGram().profile == "server"
    monkeypatch.setenv("MIOGRAM_FAKE_PROFILE", "documented")
    fake = FakeMioGram(php_strict_mysqli=True)
    assert (fake.profile, fake.behaviour.shared_credit_file) == ("documented", False)
    fake.profile = "server"
    assert (fake.behaviour.front_wait, fake.behaviour.shared_credit_file) == (True, True)
    assert fake.behaviour.php_strict_mysqli
    assert FakeMioGram(profile="server").profile == "server"
    monkeypatch.setenv("MIOGRAM_FAKE_PROFILE", "live")
    with pytest.raises(ValueError, match=r"MIOGRAM_FAKE_PROFILE.*'live'"):
        FakeMioGram()
