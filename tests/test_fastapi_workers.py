"""
The FastAPI example of docs/testing.md under ``uvicorn --workers 4`` with default client settings
(issue 19): 200 requests at once, and the fake, served on loopback by the test's process, never
sees two state-changing requests in flight; with ``MIOGRAM_SEND_GATE=local`` (a gate per worker)
it does, which is what the default prevents.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest

from miogram_async.testing import AccountConfig, FakeMioGram, TimeModel

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX"),
]

ROOT = Path(__file__).resolve().parent.parent
SECRET = "fastapi-workers-secret-8d21"
WORKERS = 4
REQUESTS = 200
UVICORN = (sys.executable, "-m", "uvicorn", "shop_app:app", "--workers", str(WORKERS))


def documented_app() -> str:
    """The FastAPI example of docs/testing.md, as written."""
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    section = text.split("### A FastAPI app", 1)[1]
    found = re.search(r"^```python\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert found is not None
    return found.group(1)


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def serve_and_notify(tmp_path: Path, send_gate: str | None) -> FakeMioGram:
    """Run the app on uvicorn's workers, POST `REQUESTS` notifications at once; the fake."""
    (tmp_path / "shop_app.py").write_text(documented_app(), encoding="utf-8")
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    fake.time_model = TimeModel(base_latency=0.02)  # every send is in flight 20 ms at the fake
    port = free_port()
    env = {**os.environ, "MIOGRAM_SECRET": SECRET, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("MIOGRAM_SEND_GATE", None)
    if send_gate is not None:
        env["MIOGRAM_SEND_GATE"] = send_gate
    log = tmp_path / "uvicorn.log"
    async with fake.serve() as base_url:
        env["MIOGRAM_BASE_URL"] = base_url
        with log.open("wb") as err:
            server = await anyio.open_process(
                [*UVICORN, "--port", str(port), "--app-dir", str(tmp_path)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            try:
                with anyio.fail_after(120):
                    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                        await until_every_worker_serves(http, log)
                        replies = await notify_all(http)
            finally:
                server.terminate()
                await server.wait()
    assert all(reply == {"delivered": True} for reply in replies) or send_gate == "local"
    return fake


async def until_every_worker_serves(http: httpx.AsyncClient, log: Path) -> None:
    """Wait until the four workers have started their app."""
    log_file = anyio.Path(log)
    while (await log_file.read_text()).count("Application startup complete") < WORKERS:  # noqa: ASYNC110
        await anyio.sleep(0.1)
    assert (await http.get("/")).status_code == 404


async def notify_all(http: httpx.AsyncClient) -> list[object]:
    """POST `REQUESTS` notifications at once; their replies."""
    replies: list[object] = [None] * REQUESTS

    async def notify(index: int) -> None:
        response = await http.post(f"/notify/+98910{index:07d}", timeout=60)
        replies[index] = response.json() if response.status_code == 200 else response.status_code

    async with anyio.create_task_group() as group:
        for index in range(REQUESTS):
            group.start_soon(notify, index)
    return replies


async def test_four_uvicorn_workers_with_default_clients_send_one_at_a_time(
    tmp_path: Path,
) -> None:
    """Every notification delivered, and never two sends in flight at the service."""
    fake = await serve_and_notify(tmp_path, None)
    assert len(fake.deliveries) == REQUESTS
    assert fake.max_state_changing_in_flight == 1
    assert not fake.credit_file_corrupted


async def test_with_a_gate_per_worker_the_service_sees_sends_overlap(tmp_path: Path) -> None:
    """The control: MIOGRAM_SEND_GATE=local keeps one request per worker, not per host."""
    fake = await serve_and_notify(tmp_path, "local")
    assert fake.max_state_changing_in_flight > 1
