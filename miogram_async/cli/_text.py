"""Text given on the command line or read from stdin (``-m -``, ``--message-file -``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .._base.errors import ValidationError
from .._base.validation import normalize_phone
from ._exit import CLIError

__all__ = ["STDIN", "message_text", "phone_argument", "read_message_file"]

#: The value that means "read stdin" for a file or text option.
STDIN = "-"


def _read_stdin(what: str) -> str:
    if sys.stdin.isatty():
        click.echo(f"reading {what} from stdin; end it with Ctrl-D", err=True)
    stream = getattr(sys.stdin, "buffer", None)
    try:
        if stream is None:
            return sys.stdin.read().removeprefix("\ufeff")
        return bytes(stream.read()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CLIError(f"{what} on stdin is not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise CLIError(f"cannot read {what} from stdin: {exc.strerror or exc}") from None


def message_text(message: str) -> str:
    """``-m TEXT`` as given; ``-m -`` reads the text from stdin, without its last line end."""
    if message != STDIN:
        return message
    return _read_stdin("the message").rstrip("\r\n")


def read_message_file(path: Path) -> str:
    """The text of ``--message-file PATH`` (UTF-8), kept exactly; ``-`` reads stdin."""
    if str(path) == STDIN:
        return _read_stdin("the message")
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read the message file {str(path)!r}: {exc}") from None


def phone_argument(phone: str, region: str | None) -> str:
    """
    A PHONE argument in the wire form, read under ``--region``.

    Raises:
        CLIError: (exit 2) it is not a phone number.
    """
    try:
        return normalize_phone(phone, default_region=region)
    except ValidationError as exc:
        hint = "" if region is None else f" (national numbers are read as {region} numbers)"
        raise CLIError(f"{exc}{hint}", kind="validation") from None
