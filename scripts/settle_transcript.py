"""
Record the transcript of docs/campaigns.md "Settling unknown numbers": a run that leaves unknown
numbers, the settle, the explicit re-send and a last resume, with the real ``miogram`` command.

It serves the fake service on loopback at the real service's pace (1 s a number, time scaled by
0.01, four agents), whose fifth Mass request (the first sized from the measured pace, after each
agent's small first chunk) has its gateway die after 7 numbers (a 999 with the rest never handed
to the messenger), and runs the commands in a fresh directory, printing each
after a ``$`` prompt with its output (stdout and stderr together, as a terminal shows them).
Usage, from the repository's root::

    .venv/bin/python scripts/settle_transcript.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import anyio

from miogram_async.testing import (
    AccountConfig,
    FakeMioGram,
    FaultKind,
    FaultRule,
    Faults,
    TimeModel,
)

SECRET = "transcript-secret"
SCALE = 0.01
COMMANDS = (
    "miogram campaign run numbers.txt -m 'Spring sale' -j c.sqlite --no-settle",
    "miogram campaign settle c.sqlite",
    "miogram campaign resume c.sqlite --resend-absent",
    "miogram campaign resume c.sqlite",
)


def _run(command: str, directory: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        command,
        shell=True,
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # in the order a terminal shows them
        text=True,
        check=False,
    )
    return f"$ {command}\n{done.stdout}" + (
        f"$ echo $?\n{done.returncode}\n" if done.returncode else ""
    )


async def _main() -> None:
    fake = FakeMioGram(
        AccountConfig(secret=SECRET, agents=("Agent1", "Agent2", "Agent3", "Agent4")),
        time_model=TimeModel.realistic(scale=SCALE),
        faults=Faults.of(
            FaultRule(
                kind=FaultKind.GATEWAY_DIES, funcs={"SendMessageMass"}, after=4, times=1, handed=7
            )
        ),
    )
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        numbers = [f"+98912{index:07d}" for index in range(200)]
        (directory / "numbers.txt").write_text("\n".join(numbers) + "\n", encoding="utf-8")
        async with fake.serve() as url:
            env = {
                **os.environ,
                "MIOGRAM_BASE_URL": url,
                "MIOGRAM_SECRET": SECRET,
                # The front's 60 s wait scaled like the fake's time (E32): the client measures the
                # gateway's pace itself and sizes its chunks and drains from it (E49).
                "MIOGRAM_FRONT_WAIT": str(60 * SCALE),
                "COLUMNS": "100",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            }
            for command in COMMANDS:
                sys.stdout.write(await anyio.to_thread.run_sync(_run, command, directory, env))
        await fake.wait_idle()
    counts: dict[str, int] = {}
    for delivery in fake.deliveries:
        counts[delivery.number] = counts.get(delivery.number, 0) + 1
    sys.stdout.write(
        f"\n(the fake delivered {len(counts)} numbers, the most to one number "
        f"{max(counts.values())}; at most {fake.max_state_changing_in_flight} request in flight)\n"
    )


if __name__ == "__main__":
    anyio.run(_main)
