"""
Errors that name the part that failed (issue 19): a send gate's trouble names the gate and where
it is kept, never the service; a damaged journal value is a `CampaignError` saying what to do; a
journal reached through a symbolic link resumes after a crash; a database URL is never shown with
its password, whatever its shape, and a malformed one is a clear usage error.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from chunk_layout import first_chunk
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from journal_steps import start_chunk
from loopback import serving
from postgres_support import campaign_url

from miogram_async import (
    MassSendError,
    MioGram,
    Outcome,
    PostgresSendGate,
    SendGateError,
    ValidationError,
)
from miogram_async._base.pg import redact, url_problem
from miogram_async.campaign import Campaign, CampaignError
from miogram_async.cli import cli
from miogram_async.testing import AccountConfig, FakeMioGram

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")

SECRET = "named-errors-secret-0b3d"
PASSWORD = "Pg-PassW0rd-61e"
NUMBERS = [f"+98916{i:07d}" for i in range(30)]
MALFORMED = [
    f"postgresql://app:{PASSWORD}%zz@db.internal/shop",  # a bad percent-escape
    f"postgresql://app:{PASSWORD}@[::1/shop",  # an unclosed IPv6 bracket
    f"postgresql://app:{PASSWORD}/x@db.internal/shop",  # a '/' in the password
    f"postgresql://app:{PASSWORD}@x@db.internal/shop",  # an '@' in the password
]


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake account; every number exists."""
    return FakeMioGram(AccountConfig(secret=SECRET))


@pytest.fixture
def url(fake: FakeMioGram) -> Iterator[str]:
    """The fake's loopback URL for the duration of the test."""
    with serving(fake) as served:
        yield served


def invoke(args: list[str], **env: str) -> Result:
    """Run ``miogram ARGS``; neither the secret nor the password is ever shown, nor a traceback."""
    environment = {"MIOGRAM_SECRET": SECRET, "MIOGRAM_BASE_URL": None, "MIOGRAM_SEND_GATE": None}
    result = CliRunner().invoke(cli, args, env={**environment, **env}, catch_exceptions=False)
    for hidden in (SECRET, PASSWORD, "Traceback"):
        assert hidden not in result.stdout
        assert hidden not in result.stderr
    return result


# -- send gate errors ---------------------------------------------------------------------------


def test_a_read_only_gate_folder_is_named_never_the_service(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeMioGram
) -> None:
    """The folder cannot take a slot file: the error names the gate and the folder, exit 1."""
    real_open = os.open

    def read_only(path: object, flags: int, mode: int = 0o777, **kw: object) -> int:
        if str(path).endswith(".slot") and flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", read_only)
    result = invoke(
        ["--send-gate", str(tmp_path), "--base-url", url, "send", NUMBERS[0], "-m", "hi"]
    )
    assert result.exit_code == 1
    assert (
        f"error: send gate 'default' in {str(tmp_path)!r}: cannot make its slot file: read-only "
        "file system (nothing was sent)"
    ) in result.stderr
    assert url not in result.stderr
    assert "cannot reach" not in result.stderr
    assert fake.requests == []


def test_an_unreachable_gate_database_is_named_never_the_service(url: str) -> None:
    """The gate's database host is named, without its password; the service is not blamed."""
    gate = f"postgresql://app:{PASSWORD}@127.0.0.1:1/shop"
    result = invoke(["--send-gate", gate, "--base-url", url, "send", NUMBERS[0], "-m", "hi"])
    assert result.exit_code == 1
    assert "send gate 'default' at postgresql://app@127.0.0.1:1/shop" in result.stderr
    assert "its database cannot be used" in result.stderr
    assert "nothing was sent" in result.stderr
    assert url not in result.stderr


async def test_a_gate_that_cannot_be_used_stops_a_mass_send_at_its_first_chunk() -> None:
    """The first chunk fails without leaving; the send stops there, the gate's error its cause."""
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    gate = PostgresSendGate(f"postgresql://app:{PASSWORD}@127.0.0.1:1/shop")
    async with fake.client(send_gate=gate, robot="Agent1", max_retries=0) as client:
        with pytest.raises(MassSendError) as stopped:
            await client.send_message_mass(NUMBERS, "hi", chunk_size=10)
    assert isinstance(stopped.value.cause, SendGateError)
    assert PASSWORD not in str(stopped.value)
    counts = stopped.value.result.counts
    # The first chunk: small while the gateway's pace is unknown (E49).
    first = first_chunk(10)
    assert (counts[Outcome.FAILED], counts[Outcome.NOT_ATTEMPTED]) == (first, len(NUMBERS) - first)
    assert fake.requests == []


# -- the journal ---------------------------------------------------------------------------------


def damage(journal: Path) -> None:
    """Flip the first number's stored state to a value no version writes."""
    with sqlite3.connect(journal) as conn:
        conn.execute("UPDATE numbers SET state = 'eelivered' WHERE seq = 1")
    conn.close()


def test_a_damaged_state_is_a_campaign_error_saying_what_to_do(tmp_path: Path, url: str) -> None:
    """'eelivered' in a journal: status and resume exit 2 with the journal and what to do."""
    journal = tmp_path / "c.sqlite"
    Campaign.create(journal, NUMBERS, message="hi").close()
    damage(journal)
    with Campaign.open(journal) as campaign, pytest.raises(CampaignError) as refused:
        campaign.status()
    said = str(refused.value)
    assert f"campaign journal {str(journal)!r} is damaged" in said
    assert "'eelivered'" in said
    assert "Restore the journal from a backup" in said
    for args in (["campaign", "status", str(journal)], ["campaign", "resume", str(journal)]):
        result = invoke(["--base-url", url, *args])
        assert result.exit_code == 2, result.output
        assert "is damaged" in result.stderr
        assert str(journal) in result.stderr


def test_a_damaged_state_in_postgres_is_a_campaign_error(postgres_url: str) -> None:
    """The same in a PostgreSQL campaign: status exits 2 naming the campaign, no password."""
    target = campaign_url(postgres_url, "damaged")
    Campaign.create(target, NUMBERS, message="hi").close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE miogram_numbers SET state = 'eelivered' WHERE campaign = 'damaged'")
    result = invoke(["campaign", "status", target])
    assert result.exit_code == 2
    assert "is damaged: a number's state reads 'eelivered'" in result.stderr


async def test_a_journal_reached_through_a_symbolic_link_resumes_after_a_crash(
    tmp_path: Path, fake: FakeMioGram
) -> None:
    """A crashed journal (file and -wal) opened through a link: its chunk is in doubt, not lost."""
    journal = tmp_path / "c.sqlite"
    with Campaign.create(journal, NUMBERS, message="hi", chunk_size=10) as campaign:
        storage = campaign._journal
        start_chunk(storage, storage.begin_run(), 0, None, NUMBERS[:10])
        crashed = tmp_path / "kept" / "c.sqlite"
        crashed.parent.mkdir()
        shutil.copyfile(journal, crashed)  # as a SIGKILL leaves it: the file and its WAL
        shutil.copyfile(f"{journal}-wal", f"{crashed}-wal")
    link = tmp_path / "link.sqlite"
    link.symlink_to(crashed)
    with Campaign.open(link) as campaign:
        assert campaign.status().in_doubt == 10
        async with fake.client() as client:
            summary = await campaign.run(client)
    assert summary.status.pending == 0
    assert len(fake.deliveries) == 20  # the chunk in doubt was not sent again


# -- database URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", MALFORMED)
def test_a_malformed_database_url_is_a_usage_error_never_shown(
    bad: str, tmp_path: Path, url: str
) -> None:
    """campaign status, resume, run and --send-gate: exit 2, what is wrong, no password."""
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("\n".join(NUMBERS) + "\n", encoding="utf-8")
    target = f"{bad}?campaign=x" if "?" not in bad else bad
    for args in (
        ["campaign", "status", target],
        ["--base-url", url, "campaign", "resume", target],
        ["--base-url", url, "campaign", "run", str(numbers), "-m", "hi", "--journal", target],
        ["--send-gate", bad, "--base-url", url, "send", NUMBERS[0], "-m", "hi"],
    ):
        result = invoke(args)
        assert result.exit_code == 2, (args, result.output)
        assert "malformed" in result.stderr
        assert "it may hold a password" in result.stderr


@pytest.mark.parametrize("bad", MALFORMED)
def test_the_sdk_refuses_a_malformed_database_url_without_showing_it(bad: str) -> None:
    """PostgresSendGate and Campaign.open say what is wrong, never the URL or its password."""
    with pytest.raises(ValidationError) as gate:
        PostgresSendGate(bad)
    with pytest.raises(CampaignError) as campaign:
        Campaign.open(f"{bad}?campaign=x")
    for said in (str(gate.value), str(campaign.value)):
        assert "malformed" in said
        assert PASSWORD not in said
    assert url_problem(bad) is not None
    assert PASSWORD not in redact(bad)


@settings(max_examples=300, deadline=None)
@given(
    password=st.text(min_size=1, max_size=30).map(lambda text: f"Zq7{text}"),
    user=st.sampled_from(["app", "me.you", ""]),
    rest=st.sampled_from(["db.internal/shop", "[::1]:5432/shop", "/shop?host=/run/pg", "h:1/d"]),
)
def test_no_url_shape_shows_its_password(password: str, user: str, rest: str) -> None:
    """Whatever the password holds, redact never shows it, raw or escaped."""
    for written in (password, urllib.parse.quote(password, safe="")):
        for url in (
            f"postgresql://{user}:{written}@{rest}",
            f"postgresql://{rest}{'&' if '?' in rest else '?'}password={written}",
        ):
            shown = redact(url)
            assert written not in shown
            assert password not in shown


async def test_a_client_never_sends_to_a_gate_url_it_cannot_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MIOGRAM_SEND_GATE with a malformed URL: no client is made, the variable is named."""
    monkeypatch.setenv("MIOGRAM_SEND_GATE", MALFORMED[0])
    with pytest.raises(ValidationError, match=r"^MIOGRAM_SEND_GATE: ") as refused:
        MioGram(SECRET)
    assert PASSWORD not in str(refused.value)


def test_a_gate_error_is_a_connection_error_that_never_left() -> None:
    """SendGateError keeps what a caller of APIConnectionError asks: sent is False."""
    error = SendGateError("send gate 'g' in '/x': cannot lock its slot file", "g", "/x")
    assert error.sent is False
    assert (error.gate, error.location) == ("g", "/x")
    assert str(error) == "send gate 'g' in '/x': cannot lock its slot file (nothing was sent)"
