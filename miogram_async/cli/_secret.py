"""
Where the command gets the account secret from, in order: ``--secret-file``, ``MIOGRAM_SECRET``, a
hidden prompt (only when stdin is a terminal).

There is deliberately no ``--secret`` option: a secret on the command line ends up in shell history
and in every user's ``ps`` listing. The secret is never echoed, logged or put into an error message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from ._exit import CLIError, ExitCode

__all__ = ["SECRET_ENV", "resolve_secret"]

SECRET_ENV = "MIOGRAM_SECRET"

_NO_SECRET = (
    "no secret given: put it in the MIOGRAM_SECRET environment variable, or in a file passed with "
    "--secret-file, or run the command in a terminal to be asked for it"
)


def resolve_secret(
    secret_file: Path | None,
    *,
    environ: Mapping[str, str],
    interactive: bool,
    prompt: Callable[[], str],
) -> str:
    """
    Return the secret from the first source that has one.

    Args:
        secret_file: the ``--secret-file`` path, if given; it wins over the environment.
        environ: the process environment.
        interactive: whether stdin is a terminal, so that a hidden prompt may be shown.
        prompt: asks for the secret without echoing it.

    Raises:
        CLIError: (exit 2) the file cannot be read, is not UTF-8 or is empty, or no source has a
            secret.
    """
    if secret_file is not None:
        try:
            text = secret_file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CLIError(
                f"cannot read the secret file {str(secret_file)!r}: {exc.strerror or exc}"
            ) from None
        except UnicodeDecodeError:
            # No detail: the exception would quote the secret's bytes.
            raise CLIError(f"the secret file {str(secret_file)!r} is not UTF-8 text") from None
        secret = text.strip()
        if not secret:
            raise CLIError(f"the secret file {str(secret_file)!r} is empty")
        return secret
    secret = environ.get(SECRET_ENV, "").strip()
    if secret:
        return secret
    if interactive:
        secret = prompt().strip()
        if secret:
            return secret
    raise CLIError(_NO_SECRET, ExitCode.USAGE, "no_secret")
