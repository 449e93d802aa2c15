"""
The state one ``miogram`` invocation shares between the group and its command: global options, the
lazily resolved secret, output, and the runner that turns exceptions into exit codes.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import ssl
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Final, NoReturn, ParamSpec, TypeVar

import anyio
import attrs
import click

from .._base.actions import row_for
from .._base.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    MioGramError,
    SendGateError,
)
from .._base.outcomes import Verdict, verdict
from .._client import DEFAULT_BASE_URL, MioGram
from .._gates.base import SendGate
from .._gates.default import gate_from_text
from .._http.options import drain_from_env, front_wait_from_env
from .._http.pace import dead_holder_wait
from ._exit import CLIError, ExitCode
from ._output import Output
from ._secret import resolve_secret

__all__ = [
    "EXITS",
    "Settings",
    "connection_message",
    "error_document",
    "json_option",
    "pass_settings",
    "translate_error",
]

P = ParamSpec("P")
R = TypeVar("R")


@attrs.define
class Settings:
    """Global options of one invocation; commands receive it through ``@pass_settings``."""

    base_url: str | None = None
    base_url_from_option: bool = False
    secret_file: Path | None = None
    #: The region national numbers are read in (``--region``); ``None``: international forms only.
    region: str | None = "IR"
    output: Output = attrs.field(factory=Output)
    # repr=False: the environment may hold MIOGRAM_SECRET.
    environ: Mapping[str, str] = attrs.field(factory=lambda: dict(os.environ), repr=False)
    #: ``--send-gate``: ``local``, a ``postgresql://`` URL or a directory; repr=False: the URL
    #: may hold a password.
    send_gate: str | None = attrs.field(default=None, repr=False)
    #: The gates built for this invocation's clients, closed when it ends.
    _gates: list[SendGate] = attrs.field(factory=list, repr=False, init=False)

    def secret(self) -> str:
        """Resolve the secret: ``--secret-file``, ``MIOGRAM_SECRET``, a hidden prompt on a TTY."""
        return resolve_secret(
            self.secret_file,
            environ=self.environ,
            interactive=_stdin_is_tty(),
            prompt=lambda: str(click.prompt("MioGram secret", hide_input=True, err=True)),
        )

    @property
    def url(self) -> str:
        """The endpoint requests go to, for messages."""
        return self.base_url or DEFAULT_BASE_URL

    def client(self, secret: str | None = None, **options: Any) -> MioGram:
        """
        Build a client for the service at ``--base-url``; resolves the secret if not given.

        With ``--send-gate`` (or ``MIOGRAM_SEND_GATE``), the client's state-changing requests pass
        that gate, whose limit is the client's ``concurrency`` (1 unless the command opted in to
        more); without it, the client's default: the machine-wide gate of the service.
        """
        if secret is None:
            secret = self.secret()
        options.setdefault("default_region", self.region)
        if "send_gate" not in options:
            options["send_gate"] = self.gate(limit=options.get("concurrency", 1))
        return MioGram(secret=secret, base_url=self.base_url, **options)

    def gate(self, *, limit: int = 1) -> SendGate | None:
        """
        The send gate ``--send-gate`` names, shared with the other processes that name it; None
        without the option (the client then takes its default gate).
        """
        if self.send_gate is None:
            return None
        gate = gate_from_text(
            self.send_gate,
            limit=limit,
            dead_holder_wait=dead_holder_wait(drain_from_env(), front_wait_from_env()),
            source="--send-gate",
        )
        self._gates.append(gate)
        return gate

    def fail_now(self, error: CLIError) -> NoReturn:
        """Report *error* and exit (for checks made before the event loop starts)."""
        self.output.fail(error)
        raise click.exceptions.Exit(int(error.exit_code))

    def run(self, work: Callable[[], Awaitable[ExitCode | None]]) -> NoReturn:
        """Run *work* on an event loop, report what it raised, and exit with its code."""

        async def main() -> ExitCode | None:
            try:
                return await work()
            finally:
                # Frees the gate's database connection (and any slot) before the loop ends.
                gates, self._gates = self._gates, []
                for gate in gates:
                    close = getattr(gate, "aclose", None)
                    if close is not None:
                        await close()

        try:
            code = anyio.run(main) or ExitCode.OK
        except CLIError as exc:
            self.output.fail(exc)
            code = exc.exit_code
        except MioGramError as exc:
            error = translate_error(exc, self.url)
            self.output.fail(error)
            code = error.exit_code
        except KeyboardInterrupt:
            self.output.fail(CLIError("interrupted", ExitCode.INTERRUPTED, "interrupted"))
            code = ExitCode.INTERRUPTED
        raise click.exceptions.Exit(int(code))


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


#: Each verdict on an error (`_outcomes.verdict`) as the exit code and ``--json`` kind the command
#: reports: the one place an outcome becomes an exit code.
EXITS: Final[Mapping[Verdict, tuple[ExitCode, str | None]]] = {
    Verdict.INVALID: (ExitCode.USAGE, "validation"),
    Verdict.REFUSED: (ExitCode.SERVICE_ERROR, "api_error"),
    Verdict.MAY_HAVE_BEEN_SENT: (ExitCode.SERVICE_ERROR, "api_error"),
    Verdict.UNREACHABLE: (ExitCode.SERVICE_ERROR, "connection"),
    Verdict.NO_REPLY: (ExitCode.SERVICE_ERROR, "connection"),
    Verdict.UNREADABLE: (ExitCode.SERVICE_ERROR, "bad_reply"),
    Verdict.OTHER: (ExitCode.SERVICE_ERROR, None),  # the error's class names it
}


def translate_error(exc: MioGramError, url: str = DEFAULT_BASE_URL) -> CLIError:
    """Turn an SDK error into the one-line message and exit code the command reports."""
    changes_state = isinstance(exc, APIError) and row_for(exc.func).changes_state
    judged = verdict(exc, changes_state=changes_state)
    code, kind = EXITS[judged]
    if isinstance(exc, SendGateError):
        # The gate's own trouble (its folder, its database): never blamed on the service.
        return CLIError(str(exc), ExitCode.SERVICE_ERROR, "send_gate")
    if judged is Verdict.MAY_HAVE_BEEN_SENT:
        # 999 and the like do not prove a refusal: the message may have gone (docs/service.md E32).
        message = f"no answer proving the outcome: {exc} (the request may have been sent)"
    elif judged is Verdict.REFUSED:
        message = f"the service refused: {exc}"
    elif isinstance(exc, APIConnectionError):
        message = connection_message(exc, url)
    elif judged is Verdict.UNREADABLE:
        message = f"unexpected reply: {exc}"
    else:
        message = str(exc)
    return CLIError(message, code, kind or type(exc).__name__)


# The class names the SDK's message ends with: "(ConnectTimeout from ClientConnectorError)".
_CLASS_DETAIL = re.compile(r"\s*\([A-Za-z_.]+(?: from [A-Za-z_.]+)?\)$")


def connection_message(exc: APIConnectionError, url: str) -> str:
    """
    ``cannot reach <url>: <plain cause>`` for a request that never left, or ``no reply from
    <url>: ...`` for one that may have reached the service; no exception class names.
    """
    cause = _plain_cause(exc)
    if exc.sent is False:
        return f"cannot reach {url}: {cause}"
    return f"no reply from {url}: {cause} (the request may have reached the service)"


def _plain_cause(exc: APIConnectionError) -> str:
    """What went wrong, in words: read from the OS-level errors the transport chained."""
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and all(link is not seen for seen in chain):
        chain.append(link)
        link = link.__cause__ or link.__context__
    for link in chain:
        if isinstance(link, socket.gaierror):
            return "host name not found (DNS)"
        if isinstance(link, ssl.SSLCertVerificationError):
            # verify_message and reason are set by the ssl module, not by the constructor.
            detail = getattr(link, "verify_message", None) or getattr(link, "reason", None)
            detail = detail or link.strerror
            return f"TLS certificate not accepted ({detail})"
        if isinstance(link, ssl.SSLError):
            return f"TLS handshake failed ({getattr(link, 'reason', None) or link.strerror})"
    for link in chain:
        if isinstance(link, OSError) and isinstance(link.errno, int) and link.errno > 0:
            if link.errno == errno.ECONNREFUSED:
                return "connection refused"
            text = os.strerror(link.errno)
            return text[:1].lower() + text[1:]
    if isinstance(exc, APITimeoutError):
        return "timed out connecting" if exc.sent is False else "timed out waiting for the reply"
    # The SDK's wording without the action name and the exception classes.
    text = _CLASS_DETAIL.sub("", exc.message.partition(": ")[2] or exc.message)
    return text or "the connection failed"


def error_document(exc: BaseException) -> dict[str, object]:
    """Describe *exc* for ``--json`` output: its class, code (service errors) and message."""
    document: dict[str, object] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, APIError):
        document["code"] = exc.code
    return document


pass_settings = click.make_pass_decorator(Settings, ensure=True)


def json_option(command: Callable[P, R]) -> Callable[P, R]:
    """Add ``--json`` to a command; it switches the output to JSON like the global flag."""

    def enable(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.ensure_object(Settings).output.json_mode = True
        return value

    return click.option(
        "--json",
        "json_output",
        is_flag=True,
        expose_value=False,
        callback=enable,
        is_eager=True,
        help="Write one JSON document to stdout (for scripts); human text goes to stderr.",
    )(command)
