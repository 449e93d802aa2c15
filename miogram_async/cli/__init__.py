"""
The ``miogram`` command (needs the ``cli`` extra: ``pip install "miogram-async[cli]"``).

``main`` is the console-script entry point; ``cli`` is the click group, for embedding and tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._app import cli
from ._exit import ExitCode

__all__ = ["ExitCode", "cli", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``miogram`` command with *argv* (default: the process arguments) and exit."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="miogram")
