"""
One worker of a PostgreSQL campaign; the multi-worker test runs several of these as children.

    python tests/pg_worker.py CAMPAIGN_URL BASE_URL GATE_URL GATE_NAME

Opens the campaign, runs it with concurrency 1 (a gate of one slot lets one request of the
account be in flight anyway), every state-changing request through the PostgreSQL send gate
(``MioGram(send_gate=...)``). The secret comes from ``MIOGRAM_SECRET``. Prints ``running`` once
the run began, ``chunk N`` after every chunk and the final counts as one JSON line.
"""

from __future__ import annotations

import json
import sys

import anyio

from miogram_async import MassProgress, MioGram, PostgresSendGate
from miogram_async.campaign import Campaign


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _main(args: list[str]) -> int:
    campaign_url, base_url, gate_url, gate_name = args
    # The fake answers a request within milliseconds: a dead holder's request is over long before.
    async with PostgresSendGate(gate_url, name=gate_name, dead_holder_wait=0.5) as gate:
        with Campaign.open(campaign_url) as campaign:
            async with MioGram(base_url=base_url, send_gate=gate, max_retries=0) as client:
                _say("running")

                def progress(snapshot: MassProgress) -> None:
                    _say(f"chunk {snapshot.chunks_done}")

                summary = await campaign.run(client, concurrency=1, on_progress=progress)
    _say(json.dumps({str(state): count for state, count in summary.status.by_state.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(_main, sys.argv[1:5]))
