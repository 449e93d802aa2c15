"""
Exit codes of the ``miogram`` command and the one exception that carries them.

Scripts branch on these, so they are part of the command's contract (docs/cli.md lists them).
"""

from __future__ import annotations

import enum

__all__ = ["CLIError", "ExitCode"]


class ExitCode(enum.IntEnum):
    """What a run of ``miogram`` ended with."""

    #: Everything asked for was done (a campaign: every number has a final answer).
    OK = 0
    #: The service refused or could not be reached (API error, connection trouble, bad reply), or
    #: refused a settle (no permission to read histories).
    SERVICE_ERROR = 1
    #: Bad usage or input: unknown option, unreadable file, malformed value, no secret.
    USAGE = 2
    #: A campaign ended with numbers FAILED, UNKNOWN, ABSENT or NOT_ATTEMPTED; the command names
    #: the one to run next (never a resume that would do nothing).
    PARTIAL = 3
    #: A single send was answered "not delivered" (the number does not have the messenger).
    NOT_DELIVERED = 4
    #: Stopped by Ctrl-C (SIGINT); a campaign's journal is consistent and can be resumed.
    INTERRUPTED = 130


class CLIError(Exception):
    """
    A failure the command reports in one line and turns into an exit code.

    Attributes:
        message: what went wrong, for humans (never contains the secret).
        exit_code: the process exit code.
        kind: a short machine-readable name for ``--json`` output.
    """

    def __init__(
        self, message: str, exit_code: ExitCode = ExitCode.USAGE, kind: str = "usage"
    ) -> None:
        super().__init__(message, exit_code, kind)
        self.message = message
        self.exit_code = exit_code
        self.kind = kind

    def __str__(self) -> str:
        return self.message
