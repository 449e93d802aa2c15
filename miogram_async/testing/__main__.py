"""
Run the fake MioGram service on 127.0.0.1: ``python -m miogram_async.testing --port 8765``.

Needs the ``testing`` extra (uvicorn). Stop it with Ctrl-C or SIGTERM. The flags and the serving
are `miogram_async.testing._serve`'s, shared with ``miogram fake serve``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import anyio

from ._serve import (
    ServeOptions,
    active_flags,
    announcement,
    announcement_document,
    argument_parser,
    build_fake,
    serve_until_stopped,
)

__all__ = ["active_flags", "argument_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse *argv*, serve until interrupted, return the exit status."""
    parser = argument_parser()
    try:
        options = ServeOptions.from_values(vars(parser.parse_args(argv)))
        fake = build_fake(options)
    except ValueError as exc:
        parser.error(str(exc))

    def announce(url: str) -> None:
        if options.json:
            print(json.dumps(announcement_document(url, options)), flush=True)
        else:
            print("\n".join(announcement(url, options)), flush=True)

    try:
        summary = anyio.run(
            serve_until_stopped, fake, options.port, announce, options.deliveries, backend="asyncio"
        )
    except KeyboardInterrupt:
        return 0
    except ImportError:
        print(
            "the fake server needs uvicorn: pip install 'miogram-async[testing]'", file=sys.stderr
        )
        return 1
    except OSError as exc:
        where = (
            f"write {options.deliveries!r}"
            if exc.filename == options.deliveries and options.deliveries
            else f"listen on 127.0.0.1:{options.port}"
        )
        print(f"cannot {where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print("\n".join(summary.lines()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
