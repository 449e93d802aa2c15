"""The fake service's two ways to run (loopback server, in-process transport) and its time model."""

from __future__ import annotations

import signal
import socket
import sys
import threading

import anyio
import httpx
import pytest
import trio

from miogram_async.testing import AccountConfig, FakeMioGram, TimeModel

SECRET = "test-secret"


def port_of(url: str) -> int:
    """The TCP port of *url*."""
    port = httpx.URL(url).port
    assert port is not None
    return port


async def test_loopback_starts_and_stops_cleanly() -> None:
    """serve() binds 127.0.0.1 on a free port, answers, and releases the port on exit."""
    fake = FakeMioGram()
    threads_before = threading.active_count()
    async with fake.serve() as url:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/dojob.php")
        async with httpx.AsyncClient() as http:
            reply = (await http.post(url, data={"Secret": SECRET, "Func": "APIGetActive"})).json()
    assert reply == {"Result": "1"}
    assert threading.active_count() == threads_before
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.post(url, data={"Secret": SECRET, "Func": "APIGetActive"})
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", port_of(url)))
    finally:
        probe.close()


async def test_loopback_stops_with_a_request_held_open() -> None:
    """Leaving serve() while a TIMEOUT_AFTER reply is held back closes that connection."""
    from miogram_async.testing import FaultKind, FaultRule, Faults  # noqa: PLC0415

    fake = FakeMioGram(faults=Faults.of(FaultRule(kind=FaultKind.TIMEOUT_AFTER)))
    errors: list[str] = []
    async with anyio.create_task_group() as group, fake.serve() as url:

        async def hang() -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                try:
                    await http.post(url, data={"Secret": SECRET, "Func": "APIGetActive"})
                except httpx.TransportError as exc:
                    errors.append(type(exc).__name__)

        group.start_soon(hang)
        # The request is logged once processed; its reply is then held back until shutdown.
        with anyio.fail_after(10):
            while not fake.requests:  # noqa: ASYNC110 - polling the fake's log
                await anyio.sleep(0.01)
    assert errors == ["RemoteProtocolError"]
    assert [record.fault for record in fake.requests] == ["timeout_after"]


async def test_command_line_serves_until_interrupted() -> None:
    """`python -m miogram_async.testing --port 0` prints its URL, serves, and exits 0 on Ctrl-C."""
    command = [sys.executable, "-m", "miogram_async.testing", "--port", "0", "--secret", "s3"]
    async with await anyio.open_process(command) as process:
        assert process.stdout is not None
        line = b""
        with anyio.fail_after(30):
            while not line.endswith(b"\n"):
                line += await process.stdout.receive(1)
        url = line.decode().split()[4]
        async with httpx.AsyncClient() as http:
            reply = (await http.post(url, data={"Secret": "s3", "Func": "APIGetRobot"})).json()
        process.send_signal(signal.SIGINT)
        with anyio.fail_after(30):
            code = await process.wait()
    assert reply == {"Result": "Agent1"}
    assert code == 0


async def test_agents_serve_one_request_at_a_time() -> None:
    """Concurrent requests overlap overall, but each agent runs only one at a time."""
    fake = FakeMioGram(AccountConfig(agents=("A", "B")), time_model=TimeModel(per_number=0.05))
    async with httpx.AsyncClient(transport=fake.transport()) as http:

        async def typing(robot: str) -> None:
            form = {
                "Secret": SECRET,
                "Func": "SendTyping",
                "Phone": "+989100000001",
                "Robot": robot,
            }
            reply = (await http.post("http://fake/dojob.php", data=form)).json()
            assert reply == {"Result": True, "Status": "success"}

        async with anyio.create_task_group() as group:
            for robot in ["A", "B", "A", "B", "A", "Unknown"]:
                group.start_soon(typing, robot)
    assert fake.max_in_flight == 6
    assert fake.max_in_flight_per_agent() == {"A": 4, "B": 2}
    assert fake.max_running_per_agent() == {"A": 1, "B": 1}
    assert sorted(record.agent or "" for record in fake.requests) == ["A"] * 4 + ["B"] * 2


async def test_unserialised_agents_overlap() -> None:
    """With serialize_agents=False one agent runs several requests at once."""
    fake = FakeMioGram(time_model=TimeModel(per_number=0.05, serialize_agents=False))
    async with httpx.AsyncClient(transport=fake.transport()) as http:

        async def typing() -> None:
            form = {"Secret": SECRET, "Func": "SendTyping", "Phone": "+989100000001"}
            await http.post("http://fake/dojob.php", data=form)

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(typing)
    assert fake.max_running_per_agent() == {"Agent1": 3}


def test_realistic_time_model_scales() -> None:
    """TimeModel.realistic takes about a second per number, multiplied by the scale."""
    model = TimeModel.realistic(scale=0.01)
    assert (model.per_number, model.base_latency, model.scale) == (1.0, 0.3, 0.01)
    assert TimeModel() == TimeModel.instant()


def test_in_process_transport_works_under_trio() -> None:
    """The in-process transport, time model and agent locks run under trio."""
    fake = FakeMioGram(time_model=TimeModel(per_number=0.001, base_latency=0.001))

    async def main() -> object:
        async with httpx.AsyncClient(transport=fake.transport()) as http:
            form = {
                "Secret": SECRET,
                "Func": "SendMessage",
                "Phone": "+989100000001",
                "Message": "t",
            }
            return (await http.post("http://fake/dojob.php", data=form)).json()

    assert trio.run(main) == {"Result": True, "Status": "success"}
    assert len(fake.deliveries) == 1


def test_loopback_refuses_trio() -> None:
    """serve() explains that it needs asyncio when run under trio."""
    fake = FakeMioGram()

    async def main() -> None:
        async with fake.serve():
            pass  # pragma: no cover - never reached

    with pytest.raises(RuntimeError, match="needs asyncio"):
        trio.run(main)


async def test_non_form_body_reads_as_no_elements() -> None:
    """A JSON body fills no elements, as PHP's $_POST would: 800 Empty Secret."""
    fake = FakeMioGram()
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        reply = (
            await http.post(
                "http://fake/dojob.php", json={"Secret": SECRET, "Func": "APIGetActive"}
            )
        ).json()
    assert reply == {"Message": "Empty Secret", "Status": "error", "Code": "800"}


def test_command_line_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    """The command line exits 1 with a message when its port is taken."""
    from miogram_async.testing.__main__ import main  # noqa: PLC0415

    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        code = main(["--port", str(busy.getsockname()[1])])
    finally:
        busy.close()
    assert code == 1
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err


async def test_loopback_replies_are_not_held_back_by_nagle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The listening socket has TCP_NODELAY (accepted sockets inherit it), so no reply waits ~40 ms
    for a delayed ACK between uvicorn's separate writes of head and body."""
    listening: list[socket.socket] = []
    real_socket = socket.socket

    def recording_socket(*args: object, **kwargs: object) -> socket.socket:
        sock = real_socket(*args, **kwargs)  # type: ignore[arg-type]
        listening.append(sock)
        return sock

    monkeypatch.setattr("miogram_async.testing._server.socket.socket", recording_socket)
    async with FakeMioGram().serve() as url, httpx.AsyncClient() as client:
        reply = await client.post(url, data={"Secret": "test-secret", "Func": "APIGetUsername"})
        # The first socket made is the server's listening one (the client connects after).
        nodelay = listening[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert reply.status_code == 200
    assert nodelay != 0
