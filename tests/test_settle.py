"""
Settling a Mass result's unknown numbers from the agents' histories (issue 18, E50), end to end
against the fake in its server profile.
"""

from __future__ import annotations

import collections
import pickle
import time
from collections.abc import Sequence

import httpx
import pytest
from chunk_layout import first_chunk

from miogram_async import (
    Dispatch,
    Expected,
    LocalSendGate,
    MassResult,
    MassSendError,
    MioGram,
    Outcome,
    PermissionDeniedError,
    ValidationError,
)
from miogram_async._settle import InDoubt, settle_doubts
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

TEXT = "Hello from the settle tests"
PACE = 2.5  # seconds per number: ordinary against Telegram (E49)
SCALE = 0.005  # the front waits 0.3 s; a number takes 12.5 ms
AGENTS = ("Agent1", "Agent2", "Agent3", "Agent4")


def numbers(count: int, first: int = 0) -> list[str]:
    """*count* distinct well-formed numbers."""
    return [f"+98912{index:07d}" for index in range(first, first + count)]


def dies(handed: int, *, after: int = 0, func: str = "SendMessageMass") -> Faults:
    """One request of *func* (after *after* of them) whose gateway dies after *handed* numbers."""
    return Faults.of(
        FaultRule(kind=FaultKind.GATEWAY_DIES, funcs={func}, after=after, times=1, handed=handed)
    )


def paced(*, faults: Faults | None = None, **account: object) -> FakeMioGram:
    """The fake at 2.5 s a number (scaled), four agents, in its server profile."""
    return FakeMioGram(
        AccountConfig(agents=AGENTS, **account),  # type: ignore[arg-type]
        time_model=TimeModel.realistic(scale=SCALE, pace=PACE),
        faults=faults or Faults(),
    )


def client_of(fake: FakeMioGram) -> MioGram:
    """
    A client on its own defaults: given the front's wait (scaled), never the fake's pace; it
    measures the gateway's pace and drains by it (E49).
    """
    return fake.client()


async def mass(client: MioGram, phones: Sequence[str], text: str = TEXT) -> MassResult:
    """send_message_mass's result (a 999 never stops the send: it is no MassSendError)."""
    return await client.send_message_mass(phones, text)


def history_requests(fake: FakeMioGram) -> int:
    """GetHistory requests the fake received."""
    return sum(1 for request in fake.requests if request.func == "GetHistory")


async def test_400_numbers_at_2_5_s_a_number_settle_to_delivered_and_absent() -> None:
    """
    A chunk sized from the measured pace (after each agent's small first chunk, E49) dies with 999
    after 3 numbers: every number the fake delivered settles DELIVERED, every number it never
    handed over ABSENT; re-sending those sends only them, once each.
    """
    fake = paced(faults=dies(3, after=len(AGENTS) + 1))
    phones = numbers(400)
    async with client_of(fake) as client:
        result = await mass(client, phones)
        assert result.unknown  # the 999'd chunk at least
        settled = await client.settle_unknown(result, TEXT)
        final = settled.applied_to(result)
        await fake.wait_idle()
        delivered = {delivery.number for delivery in fake.deliveries}
        handed = {handoff.number for handoff in fake.handoffs}
        assert handed == delivered  # every number exists: handed over is delivered
        assert final.counts[Outcome.UNKNOWN] == 0
        assert set(final.delivered) == delivered
        assert set(final.absent) == set(phones) - handed
        assert final.absent  # the dead gateway never reached the rest of its chunk
        assert all(settled[n].message_id for n in settled.delivered)  # each with its evidence
        # The explicit re-send: only the absent numbers, once each.
        before = len(fake.deliveries)
        again = await mass(client, final.absent)
        again = (await client.settle_unknown(again, TEXT)).applied_to(again)
        await fake.wait_idle()
    resent = [delivery.number for delivery in fake.deliveries[before:]]
    assert sorted(resent) == sorted(final.absent)
    assert set(again.delivered) == set(final.absent)
    assert max(collections.Counter(d.number for d in fake.deliveries).values()) == 1
    assert len(fake.deliveries) == 400
    assert fake.max_state_changing_in_flight == 1
    assert not fake.credit_file_corrupted


async def test_no_history_is_read_before_the_chunk_can_be_done() -> None:
    """The step waits until the gateway can no longer be at work on a chunk (its done_by)."""
    fake = FakeMioGram()
    async with fake.client() as client:
        await client.api_get_ads()  # the service's clock, from its Date
        bounds = client.service_clock
        assert bounds is not None
        now = time.time()
        dispatch = Dispatch(
            func="SendMessageMass",
            robot=None,
            sent_after=now + bounds[0] - 1.0,
            done_by=now + bounds[1] + 0.5,
            numbers=1,
        )
        doubt = InDoubt(number=numbers(1)[0], dispatch=dispatch, expected=Expected.text_of(TEXT))
        started = time.time()
        settled = await settle_doubts(client, [doubt])
    (read,) = [request for request in fake.requests if request.func == "GetHistory"]
    assert read.received_at >= started + 0.5
    assert settled.unknown == numbers(1)  # an empty answer, nothing to vouch for it


async def test_another_accounts_same_text_through_the_same_agent_is_no_evidence() -> None:
    """
    Two accounts share Agent1 (E50). The other account's "Hello" to the same numbers, sent
    before this send (an hour earlier) and after it, proves nothing about this send.
    """
    fake = FakeMioGram(
        [
            AccountConfig(secret="mine", username="mine", agents=("Agent1",)),
            AccountConfig(secret="theirs", username="theirs", agents=("Agent1",)),
        ],
        faults=dies(1),
    )
    # One chunk (a fresh client's first is small while the pace is unknown, E49): it dies after
    # its first number.
    assert first_chunk() == 3
    first, earlier, later = numbers(3)
    fake.clock_offset = -3600.0  # their send an hour ago, on the service's clock
    async with fake.client(username="theirs") as theirs:
        assert await theirs.send_message(earlier, TEXT)
    fake.clock_offset = 0.0
    async with fake.client(username="mine") as mine:
        result = await mass(mine, [first, earlier, later])  # dies after 1 number
        assert result.unknown == [first, earlier, later]
        fake.clock_offset = 3600.0  # their send an hour later, before this settle
        async with fake.client(username="theirs") as theirs:
            assert await theirs.send_message(later, TEXT)
        settled = await mine.settle_unknown(result, TEXT)
    mass_request = next(r.index for r in fake.requests if r.func == "SendMessageMass")
    mine_handed = [h.number for h in fake.handoffs if h.request_index == mass_request]
    assert mine_handed == [first]
    history = fake.agent("Agent1").history
    for number in (earlier, later):  # the text is in the agent's history, sent by them
        (item,) = history[number.removeprefix("+")]
        assert (item.text, item.out, item.username) == (TEXT, True, "theirs")
    assert settled[first].outcome is Outcome.DELIVERED
    assert settled[earlier].outcome is Outcome.ABSENT  # long before the send
    assert settled[later].outcome is Outcome.UNKNOWN  # after it: maybe ours, never proof
    assert "outgoing message since the send" in settled[later].reason


async def test_an_empty_answer_needs_a_read_right_after_it_that_shows_messages() -> None:
    """Nothing delivered on the agent and nothing to compare: empty answers stay UNKNOWN."""
    fake = FakeMioGram(AccountConfig(agents=("Agent1",)), faults=dies(0))
    async with fake.client() as client:
        result = await mass(client, numbers(3))
        settled = await client.settle_unknown(result, TEXT)
    assert settled.unknown == numbers(3)
    assert "no read of this agent right after it" in settled[numbers(1)[0]].reason
    assert history_requests(fake) == 3  # no control read: no number is known to have messages


async def test_a_control_read_of_a_delivered_number_vouches_for_empty_answers() -> None:
    """A number this send delivered through the agent is read last: its messages vouch."""
    phones = numbers(6)
    # One send, two chunks on one agent: the first delivered, the second died before any number.
    fake = FakeMioGram(AccountConfig(agents=("Agent1",)), faults=dies(0, after=1))
    async with fake.client() as client:
        result = await client.send_message_mass(phones, TEXT, chunk_size=3)
        assert result.delivered == phones[:3]
        assert result.unknown == phones[3:]
        settled = await client.settle_unknown(result, TEXT)
    assert settled.absent == phones[3:]
    assert history_requests(fake) == 4  # three empty answers, then one control read
    control = [r for r in fake.requests if r.func == "GetHistory"][-1]
    # One agent: the chunks name none (the account's first agent), and so does the control read.
    assert control.elements["Phone"] == result.delivered_through(None) == phones[0]
    assert control.robot == ""
    assert "next read" in settled[phones[3]].reason


@pytest.mark.parametrize("answer", ["fail", "307"])
async def test_a_number_that_cannot_be_looked_up_reads_like_an_empty_history(answer: str) -> None:
    """The server code's false and a 307 both say no more than an empty history (E39, E51)."""
    missing = numbers(1, 900)[0]
    account = AccountConfig(agents=("Agent1",), numbers=NumberBook.except_for([missing]))
    profile = "server"
    if answer == "307":
        account = AccountConfig(
            agents=("Agent1",),
            numbers=NumberBook.except_for([missing]),
            undelivered_reply=UndeliveredReply.ERROR_307,
        )
        profile = "documented"
    fake = FakeMioGram(account, faults=dies(1), profile=profile)
    phones = [*numbers(1), missing, numbers(1, 1)[0]]  # one chunk: a fresh client's first (E49)
    assert len(phones) == first_chunk()
    async with fake.client() as client:
        result = await mass(client, phones)
        settled = await client.settle_unknown(result, TEXT)
    assert settled.delivered == phones[:1]
    assert settled.absent == phones[1:]
    reason = settled[missing].reason
    assert ("cannot look this number up" in reason) is (answer == "307")


async def test_no_permission_to_read_leaves_every_number_unknown_after_one_request() -> None:
    """309 (no canGet): the step stops at once; nothing settles; the error is kept."""
    fake = FakeMioGram(AccountConfig(agents=("Agent1",), can_get=False), faults=dies(1))
    phones = numbers(first_chunk())  # one chunk: a fresh client's first (E49)
    async with fake.client() as client:
        result = await mass(client, phones)
        settled = await client.settle_unknown(result, TEXT)
    assert settled.unknown == phones
    assert isinstance(settled.stopped, PermissionDeniedError)
    assert history_requests(fake) == 1
    assert "PermissionDeniedError" in settled[phones[-1]].reason


async def test_a_failed_read_leaves_its_number_unknown() -> None:
    """A read answered with HTTP 502 settles nothing for that number; the others go on."""
    fake = FakeMioGram(
        AccountConfig(agents=("Agent1",)),
        faults=Faults.of(
            FaultRule(kind=FaultKind.GATEWAY_DIES, funcs={"SendMessageMass"}, handed=3, times=1),
            FaultRule(kind=FaultKind.HTTP_ERROR, funcs={"GetHistory"}, after=1, times=1),
        ),
    )
    phones = numbers(first_chunk())  # one chunk: a fresh client's first (E49)
    assert len(phones) == 3
    async with fake.client(max_retries=0) as client:
        result = await mass(client, phones)
        settled = await client.settle_unknown(result, TEXT)
    assert settled[phones[1]].outcome is Outcome.UNKNOWN
    assert "could not be read" in settled[phones[1]].reason
    assert [settled[n].outcome for n in (phones[0], *phones[2:])] == [Outcome.DELIVERED] * 2


async def test_every_history_read_passes_the_send_gate() -> None:
    """GetHistory re-adds a contact on the agent: each read takes the send gate, one at a time."""

    class CountingGate(LocalSendGate):
        acquired = 0

        async def acquire(self) -> float:
            CountingGate.acquired += 1
            return await super().acquire()

    fake = FakeMioGram(AccountConfig(agents=("Agent1",)), faults=dies(1))
    async with fake.client(send_gate=CountingGate()) as client:
        result = await mass(client, numbers(4))
        before = CountingGate.acquired
        await client.settle_unknown(result, TEXT)
        reads = CountingGate.acquired - before
    assert reads == history_requests(fake) >= 4


async def test_a_whatsapp_send_leaves_nothing_to_read() -> None:
    """WhatsApp goes through another messenger: its numbers stay unknown, no history is read."""
    fake = FakeMioGram(faults=dies(1, func="SendMessageWhatsAppMass"))
    async with fake.client() as client:
        result = await client.send_message_whatsapp_mass(numbers(3), TEXT)
        settled = await client.settle_unknown(result, TEXT)
    assert settled.unknown == numbers(3)
    assert "WhatsApp" in settled[numbers(1)[0]].reason
    assert history_requests(fake) == 0


async def test_a_photo_send_is_found_by_its_kind_without_being_told() -> None:
    """A photo Mass send: the history shows a photo, no bytes; sent=None takes the row's kind."""
    fake = FakeMioGram(AccountConfig(agents=("Agent1",)), faults=dies(2, func="SendPhotoMass"))
    phones = numbers(first_chunk())  # one chunk: a fresh client's first (E49)
    assert len(phones) == 3
    async with fake.client() as client:
        result = await client.send_photo_mass(phones, b"\x89PNG\r\n\x1a\n" + bytes(32))
        settled = await client.settle_unknown(result)
    assert settled.delivered == phones[:2]
    assert settled.absent == phones[2:]


async def test_a_text_send_needs_the_text() -> None:
    """Without sent, a text send cannot be settled: the history is searched for the text."""
    fake = FakeMioGram(faults=dies(1))
    async with fake.client() as client:
        result = await mass(client, numbers(2))
        with pytest.raises(ValidationError, match="the message sent"):
            await client.settle_unknown(result)
        per_number = {number: Expected.text_of(TEXT) for number in numbers(2)}
        settled = await client.settle_unknown(result, per_number)
    assert settled.delivered == numbers(1)
    assert settled.absent == numbers(1, 1)


async def test_an_accounts_ad_after_the_text_is_still_the_message() -> None:
    """The service appends the account's ad (E30): the text, a newline and the ad is found."""
    fake = FakeMioGram(AccountConfig(agents=("Agent1",), ads="Sent with MioGram"), faults=dies(2))
    async with fake.client() as client:
        result = await mass(client, numbers(3))
        settled = await client.settle_unknown(result, TEXT)
    (item,) = fake.agent("Agent1").history[numbers(1)[0].removeprefix("+")]
    assert item.text == f"{TEXT}\nSent with MioGram"
    assert settled.delivered == numbers(2)
    assert settled.absent == numbers(1, 2)


class _NoDate(httpx.AsyncBaseTransport):
    """The fake's transport with the Date header taken off every reply."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        del response.headers["date"]
        return response


async def test_without_the_services_clock_nothing_is_settled() -> None:
    """Replies without a Date header: the messages cannot be dated against the send."""
    fake = FakeMioGram(faults=dies(1))
    async with MioGram(fake.secret(), transport=_NoDate(fake.transport())) as client:
        result = await mass(client, numbers(2))
        settled = await client.settle_unknown(result, TEXT)
        assert client.service_clock is None
    assert settled.unknown == numbers(2)
    assert "clock is not known" in settled[numbers(1)[0]].reason
    assert history_requests(fake) == 0


async def test_a_pickled_result_keeps_what_settling_needs() -> None:
    """The chunks' dispatches and the witnesses survive pickling; a hand-made result has none."""
    fake = FakeMioGram(AccountConfig(agents=("Agent1",)), faults=dies(1, after=1))
    async with fake.client() as client:
        result = await client.send_message_mass(numbers(6), TEXT, chunk_size=3)
        copy = pickle.loads(pickle.dumps(result))
        settled = await client.settle_unknown(copy, TEXT)
    assert copy.in_doubt() == result.in_doubt()
    ((dispatch, unknown),) = result.in_doubt()
    assert unknown == numbers(3, 3)
    assert dispatch.robot is None  # the account's only agent: no Robot on the wire
    assert dispatch.func == "SendMessageMass"
    assert dispatch.sent_after is not None
    assert dispatch.done_by is not None
    assert dispatch.sent_after <= dispatch.done_by
    assert result.dispatch(numbers(1, 4)[0]) == dispatch
    assert result.dispatch(numbers(1)[0]) is None  # delivered: nothing to settle
    assert copy.delivered_through(None) == result.delivered_through(None) == numbers(1)[0]
    assert settled.delivered == numbers(1, 3)
    assert settled.absent == numbers(2, 4)
    assert MassResult({numbers(1)[0]: Outcome.UNKNOWN}).in_doubt() == []


async def test_the_result_of_a_stopped_send_is_settled_too() -> None:
    """A MassSendError's .result keeps its dispatches: its unknown numbers settle like any."""
    fake = FakeMioGram(
        AccountConfig(agents=("Agent1",), credits=CreditsConfig(message=5)), faults=dies(2)
    )
    async with fake.client() as client:
        with pytest.raises(MassSendError) as stopped:
            await client.send_message_mass(numbers(9), TEXT, chunk_size=3)
        settled = await client.settle_unknown(stopped.value.result, TEXT)
        with pytest.raises(ValidationError, match="the MassResult of a Mass send"):
            await client.settle_unknown({"+989120000000": "unknown"}, TEXT)  # type: ignore[arg-type]
    assert settled.delivered == numbers(2)
    assert settled.absent == numbers(1, 2)
