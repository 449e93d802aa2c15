"""One state-changing request in flight per client (docs/service.md E33), the drain after an unknown
outcome (E32), agents rotated and checked, against the fake in its server profile."""

from __future__ import annotations

import logging
from collections import Counter

import anyio
import pytest
import trio
from chunk_layout import layout
from trio.testing import MockClock

from miogram_async import (
    MassProgress,
    MassSendError,
    MioGram,
    Outcome,
    ValidationError,
)
from miogram_async._gates.base import LocalSendGate, SendGate
from miogram_async.testing import AccountConfig, FakeMioGram, NumberBook, TimeModel

SECRET = "gate-secret"
AGENTS = ("A1", "A2", "A3", "A4")


def numbers(count: int, *, prefix: str = "+98910") -> list[str]:
    """*count* distinct well-formed numbers."""
    return [f"{prefix}{i:07d}" for i in range(count)]


def server_fake(time_model: TimeModel) -> FakeMioGram:
    """The fake in its server profile (E32, E33 modelled), four agents, every number exists."""
    fake = FakeMioGram(
        AccountConfig(secret=SECRET, agents=AGENTS, numbers=NumberBook.everyone()),
        time_model=time_model,
    )
    assert fake.profile == "server"
    return fake


def delivered_once(fake: FakeMioGram, expected: list[str]) -> bool:
    """Whether the fake delivered each of *expected* exactly once and nothing else."""
    counts = Counter(delivery.number for delivery in fake.deliveries)
    return counts == Counter(expected)


def test_the_local_gate_is_a_send_gate_and_holds_closed_for_a_drain() -> None:
    """One slot; after release(busy_for) the next acquire waits that long (virtual clock)."""

    async def main() -> tuple[float, float, float]:
        gate = LocalSendGate()
        assert isinstance(gate, SendGate)
        first = await gate.acquire()
        await gate.release(2.5)
        began = anyio.current_time()
        second = await gate.acquire()
        drained = anyio.current_time() - began
        await gate.release(0.0)
        return first, second, drained

    first, second, drained = trio.run(main, clock=MockClock(autojump_threshold=0))
    assert first == 0.0
    assert second == pytest.approx(2.5)
    assert drained == pytest.approx(2.5)


async def test_two_hundred_concurrent_single_sends_go_one_at_a_time() -> None:
    """200 tasks sharing a default client: the fake never sees two sends at once, nothing breaks."""
    fake = server_fake(TimeModel(base_latency=0.001, per_number=0.001))
    targets = numbers(200)
    async with fake.client() as client, anyio.create_task_group() as group:
        for number in targets:
            group.start_soon(client.send_message, number, "hello")
    await fake.wait_idle()
    assert fake.max_state_changing_in_flight == 1
    assert not fake.credit_file_corrupted
    assert delivered_once(fake, targets)


async def test_reads_are_not_held_by_the_gate() -> None:
    """A read goes out while a send holds the gate: the gate is for state-changing requests."""
    fake = server_fake(TimeModel(per_number=0.05))
    async with fake.client() as client, anyio.create_task_group() as group:
        group.start_soon(client.send_message, numbers(1)[0], "hello")
        await anyio.sleep(0.01)
        assert client._session.gate.in_use == 1  # type: ignore[attr-defined]
        assert await client.api_get_robot() == list(AGENTS)
        assert client._session.gate.in_use == 1  # type: ignore[attr-defined]
    assert fake.funcs().count("APIGetRobot") == 1


async def test_ten_thousand_numbers_go_one_chunk_at_a_time_over_every_agent() -> None:
    """A default Mass send of 10,000 numbers: one request in flight, agents rotated, no breakage."""
    # A gateway 10,000 times faster than the real one, its front still waiting 10 s: overlapping
    # chunks would break the credit file (E33), and every chunk fits the front's wait.
    fake = server_fake(TimeModel(base_latency=0.00003, per_number=0.0001, front_wait=10.0))
    targets = numbers(10_000)
    async with fake.client() as client:
        result = await client.send_message_mass(targets, "hello")
    await fake.wait_idle()
    assert fake.max_state_changing_in_flight == 1
    assert not fake.credit_file_corrupted
    assert result.counts[Outcome.DELIVERED] == 10_000
    assert delivered_once(fake, targets)
    sends = [record for record in fake.requests if record.func == "SendMessageMass"]
    # A small chunk on each agent while its pace is unknown (E49), then chunks of 40 (E48).
    assert [len(record.elements["Phone"].split(",")) for record in sends] == layout(
        10_000, 40, agents=4
    )
    assert [record.robot for record in sends[:8]] == list(AGENTS) * 2
    assert fake.funcs().count("APIGetRobot") == 1


async def test_the_opt_in_to_parallel_sends_breaks_the_credit_file_as_e33_says() -> None:
    """concurrency=4: the fake sees four sends at once, and its shared credit file breaks."""
    fake = server_fake(TimeModel.realistic(scale=0.001))
    async with fake.client(concurrency=4) as client:
        with pytest.raises(MassSendError, match="306") as caught:  # the broken file's Low Credit
            await client.send_message_mass(numbers(400), "hello", chunk_size=10)
    await fake.wait_idle()
    assert fake.max_state_changing_in_flight == 4
    assert fake.credit_file_corrupted
    assert caught.value.result.counts[Outcome.NOT_ATTEMPTED] > 0


async def test_unknown_agents_in_robots_are_refused_naming_both_lists() -> None:
    """robots=['A1', 'Agnet2'] is a ValidationError naming the unknown and the known agents."""
    fake = server_fake(TimeModel())
    async with fake.client() as client:
        with pytest.raises(ValidationError, match=r"Agnet2.*A1, A2, A3, A4") as caught:
            await client.send_message_mass(numbers(5), "hi", robots=["A1", "Agnet2"])
    assert "A1;" not in str(caught.value)
    assert fake.funcs() == ["APIGetRobot"]


async def test_a_named_agent_narrows_the_rotation() -> None:
    """A client's robot or a call's robot sends every chunk there; single sends name no agent."""
    fake = server_fake(TimeModel())
    async with fake.client(robot="A3") as client:
        await client.send_message_mass(numbers(100), "hi")
    async with fake.client() as client:
        await client.send_message_mass(numbers(100, prefix="+98911"), "hi", robot="A2")
        await client.send_message(numbers(1, prefix="+98912")[0], "hi")
    sends = [record for record in fake.requests if record.func.startswith("SendMessage")]
    chunks = len(layout(100, 40))  # a small one (the pace unknown, E49), 40, 40, the rest
    assert [record.robot for record in sends] == ["A3"] * chunks + ["A2"] * chunks + [""]
    assert "APIGetRobot" not in fake.funcs()


async def test_a_queued_request_shows_in_debug_logs_and_progress(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A chunk queued behind a single send logs its wait and counts it in MassProgress.waiting."""
    fake = server_fake(TimeModel(per_number=0.05))
    seen: list[MassProgress] = []
    caplog.set_level(logging.DEBUG, logger="miogram_async")
    async with fake.client() as client, anyio.create_task_group() as group:
        group.start_soon(client.send_message, numbers(1, prefix="+98919")[0], "first")
        await anyio.sleep(0.01)
        group.start_soon(
            lambda: client.send_message_mass(numbers(3), "then", on_progress=seen.append)
        )
    assert seen[-1].waiting > 0.0
    assert "SendMessageMass waited" in caplog.text
    assert fake.max_state_changing_in_flight == 1


def test_the_drain_has_no_lower_bound_by_default_and_the_front_wait_is_60_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No drain bound by default (the pace decides, E49), front_wait 60 s; bad values refused."""
    monkeypatch.delenv("MIOGRAM_GATEWAY_DRAIN", raising=False)
    monkeypatch.delenv("MIOGRAM_FRONT_WAIT")
    assert MioGram("s")._session.gateway_drain == 0.0
    assert MioGram("s")._session.front_wait == 60.0
    assert MioGram("s", front_wait=0.6)._session.front_wait == 0.6
    monkeypatch.setenv("MIOGRAM_FRONT_WAIT", "6")
    assert MioGram("s")._session.front_wait == 6.0
    monkeypatch.setenv("MIOGRAM_FRONT_WAIT", "a minute")
    with pytest.raises(ValidationError, match="MIOGRAM_FRONT_WAIT"):
        MioGram("s")
    monkeypatch.delenv("MIOGRAM_FRONT_WAIT")
    for bad in (0, -1.0, float("inf"), True):
        with pytest.raises(ValidationError, match="front_wait"):
            MioGram("s", front_wait=bad)
    assert MioGram("s", gateway_drain=0.2)._session.gateway_drain == 0.2
    monkeypatch.setenv("MIOGRAM_GATEWAY_DRAIN", "0.015")
    assert MioGram("s")._session.gateway_drain == 0.015
    monkeypatch.setenv("MIOGRAM_GATEWAY_DRAIN", "soon")
    with pytest.raises(ValidationError, match="MIOGRAM_GATEWAY_DRAIN"):
        MioGram("s")
    monkeypatch.delenv("MIOGRAM_GATEWAY_DRAIN")
    with pytest.raises(ValidationError, match="gateway_drain"):
        MioGram("s", gateway_drain=-1)
    with pytest.raises(ValidationError, match="send_gate"):
        MioGram("s", send_gate=object())  # type: ignore[arg-type]
    assert MioGram("s", concurrency=3)._session.gate.capacity == 3  # type: ignore[attr-defined]


async def test_a_shared_gate_holds_two_clients_to_one_request() -> None:
    """Two clients given one gate never have two sends in flight together."""
    fake = server_fake(TimeModel(per_number=0.01))
    gate = LocalSendGate()
    async with (
        fake.client(send_gate=gate) as first,
        fake.client(send_gate=gate) as second,
        anyio.create_task_group() as group,
    ):
        for i, number in enumerate(numbers(20)):
            group.start_soon((first if i % 2 else second).send_message, number, "hi")
    assert fake.max_state_changing_in_flight == 1
    assert not fake.credit_file_corrupted
