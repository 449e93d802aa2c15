"""Chunks sized from the gateway's measured pace and the drain that follows it (issue 18, E49)."""

from __future__ import annotations

import itertools
import logging
import math
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
from chunk_layout import first_chunk
from postgres_support import campaign_url

from miogram_async import MassProgress, MassSendError, MioGram, NoResponseError, Outcome
from miogram_async._gates.base import LocalSendGate
from miogram_async._http.pace import (
    DRAIN_MARGIN,
    NEW_AGENT_MARGIN,
    PLAN_SHARE,
    SLOW_PACE_SHARE,
    GatewayPace,
)
from miogram_async.campaign import Campaign, NumberState
from miogram_async.campaign._pace import paces_from_text
from miogram_async.campaign.storage import Journal, PostgresJournal
from miogram_async.testing import (
    AccountConfig,
    CreditsConfig,
    FakeMioGram,
    GatewayWork,
    NumberBook,
    TimeModel,
)

SECRET = "pace-secret"
AGENTS = ("A1", "A2", "A3", "A4")
NO_RESPONSE = {"Status": "error", "Code": "999", "Message": "No Response From Server"}


def numbers(count: int, prefix: str = "+98912") -> list[str]:
    """*count* distinct well-formed numbers."""
    return [f"{prefix}{i:07d}" for i in range(count)]


def server_fake(time_model: TimeModel, *, agents: tuple[str, ...] = AGENTS) -> FakeMioGram:
    """The fake in its server profile (E32, E33), every number exists."""
    fake = FakeMioGram(
        AccountConfig(secret=SECRET, agents=agents, numbers=NumberBook.everyone()),
        time_model=time_model,
    )
    assert fake.profile == "server"
    return fake


def mass_work(fake: FakeMioGram) -> list[GatewayWork]:
    """The gateway's work on Mass sends, in arrival order."""
    return [work for work in fake.gateway_work if work.func == "SendMessageMass"]


def delivered_once(fake: FakeMioGram, expected: list[str]) -> bool:
    """Whether the fake delivered each of *expected* exactly once and nothing else."""
    return Counter(delivery.number for delivery in fake.deliveries) == Counter(expected)


def never_overlapped(fake: FakeMioGram) -> bool:
    """Whether the gateway never started a request before it had finished the one before."""
    work = sorted(fake.gateway_work, key=lambda item: item.start)
    return all(later.start >= earlier.end for earlier, later in itertools.pairwise(work))


class RecordingGate:
    """A send gate that notes the drain of every release, without waiting it out."""

    def __init__(self) -> None:
        self.drains: list[float] = []
        self._gate = LocalSendGate()

    async def acquire(self) -> float:
        return await self._gate.acquire()

    async def release(self, busy_for: float) -> None:
        self.drains.append(busy_for)
        await self._gate.release(0.0)


def answering(body: Mapping[str, object] | None = None) -> httpx.MockTransport:
    """Mass chunks get *body* (default: every number delivered); APIGetRobot names A1."""

    def handler(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        if form["Func"] == "APIGetRobot":
            return httpx.Response(200, json={"Result": "A1", "Status": "ok"})
        if body is not None:
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={"Result": dict.fromkeys(form["Phone"].split(","), 1)})

    return httpx.MockTransport(handler)


# -- the pace store, fed by hand ------------------------------------------------------------------

#: A front's wait of 60 s: chunks take PLAN_SHARE of it.
WAIT = 60.0


def fits(pace: float) -> int:
    """How many numbers at *pace* seconds each take PLAN_SHARE of the front's wait."""
    return math.floor(PLAN_SHARE * WAIT / pace)


FIRST = fits(SLOW_PACE_SHARE * WAIT)  # an agent's first chunk, its pace unknown


def test_the_first_chunk_is_sized_for_a_slow_pace_and_the_next_for_the_measured_one() -> None:
    """Unknown pace: PLAN_SHARE of front_wait at the assumed slow pace; then at the measured one."""
    pace = GatewayPace()
    first = pace.chunk_size("A1", 40, WAIT)
    assert first == FIRST == math.floor(PLAN_SHARE / SLOW_PACE_SHARE)
    assert 1 < first < 10  # small
    assert pace.pace("A1") is None
    assert pace.answered("A1", first, first * 1.0) == pytest.approx(1.0)  # 1 s a number
    assert pace.chunk_size("A1", 40, WAIT) == fits(1.0) > first
    assert pace.chunk_size("A1", 10, WAIT) == 10  # the caller's chunk_size stays the bound
    assert pace.chunk_size("A1", 40, WAIT / 100) == 1  # the same pace against a faster front
    assert pace.paces() == {"A1": pytest.approx(1.0)}


def test_sizes_follow_each_agents_own_pace_and_a_new_agent_starts_small() -> None:
    """A1 at 1 s and A2 at 3 s a number get different sizes; an unmeasured A3 starts small."""
    pace = GatewayPace()
    pace.answered("A1", 4, 4.0)
    pace.answered("A2", 4, 12.0)
    assert pace.chunk_size("A1", 40, WAIT) == fits(1.0)
    assert pace.chunk_size("A2", 40, WAIT) == fits(3.0) < fits(1.0)
    assert pace.chunk_size("A3", 40, WAIT) == min(FIRST, fits(NEW_AGENT_MARGIN * 3.0))
    pace.answered("A2", 4, 4.0)  # A2 at 1 s too: the slow pace assumed decides A3's first chunk
    pace.answered("A2", 4, 4.0)
    pace.answered("A2", 4, 4.0)
    pace.answered("A2", 4, 4.0)
    pace.answered("A2", 4, 4.0)
    assert pace.chunk_size("A4", 40, WAIT) == FIRST
    assert pace.chunk_size(None, 40, WAIT) == FIRST  # the account's first agent, unmeasured
    pace.answered(None, 10, 10.0)
    assert pace.pace("") == pace.pace(None) == pytest.approx(1.0)
    pace.first_agent = "A1"  # once APIGetRobot names it, no agent named is the first one
    assert pace.pace(None) == pace.pace("A1")


def test_a_slower_chunk_shrinks_the_next_at_once_and_noise_is_averaged() -> None:
    """The next chunk plans with the largest of the recent mean and the latest chunk's pace."""
    pace = GatewayPace()
    for _ in range(4):
        pace.answered("A1", 18, 18.0)  # 1.0 s a number
    pace.answered("A1", 18, 36.0)  # 2.0 s a number: a slow spell begins
    assert pace.chunk_size("A1", 40, WAIT) == fits(2.0)  # at the latest chunk's pace, not the mean
    assert pace.pace("A1") == pytest.approx(1.2)  # the mean of the recent chunks
    pace.answered("A1", 9, 9.0)  # back to 1.0: the mean still holds the slow chunk
    mean = pace.pace("A1")
    assert mean is not None
    assert 1.0 < mean < 2.0
    assert pace.chunk_size("A1", 40, WAIT) == fits(mean)


def test_a_999_at_the_fronts_wait_shrinks_the_agents_chunks_to_what_it_proves() -> None:
    """18 numbers unanswered after 60 s prove more than 3.3 s a number: the next chunk shrinks."""
    pace = GatewayPace()
    pace.answered("A1", 4, 4.0)
    sent = pace.chunk_size("A1", 40, WAIT)
    assert sent == fits(1.0)
    assert pace.overran("A1", sent, WAIT) == pytest.approx(WAIT / sent)
    assert pace.chunk_size("A1", 40, WAIT) == fits(WAIT / sent) == math.floor(PLAN_SHARE * sent)
    # Another agent is not this one: it starts small, smaller still beside an agent this slow.
    assert pace.chunk_size("A2", 40, WAIT) == min(FIRST, fits(NEW_AGENT_MARGIN * WAIT / sent))
    pace.answered("A1", 5, 5.0)  # the spell is over: the answer replaces the bound
    assert pace.chunk_size("A1", 40, WAIT) == fits(1.0)


def test_the_drain_follows_the_slowest_pace_seen_and_a_slow_one_before_any() -> None:
    """Nothing measured: the slow pace assumed; then the slowest seen, a 999's bound included."""
    pace = GatewayPace()
    slow = SLOW_PACE_SHARE * WAIT
    assert pace.drain("A1", 4, WAIT) == pytest.approx(4 * DRAIN_MARGIN * slow)  # 40 s
    assert pace.drain("A1", 1, WAIT) == pytest.approx(DRAIN_MARGIN * slow)  # a single send
    pace.answered("A1", 4, 4.0)
    pace.answered("A2", 8, 24.0)
    assert pace.drain("A1", 24, WAIT) == pytest.approx(24 * DRAIN_MARGIN * 3.0)
    assert pace.drain("A3", 1, WAIT) == pytest.approx(DRAIN_MARGIN * max(slow, 3.0))
    pace.overran("A1", 24, 120.0)  # 5 s a number at least
    assert pace.drain("A1", 24, WAIT) == pytest.approx(24 * DRAIN_MARGIN * 5.0)
    pace.answered("A1", 9, 9.0)
    assert pace.drain("A1", 24, WAIT) == pytest.approx(24 * DRAIN_MARGIN * 5.0)  # never forgotten


def test_latency_is_taken_off_a_chunks_round_trip_but_never_more_than_half() -> None:
    """A request naming no number measures the latency; a chunk's pace is what is left of it."""
    pace = GatewayPace()
    pace.round_trip(0.5)
    pace.round_trip(0.3)
    assert pace.latency == 0.3
    assert pace.answered("A1", 4, 4.3) == pytest.approx(1.0)
    assert pace.answered("A2", 1, 0.4) == pytest.approx(0.2)  # half of 0.4, not 0.1


def test_adopted_paces_start_where_nothing_is_measured() -> None:
    """A journal's paces size the first chunks; a pace measured on this client wins."""
    pace = GatewayPace()
    pace.answered("A1", 4, 8.0)
    pace.adopt({"A1": 1.0, "A2": 3.0, "A3": -1.0, "A4": float("nan")})
    assert pace.chunk_size("A1", 40, WAIT) == fits(2.0)  # its own 2.0 s a number
    assert pace.chunk_size("A2", 40, WAIT) == fits(3.0)
    assert set(pace.paces()) == {"A1", "A2"}


# -- through the client -----------------------------------------------------------------------


async def test_a_default_mass_send_starts_small_and_reports_the_pace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each agent's first chunk is small; later ones grow to the pace; progress and logs show it."""
    fake = server_fake(TimeModel.realistic(scale=0.005, pace=1.0))
    front_wait = fake.time_model.front_wait_seconds()
    seen: list[MassProgress] = []
    caplog.set_level(logging.DEBUG, logger="miogram_async")
    async with fake.client() as client:
        result = await client.send_message_mass(numbers(120), "hi", on_progress=seen.append)
    sizes = [len(work.numbers) for work in mass_work(fake)]
    first = first_chunk(40, front_wait)
    assert sizes[0] == first
    assert max(sizes[:4]) <= first  # every agent's first chunk is small
    assert max(sizes[4:]) > first  # the measured pace (1 s) lets later chunks grow
    assert result.counts[Outcome.DELIVERED] == 120
    reported = [snapshot.chunk_size for snapshot in seen]
    assert reported[:-1] == sizes[:-1]  # the size each chunk was given
    assert reported[-1] is not None
    assert reported[-1] >= sizes[-1]  # the last one carries what was left
    assert all(snapshot.pace is not None and snapshot.pace > 0 for snapshot in seen)
    assert "numbers for agent A1" in caplog.text
    assert "s per number" in caplog.text


async def test_a_second_send_and_a_view_start_from_what_the_first_learnt() -> None:
    """The pace lives at the client's root: a later send and a with_options view reuse it."""
    fake = server_fake(TimeModel.realistic(scale=0.005, pace=1.0), agents=("A1",))
    async with fake.client() as client:
        await client.send_message_mass(numbers(30), "one")
        view = client.with_options(robot="A1", max_retries=0)
        assert view._session.pace is client._session.pace
        await view.send_message_mass(numbers(30, "+98913"), "two")
    first, second = (
        [len(w.numbers) for w in mass_work(fake) if w.numbers[0].startswith(prefix)]
        for prefix in ("+98912", "+98913")
    )
    assert first[0] == first_chunk(40, fake.time_model.front_wait_seconds())
    assert second[0] > first[0]  # no small first chunk again


async def test_sizes_adapt_per_agent_to_each_ones_pace() -> None:
    """A gateway agent at 3 s a number gets chunks a third the size of one at 1 s."""
    model = TimeModel.realistic(scale=0.005, pace=1.0, agent_paces={"A1": 1.0, "A2": 3.0})
    fake = server_fake(model, agents=("A1", "A2"))
    async with fake.client() as client:
        result = await client.send_message_mass(numbers(120), "hi")
    by_agent = {
        agent: [len(w.numbers) for w in mass_work(fake) if w.agent == agent][1:]
        for agent in ("A1", "A2")
    }
    assert result.counts[Outcome.DELIVERED] == 120
    assert min(by_agent["A1"][:-1]) > max(by_agent["A2"][:-1])
    assert not any(work.front_gave_up for work in mass_work(fake))


async def test_a_999_shrinks_the_next_chunk_at_once_and_the_drain_outlasts_the_gateway() -> None:
    """The gateway slows four-fold: one chunk gets 999, the next is sized from what it proved."""
    fake = server_fake(TimeModel.realistic(scale=0.005, pace=1.0), agents=("A1",))
    async with fake.client() as client:
        await client.send_message_mass(numbers(30), "learn")  # the pace: 1 s a number
        fake.time_model = TimeModel.realistic(scale=0.005, pace=4.0)
        targets = numbers(40, "+98913")
        result = await client.send_message_mass(targets, "slow")
    await fake.wait_idle()
    slow = [w for w in mass_work(fake) if w.numbers[0].startswith("+98913")]
    sizes = [len(work.numbers) for work in slow]
    assert slow[0].front_gave_up
    assert not any(work.front_gave_up for work in slow[1:])
    assert 1 <= sizes[1] <= PLAN_SHARE * sizes[0]  # shrunk at once, to the 999's bound
    assert result.unknown == targets[: sizes[0]]
    assert result.counts[Outcome.DELIVERED] == 40 - sizes[0]
    assert never_overlapped(fake)
    assert not fake.credit_file_corrupted
    assert delivered_once(fake, numbers(30) + targets)


@pytest.mark.parametrize("gateway_pace", [2.0, 3.0])
async def test_the_sdks_own_defaults_keep_a_slow_gateway_whole(gateway_pace: float) -> None:
    """At 2 and 3 s a number (E49) a default send gets every answer and never breaks the file."""
    fake = server_fake(TimeModel.realistic(scale=0.005, pace=gateway_pace, jitter=0.2, seed=3))
    targets = numbers(200)
    async with fake.client() as client:  # nothing of the fake's pace: only its front wait
        result = await client.send_message_mass(targets, "hello")
    await fake.wait_idle()
    assert client._session.gateway_drain == 0.0
    assert result.counts[Outcome.DELIVERED] == 200
    assert fake.max_state_changing_in_flight == 1
    assert never_overlapped(fake)
    assert not fake.credit_file_corrupted
    assert delivered_once(fake, targets)


async def test_the_drain_before_any_pace_is_known_outlasts_a_slow_gateway() -> None:
    """Every chunk's reply is cut off (no pace measured): the assumed slow pace keeps them apart."""
    fake = server_fake(TimeModel.realistic(scale=0.01, pace=3.0), agents=("A1", "A2"))
    first = first_chunk(40, fake.time_model.front_wait_seconds())
    targets = numbers(5 * first)
    async with fake.client() as client:
        # The client stops reading half way through a chunk (30 ms a number); the gateway goes on.
        result = await client.send_message_mass(targets, "hello", timeout=first * 0.015)
    await fake.wait_idle()
    assert set(result.values()) == {Outcome.UNKNOWN}
    assert client._session.pace.paces() == {}
    assert [len(work.numbers) for work in mass_work(fake)] == [first] * 5
    assert never_overlapped(fake)
    assert not fake.credit_file_corrupted
    assert delivered_once(fake, targets)


async def test_an_explicit_gateway_drain_is_a_lower_bound_never_the_estimate() -> None:
    """gateway_drain above the client's estimate lengthens the drain; below it changes nothing."""
    drains: dict[float, list[float]] = {}
    for given in (0.001, 20.0):
        gate = RecordingGate()
        async with MioGram(
            SECRET,
            robot="A1",
            transport=answering(NO_RESPONSE),
            send_gate=gate,
            front_wait=60.0,
            gateway_drain=given,
        ) as client:
            result = await client.send_message_mass(numbers(FIRST), "hi")
            with pytest.raises(NoResponseError):
                await client.send_message(numbers(1)[0], "hi")
        assert set(result.values()) == {Outcome.UNKNOWN}
        drains[given] = gate.drains
    own = DRAIN_MARGIN * SLOW_PACE_SHARE * 60.0  # 10 s a number while nothing is measured
    # Two requests each: one chunk and a single send of 1, drained from their start.
    assert drains[0.001] == [pytest.approx(FIRST * own, abs=0.5), pytest.approx(own, abs=0.5)]
    assert drains[20.0] == [pytest.approx(FIRST * 20.0, abs=0.5), pytest.approx(20.0, abs=0.5)]


# -- the campaign's journal -------------------------------------------------------------------


async def test_a_campaign_keeps_its_pace_and_a_resume_starts_from_it(tmp_path: Path) -> None:
    """The first run stops on credit; a resume on a fresh client sizes its first chunk from it."""
    fake = FakeMioGram(
        AccountConfig(
            secret=SECRET,
            agents=("A1",),
            numbers=NumberBook.everyone(),
            credits=CreditsConfig(message=50),
        ),
        time_model=TimeModel.realistic(scale=0.005, pace=1.0),
    )
    front_wait = fake.time_model.front_wait_seconds()
    path = tmp_path / "c.sqlite"
    Campaign.create(path, numbers(120), message="hi").close()
    with Campaign.open(path) as campaign:
        async with fake.client() as client:
            with pytest.raises(MassSendError):
                await campaign.run(client)
        stopped = campaign.status()
    journal = Journal.open(path, read_only=True)
    kept = journal.pace()
    journal.close()
    assert kept is not None
    measured = GatewayPace()
    measured.adopt(paces_from_text(kept))
    assert set(measured.paces()) == {"A1"}
    expected = measured.chunk_size("A1", 40, front_wait)
    assert expected > first_chunk(40, front_wait)
    fake.account().credits["Message"] = 1_000
    before = len(mass_work(fake))
    with Campaign.open(path) as campaign:
        async with fake.client() as fresh:
            resumed = await campaign.run(fresh)
    assert stopped.pending > 0
    assert resumed.complete
    assert len(mass_work(fake)[before].numbers) == expected


def test_the_postgres_journal_keeps_the_pace_too(postgres_url: str) -> None:
    """set_pace/pace round-trip in a PostgreSQL campaign, replacing the last value."""
    url = campaign_url(postgres_url, "pace")
    Campaign.create(url, numbers(3), message="hi").close()
    journal = PostgresJournal.open(url)
    try:
        assert journal.pace() is None
        journal.set_pace('{"A1": 2.0}')
        journal.set_pace('{"A1": 2.5, "A2": 1.5}')
        assert journal.pace() == '{"A1": 2.5, "A2": 1.5}'
    finally:
        journal.close()
    with Campaign.open(url, read_only=True) as campaign:
        assert campaign.status().by_state[NumberState.PENDING] == 3  # the settings still read
