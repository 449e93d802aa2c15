"""
The command line leads the user out of UNKNOWN (issue 18): the settle at the end of a run,
``campaign settle``, the one next command, and no resume that would do nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from chunk_layout import first_chunk
from click.testing import CliRunner, Result
from loopback import serving

from miogram_async.campaign import Campaign, NumberState
from miogram_async.cli import cli
from miogram_async.testing import AccountConfig, FakeMioGram, FaultKind, FaultRule

SECRET = "settle-cli-secret-4b1d"
# A small first chunk while the gateway's pace is unknown (E49), then one chunk of 12: the one
# that dies.
FIRST = first_chunk(12)
PHONES = [f"+98936{index:07d}" for index in range(FIRST + 12)]


@pytest.fixture
def fake() -> FakeMioGram:
    """One account, one agent; its second Mass request (of 12) dies after 4 numbers (999)."""
    fake = FakeMioGram(AccountConfig(secret=SECRET, agents=("Agent1",)))
    fake.inject(
        FaultRule(
            kind=FaultKind.GATEWAY_DIES, funcs={"SendMessageMass"}, after=1, times=1, handed=4
        )
    )
    return fake


@pytest.fixture
def url(fake: FakeMioGram) -> Iterator[str]:
    """The fake's loopback URL."""
    with serving(fake) as served:
        yield served


@pytest.fixture
def numbers(tmp_path: Path) -> Path:
    """A numbers file of PHONES."""
    path = tmp_path / "numbers.txt"
    path.write_text("\n".join(PHONES) + "\n", encoding="utf-8")
    return path


def invoke(args: list[str]) -> Result:
    """Run ``miogram ARGS`` with the secret in the environment; it is never printed."""
    env = {"MIOGRAM_SECRET": SECRET, "MIOGRAM_BASE_URL": None}
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert SECRET not in result.stdout + result.stderr
    return result


def run_args(url: str, numbers: Path, journal: Path, *more: str) -> list[str]:
    """``campaign run`` of NUMBERS into JOURNAL, a first chunk of FIRST, then one of 12."""
    return ["--base-url", url, "campaign", "run", str(numbers), "-m", "hi", "-j", str(journal),
            "--chunk-size", "12", *more]  # fmt: skip


def test_a_run_settles_its_unknowns_and_names_the_explicit_resend(
    url: str, numbers: Path, tmp_path: Path, fake: FakeMioGram
) -> None:
    """The 999'd chunk is settled at the end: 4 delivered, 8 absent; the re-send is named."""
    journal = tmp_path / "c.sqlite"
    result = invoke(["--json", *run_args(url, numbers, journal)])
    assert result.exit_code == 3, result.stderr
    document = json.loads(result.stdout)
    assert document["settled"] == {
        "looked_at": 12,
        "delivered": 4,
        "absent": 8,
        "unknown": 0,
        "reasons": {},
        "stopped": None,
    }
    assert document["counts"]["absent"] == 8
    resend = f"miogram --base-url {url} campaign resume {journal} --resend-absent"
    assert document["next"] == resend
    assert document["resume"] is None  # a plain resume would send nothing
    assert "settled from the agents' histories: 12 looked up, 4 delivered, 8 absent" in (
        result.stderr
    )
    assert f"send the 8 absent numbers again:  {resend}" in result.stderr
    assert "get the message twice" in result.stderr
    assert len(fake.deliveries) == FIRST + 4


def test_without_the_settle_the_next_command_is_the_settle_then_the_resend(
    url: str, numbers: Path, tmp_path: Path, fake: FakeMioGram
) -> None:
    """--no-settle: the settle is named; it settles; the re-send sends the rest; then complete."""
    journal = tmp_path / "c.sqlite"
    first = invoke(run_args(url, numbers, journal, "--no-settle"))
    assert first.exit_code == 3, first.stderr
    settle = f"miogram --base-url {url} campaign settle {journal}"
    assert "12 unknown: their request may have reached the service" in first.stderr
    assert f"settle them from the agents' histories (sends nothing):  {settle}" in first.stderr
    assert "resume with" not in first.stderr

    status = invoke(["campaign", "status", str(journal)])
    assert status.exit_code == 0
    assert "settle them from the agents' histories (sends nothing):" in status.stderr
    assert "campaign settle" in status.stderr

    settled = invoke(["--base-url", url, "campaign", "settle", str(journal)])
    assert settled.exit_code == 3, settled.stderr
    assert "Settled" in settled.stdout
    assert "absent" in settled.stdout
    assert "this run: nothing was sent" in settled.stdout
    assert "--resend-absent" in settled.stderr
    assert len(fake.deliveries) == FIRST + 4

    status = invoke(["--json", "campaign", "status", str(journal)])
    document = json.loads(status.stdout)
    assert document["settle"]["absent"] == 8
    # status is given no address: its command names none (MIOGRAM_BASE_URL, or the default).
    assert document["next"] == f"miogram campaign resume {journal} --resend-absent"

    requests = len(fake.requests)
    idle = invoke(["--base-url", url, "campaign", "resume", str(journal)])
    assert idle.exit_code == 3
    assert "nothing to send with these options" in idle.stderr
    assert "--resend-absent" in idle.stderr
    assert len(fake.requests) == requests  # it did not even ask the service

    resent = invoke(["--base-url", url, "campaign", "resume", str(journal), "--resend-absent"])
    assert resent.exit_code == 0, resent.stderr
    assert sorted(d.number for d in fake.deliveries) == PHONES

    done = invoke(["--base-url", url, "campaign", "resume", str(journal)])
    assert done.exit_code == 0
    assert "the campaign is complete" in done.stderr
    assert len(fake.deliveries) == len(PHONES)
    with Campaign.open(journal, read_only=True) as campaign:
        assert campaign.status().by_state[NumberState.DELIVERED] == len(PHONES)


def test_a_resume_of_a_finished_campaign_says_it_is_complete_and_sends_nothing(
    url: str, numbers: Path, tmp_path: Path, fake: FakeMioGram
) -> None:
    """Every number answered: the resume names no command, sends nothing and exits 0."""
    fake.faults = type(fake.faults)()  # no fault: every number delivered
    journal = tmp_path / "c.sqlite"
    assert invoke(run_args(url, numbers, journal)).exit_code == 0
    before = len(fake.requests)
    done = invoke(["--json", "--base-url", url, "campaign", "resume", str(journal)])
    assert done.exit_code == 0
    assert json.loads(done.stdout)["complete"] is True
    assert json.loads(done.stdout)["next"] is None
    assert "the campaign is complete" in done.stderr
    assert len(fake.requests) == before  # not even a check of the account


def test_a_settle_the_service_refuses_is_a_service_error(numbers: Path, tmp_path: Path) -> None:
    """No permission to read histories (309): campaign settle says so and exits 1."""
    fake = FakeMioGram(AccountConfig(secret=SECRET, agents=("Agent1",), can_get=False))
    fake.inject(
        FaultRule(
            kind=FaultKind.GATEWAY_DIES, funcs={"SendMessageMass"}, after=1, times=1, handed=4
        )
    )
    journal = tmp_path / "c.sqlite"
    with serving(fake) as url:
        first = invoke(run_args(url, numbers, journal, "--no-settle"))
        assert first.exit_code == 3
        settled = invoke(["--base-url", url, "campaign", "settle", str(journal)])
    assert settled.exit_code == 1
    assert "the settle stopped early: PermissionDeniedError" in settled.stderr
    # Once the account may read histories, the settle is what helps: it is named again.
    assert f"campaign settle {journal}" in settled.stderr
    assert "--resend-unknown" not in settled.stderr
    status = invoke(["campaign", "status", str(journal)])
    assert "the latest settle stopped early: PermissionDeniedError" in status.stderr
    assert f"campaign settle {journal}" in status.stderr


def test_what_a_settle_cannot_decide_is_explained_and_resent_only_on_request(
    numbers: Path, tmp_path: Path
) -> None:
    """WhatsApp leaves no history: the reason is printed, and the one next step is the risky one."""
    fake = FakeMioGram(AccountConfig(secret=SECRET, agents=("Agent1",)))
    fake.inject(
        FaultRule(
            kind=FaultKind.GATEWAY_DIES,
            funcs={"SendMessageWhatsAppMass"},
            after=1,
            times=1,
            handed=4,
        )
    )
    journal = tmp_path / "c.sqlite"
    with serving(fake) as url:
        result = invoke(
            ["--base-url", url, "campaign", "run", str(numbers), "-m", "hi", "--whatsapp",
             "-j", str(journal), "--chunk-size", "12"]
        )  # fmt: skip
    assert result.exit_code == 3, result.stderr
    assert "12 looked up, 0 delivered, 0 absent, 12 still unknown" in result.stderr
    assert "12: a WhatsApp send leaves no history the service can read" in result.stderr
    resend = f"miogram --base-url {url} campaign resume {journal} --resend-unknown"
    assert f"send the 12 unknown numbers again anyway:  {resend}" in result.stderr
    assert "may have been delivered already" in result.stderr
