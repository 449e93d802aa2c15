"""
The first PostgreSQL example of docs/campaigns.md, as written (issue 19): workers started with
``miogram campaign resume URL`` and no gate option, against the fake in its server profile (the
gateway's credit file breaks when two sends overlap, E33), one of them SIGKILLed mid-run. Once
with the host's machine-wide gate in common, as on one host, and once without it
(``MIOGRAM_SEND_GATE=local``), as on three machines: the campaign's own gate alone holds them.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from postgres_support import campaign_url

from miogram_async.campaign import Campaign, NumberState
from miogram_async.testing import AccountConfig, FakeMioGram, TimeModel

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics are POSIX"),
]

SECRET = "docs-example-secret-3a7c"
TOTAL = 20_000
CHUNK = 40  # the default
#: The service's time, a thousand times faster: 1 ms a number, the front's 60 s wait 60 ms.
SCALE = 0.001
#: Numbers delivered before one worker is killed.
KILL_AFTER = 4_000


@pytest.mark.parametrize("host_gate", ["machine-wide", "local"])
async def test_three_workers_resuming_with_no_gate_option_keep_the_gateway_whole(
    postgres_url: str, tmp_path: Path, host_gate: str
) -> None:
    """One request in flight, credit file intact, no double delivery, at most one chunk unknown."""
    url = campaign_url(postgres_url, f"spring-{host_gate}")
    numbers = [f"+98937{i:07d}" for i in range(TOTAL)]
    Campaign.create(url, numbers, message="Spring sale").close()
    fake = FakeMioGram(AccountConfig(secret=SECRET, agents=("Agent1", "Agent2", "Agent3")))
    assert fake.profile == "server"
    assert fake.behaviour.shared_credit_file  # two sends at once break it, as the real one
    fake.time_model = TimeModel.realistic(scale=SCALE)
    env = {
        **os.environ,
        "MIOGRAM_SECRET": SECRET,
        # The drain after an unknown outcome, at the fake's pace (1.5 x its time a number).
        "MIOGRAM_GATEWAY_DRAIN": str(1.5 * SCALE),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    if host_gate == "local":
        # As on three machines: no gate of the host in common, only the campaign's own.
        env["MIOGRAM_SEND_GATE"] = "local"
    logs = [tmp_path / f"worker-{index}.err" for index in range(3)]
    async with fake.serve() as base_url:
        env["MIOGRAM_BASE_URL"] = base_url
        with anyio.fail_after(540), contextlib.ExitStack() as files:
            workers = [
                await anyio.open_process(
                    [sys.executable, "-m", "miogram_async", "campaign", "resume", url],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=files.enter_context(log.open("wb")),
                )
                for log in logs
            ]
            # Mid-run (a worker that stopped early ends the wait: the assertions below say why).
            while len(fake.deliveries) < KILL_AFTER and all(  # noqa: ASYNC110 - polling
                worker.returncode is None for worker in workers
            ):
                await anyio.sleep(0.05)
            victim, *survivors = workers
            if victim.returncode is None:
                victim.send_signal(signal.SIGKILL)
            killed = await victim.wait()
            codes = [await worker.wait() for worker in survivors]
            await fake.wait_idle()
    errors = "".join(log.read_text() for log in logs)
    assert killed == -signal.SIGKILL, errors
    assert codes in ([0, 0], [0, 3], [3, 0], [3, 3]), errors  # 3: a chunk left unknown
    assert fake.max_state_changing_in_flight == 1
    assert not fake.credit_file_corrupted
    sent = collections.Counter(delivery.number for delivery in fake.deliveries)
    assert max(sent.values()) == 1
    with Campaign.open(url, read_only=True) as reader:
        status = reader.status()
    by_state = status.by_state
    assert by_state[NumberState.PENDING] == 0
    assert by_state[NumberState.FAILED] == 0
    assert by_state[NumberState.SENDING] == 0
    assert by_state[NumberState.UNKNOWN] <= CHUNK  # the victim's chunk, if it was in flight
    assert by_state[NumberState.DELIVERED] + by_state[NumberState.UNKNOWN] == TOTAL
    assert by_state[NumberState.DELIVERED] == len(sent)
