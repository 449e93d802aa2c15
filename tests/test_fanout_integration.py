"""Mass sends through the real client against the fake service: outcomes match what it delivered."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import anyio
import pytest
import trio
from chunk_layout import first_chunk, layout

from miogram_async import (
    Chunk,
    HttpBackend,
    LowCreditError,
    MassProgress,
    MassResult,
    MassSendError,
    MioGram,
    MioGramError,
    NoResponseError,
    Outcome,
    normalize_phone,
)
from miogram_async._base.actions import BY_FUNC
from miogram_async._base.outcomes import proves_refusal
from miogram_async._base.wire import as_mass_map
from miogram_async._mass.fanout import MassOptions, fan_out
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
AGENTS = ("A1", "A2", "A3", "A4")


def numbers(count: int, *, prefix: str = "+98910") -> list[str]:
    """*count* distinct well-formed numbers."""
    return [f"{prefix}{i:07d}" for i in range(count)]


def fake_service(**config: object) -> FakeMioGram:
    """A fake with four agents where about 70% of numbers exist."""
    options: dict[str, object] = {
        "secret": SECRET,
        "agents": AGENTS,
        "numbers": NumberBook.ratio(0.7, seed=1),
    }
    options.update(config)
    return FakeMioGram(AccountConfig(**options))  # type: ignore[arg-type]


def mass_phone_counts(fake: FakeMioGram) -> list[int]:
    """How many numbers each SendMessageMass request carried."""
    return [
        len(record.elements["Phone"].split(","))
        for record in fake.requests
        if record.func == "SendMessageMass"
    ]


class Journal:
    """Records chunk outcomes the way the campaign journal would."""

    def __init__(self) -> None:
        self.started: list[Chunk] = []
        self.outcomes: dict[str, Outcome] = {}
        self.both_started = anyio.Event()

    async def chunk_started(self, chunk: Chunk) -> None:
        self.started.append(chunk)
        if len(self.started) >= 2:
            self.both_started.set()

    async def chunk_finished(
        self, chunk: Chunk, outcomes: Mapping[str, Outcome], errors: Mapping[str, MioGramError]
    ) -> None:
        self.outcomes.update(outcomes)


async def test_ten_thousand_numbers_match_the_delivery_log() -> None:
    """10,000 numbers go out in requests of 40 (E48) after a small first one per agent (E49)."""
    fake = fake_service()
    phones = numbers(10_000)
    async with MioGram(secret=SECRET, transport=fake.transport()) as client:
        result = await client.send_message_mass(phones, "hello")
    assert mass_phone_counts(fake) == layout(10_000, 40, agents=4)
    assert mass_phone_counts(fake)[:5] == [first_chunk(40)] * 4 + [40]
    assert fake.max_state_changing_in_flight == 1
    delivered = {delivery.number for delivery in fake.deliveries}
    undelivered = {delivery.number for delivery in fake.undelivered}
    assert set(result.delivered) == delivered
    assert set(result.undelivered) == undelivered
    assert len(result) == 10_000
    assert result.counts[Outcome.DELIVERED] + result.counts[Outcome.UNDELIVERED] == 10_000
    assert fake.credits()["Message"] == 1_000_000 - len(delivered)


async def test_invalid_and_duplicate_inputs_never_reach_the_service() -> None:
    """Malformed and repeated inputs are reported but never appear in any request."""
    fake = fake_service(numbers=NumberBook.everyone())
    phones = ["+98 910 000 0001", "not a phone", "+989100000001", "00989100000002", "12"]
    async with MioGram(secret=SECRET, transport=fake.transport()) as client:
        result = await client.send_message_mass(phones, "hello")
    assert dict(result) == {
        "+989100000001": Outcome.DELIVERED,
        "not a phone": Outcome.INVALID,
        "+989100000002": Outcome.DELIVERED,
        "12": Outcome.INVALID,
    }
    assert result.duplicates == 1
    sends = [record.elements["Phone"] for record in fake.requests if record.func != "APIGetRobot"]
    assert sends == ["+989100000001,+989100000002"]


async def test_faults_never_deliver_twice_and_every_input_has_one_outcome() -> None:
    """Under seeded faults no number is delivered twice and outcomes never overstate delivery."""
    faults = Faults.of(
        FaultRule(kind=FaultKind.CONNECT_ERROR, funcs="SendMessageMass", rate=0.08),
        FaultRule(kind=FaultKind.DROP, funcs="SendMessageMass", rate=0.05),
        FaultRule(kind=FaultKind.LOST_REPLY, funcs="SendMessageMass", rate=0.05),
        FaultRule(kind=FaultKind.TIMEOUT_AFTER, funcs="SendMessageMass", rate=0.05),
        FaultRule(kind=FaultKind.TRUNCATED_JSON, funcs="SendMessageMass", rate=0.05),
        FaultRule(kind=FaultKind.HTTP_ERROR, funcs="SendMessageMass", rate=0.05),
        FaultRule(kind=FaultKind.NO_RESPONSE, funcs="SendMessageMass", rate=0.05),
        FaultRule(kind=FaultKind.BAD_REQUEST, funcs="SendMessageMass", rate=0.05),
        seed=7,
    )
    fake = FakeMioGram(
        AccountConfig(secret=SECRET, agents=AGENTS, numbers=NumberBook.ratio(0.7, seed=1)),
        faults=faults,
    )
    phones = numbers(5_000)
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=2) as client:
        result = await client.send_message_mass(phones, "hello", robots="all")
    log = [delivery.number for delivery in fake.deliveries]
    assert len(log) == len(set(log))
    assert len(result) == 5_000
    assert sum(result.counts.values()) == 5_000
    assert set(result.delivered) <= set(log)
    # A number is delivered only if the client said DELIVERED or admitted it does not know.
    assert {n for n in log if result[n] not in (Outcome.DELIVERED, Outcome.UNKNOWN)} == set()
    assert not set(result.failed) & set(log)
    assert not set(result.undelivered) & set(log)
    assert set(result.errors) == set(result.failed) | set(result.unknown)
    # FAILED only where the error proves a refusal (the 302s); a 999 leaves its numbers UNKNOWN.
    assert all(proves_refusal(result.errors[n]) for n in result.failed)
    assert not any(isinstance(result.errors[n], NoResponseError) for n in result.failed)
    assert any(isinstance(result.errors[n], NoResponseError) for n in result.unknown)
    assert result.counts[Outcome.FAILED] > 0
    assert result.counts[Outcome.UNKNOWN] > 0


async def test_credit_running_out_stops_the_campaign() -> None:
    """Low credit mid-campaign raises MassSendError; delivered stay delivered, the rest unsent."""
    fake = fake_service(credits=CreditsConfig(message=450), numbers=NumberBook.everyone())
    fake.profile = "documented"  # documented profile: 306 for a Mass beyond credit (E42)
    phones = numbers(1_000)
    async with MioGram(secret=SECRET, transport=fake.transport()) as client:
        with pytest.raises(MassSendError) as caught:
            await client.send_message_mass(phones, "hello", chunk_size=100)
    result = caught.value.result
    # A small first chunk on each agent (the pace unknown, E49), then chunks of 100 until one
    # is beyond the credit left.
    sizes = layout(1_000, 100, agents=4)
    paid = max(total for total in itertools.accumulate(sizes) if total <= 450)
    chunks = next(i for i, total in enumerate(itertools.accumulate(sizes)) if total > 450) + 1
    assert isinstance(caught.value.cause, LowCreditError)
    assert result.delivered == phones[:paid]
    assert {delivery.number for delivery in fake.deliveries} == set(phones[:paid])
    assert result.failed == phones[paid : paid + sizes[chunks - 1]]
    assert result.not_attempted == phones[paid + sizes[chunks - 1] :]
    assert mass_phone_counts(fake) == sizes[:chunks]
    assert fake.credits()["Message"] == 450 - paid


async def test_in_flight_is_bounded_by_concurrency() -> None:
    """No more requests at once than the client's concurrency; a call's is capped."""
    fake = fake_service()
    fake.time_model = TimeModel(base_latency=0.002, serialize_agents=False)
    async with MioGram(secret=SECRET, transport=fake.transport(), concurrency=3) as client:
        await client.send_message_mass(numbers(2_000), "hello", concurrency=8)
    assert fake.max_in_flight == 3
    fake = fake_service()
    fake.time_model = TimeModel(base_latency=0.002, serialize_agents=False)
    async with MioGram(secret=SECRET, transport=fake.transport()) as client:
        await client.send_message_mass(numbers(2_000), "hello", concurrency=3)
    assert fake.max_in_flight == 1  # the default client's gate lets one chunk through at a time


async def test_agents_get_one_request_at_a_time() -> None:
    """With four agents, the fake sees at most one request per agent and four in all."""
    fake = fake_service()
    fake.time_model = TimeModel(base_latency=0.002)
    async with MioGram(secret=SECRET, transport=fake.transport(), concurrency=8) as client:
        await client.send_message_mass(numbers(2_000), "hello", robots=list(AGENTS))
    assert fake.max_in_flight_per_agent() == dict.fromkeys(AGENTS, 1)
    assert fake.max_in_flight <= 4
    assert {r.robot for r in fake.requests if r.func == "SendMessageMass"} == set(AGENTS)


def test_four_agents_run_four_at_once_only_on_opt_in() -> None:
    """
    Defaults: chunks rotate over the four agents one at a time. Opt-in: four at once, in a quarter.

    The fake's gateway keeps its timeline on the machine's monotonic clock, not the event loop's:
    under trio's MockClock each queued chunk's wait was measured from a clock that does not move,
    so the old timing of this test (6.1 s for 20 chunks expected to take 0.6 s) summed the
    queue's waits (0.03 s x (1 + 2 + ... + 20)). What is proven here is what each run put in
    flight; the time it saves is measured by benchmarks/bench_fanout.py.
    """
    fake = fake_service(numbers=NumberBook.everyone())
    fake.time_model = TimeModel(per_number=0.0003, serialize_agents=True)

    async def main() -> MassResult:
        async with MioGram(secret=SECRET, transport=fake.transport()) as client:
            return await client.send_message_mass(numbers(2_000), "hello")

    one = trio.run(main)
    sends = [r for r in fake.requests if r.func == "SendMessageMass"]
    # A small chunk on each agent (the pace unknown, E49), then chunks of 40.
    rotation = [AGENTS[index % 4] for index in range(len(layout(2_000, 40, agents=4)))]
    assert [r.robot for r in sends] == rotation
    assert fake.max_state_changing_in_flight == 1
    assert not fake.credit_file_corrupted
    assert one.counts[Outcome.DELIVERED] == 2_000

    fake = fake_service(numbers=NumberBook.everyone())
    fake.profile = "documented"  # documented profile: the opt-in to chunks in flight at once (E33)
    fake.time_model = TimeModel(per_number=0.0003, serialize_agents=True)

    async def opt_in() -> MassResult:
        async with MioGram(secret=SECRET, transport=fake.transport(), concurrency=4) as client:
            return await client.send_message_mass(numbers(2_000), "hello", chunk_size=100)

    four = trio.run(opt_in)
    assert four.counts[Outcome.DELIVERED] == 2_000
    assert fake.max_state_changing_in_flight == 4
    assert fake.max_in_flight_per_agent() == dict.fromkeys(AGENTS, 1)


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_cancelled_campaign_leaves_the_client_usable(backend: HttpBackend) -> None:
    """A caller cancel past the grace marks open chunks UNKNOWN; the next campaign still works."""
    fake = fake_service(numbers=NumberBook.everyone())
    fake.profile = "documented"  # documented profile: chunks in flight at once (E33)
    fake.time_model = TimeModel(per_number=0.003)
    journal = Journal()
    scope = anyio.CancelScope()
    first = numbers(2_000)
    async with (
        fake.serve() as url,
        MioGram(secret=SECRET, base_url=url, http_backend=backend) as client,
    ):

        async def send_chunk(chunk: Chunk) -> dict[str, bool]:
            return await client._session.request(
                BY_FUNC["SendMessageMass"],
                as_mass_map(chunk.numbers),
                {"phone": ",".join(chunk.numbers), "message": "hello"},
                robot=chunk.robot,
            )

        async def campaign() -> None:
            with scope:
                await fan_out(
                    first,
                    send_chunk,
                    normalize=normalize_phone,
                    options=MassOptions(concurrency=2, hooks=journal, cancel_grace=0.05),
                    robots=["A1", "A2"],
                )

        async with anyio.create_task_group() as group:
            group.start_soon(campaign)
            await journal.both_started.wait()
            scope.cancel()
        assert scope.cancelled_caught
        started = {n for chunk in journal.started for n in chunk.numbers}
        assert journal.outcomes == dict.fromkeys(started, Outcome.UNKNOWN)
        fake.time_model = TimeModel()
        second = await client.send_message_mass(numbers(300, prefix="+98912"), "again")
    assert second.counts[Outcome.DELIVERED] == 300
    assert {d.number for d in fake.deliveries if d.number in set(first)} <= started


async def test_cancelled_client_campaign_records_finished_chunks() -> None:
    """Cancelling send_message_mass lets chunks in flight finish (grace) before it propagates."""
    fake = fake_service(numbers=NumberBook.everyone())
    fake.time_model = TimeModel(base_latency=0.001)
    journal = Journal()
    seen: list[MassProgress] = []
    scope = anyio.CancelScope()

    def stop_after_two(progress: MassProgress) -> None:
        seen.append(progress)
        if progress.chunks_done == 2:
            scope.cancel()

    async with MioGram(secret=SECRET, transport=fake.transport()) as client:
        with scope:
            await client.send_message_mass(
                numbers(5_000),
                "hello",
                robots=list(AGENTS),
                hooks=journal,
                on_progress=stop_after_two,
            )
        assert scope.cancelled_caught
        again: MassResult = await client.send_message_mass(numbers(10, prefix="+98913"), "hi")
    delivered = {delivery.number for delivery in fake.deliveries}
    finished = {n for n, outcome in journal.outcomes.items() if outcome is Outcome.DELIVERED}
    assert finished == delivered - set(again)
    assert len(journal.started) < 50
    assert again.counts[Outcome.DELIVERED] == 10


def test_mass_send_through_the_client_under_trio() -> None:
    """The client's Mass send, fan-out and fake time model all run on the trio backend."""
    fake = fake_service()
    fake.time_model = TimeModel(base_latency=0.001)

    async def main() -> MassResult:
        async with MioGram(secret=SECRET, transport=fake.transport()) as client:
            return await client.send_message_mass(numbers(1_000), "hello", robots="all")

    result = trio.run(main)
    assert set(result.delivered) == {delivery.number for delivery in fake.deliveries}
    assert len(result) == 1_000
    assert fake.max_in_flight_per_agent() == dict.fromkeys(AGENTS, 1)
