"""
Run (or resume) a campaign journal against a MioGram endpoint; the crash tests run this as a child.

    python tests/campaign_runner.py JOURNAL BASE_URL [--concurrency N]

The secret comes from ``MIOGRAM_SECRET``. The script prints ``running`` once the journal is open,
``chunk`` after every chunk, and the final status as one JSON line. SIGINT cancels the run the way
the command line does (in-flight chunks finish within the grace period), then it exits with 130.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

import anyio

from miogram_async import MassProgress, MioGram
from miogram_async.campaign import Campaign

EXIT_INTERRUPTED = 130


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _main(journal: str, base_url: str, concurrency: int | None) -> int:
    interrupted = False
    with Campaign.open(journal) as campaign:
        async with MioGram(base_url=base_url, max_retries=0) as client:
            _say("running")

            def progress(snapshot: MassProgress) -> None:
                _say(f"chunk {snapshot.chunks_done}")

            async with anyio.create_task_group() as group:

                async def watch_sigint() -> None:
                    nonlocal interrupted
                    with anyio.open_signal_receiver(signal.SIGINT) as signals:
                        async for _ in signals:
                            interrupted = True
                            group.cancel_scope.cancel()
                            return

                async def send() -> None:
                    await campaign.run(client, concurrency=concurrency, on_progress=progress)
                    group.cancel_scope.cancel()

                group.start_soon(watch_sigint)
                group.start_soon(send)
        status = campaign.status()
        _say(json.dumps({str(state): count for state, count in status.by_state.items()}))
    return EXIT_INTERRUPTED if interrupted else 0


def main() -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("journal")
    parser.add_argument("base_url")
    parser.add_argument("--concurrency", type=int, default=None)
    args = parser.parse_args()
    result: int = anyio.run(_main, args.journal, args.base_url, args.concurrency)
    return result


if __name__ == "__main__":
    sys.exit(main())
