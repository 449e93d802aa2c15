"""
A campaign's unknown numbers settled from the agents' histories (issue 18, E50): at the end of a
run, on demand (`Campaign.settle`), and the explicit re-send of the numbers found absent.
"""

from __future__ import annotations

import collections
import csv
import io
from pathlib import Path

from chunk_layout import first_chunk, layout
from journal_steps import start_chunk
from postgres_support import campaign_url

from miogram_async import MioGram
from miogram_async.campaign import Campaign, NumberState
from miogram_async.campaign.storage import Journal
from miogram_async.testing import (
    AccountConfig,
    FakeMioGram,
    FaultKind,
    FaultRule,
    Faults,
    TimeModel,
)

MESSAGE = "Hello from a settled campaign"
PACE = 2.5  # seconds per number (E49)
SCALE = 0.005  # the front waits 0.3 s; a number takes 12.5 ms
AGENTS = ("Agent1", "Agent2", "Agent3", "Agent4")


def numbers(count: int, first: int = 0) -> list[str]:
    """*count* distinct well-formed numbers."""
    return [f"+98935{index:07d}" for index in range(first, first + count)]


def dies(handed: int, *, after: int = 0, func: str = "SendMessageMass") -> Faults:
    """One request of *func* (after *after* of them) whose gateway dies after *handed* numbers."""
    return Faults.of(
        FaultRule(kind=FaultKind.GATEWAY_DIES, funcs={func}, after=after, times=1, handed=handed)
    )


def rows(campaign: Campaign) -> dict[str, dict[str, str]]:
    """The export's rows by number."""
    out = io.StringIO()
    campaign.export(out)
    return {row["number"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}


def by_state(campaign: Campaign, state: NumberState) -> set[str]:
    """The numbers of *campaign* in *state*."""
    return {number for number, row in rows(campaign).items() if row["state"] == state}


async def test_a_run_of_400_at_2_5_s_a_number_settles_then_resends_only_the_absent(
    tmp_path: Path,
) -> None:
    """
    A chunk sized from the measured pace (after each agent's small first chunk, E49) dies with 999
    after 3 numbers: the run's settle makes every number the fake delivered DELIVERED (evidence
    in the journal) and every number it never handed over ABSENT; only run(resend_absent=True)
    sends those, once each, and nothing is delivered twice.
    """
    fake = FakeMioGram(
        AccountConfig(agents=AGENTS),
        time_model=TimeModel.realistic(scale=SCALE, pace=PACE),
        faults=dies(3, after=len(AGENTS) + 1),
    )
    phones = numbers(400)
    async with fake.client() as client:  # the SDK's own drain, from the pace it measures (E49)
        with Campaign.create(tmp_path / "c.db", phones, message=MESSAGE) as campaign:
            first = await campaign.run(client)
            await fake.wait_idle()
            delivered = {delivery.number for delivery in fake.deliveries}
            handed = {handoff.number for handoff in fake.handoffs}
            absent = by_state(campaign, NumberState.ABSENT)
            evidence = rows(campaign)
            plain = await campaign.run(client)  # a plain resume leaves them alone
            again = await campaign.run(client, resend_absent=True)
            await fake.wait_idle()
    assert handed == delivered
    assert first.settled is not None
    assert first.settled.absent == len(absent) == len(set(phones) - handed) > 0
    assert absent == set(phones) - handed
    assert first.status.by_state[NumberState.DELIVERED] == len(delivered)
    assert first.status.by_state[NumberState.UNKNOWN] == 0
    assert first.status.settle == first.settled
    settled_rows = [row for row in evidence.values() if row["error"].startswith("history of ")]
    assert len(settled_rows) == first.settled.delivered + first.settled.absent
    assert all("message" in row["error"] for row in settled_rows if row["state"] == "delivered")
    assert plain.sent == 0
    assert again.sent == len(absent)
    resent = collections.Counter(delivery.number for delivery in fake.deliveries)
    assert set(resent) == set(phones)
    assert max(resent.values()) == 1
    assert again.status.by_state[NumberState.DELIVERED] == 400
    assert fake.max_state_changing_in_flight == 1
    assert not fake.credit_file_corrupted


async def test_settle_on_demand_sends_nothing_and_is_kept_for_status(tmp_path: Path) -> None:
    """run(settle=False) leaves unknowns; Campaign.settle settles them, recorded as a run."""
    # The third request: the first chunk of 10, past each agent's small first chunk (E49).
    fake = FakeMioGram(AccountConfig(agents=("Agent1", "Agent2")), faults=dies(3, after=2))
    phones = numbers(40)
    assert layout(40, 10, agents=2)[2] == 10
    async with fake.client() as client:
        with Campaign.create(tmp_path / "c.db", phones, message=MESSAGE, chunk_size=10) as c:
            first = await c.run(client, settle=False)
            requests = len(fake.requests)
            settled = await c.settle(client)
            status = c.status()
    assert first.settled is None
    assert first.status.by_state[NumberState.UNKNOWN] == 10
    assert settled.sent == 0
    assert settled.settled is not None
    assert (settled.settled.looked_at, settled.settled.delivered, settled.settled.absent) == (
        10,
        3,
        7,
    )
    assert {r.func for r in fake.requests[requests:]} <= {"APIGetReport", "APIGetAds", "GetHistory"}
    assert status.runs == 2
    assert status.settle == settled.settled
    assert status.by_state[NumberState.ABSENT] == 7
    assert len(fake.deliveries) == 33


async def test_a_chunk_a_dead_process_left_in_doubt_is_settled_from_history(
    tmp_path: Path,
) -> None:
    """Two chunks left attempting, one really sent: it becomes DELIVERED, the other ABSENT."""
    fake = FakeMioGram()
    phones = numbers(20)
    path = tmp_path / "c.db"
    Campaign.create(path, phones, message=MESSAGE, chunk_size=10).close()
    sent, lost = phones[:10], phones[10:]
    journal = Journal.open(path)
    run = journal.begin_run()
    start_chunk(journal, run, 0, None, sent)
    start_chunk(journal, run, 1, None, lost)
    journal.close()
    async with fake.client() as client:
        await client.send_message_mass(sent, MESSAGE)
        with Campaign.open(path) as campaign:
            summary = await campaign.settle(client)
            states = rows(campaign)
    assert {states[number]["state"] for number in sent} == {"delivered"}
    assert {states[number]["state"] for number in lost} == {"absent"}
    assert summary.status.in_doubt == 0
    assert summary.status.chunks_in_doubt == 0
    assert len(fake.deliveries) == 10


async def test_a_whatsapp_campaign_keeps_its_unknowns(tmp_path: Path) -> None:
    """WhatsApp leaves no history the service can read: nothing is settled, and it says why."""
    fake = FakeMioGram(faults=dies(1, func="SendMessageWhatsAppMass"))
    count = first_chunk()  # one chunk, the small first one while the pace is unknown (E49)
    async with fake.client() as client:
        with Campaign.create(
            tmp_path / "c.db", numbers(count), kind="whatsapp", message=MESSAGE
        ) as campaign:
            summary = await campaign.run(client)
    assert summary.settled is not None
    assert summary.settled.unknown == count
    assert any("WhatsApp" in reason for reason in summary.settled.reasons)
    assert summary.status.by_state[NumberState.UNKNOWN] == count
    assert not [request for request in fake.requests if request.func == "GetHistory"]


async def test_no_permission_to_read_histories_is_said_and_settles_nothing(
    tmp_path: Path,
) -> None:
    """309 on the first read: the settle stops, every number stays unknown, the stop is kept."""
    fake = FakeMioGram(AccountConfig(can_get=False), faults=dies(2))
    count = first_chunk()  # one chunk, the small first one while the pace is unknown (E49)
    async with fake.client() as client:
        with Campaign.create(tmp_path / "c.db", numbers(count), message=MESSAGE) as campaign:
            summary = await campaign.run(client)
    assert summary.settled is not None
    assert summary.settled.stopped is not None
    assert "PermissionDeniedError" in summary.settled.stopped
    assert summary.status.by_state[NumberState.UNKNOWN] == count


async def test_a_postgres_campaign_settles_the_same_way(postgres_url: str) -> None:
    """The PostgreSQL storage gives the settle its chunks' times, a witness and its notes."""
    url = campaign_url(postgres_url, "settled")
    fake = FakeMioGram(AccountConfig(agents=("Agent1",)), faults=dies(0, after=1))
    phones = numbers(20)
    # The second chunk dies: the first of 10, after a small first one while the pace is unknown.
    first, second, rest = layout(20, 10)
    sent, lost = phones[:first] + phones[first + second :], phones[first : first + second]
    async with MioGram(fake.secret(), transport=fake.transport()) as client:
        with Campaign.create(url, phones, message=MESSAGE, chunk_size=10, overwrite=True) as c:
            summary = await c.run(client)
        with Campaign.open(url, read_only=True) as reader:
            status = reader.status()
            absent = by_state(reader, NumberState.ABSENT)
    assert summary.settled is not None
    # The second chunk died before its first number; the others delivered: the witness.
    assert absent == set(lost)
    assert status.settle == summary.settled
    assert status.by_state[NumberState.DELIVERED] == len(sent) == first + rest
    reads = [r.elements["Phone"] for r in fake.requests if r.func == "GetHistory"]
    assert reads[:second] == lost
    assert reads[second] in sent  # the control read of a number the campaign delivered
