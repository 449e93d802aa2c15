"""The fake at the service's real paces (E49): seeded per-number times, the timeline, inspection."""

from __future__ import annotations

import datetime
import itertools
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest

from miogram_async._http.options import DEFAULT_GATEWAY_DRAIN
from miogram_async.testing import (
    AccountConfig,
    FakeMioGram,
    FaultKind,
    FaultRule,
    Faults,
    GatewayWork,
    NumberBook,
    SlowSpells,
    TimeModel,
)

SECRET = "test-secret"
URL = "http://fake/dojob.php"
NO_RESPONSE = {"Message": "No Response From Server", "Status": "error", "Code": "999"}
TEHRAN = datetime.timezone(datetime.timedelta(hours=3, minutes=30))

Post = Callable[..., Awaitable[httpx.Response]]


def numbers(count: int, first: int = 0) -> list[str]:
    """*count* distinct well-formed numbers."""
    return [f"+98912{index:07d}" for index in range(first, first + count)]


@asynccontextmanager
async def wire(fake: FakeMioGram) -> AsyncIterator[Post]:
    """A function posting one form to *fake* in process."""
    async with httpx.AsyncClient(transport=fake.transport()) as http:

        async def post(**form: str) -> httpx.Response:
            return await http.post(URL, data={"Secret": SECRET, **form})

        yield post


def runs(flags: list[bool]) -> list[int]:
    """The lengths of the runs of true values in *flags*."""
    return [len(list(group)) for value, group in itertools.groupby(flags) if value]


def only(work: list[GatewayWork], func: str) -> list[GatewayWork]:
    """The gateway's work on requests of *func*."""
    return [item for item in work if item.func == func]


# -- the time model -------------------------------------------------------------------------


def test_the_existing_models_keep_their_times() -> None:
    """TimeModel() is instant and realistic(scale=) is 0.3 s a request, exactly 1 s a number."""
    assert TimeModel().pacer().draw("Agent1", 3) == [0.0, 0.0, 0.0]
    assert not TimeModel().varies
    model = TimeModel.realistic(scale=0.01)
    assert (model.base_latency, model.per_number, model.floor, model.jitter) == (0.3, 1.0, 1.0, 0)
    assert not model.varies
    assert model.pacer().draw("Agent1", 4) == [pytest.approx(0.01)] * 4
    assert model.front_wait_seconds() == pytest.approx(0.6)
    assert TimeModel(per_number=0.003).pacer().draw("A", 2) == [0.003, 0.003]


def test_realistic_takes_the_pace_and_jitter_in_one_call() -> None:
    """realistic(scale=0.01, pace=2.5, jitter=0.2): 25 ms a number on average, never under 10 ms."""
    model = TimeModel.realistic(scale=0.01, pace=2.5, jitter=0.2)
    assert (model.per_number, model.jitter, model.floor, model.scale) == (2.5, 0.2, 1.0, 0.01)
    draws = model.pacer().draw("Agent1", 4000)
    assert min(draws) >= 0.01
    assert statistics.fmean(draws) == pytest.approx(0.025, rel=0.02)
    assert len(set(draws)) == len(draws)
    assert TimeModel.realistic(pace=0.5).floor == 0.5  # never a floor above the asked pace


def test_draws_repeat_from_the_seed_whatever_the_order_of_agents() -> None:
    """Each agent has its own stream: interleaving agents changes nothing; another seed does."""
    model = TimeModel(
        per_number=2.0,
        jitter=0.3,
        agent_spread=0.2,
        slow_spells=SlowSpells(chance=0.05, length=5, factor=3.0),
        seed=11,
    )
    mixed = model.pacer()
    a_first = mixed.draw("A", 5)
    b_all = mixed.draw("B", 5)
    a_rest = mixed.draw("A", 5)
    straight = model.pacer()
    assert straight.draw("A", 10) == a_first + a_rest
    assert straight.draw("B", 5) == b_all
    other_seed = TimeModel(per_number=2.0, jitter=0.3, seed=12).pacer()
    assert other_seed.draw("A", 10) != a_first + a_rest


def test_jitter_keeps_the_mean_at_the_pace_and_spreads_by_its_ratio() -> None:
    """Log-normal draws: mean = the pace, relative spread = jitter, skewed slow, above the floor."""
    draws = TimeModel(per_number=2.0, jitter=0.25, seed=7).pacer().draw("A", 20_000)
    mean = statistics.fmean(draws)
    assert mean == pytest.approx(2.0, rel=0.01)
    assert statistics.stdev(draws) / mean == pytest.approx(0.25, rel=0.05)
    assert min(draws) > 0
    assert statistics.median(draws) < mean  # a long slow tail
    floored = TimeModel(per_number=2.0, jitter=0.25, floor=1.8, seed=7).pacer().draw("A", 2000)
    assert min(floored) == 1.8


def test_agents_differ_by_their_own_pace_or_a_seeded_spread() -> None:
    """agent_paces names an agent's pace; the others spread around per_number, per name."""
    model = TimeModel(per_number=2.0, agent_paces={"Slow": 3.0}, agent_spread=0.25, scale=0.01)
    assert model.agent_pace("Slow") == pytest.approx(0.03)
    spread = {name: model.agent_pace(name) for name in ("A1", "A2", "A3", "A4")}
    assert all(0.015 <= pace <= 0.025 for pace in spread.values())
    assert len(set(spread.values())) == 4
    same = TimeModel(per_number=2.0, agent_spread=0.25, scale=0.01)
    assert {name: same.agent_pace(name) for name in spread} == spread
    pacer = model.pacer()
    assert pacer.draw("Slow", 3) == [pytest.approx(0.03)] * 3
    assert pacer.draw("A2", 3) == [pytest.approx(spread["A2"])] * 3
    assert TimeModel(per_number=2.0, agent_spread=0.25, seed=1).agent_pace("A1") != (
        TimeModel(per_number=2.0, agent_spread=0.25, seed=2).agent_pace("A1")
    )


def test_slow_spells_come_in_runs_of_their_length_and_factor() -> None:
    """A spell makes `length` numbers in a row `factor` times slower; they start by chance."""
    spells = SlowSpells(chance=0.05, length=10, factor=4.0)
    draws = TimeModel(per_number=1.0, slow_spells=spells, seed=3).pacer().draw("A", 5000)
    assert set(draws) == {1.0, 4.0}
    slow = [value == 4.0 for value in draws]
    spell_runs = runs(slow)
    assert spell_runs
    # A run may end the moment the next spell starts; it is never cut short.
    assert all(length % 10 == 0 for length in spell_runs[:-1])
    # Free stretches of about 19 numbers between spells of 10: about a third is slow.
    assert 0.25 < sum(slow) / len(slow) < 0.45


@pytest.mark.parametrize(
    "build",
    [
        lambda: TimeModel(per_number=-1.0),
        lambda: TimeModel(jitter=-0.1),
        lambda: TimeModel(scale=float("inf")),
        lambda: TimeModel(agent_spread=1.0),
        lambda: TimeModel(agent_paces={"A": -2.0}),
        lambda: SlowSpells(chance=1.5, length=3, factor=2.0),
        lambda: SlowSpells(chance=0.1, length=0, factor=2.0),
        lambda: SlowSpells(chance=0.1, length=3, factor=0.5),
    ],
    ids=["pace", "jitter", "scale", "spread", "agent pace", "chance", "length", "factor"],
)
def test_impossible_time_models_are_refused(build: Callable[[], Any]) -> None:
    """Negative or infinite times, a spread of 100 % and spells that speed up are ValueErrors."""
    with pytest.raises(ValueError):  # noqa: PT011 - attrs words each message its own way
        build()


# -- the timeline ---------------------------------------------------------------------------


async def test_each_number_is_handed_over_at_its_own_drawn_moment() -> None:
    """A Mass hands its numbers over one after another, each after its own drawn time."""
    model = TimeModel(per_number=1.0, jitter=0.3, scale=0.002, seed=5)
    fake = FakeMioGram(time_model=model)
    chunk = numbers(20)
    async with wire(fake) as post:
        reply = await post(Func="SendMessageMass", Phone=",".join(chunk), Message="hi")
    assert reply.json()["Status"] == "checking"
    expected = model.pacer().draw("Agent1", 20)
    (work,) = fake.gateway_work
    handoffs = fake.handoffs
    assert [item.number for item in handoffs] == chunk == list(work.numbers) == list(work.handed)
    moments = [work.start] + [item.at for item in handoffs]
    assert [later - earlier for earlier, later in itertools.pairwise(moments)] == [
        pytest.approx(seconds, abs=1e-9) for seconds in expected
    ]
    assert work.end == handoffs[-1].at
    assert (work.finished, work.front_gave_up, work.died_after) == (True, False, None)
    assert all(item.delivered and item.agent == "Agent1" for item in handoffs)
    assert {item.username for item in handoffs} == {"tester"}


async def test_a_999_leaves_the_first_numbers_delivered_and_the_rest_later() -> None:
    """When the front gives up, the gateway has handed over a prefix; the rest follow, in order."""
    fake = FakeMioGram(time_model=TimeModel(per_number=1.0, jitter=0.2, scale=0.005, seed=2))
    chunk = numbers(100)  # about 0.5 s of work against a 0.3 s wait
    async with wire(fake) as post:
        reply = await post(Func="SendMessageMass", Phone=",".join(chunk), Message="late")
        at_the_999 = fake.handoffs
        (work,) = fake.gateway_work
    deadline = work.arrived + 0.3
    assert reply.json() == NO_RESPONSE
    assert (work.front_gave_up, work.end > deadline) == (True, True)
    assert [item.number for item in at_the_999] == chunk[: len(at_the_999)]
    assert [d.number for d in fake.deliveries] == chunk[: len(fake.deliveries)]
    await fake.wait_idle()
    handoffs = fake.handoffs
    assert [item.number for item in handoffs] == chunk
    by_the_999 = [item for item in handoffs if item.at <= deadline]
    assert 0 < len(by_the_999) < 100
    assert len(at_the_999) >= len(by_the_999)  # the front's 999 came after they were delivered
    assert fake.gateway_work[0].finished
    assert fake.credits()["Message"] == 1_000_000  # nothing charged after a 999


async def test_reads_wait_for_the_agent_and_take_one_numbers_time() -> None:
    """GetHistory and GetUserInfo queue behind the agent's Mass, then take one number's time."""
    model = TimeModel(per_number=1.0, scale=0.004)
    fake = FakeMioGram(time_model=model)
    phone = ",".join(numbers(20))
    async with wire(fake) as post, anyio.create_task_group() as group:

        async def send_mass() -> None:
            await post(Func="SendMessageMass", Phone=phone, Message="m")

        group.start_soon(send_mass)
        with anyio.fail_after(5):
            while not fake.gateway_busy:  # noqa: ASYNC110 - polling the fake's state
                await anyio.sleep(0.001)
        await post(Func="GetHistory", Phone=numbers(1)[0], Misc="10,0")
        await post(Func="GetUserInfo", Phone=numbers(1)[0])
    mass, history, info = fake.gateway_work
    # It came while the Mass ran (unless the machine stalled), and the agent took it after.
    assert history.start == pytest.approx(max(history.arrived, mass.end), abs=1e-9)
    assert history.start >= mass.end
    assert info.start >= history.end  # sent after the history came back
    assert history.end - history.start == pytest.approx(0.004, abs=1e-9)
    assert info.end - info.start == pytest.approx(0.004, abs=1e-9)
    assert history.numbers == info.numbers == (numbers(1)[0],)
    assert fake.max_state_changing_in_flight == 1  # reads are not state-changing
    assert not fake.credit_file_corrupted  # and write nothing to the credit file


async def test_gateway_busy_seconds_count_the_work_and_not_the_idle_time() -> None:
    """busy seconds: the gateway's work, once however many agents, bounded by since/until."""
    fake = FakeMioGram(
        AccountConfig(agents=("A", "B")),
        time_model=TimeModel(per_number=1.0, scale=0.005),
        shared_credit_file=False,
    )
    async with wire(fake) as post:
        began = time.monotonic()
        await post(Func="SendMessageMass", Phone=",".join(numbers(10)), Message="1", Robot="A")
        await anyio.sleep(0.05)
        middle = time.monotonic()
        phone = ",".join(numbers(10, first=100))

        async def mass(robot: str) -> None:
            await post(Func="SendMessageMass", Phone=phone, Message="2", Robot=robot)

        async with anyio.create_task_group() as group:
            group.start_soon(mass, "A")
            with anyio.fail_after(5):
                while not fake.gateway_busy:  # noqa: ASYNC110 - polling the fake's state
                    await anyio.sleep(0.001)
            await mass("B")  # B starts while A's Mass is still at work
    first, *parallel = fake.gateway_work
    assert fake.gateway_busy_seconds("A") == pytest.approx(0.1, abs=1e-9)
    assert fake.gateway_busy_seconds("B") == pytest.approx(0.05, abs=1e-9)
    overlap = min(w.end for w in parallel) - max(w.start for w in parallel)
    assert overlap > 0
    assert fake.gateway_busy_seconds() == pytest.approx(0.15 - overlap, abs=1e-9)
    assert fake.gateway_busy_seconds(since=middle) == pytest.approx(0.1 - overlap, abs=1e-9)
    assert fake.gateway_busy_seconds(until=middle) == pytest.approx(0.05, abs=1e-9)
    assert first.start >= began


# -- the gateway dies part way --------------------------------------------------------------


@pytest.mark.parametrize("profile", ["server", "documented"])
async def test_a_gateway_that_dies_hands_over_only_its_first_numbers(profile: str) -> None:
    """GATEWAY_DIES: k numbers delivered, the rest never sent, 999 at once, nothing charged."""
    fake = FakeMioGram(
        time_model=TimeModel(per_number=1.0, scale=0.01),
        faults=Faults.of(
            FaultRule(kind=FaultKind.GATEWAY_DIES, funcs={"SendMessageMass"}, handed=4, times=1)
        ),
        profile=profile,
    )
    chunk = numbers(10)
    async with wire(fake) as post:
        died = await post(Func="SendMessageMass", Phone=",".join(chunk), Message="x")
        after = await post(Func="SendMessageMass", Phone=",".join(numbers(3, 50)), Message="y")
    await fake.wait_idle()
    assert died.json() == NO_RESPONSE
    assert after.json()["Status"] == "checking"
    first, second = fake.gateway_work
    assert (first.died_after, first.front_gave_up, first.finished) == (4, True, True)
    assert first.handed == tuple(chunk[:4])
    assert first.end - first.start == pytest.approx(0.04, abs=1e-9)  # it died at its 4th number
    # The agent was free from the death on, not after the 10 numbers the Mass had.
    assert second.start == pytest.approx(max(second.arrived, first.end), abs=1e-9)
    delivered = [d.number for d in fake.deliveries if d.request_index == first.request_index]
    assert delivered == chunk[:4]
    assert [h.number for h in fake.handoffs if h.request_index == first.request_index] == chunk[:4]
    assert [d.text for d in fake.deliveries] == ["x"] * 4 + ["y"] * 3
    assert fake.credits()["Message"] == 1_000_000 - 3
    assert [record["DATA"] for record in fake.reports()] == ["y"]
    assert not fake.credit_file_corrupted
    assert [r.fault for r in fake.requests] == ["gateway_dies", None]


async def test_a_gateway_that_dies_after_the_fronts_wait_still_stops_there() -> None:
    """The front gives up first (999); the gateway goes on to its k-th number and no further."""
    fake = FakeMioGram(
        time_model=TimeModel(per_number=1.0, scale=0.005),
        faults=Faults.of(FaultRule(kind=FaultKind.GATEWAY_DIES, handed=80)),
    )
    chunk = numbers(100)  # the front waits 0.3 s: 60 numbers; the gateway dies at 80
    async with wire(fake) as post:
        reply = await post(Func="SendMessageMass", Phone=",".join(chunk), Message="z")
    await fake.wait_idle()
    assert reply.json() == NO_RESPONSE
    (work,) = fake.gateway_work
    assert work.end > work.arrived + 0.3  # it died after the front had given up
    assert 0 < len([h for h in fake.handoffs if h.at <= work.arrived + 0.3]) < 80
    assert (work.died_after, len(work.handed), work.finished) == (80, 80, True)
    assert [d.number for d in fake.deliveries] == chunk[:80]
    assert not set(chunk[80:]) & {h.number for h in fake.handoffs}


async def test_a_single_send_can_die_before_or_after_its_number() -> None:
    """handed=0: nothing sent; handed=1: the message is delivered, and still no reply but 999."""
    fake = FakeMioGram(
        faults=Faults.of(
            FaultRule(kind=FaultKind.GATEWAY_DIES, funcs={"SendMessage"}, handed=0, times=1),
            FaultRule(kind=FaultKind.GATEWAY_DIES, funcs={"SendPhoto"}, handed=1, times=1),
        )
    )
    async with wire(fake) as post:
        text = await post(Func="SendMessage", Phone=numbers(1)[0], Message="never")
        photo = await post(Func="SendPhoto", Phone=numbers(1)[0], Data="iVBORw0K")
        reads = await post(Func="APIGetCredits")
    assert text.json() == photo.json() == NO_RESPONSE
    assert [(d.func, d.number) for d in fake.deliveries] == [("SendPhoto", numbers(1)[0])]
    assert reads.json()["Status"] == "checking"
    assert fake.credits()["Photo"] == 1_000_000


# -- the service's clock and the client -----------------------------------------------------


async def test_the_service_clock_offset_dates_reports_and_history() -> None:
    """clock_offset moves report times (E9) and history dates (E50), never the test's clock."""
    fake = FakeMioGram(AccountConfig(numbers=NumberBook.everyone()), clock_offset=-7200.0)
    async with wire(fake) as post:
        before = time.time() - 7200
        await post(Func="SendMessage", Phone=numbers(1)[0], Message="dated")
        after = time.time() - 7200
        fake.clock_offset = 3600.0
        await post(Func="SendMessage", Phone=numbers(1)[0], Message="later")
    (record, later) = fake.reports()
    stamp = datetime.datetime.strptime(f"{record['DATE']} {record['TIME']}", "%Y-%m-%d %H:%M:%S")
    when = stamp.replace(tzinfo=TEHRAN).timestamp()
    assert int(before) <= when <= after
    first, second = fake.agent("Agent1").history[numbers(1)[0][1:]]
    assert int(before) <= first.date <= after
    assert second.date >= int(after) + 7200 + 3600 - 1
    assert fake.handoffs[0].date == pytest.approx(first.date, abs=1)
    assert fake.clock_offset == 3600.0
    assert fake.service_time() == pytest.approx(time.time() + 3600, abs=1)
    assert later["DATA"] == "later"
    fake.reset()
    assert fake.clock_offset == 3600.0


async def test_the_fake_client_hands_over_its_front_wait_and_not_its_pace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """fake.client() sets front_wait from the time model; the drain is left to the SDK's own."""
    monkeypatch.delenv("MIOGRAM_GATEWAY_DRAIN", raising=False)
    fake = FakeMioGram(time_model=TimeModel.realistic(scale=0.01, pace=2.0, jitter=0.2))
    async with fake.client() as scaled:
        assert scaled._session.front_wait == pytest.approx(0.6)
        assert scaled._session.gateway_drain == DEFAULT_GATEWAY_DRAIN == 0.0
        assert scaled._session.pace.paces() == {}  # nothing of the fake's pace is known
