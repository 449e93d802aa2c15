"""
Run the fake MioGram service on 127.0.0.1: ``python -m miogram_async.testing --port 8765``.

Needs the ``testing`` extra (uvicorn). Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import anyio

from ._config import AccountConfig, NumberBook
from ._fake import FakeMioGram
from ._timing import TimeModel

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m miogram_async.testing",
        description="Serve a fake MioGram.net web service on 127.0.0.1 for tests and demos.",
    )
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0: any free port)")
    parser.add_argument("--secret", default="test-secret", help="the account's secret")
    parser.add_argument(
        "--agent", action="append", dest="agents", help="an agent name (repeatable; default Agent1)"
    )
    parser.add_argument(
        "--realistic",
        type=float,
        metavar="SCALE",
        default=None,
        help="take realistic time (1 s per number) multiplied by SCALE",
    )
    parser.add_argument(
        "--exist-ratio",
        type=float,
        default=1.0,
        help="share of numbers that exist (seeded, default 1.0)",
    )
    return parser


async def _serve(fake: FakeMioGram, port: int) -> None:
    async with fake.serve(port=port) as url:
        print(f"fake MioGram service on {url} (Ctrl-C to stop)", flush=True)
        await anyio.sleep_forever()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse *argv*, serve until interrupted, return the exit status."""
    options = _parser().parse_args(argv)
    account = AccountConfig(
        secret=options.secret,
        agents=tuple(options.agents or ["Agent1"]),
        numbers=NumberBook.ratio(options.exist_ratio) if options.exist_ratio < 1 else NumberBook(),
    )
    time_model = (
        TimeModel() if options.realistic is None else TimeModel.realistic(scale=options.realistic)
    )
    fake = FakeMioGram(account, time_model=time_model)
    try:
        anyio.run(_serve, fake, options.port, backend="asyncio")
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{options.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
