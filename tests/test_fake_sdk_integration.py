"""The SDK client against the fake service: all 43 actions, in process and over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import pytest
import trio

from miogram_async import InvalidSecretError, MioGram, NoCreditError, Outcome
from miogram_async._base.peers import Chat, Message, User
from miogram_async.testing import (
    AccountConfig,
    CreditsConfig,
    FakeMioGram,
    FaultKind,
    FaultRule,
    Faults,
    NumberBook,
    TimeModel,
)

SECRET = "test-secret"
ALICE = "+989100000001"
BOB = "+989100000002"
NOBODY = "+989100000009"
PHOTO = b"\x89PNG fake image"


def make_fake() -> FakeMioGram:
    """A fake where every number but NOBODY exists, with two agents."""
    return FakeMioGram(
        AccountConfig(agents=("Agent1", "Agent2"), numbers=NumberBook.except_for([NOBODY])),
        profile="documented",  # documented profile: get_history() sends offset,limit (E34)
    )


@asynccontextmanager
async def client_for(fake: FakeMioGram, *, mode: str) -> AsyncIterator[MioGram]:
    """A MioGram client bound to *fake* in process, or over loopback with an HTTP backend."""
    if mode == "in-process":
        async with MioGram(SECRET, transport=fake.transport()) as client:
            yield client
    else:
        backend: Literal["httpx", "aiohttp"] = "httpx" if mode == "loopback-httpx" else "aiohttp"
        async with fake.serve() as url, MioGram(SECRET, base_url=url, http_backend=backend) as c:
            yield c


MODES = pytest.mark.parametrize("mode", ["in-process", "loopback-httpx", "loopback-aiohttp"])


@MODES
async def test_every_action_against_the_fake(mode: str) -> None:
    """Each of the 43 actions returns what the fake says."""
    fake = make_fake()
    async with client_for(fake, mode=mode) as client:
        # 1-2, 7-20: agent, chat and profile actions
        assert await client.set_status_online(True) is True
        assert await client.send_typing(ALICE) is True
        assert await client.create_group_chat("Team", [ALICE, BOB]) is True
        info = await client.chat_info("Team")
        assert isinstance(info, Chat)
        assert (info.title, len(info.members), info.raw["members_num"]) == ("Team", 2, 2)
        assert await client.rename_chat("Team", "Crew") is True
        assert await client.chat_delete_user("Crew", BOB) is True
        assert await client.chat_add_user("Crew", BOB, forward_count=0) is True
        assert await client.set_profile_name("Ali", "Rezaei") is True
        assert await client.block_user(BOB) is True
        assert await client.unblock_user(BOB) is True
        assert await client.set_username("agent_one") is True
        assert await client.set_profile_photo(PHOTO, file_format="png") is True
        # 3-6: text sends
        assert await client.send_message(ALICE, "hello") is True
        assert await client.send_message(NOBODY, "hello") is False
        mass = await client.send_message_mass([ALICE, BOB, NOBODY], "hi all")
        assert mass.delivered == [ALICE, BOB]
        assert mass[NOBODY] is Outcome.UNDELIVERED
        assert await client.send_message_whatsapp(ALICE, "wa") is True
        whatsapp = await client.send_message_whatsapp_mass([ALICE, BOB], "wa")
        assert whatsapp.delivered == [ALICE, BOB]
        # 15-18: reading back what was sent
        assert await client.mark_read(ALICE) is True
        user = await client.get_user_info(ALICE)
        assert isinstance(user, User)
        assert user.phone == ALICE
        assert user.raw["phone"] == ALICE[1:]
        dialogs = await client.get_dialog_list()
        assert dialogs
        assert all(isinstance(dialog, User | Chat) for dialog in dialogs)
        history = await client.get_history(ALICE, offset=0, limit=100)
        assert history
        assert all(isinstance(message, Message) for message in history)
        # 21-31: media, location, contact
        for send_one in (
            client.send_photo,
            client.send_video,
            client.send_audio,
            client.send_text,
            client.send_file,
            client.send_document,
        ):
            assert await send_one(ALICE, PHOTO, file_format="bin") is True
        for send_many in (client.send_photo_mass, client.send_video_mass, client.send_file_mass):
            result = await send_many([ALICE, NOBODY], PHOTO, file_format="bin")
            assert result.delivered == [ALICE]
        assert await client.send_location(ALICE, 35.6892, 51.389) is True
        assert await client.send_contact(ALICE, "Ali", BOB) is True
        # 32-43: account actions
        limits = await client.api_get_limits()
        assert (limits.message, limits.photo, limits.is_super) == (4096, 5 * 1024 * 1024, True)
        credits = await client.api_get_credits()
        assert credits.message == fake.credits()["Message"]
        assert credits.photo == 1_000_000 - 2
        assert await client.api_get_ip() == ["*"]
        assert await client.api_set_ip(["127.0.0.1", "10.0.0.1"]) == ["127.0.0.1", "10.0.0.1"]
        assert await client.api_get_robot() == ["Agent1", "Agent2"]
        assert await client.api_get_active() is True
        assert await client.api_get_username() == "tester"
        assert await client.api_is_super() is True
        assert await client.api_can_get() is True
        assert await client.api_get_ads() is False
        reports = await client.api_get_report(5)
        assert [r.number for r in reports][:2] == [ALICE, ALICE]
        assert len(reports) == 5
        new_secret = await client.api_change_secret()
        assert fake.secret() == new_secret
        assert await client.api_get_username() == "tester"
    funcs = set(fake.funcs())
    assert len(funcs) == 43


@MODES
async def test_set_profile_name_object_result(mode: str) -> None:
    """
    SetProfileName succeeds on the fake, which relays an object as Result (docs/service.md E19).
    """
    fake = make_fake()
    async with client_for(fake, mode=mode) as client:
        outcome = await client.set_profile_name("Ali", "Rezaei")
    assert fake.agent("Agent1").first_name == "Ali"
    assert outcome is True


async def test_sdk_sees_service_errors_from_the_fake() -> None:
    """Front errors from the fake become the SDK's typed errors."""
    fake = FakeMioGram(AccountConfig(credits=CreditsConfig(message=-1)))
    async with MioGram(SECRET, transport=fake.transport()) as client:
        with pytest.raises(NoCreditError):
            await client.send_message(ALICE, "x")
    async with MioGram("wrong", transport=fake.transport()) as client:
        with pytest.raises(InvalidSecretError):
            await client.api_get_username()
    assert fake.deliveries == []


async def test_pytest_plugin_fixtures(miogram_fake: FakeMioGram, miogram_client: MioGram) -> None:
    """The plugin's miogram_client talks to miogram_fake in process."""
    assert await miogram_client.send_message(ALICE, "from the fixture") is True
    assert [d.text for d in miogram_fake.deliveries] == ["from the fixture"]


async def test_lost_replies_leave_unknown_outcomes_that_were_delivered() -> None:
    """Mass chunks whose replies are lost come back UNKNOWN, yet the fake delivered them."""
    fake = FakeMioGram(
        faults=Faults.of(
            FaultRule(kind=FaultKind.LOST_REPLY, funcs="SendMessageMass", rate=0.5), seed=1
        )
    )
    numbers = [f"+98910000{i:04d}" for i in range(10)]
    async with MioGram(SECRET, transport=fake.transport()) as client:
        result = await client.send_message_mass(numbers, "hi", chunk_size=2)
    assert result.unknown
    assert sorted(result.delivered + result.unknown) == numbers
    assert sorted(d.number for d in fake.deliveries) == numbers
    assert fake.credits()["Message"] == 1_000_000 - 10


def test_sdk_and_fake_under_trio() -> None:
    """fake.client() works under trio: sends, reads and secret rotation."""
    fake = make_fake()

    async def main() -> tuple[bool, list[str], str]:
        async with fake.client(robot="Agent2") as client:
            sent = await client.send_message(ALICE, "trio")
            robots = await client.api_get_robot()
            secret = await client.api_change_secret()
            assert await client.api_get_active() is True
        return sent, robots, secret

    sent, robots, secret = trio.run(main)
    assert (sent, robots) == (True, ["Agent1", "Agent2"])
    assert fake.secret() == secret
    assert [d.agent for d in fake.deliveries] == ["Agent2"]


async def test_fake_client_gives_its_front_wait_and_none_of_its_pace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """fake.client() sets front_wait from the time model (not the instant one), never a drain."""
    monkeypatch.delenv("MIOGRAM_GATEWAY_DRAIN", raising=False)
    monkeypatch.delenv("MIOGRAM_FRONT_WAIT", raising=False)
    fake = FakeMioGram()
    async with fake.client() as instant:
        assert (instant._session.front_wait, instant._session.gateway_drain) == (60.0, 0.0)
    fake.time_model = TimeModel.realistic(scale=0.01, pace=2.5)
    async with fake.client() as scaled:
        assert scaled._session.front_wait == pytest.approx(0.6)
        assert scaled._session.gateway_drain == 0.0  # the client finds the pace itself (E49)
    async with fake.client(front_wait=2.0, gateway_drain=0.5) as chosen:
        assert (chosen._session.front_wait, chosen._session.gateway_drain) == (2.0, 0.5)
