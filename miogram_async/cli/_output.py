"""
How the command writes: tables and summaries for humans, JSON for scripts, errors to stderr.

With ``--json`` stdout carries exactly one JSON document and nothing else; progress, hints and error
text go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TextIO

import attrs
import click
from rich.console import Console

from ._exit import CLIError

__all__ = ["Output"]


@attrs.define
class Output:
    """The two consoles of one command run and the ``--json`` switch."""

    json_mode: bool = False
    stdout: TextIO | None = None
    stderr: TextIO | None = None
    out: Console = attrs.field(init=False)
    err: Console = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        # Looked up at call time (not import time) so that click's test runner can swap the streams.
        stdout = self.stdout if self.stdout is not None else sys.stdout
        stderr = self.stderr if self.stderr is not None else sys.stderr
        self.out = Console(file=stdout, highlight=False, soft_wrap=False)
        self.err = Console(file=stderr, highlight=False, soft_wrap=False)

    def emit(self, document: Mapping[str, object]) -> None:
        """Write *document* as the one JSON document on stdout."""
        click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))

    def note(self, text: str) -> None:
        """Write a line for humans to stderr (off stdout, so that ``--json`` stays parseable)."""
        click.echo(text, err=True)

    def fail(self, error: CLIError) -> None:
        """Report *error*: one line on stderr, and with ``--json`` a JSON document on stdout."""
        click.secho(f"error: {error.message}", err=True, fg="red", bold=True)
        if self.json_mode:
            self.emit({"ok": False, "error": {"kind": error.kind, "message": error.message}})
