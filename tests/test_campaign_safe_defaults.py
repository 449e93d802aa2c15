"""A default ``miogram campaign run`` against the fake's server profile (E32, E33): safe as is."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import anyio
import pytest
from chunk_layout import first_chunk
from click.testing import CliRunner, Result
from loopback import serving

from miogram_async import MassProgress
from miogram_async.campaign import Campaign
from miogram_async.cli import cli
from miogram_async.testing import AccountConfig, FakeMioGram, NumberBook, TimeModel

SECRET = "campaign-defaults-secret"
AGENTS = ("Agent1", "Agent2", "Agent3", "Agent4")


def invoke(args: list[str]) -> Result:
    """Run ``miogram ARGS`` with the secret in the environment; check it is never shown."""
    result = CliRunner().invoke(
        cli, args, env={"MIOGRAM_SECRET": SECRET, "MIOGRAM_BASE_URL": None}, catch_exceptions=False
    )
    assert SECRET not in result.stdout
    assert SECRET not in result.stderr
    return result


def test_a_default_campaign_of_1000_on_four_agents_delivers_each_number_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 numbers, 4 agents, no options: each delivered once, none FAILED, file intact."""
    fake = FakeMioGram(
        AccountConfig(secret=SECRET, agents=AGENTS, numbers=NumberBook.everyone()),
        # Scaled so that a chunk of 100 would get 999 (E32) and overlaps would break the file.
        time_model=TimeModel.realistic(scale=0.0005),
    )
    assert fake.profile == "server"
    # The CLI's client knows the service's front wait (E32), scaled as the fake's.
    front_wait = fake.time_model.front_wait_seconds()
    monkeypatch.setenv("MIOGRAM_FRONT_WAIT", str(front_wait))
    targets = [f"+98910{i:07d}" for i in range(1_000)]
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("".join(f"{n}\n" for n in targets), encoding="utf-8")
    journal = tmp_path / "c.sqlite"
    with serving(fake) as url:
        run = invoke(
            ["--base-url", url, "--json", "campaign", "run", str(numbers), "-m", "hello",
             "-j", str(journal)]
        )  # fmt: skip
        assert run.exit_code == 0, run.stderr
        again = invoke(
            ["--base-url", url, "--json", "campaign", "resume", str(journal), "--retry-failed"]
        )
        assert again.exit_code == 0, again.stderr
    counts = json.loads(run.stdout)["counts"]
    assert counts["delivered"] == 1_000
    assert counts["failed"] == counts["unknown"] == counts["pending"] == 0
    assert Counter(d.number for d in fake.deliveries) == Counter(targets)  # once each
    assert fake.max_state_changing_in_flight == 1
    assert not fake.credit_file_corrupted
    sends = [r for r in fake.requests if r.func == "SendMessageMass"]
    sizes = [len(r.elements["Phone"].split(",")) for r in sends]
    # Each agent's first chunk is small while its pace is unknown (the first one sized for the
    # slow pace assumed, the others no larger); then sized from the pace measured, never above
    # 40 (E48, E49).
    first = first_chunk(40, front_wait)
    assert sizes[0] == first
    assert max(sizes[:4]) <= first
    assert max(sizes) <= 40
    assert sum(sizes) == 1_000
    assert [r.robot for r in sends[:8]] == list(AGENTS) * 2


def test_a_campaign_knows_its_total_from_the_first_progress(tmp_path: Path) -> None:
    """Campaign.run gives the fan-out the pending count: the first snapshot has total and ETA."""
    fake = FakeMioGram(AccountConfig(secret=SECRET, numbers=NumberBook.everyone()))
    seen: list[MassProgress] = []

    async def main() -> None:
        targets = [f"+98910{i:07d}" for i in range(200)]
        with Campaign.create(tmp_path / "c.sqlite", targets, message="hi") as campaign:
            async with fake.client() as client:
                await campaign.run(client, on_progress=seen.append)

    anyio.run(main)
    assert seen[0].chunks_done == 1
    assert seen[0].total == 200
    assert seen[0].eta is not None
    assert seen[-1].done == seen[-1].total == 200


def test_a_misspelt_agent_in_robots_stops_the_run_before_any_send(tmp_path: Path) -> None:
    """--robots Agent1,Agnet2 names the unknown and the known agents, and sends nothing."""
    fake = FakeMioGram(AccountConfig(secret=SECRET, agents=AGENTS))
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("+989100000001\n+989100000002\n", encoding="utf-8")
    with serving(fake) as url:
        run = invoke(
            ["--base-url", url, "campaign", "run", str(numbers), "-m", "hello",
             "-j", str(tmp_path / "c.sqlite"), "--robots", "Agent1,Agnet2"]
        )  # fmt: skip
    assert run.exit_code != 0
    assert "Agnet2" in run.stderr
    assert "Agent1, Agent2, Agent3, Agent4" in run.stderr
    assert not [r for r in fake.requests if r.func == "SendMessageMass"]
