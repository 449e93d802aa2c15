"""
The SDK against the fake's default profile, which answers as the service's server code does
(docs/service.md section 12): one test per E-number that concerns what the SDK returns or raises.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from chunk_layout import first_chunk

from miogram_async import (
    APIResponseError,
    FileTooLargeError,
    GatewayBlockedError,
    GatewayError,
    InvalidFileError,
    InvalidTokenError,
    MassSendError,
    MioGram,
    NoCreditError,
    NumberNotFoundError,
    Outcome,
    UnknownFuncError,
)
from miogram_async._base.peers import Message
from miogram_async.testing import (
    AccountConfig,
    CreditsConfig,
    FakeMioGram,
    FaultKind,
    FaultRule,
    Faults,
    NumberBook,
    TimeModel,
    UndeliveredReply,
)

ALICE = "+989120000001"
BOB = "+989120000002"
NOBODY = "+989120000009"
PHOTO = b"\x89PNG image"
#: The front waits 60 s x 0.005 = 0.3 s; the gateway takes 1 s x 0.005 = 5 ms per number.
SCALED = TimeModel(per_number=1.0, scale=0.005)


def numbers(count: int) -> list[str]:
    """*count* distinct well-formed numbers."""
    return [f"+98912{index:07d}" for index in range(count)]


async def test_e32_a_999_after_a_mass_chunk_leaves_its_numbers_unknown() -> None:
    """A chunk the front gives up on (999) is UNKNOWN, never FAILED, and it was delivered."""
    # A gateway at 40 s a number: even the small first chunk outlasts the front's wait (E49).
    fake = FakeMioGram(time_model=attrs.evolve(SCALED, per_number=40.0))
    chunk = numbers(6)
    async with fake.client(max_retries=2) as client:
        result = await client.send_message_mass(chunk, "hi", chunk_size=100)
    await fake.wait_idle()
    first = first_chunk(100, SCALED.front_wait_seconds())
    assert result.unknown == chunk[:first]
    assert result.delivered == chunk[first:]  # later chunks sized from the 999's bound
    assert result.failed == []
    assert sorted(d.number for d in fake.deliveries) == sorted(chunk)  # sent once, not retried
    assert fake.max_state_changing_in_flight == 1
    assert not fake.credit_file_corrupted  # the drain outlasted the gateway's work (E33)


async def test_e34_get_history_with_its_defaults_returns_the_messages() -> None:
    """The default Misc is limit,offset: the messages come back; the document's order gives []."""
    fake = FakeMioGram()
    async with fake.client() as client:
        for text in ("one", "two", "three"):
            assert await client.send_message(ALICE, text) is True
        history = await client.get_history(ALICE)
        documented = await client.get_history(ALICE, limit_first=False)
        window = await client.get_history(ALICE, offset=1, limit=2)
    assert all(isinstance(message, Message) for message in history)
    assert [message.text for message in history] == ["one", "two", "three"]
    assert documented == []
    assert [message.text for message in window] == ["one", "two"]


async def test_e36_send_location_answers_false_on_the_server_code() -> None:
    """send_location returns False (not delivered); nothing reaches the number."""
    fake = FakeMioGram()
    async with fake.client() as client:
        assert await client.send_location(ALICE, 35.7, 51.4) is False
    assert fake.deliveries == []


async def test_e37_get_ip_is_the_caller_and_set_ip_appends_the_server() -> None:
    """api_get_ip gives the caller's own address; api_set_ip the list plus the server's."""
    fake = FakeMioGram()
    async with MioGram(fake.secret(), transport=fake.transport(client_ip="10.0.0.7")) as client:
        caller = await client.api_get_ip()
        stored = await client.api_set_ip(["10.0.0.7"])
    assert caller == ["10.0.0.7"]
    assert stored == ["10.0.0.7", "127.0.0.1"]


async def test_e38_integer_and_string_flags_read_alike() -> None:
    """Unset flags come as integer 0, set ones as "1": the SDK reads both as bools."""
    fake = FakeMioGram(AccountConfig(is_super=False, can_get=True))
    async with fake.client() as client:
        limits = await client.api_get_limits()
        is_super = await client.api_is_super()
        can_get = await client.api_can_get()
    assert (limits.is_super, limits.can_get, is_super, can_get) == (False, True, False, True)
    assert (limits.message, limits.photo) == (4096, 5 * 1024 * 1024)


BOOL_ACTIONS: dict[str, Callable[[MioGram], Awaitable[bool]]] = {
    "send_typing": lambda c: c.send_typing(NOBODY),
    "send_message": lambda c: c.send_message(NOBODY, "hi"),
    "send_photo": lambda c: c.send_photo(NOBODY, PHOTO),
    "send_video": lambda c: c.send_video(NOBODY, PHOTO),
    "send_audio": lambda c: c.send_audio(NOBODY, PHOTO),
    "send_text": lambda c: c.send_text(NOBODY, PHOTO),
    "send_file": lambda c: c.send_file(NOBODY, PHOTO),
    "send_document": lambda c: c.send_document(NOBODY, PHOTO),
    "send_location": lambda c: c.send_location(NOBODY, 35.7, 51.4),
    "send_contact": lambda c: c.send_contact(NOBODY, "Ali", BOB),
    "chat_add_user": lambda c: c.chat_add_user("Team", NOBODY, 0),
    "chat_delete_user": lambda c: c.chat_delete_user("Team", NOBODY),
    "block_user": lambda c: c.block_user(NOBODY),
    "unblock_user": lambda c: c.unblock_user(NOBODY),
    "mark_read": lambda c: c.mark_read(NOBODY),
}


@pytest.mark.parametrize("method", sorted(BOOL_ACTIONS))
async def test_e39_a_missing_number_is_false_on_every_single_number_bool_action(
    method: str,
) -> None:
    """The gateway's 307 is False (not delivered, not done) wherever a bool is returned."""
    fake = FakeMioGram(AccountConfig(numbers=NumberBook.only([ALICE])))
    async with fake.client() as client:
        assert await BOOL_ACTIONS[method](client) is False
    assert fake.deliveries == []


async def test_e39_a_missing_number_raises_for_typed_results() -> None:
    """get_user_info raises on the server code's fail; get_history reads it as an empty history."""
    fake = FakeMioGram(AccountConfig(numbers=NumberBook.only([ALICE])))
    async with fake.client() as client:
        with pytest.raises(NumberNotFoundError):
            await client.get_user_info(NOBODY)
        # GetHistory looks the number up with NumberToPeer: false, like an empty history (E51).
        assert await client.get_history(NOBODY) == []
    forced = FakeMioGram(
        AccountConfig(
            numbers=NumberBook.only([ALICE]), undelivered_reply=UndeliveredReply.ERROR_307
        ),
        profile="documented",
    )
    async with forced.client() as client:
        with pytest.raises(NumberNotFoundError):  # a service that answers E39's 307 instead
            await client.get_history(NOBODY)


async def test_e40_size_304_is_file_too_large_and_a_trailing_302_is_read() -> None:
    """'Photo Size is High' raises FileTooLargeError; '{...}302' is the 302, not 'not JSON'."""
    fake = FakeMioGram(gateway_max_file_bytes=16)
    async with fake.client() as client:
        with pytest.raises(FileTooLargeError) as photo:
            await client.send_photo(ALICE, bytes(17))
        with pytest.raises(FileTooLargeError) as document:
            await client.send_document(ALICE, bytes(17))
        with pytest.raises(UnknownFuncError) as missing:
            await client.call("SendMessage", message="no phone")
        assert await client.send_photo(ALICE, bytes(range(1, 17))) is True
    assert (photo.value.code, photo.value.message, photo.value.sent) == (
        304,
        "Photo Size is High",
        False,
    )
    assert document.value.message == "Document Size is High"
    assert (missing.value.code, missing.value.sent) == (302, False)


async def test_e41_the_gateways_815_is_service_wide_and_stops_a_mass_send() -> None:
    """After four 813s the gateway's 815 raises GatewayBlockedError and stops a fan-out."""
    fake = FakeMioGram(
        faults=Faults.of(
            FaultRule(kind=FaultKind.GATEWAY_TOKEN_ERROR, funcs={"SendTyping"}, times=4),
        ),
    )
    async with fake.client(max_retries=0) as client:
        for _ in range(4):
            with pytest.raises(InvalidTokenError) as token:
                await client.send_typing(ALICE)
            assert token.value.sent is False
        with pytest.raises(GatewayBlockedError) as blocked:
            await client.send_message(ALICE, "hi")
        with pytest.raises(MassSendError) as stopped:
            await client.send_message_mass(numbers(250), "hi", chunk_size=100, concurrency=1)
        assert await client.api_get_username() == "tester"  # the front alone still answers
    assert isinstance(blocked.value, GatewayError)
    assert blocked.value.sent is False
    assert "whole service" in str(blocked.value)
    assert isinstance(stopped.value.cause, GatewayBlockedError)
    # The first chunk is small (the pace unknown, E49): every later number stays unsent.
    assert stopped.value.result.counts[Outcome.NOT_ATTEMPTED] == 250 - first_chunk(100)
    assert fake.deliveries == []


async def test_e42_a_mass_beyond_credit_fails_its_numbers_and_stops() -> None:
    """The front's 305 proves a refusal: the chunk is FAILED, the rest NOT_ATTEMPTED."""
    first = first_chunk(5)  # the first chunk is small (the pace unknown, E49)
    fake = FakeMioGram(AccountConfig(credits=CreditsConfig(message=first - 1)))
    async with fake.client() as client:
        with pytest.raises(MassSendError) as stopped:
            await client.send_message_mass(numbers(10), "hi", chunk_size=5, concurrency=1)
    assert isinstance(stopped.value.cause, NoCreditError)
    counts = stopped.value.result.counts
    assert (counts[Outcome.FAILED], counts[Outcome.NOT_ATTEMPTED]) == (first, 10 - first)
    assert fake.deliveries == []


async def test_e43_php_falsy_file_content_is_a_proven_refusal() -> None:
    """A file whose bytes are b'0' is refused with 400 (InvalidFileError, sent False)."""
    fake = FakeMioGram()
    spaced = base64.b64encode(PHOTO).decode()
    spaced = spaced[:4] + " " + spaced[4:]
    async with fake.client() as client:
        with pytest.raises(InvalidFileError) as refused:
            await client.send_file(ALICE, b"0")
        accepted = await client.call("SendPhoto", phone=ALICE, misc="png", data=spaced)
    assert refused.value.sent is False
    assert accepted is True
    assert [d.func for d in fake.deliveries] == ["SendPhoto"]


async def test_e45_a_500_with_an_empty_body_after_a_send_may_have_been_sent() -> None:
    """HTTP 500 and no body after a delivered send: sent None, never retried, Mass UNKNOWN."""
    fake = FakeMioGram(php_strict_mysqli=True)
    async with fake.client(max_retries=2) as client:
        with pytest.raises(APIResponseError) as caught:
            await client.send_message(ALICE, "it's here")
        result = await client.send_message_mass([ALICE, BOB], "it's both")
    assert caught.value.sent is None
    assert caught.value.status_code == 500
    assert result.counts[Outcome.UNKNOWN] == 2
    assert sorted(str(d.text) for d in fake.deliveries) == ["it's both", "it's both", "it's here"]


async def test_e46_an_empty_dialog_list_and_history_are_empty_lists() -> None:
    """The server code's false for nothing to list reads as []."""
    fake = FakeMioGram()
    async with fake.client() as client:
        assert await client.get_dialog_list() == []
        assert await client.get_history(ALICE) == []


async def test_e50_get_history_holds_every_accounts_sends_through_the_agent() -> None:
    """get_history reads the agent's history: the other account's texts too, out, service-dated."""
    fake = FakeMioGram(
        [AccountConfig(), AccountConfig(secret="theirs", username="them", ads="Ad")],
        clock_offset=120.0,
    )
    before = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=120)
    async with fake.client() as mine, MioGram("theirs", transport=fake.transport()) as theirs:
        assert await mine.send_message(ALICE, "mine") is True
        sent = await theirs.send_message_mass([ALICE, BOB], "yours")
        history = await mine.get_history(ALICE)
        their_view = await theirs.get_history(ALICE)
    after = datetime.now(UTC) + timedelta(seconds=120)
    assert sent.counts[Outcome.DELIVERED] == 2
    assert [(m.text, m.out) for m in history] == [("mine", True), ("yours\nAd", True)]
    assert [m.text for m in their_view] == ["mine", "yours\nAd"]
    assert all(before <= m.date <= after for m in history)
    senders = {m.sender.peer_id for m in history if m.sender is not None}
    assert len(senders) == 1  # both sent by the one agent


async def test_e51_missing_user_info_is_not_found_and_a_bad_status_misc_is_302() -> None:
    """The bare fail of GetUserInfo is NumberNotFoundError; the bare 302 is a proven refusal."""
    fake = FakeMioGram(AccountConfig(numbers=NumberBook.only([ALICE])))
    async with fake.client() as client:
        with pytest.raises(NumberNotFoundError):
            await client.get_user_info(NOBODY)
        with pytest.raises(UnknownFuncError) as bad:
            await client.call("SetStatusOnline", misc="Away")
        assert await client.set_status_online(True) is True
        user = await client.get_user_info(ALICE)
    assert (bad.value.code, bad.value.sent) == (302, False)
    assert (user.phone, user.raw["phone"], user.last_name) == (ALICE, ALICE[1:], "tester")
