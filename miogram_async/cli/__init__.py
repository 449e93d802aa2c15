"""
The ``miogram`` command (needs the ``cli`` extra: ``pip install "miogram-async[cli]"``).

``main`` is the console-script entry point; ``cli`` is the click group, for embedding and tests.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._exit import ExitCode

if TYPE_CHECKING:
    from ._app import cli

__all__ = ["ExitCode", "cli", "main"]

_EXTRA_MODULES = ("click", "rich")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``miogram`` command with *argv* (default: the process arguments) and exit."""
    try:
        from ._app import cli  # noqa: PLC0415 - so that a missing extra gets a clear message
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in _EXTRA_MODULES:
            raise
        sys.stderr.write(
            "error: the miogram command needs click and rich: pip install 'miogram-async[cli]'\n"
        )
        raise SystemExit(int(ExitCode.USAGE)) from None
    cli.main(args=list(argv) if argv is not None else None, prog_name="miogram")


def __getattr__(name: str) -> object:
    if name == "cli":
        from ._app import cli  # noqa: PLC0415 - imports click and rich only when asked for

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
