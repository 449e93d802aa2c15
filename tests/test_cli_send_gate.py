"""``miogram --send-gate URL|DIR``: every client of the invocation passes one shared send gate."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from loopback import serving

from miogram_async import FileSendGate, PostgresSendGate
from miogram_async._gates.default import machine_gate_folder
from miogram_async._gates.postgres import gate_key
from miogram_async.cli import cli
from miogram_async.cli._context import Settings
from miogram_async.testing import AccountConfig, FakeMioGram

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")

SECRET = "cli-gate-secret-71e0"


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake account; every number exists."""
    return FakeMioGram(AccountConfig(secret=SECRET))


@pytest.fixture
def url(fake: FakeMioGram) -> Iterator[str]:
    """The fake's loopback URL for the duration of the test."""
    with serving(fake) as served:
        yield served


def invoke(args: list[str], **env: str | None) -> Result:
    """Run ``miogram ARGS`` with the secret in MIOGRAM_SECRET and *env*."""
    environment = {"MIOGRAM_SECRET": SECRET, "MIOGRAM_BASE_URL": None, "MIOGRAM_SEND_GATE": None}
    result = CliRunner().invoke(cli, args, env={**environment, **env}, catch_exceptions=False)
    assert SECRET not in result.output
    return result


def built_gates(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record every gate `Settings.gate` builds."""
    built: list[object] = []
    original = Settings.gate

    def recording(self: Settings, *, limit: int = 1) -> object:
        gate = original(self, limit=limit)
        built.append(gate)
        return gate

    monkeypatch.setattr(Settings, "gate", recording)
    return built


def test_send_through_a_directory_gate(
    fake: FakeMioGram, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--send-gate DIR: the send passes a FileSendGate there, which is given back idle."""
    built = built_gates(monkeypatch)
    result = invoke(
        ["--send-gate", str(tmp_path), "--base-url", url, "send", "+989100000001", "-m", "hi"]
    )
    assert result.exit_code == 0, result.output
    assert [d.number for d in fake.deliveries] == ["+989100000001"]
    (gate,) = built
    assert isinstance(gate, FileSendGate)
    assert gate.limit == 1
    assert (tmp_path / "default.0.slot").read_bytes() == b"idle"


def test_the_gate_comes_from_the_environment(fake: FakeMioGram, url: str, tmp_path: Path) -> None:
    """MIOGRAM_SEND_GATE names the gate as --send-gate does."""
    result = invoke(
        ["--base-url", url, "send", "+989100000002", "-m", "hi"],
        MIOGRAM_SEND_GATE=str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    assert len(fake.deliveries) == 1
    assert (tmp_path / "default.0.slot").read_bytes() == b"idle"


def test_send_through_a_postgres_gate_closes_it(
    fake: FakeMioGram, url: str, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--send-gate postgresql://...: a PostgresSendGate, its slot row idle, closed at the end."""
    built = built_gates(monkeypatch)
    result = invoke(
        ["--send-gate", postgres_url, "--base-url", url, "send", "+989100000003", "-m", "hi"]
    )
    assert result.exit_code == 0, result.output
    assert len(fake.deliveries) == 1
    (gate,) = built
    assert isinstance(gate, PostgresSendGate)
    assert gate._closed  # its connection is gone
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT busy FROM miogram_gate_slots WHERE key = %s", (gate_key("default", 0),)
        ).fetchone()
    assert row == (False,)


def test_the_gate_limit_is_the_client_concurrency(tmp_path: Path) -> None:
    """Settings.client passes the gate to the client, with the command's concurrency as limit."""
    settings = Settings(send_gate=str(tmp_path))
    client = settings.client(SECRET, concurrency=3)
    gate = client._session.gate
    assert isinstance(gate, FileSendGate)
    assert gate.limit == 3
    # Without the option: the client's default, the machine-wide gate of its service.
    default = Settings().client(SECRET)._session.gate
    assert isinstance(default, FileSendGate)
    assert default.folder == machine_gate_folder()


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("/no/such/dir-5f1", "'/no/such/dir-5f1'"),
        ("mysql://me:pw-9a1@db/x", "a mysql:// URL"),
    ],
)
def test_a_bad_gate_is_a_usage_error_naming_the_option(value: str, said: str) -> None:
    """Neither a postgresql:// URL nor a directory: exit 2 naming --send-gate, no password shown."""
    result = invoke(["--send-gate", value, "send", "+989100000001", "-m", "hi"])
    assert result.exit_code == 2
    assert "--send-gate" in result.output
    assert said in result.output
    assert "pw-9a1" not in result.output
