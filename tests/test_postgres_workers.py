"""
Three worker processes on one PostgreSQL campaign against the loopback fake, one SIGKILLed mid-run:
no number is delivered twice, the survivors finish the campaign, and the send gate keeps one
state-changing request in flight.
"""

from __future__ import annotations

import collections
import csv
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.abc
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream
from postgres_support import campaign_url

from miogram_async.campaign import Campaign, NumberState
from miogram_async.testing import AccountConfig, FakeMioGram, TimeModel

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics are POSIX"),
]

WORKER = Path(__file__).with_name("pg_worker.py")
SECRET = "workers-secret-93b1aa"
MESSAGE = "Hello from three workers"
TOTAL = 20_000
CHUNK = 50
#: Chunks the victim answers before it is killed.
KILL_AFTER = 15


async def start_worker(
    url: str, base_url: str, gate_url: str
) -> tuple[anyio.abc.Process, BufferedByteReceiveStream]:
    """Start a worker and wait until its run began."""
    env = {**os.environ, "MIOGRAM_SECRET": SECRET, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = await anyio.open_process(
        [sys.executable, str(WORKER), url, base_url, gate_url, "workers-account"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=None,  # a worker's traceback shows in the test's captured output
    )
    assert process.stdout is not None
    lines = BufferedByteReceiveStream(process.stdout)
    assert await lines.receive_until(b"\n", 1 << 16) == b"running"
    return process, lines


async def read_rest(lines: BufferedByteReceiveStream) -> list[str]:
    """Every line the worker prints until it exits."""
    found: list[str] = []
    while True:
        try:
            found.append((await lines.receive_until(b"\n", 1 << 16)).decode())
        except (anyio.EndOfStream, anyio.IncompleteRead):
            return found


async def test_three_workers_one_killed_finish_the_campaign_sending_nothing_twice(
    postgres_url: str,
) -> None:
    """A SIGKILLed worker's chunk stays in doubt at most; survivors send the rest, each once."""
    url = campaign_url(postgres_url, "three-workers")
    numbers = [f"+98936{i:07d}" for i in range(TOTAL)]
    Campaign.create(url, numbers, message=MESSAGE, chunk_size=CHUNK).close()
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    fake.time_model = TimeModel(base_latency=0.003, per_number=0.0001)
    async with fake.serve() as base_url:
        with anyio.fail_after(240):
            victim, victim_lines = await start_worker(url, base_url, postgres_url)
            survivors = [await start_worker(url, base_url, postgres_url) for _ in range(2)]
            answered = 0
            while answered < KILL_AFTER:
                line = (await victim_lines.receive_until(b"\n", 1 << 16)).decode()
                answered = int(line.split()[1])
            victim.send_signal(signal.SIGKILL)
            await victim.wait()
            outputs = []
            for process, lines in survivors:
                outputs.append(await read_rest(lines))
                assert await process.wait() == 0
            await fake.wait_idle()
    for output in outputs:
        assert any(line.startswith("chunk") for line in output)  # each survivor sent chunks
    sent = collections.Counter(delivery.number for delivery in fake.deliveries)
    assert max(sent.values()) == 1
    assert fake.max_state_changing_in_flight == 1
    with Campaign.open(url, read_only=True) as reader:
        status = reader.status()
        rows = io.StringIO()
        reader.export(rows)
    by_state = status.by_state
    assert by_state[NumberState.PENDING] == 0
    assert by_state[NumberState.SENDING] == 0
    # At most the victim's chunk in flight: unknown, or settled absent from its agent's history
    # (issue 18) when it had not left yet; an absent number was never delivered.
    left = by_state[NumberState.UNKNOWN] + by_state[NumberState.ABSENT]
    assert left <= CHUNK
    absent = {
        row["number"]
        for row in csv.DictReader(rows.getvalue().splitlines())
        if row["state"] == "absent"
    }
    assert len(absent) == by_state[NumberState.ABSENT]
    assert not absent & set(sent)
    assert by_state[NumberState.DELIVERED] + left == TOTAL
    assert by_state[NumberState.DELIVERED] >= TOTAL - CHUNK
    assert len(sent) >= by_state[NumberState.DELIVERED]
    assert status.last_run == "finished"
    # The command line reads the same numbers, from anywhere the database is reachable.
    with anyio.fail_after(60):
        shown = await anyio.run_process(
            [sys.executable, "-m", "miogram_async", "--json", "campaign", "status", url],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    document = json.loads(shown.stdout)
    assert document["counts"] == {str(state): count for state, count in by_state.items()}
    assert document["complete"] is True
