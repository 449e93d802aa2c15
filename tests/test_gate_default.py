"""
The send gate a client takes when it names none (issue 19): the machine-wide gate of its service
in the user's runtime or cache directory, ``MIOGRAM_SEND_GATE``, ``send_gate="local"``, the opt-in
to parallel sends, and the fallback to the client's own gate with one warning.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

import anyio
import httpx
import pytest

from miogram_async import (
    FileSendGate,
    LocalSendGate,
    MioGram,
    PostgresSendGate,
    ValidationError,
)
from miogram_async._gates.default import (
    REQUEST_NUMBERS_MAX,
    machine_gate_folder,
    machine_gate_name,
)
from miogram_async._mass.options import MAX_CHUNK_SIZE
from miogram_async.testing import FakeMioGram

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")

URL = "https://miogram.test/dojob.php"
OTHER_URL = "https://other.miogram.test/dojob.php"
SENT = b'{"Result": true, "Status": "success"}'


class Service:
    """A mock service that counts the state-changing requests in flight at once, per host."""

    def __init__(self) -> None:
        self.in_flight: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.sent = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.in_flight[host] = self.in_flight.get(host, 0) + 1
        self.most[host] = max(self.most.get(host, 0), self.in_flight[host])
        try:
            await anyio.sleep(0.002)
        finally:
            self.in_flight[host] -= 1
        self.sent += 1
        return httpx.Response(200, content=SENT)

    def client(self, base_url: str = URL, **options: object) -> MioGram:
        """A client of this service with the default gate unless *options* name one."""
        return MioGram(
            "secret-of-the-test",
            base_url=base_url,
            transport=httpx.MockTransport(self.handle),
            max_retries=0,
            **options,  # type: ignore[arg-type]
        )


def private_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runtime directory of this test's own (0700, as the XDG spec has it)."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("MIOGRAM_SEND_GATE", raising=False)
    return runtime


async def test_clients_that_name_no_gate_share_the_machine_wide_gate_of_their_service() -> None:
    """Clients of one service, each with its own gate object, never have two sends in flight."""
    service = Service()
    first, second, elsewhere = service.client(), service.client(), service.client(OTHER_URL)
    gates = [client._session.gate for client in (first, second, elsewhere)]
    assert all(isinstance(gate, FileSendGate) for gate in gates)
    assert gates[0] is not gates[1]
    async with first, second, elsewhere, anyio.create_task_group() as group:
        for client in (first, second) * 10 + (elsewhere,) * 10:
            group.start_soon(client.send_message, "+989100000001", "hi")
    assert service.sent == 30
    assert service.most["miogram.test"] == 1
    assert service.most["other.miogram.test"] == 1


def test_the_machine_wide_gate_is_in_the_runtime_directory_keyed_by_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its folder is the user's own (0700); http and https of a host share a gate, ports not."""
    runtime = private_runtime(tmp_path, monkeypatch)
    gate = Service().client()._session.gate
    assert isinstance(gate, FileSendGate)
    folder = runtime / "miogram-async" / "send-gates"
    assert gate.folder == folder == machine_gate_folder()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert gate.name == machine_gate_name(URL)
    assert gate.name.startswith("miogram.test-")
    assert machine_gate_name("http://miogram.test/dojob.php") == gate.name
    assert machine_gate_name("https://miogram.test:443/dojob.php") == gate.name
    assert machine_gate_name("http://127.0.0.1:8123/dojob.php").startswith("127.0.0.1-8123-")
    assert machine_gate_name("http://127.0.0.1:8124/dojob.php") != machine_gate_name(
        "http://127.0.0.1:8123/dojob.php"
    )


def test_without_a_runtime_directory_the_cache_directory_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No XDG_RUNTIME_DIR: the gates live in the user's cache directory, made private."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("MIOGRAM_SEND_GATE", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    gate = Service().client()._session.gate
    assert isinstance(gate, FileSendGate)
    assert gate.folder == cache / "miogram-async" / "send-gates"
    assert stat.S_IMODE(gate.folder.stat().st_mode) == 0o700


def test_a_gate_folder_open_to_others_is_made_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gate folder found readable by group or others is closed to them (0700)."""
    runtime = private_runtime(tmp_path, monkeypatch)
    folder = runtime / "miogram-async" / "send-gates"
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    assert isinstance(Service().client()._session.gate, FileSendGate)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_where_no_folder_can_be_used_the_client_keeps_its_own_gate_and_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """One WARNING for any number of clients, saying what is not covered and what to set."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(blocker))
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.delenv("MIOGRAM_SEND_GATE", raising=False)
    with caplog.at_level(logging.WARNING, logger="miogram_async"):
        gates = [Service().client()._session.gate for _ in range(5)]
    assert all(isinstance(gate, LocalSendGate) for gate in gates)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    said = warnings[0].getMessage()
    assert "no machine-wide send gate" in said
    assert str(blocker) in said
    assert "other processes on this host" in said
    assert "MIOGRAM_SEND_GATE" in said
    assert "E33" in said


def test_slot_files_are_the_owners_only_whatever_the_umask(tmp_path: Path) -> None:
    """A slot file is made 0600 even under umask 0."""

    async def take_once() -> None:
        async with FileSendGate(tmp_path, name="perms").slot():
            pass

    old = os.umask(0)
    try:
        anyio.run(take_once)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "perms.0.slot").stat().st_mode) == 0o600


def test_miogram_send_gate_names_the_gate_of_every_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory, a postgresql:// URL or 'local', for every client; a named gate is closed."""
    monkeypatch.setenv("MIOGRAM_SEND_GATE", str(tmp_path))
    folder = Service().client(concurrency=2)._session
    assert isinstance(folder.gate, FileSendGate)
    assert (folder.gate.name, folder.gate.limit, folder.gate.folder) == ("default", 2, tmp_path)
    assert folder.gate_choice.named
    assert folder.gate_choice.owned
    monkeypatch.setenv("MIOGRAM_SEND_GATE", "postgresql://app@db.internal/sends")
    database = Service().client()._session
    assert isinstance(database.gate, PostgresSendGate)
    assert database.gate.location == "postgresql://app@db.internal/sends"
    monkeypatch.setenv("MIOGRAM_SEND_GATE", "local")
    local = Service().client()._session
    assert isinstance(local.gate, LocalSendGate)
    assert not local.gate_choice.named


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("postgresql://app:Pw-9x1@[::1/db", "IPv6"),
        ("postgresql://app:Pw-9x1%zz@db/x", "percent-escape"),
        ("mysql://app:Pw-9x1@db/x", "a mysql:// URL"),
        ("/no/such/gate-9x1", "'/no/such/gate-9x1'"),
    ],
)
def test_a_bad_miogram_send_gate_is_refused_naming_it_never_its_password(
    monkeypatch: pytest.MonkeyPatch, value: str, said: str
) -> None:
    """The client is not made; the error names the variable and what is wrong, no password."""
    monkeypatch.setenv("MIOGRAM_SEND_GATE", value)
    with pytest.raises(ValidationError) as refused:
        Service().client()
    text = str(refused.value)
    assert text.startswith("MIOGRAM_SEND_GATE: ")
    assert said in text
    assert "Pw-9x1" not in text


def test_local_and_the_opt_in_to_parallel_sends_keep_a_gate_of_the_clients_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """send_gate='local' and concurrency > 1 keep an in-process gate; a named gate takes N slots."""
    private_runtime(tmp_path, monkeypatch)
    local = Service().client(send_gate="local")._session
    assert isinstance(local.gate, LocalSendGate)
    assert local.gate.capacity == 1
    parallel = Service().client(concurrency=3)._session.gate
    assert isinstance(parallel, LocalSendGate)
    assert parallel.capacity == 3
    folder = Service().client(concurrency=3, send_gate=str(tmp_path))._session.gate
    assert isinstance(folder, FileSendGate)
    assert folder.limit == 3


async def test_the_fakes_in_process_client_has_a_gate_of_its_own(tmp_path: Path) -> None:
    """The in-process fake is reached by this process alone: its client keeps its own gate."""
    fake = FakeMioGram()
    async with fake.client() as client:
        assert isinstance(client._session.gate, LocalSendGate)
        assert await client.send_message("+989100000001", "hi")
    shared = FileSendGate(tmp_path)
    async with fake.client(send_gate=shared) as named:
        assert named._session.gate is shared


def test_a_gate_the_package_makes_waits_for_a_dead_holder_as_long_as_a_drain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    dead_holder_wait is the most numbers a request carries times the drain of an agent nothing
    is measured of (twice a twelfth of the front's wait a number, E49), gateway_drain at least.
    """
    private_runtime(tmp_path, monkeypatch)
    assert REQUEST_NUMBERS_MAX == MAX_CHUNK_SIZE
    gate = Service().client(front_wait=60.0, gateway_drain=0.5)._session.gate
    assert isinstance(gate, FileSendGate)
    assert gate.dead_holder_wait == pytest.approx(1000.0)  # 100 numbers at 2 x 5 s
    monkeypatch.setenv("MIOGRAM_SEND_GATE", str(tmp_path))
    named = Service().client(front_wait=0.6, gateway_drain=0.01)._session.gate
    assert isinstance(named, FileSendGate)
    assert named.dead_holder_wait == pytest.approx(10.0)  # 100 numbers at 2 x 0.05 s
    floor = Service().client(front_wait=0.6, gateway_drain=0.5)._session.gate
    assert isinstance(floor, FileSendGate)
    assert floor.dead_holder_wait == pytest.approx(50.0)  # gateway_drain is a lower bound


async def test_a_gate_the_client_made_from_a_url_is_closed_with_it(postgres_url: str) -> None:
    """send_gate='postgresql://...': the client makes the gate, sends through it, closes it."""
    service = Service()
    async with service.client(send_gate=postgres_url) as client:
        gate = client._session.gate
        assert isinstance(gate, PostgresSendGate)
        assert await client.send_message("+989100000001", "hi")
        assert not gate._closed
    assert gate._closed
    assert service.sent == 1
