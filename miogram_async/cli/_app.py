"""The ``miogram`` command group and its global options."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from .._base.checks import check_base_url
from .._base.errors import ValidationError
from .._base.validation import normalize_phone
from .._gates.default import gate_from_text
from ._campaign_cmd import campaign
from ._context import Settings
from ._demo_cmd import demo
from ._exit import CLIError, ExitCode
from ._fake_cmd import fake
from ._output import Output
from ._single import account, send, send_file

__all__ = ["cli"]

_LOG_HANDLER = "miogram-cli"
_WANTS_JSON = "miogram.wants_json"
_INTERRUPTED = CLIError("interrupted", ExitCode.INTERRUPTED, "interrupted")

_EPILOG = """\
Exit codes: 0 ok, 1 service error, 2 usage or input error, 3 campaign ended with numbers failed,
unknown, absent or not attempted, 4 single send not delivered, 130 interrupted (Ctrl-C).
"""


class _Group(click.Group):
    """
    The top-level group: a `CLIError` raised before a command's event loop is reported too, and a
    usage error under ``--json`` also gets its JSON document on stdout (click prints the rest).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        wanted_json = ctx.meta[_WANTS_JSON] = _asks_for_json(args)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _usage_document(ctx, exc, wanted_json)
            raise

    def invoke(self, ctx: click.Context) -> object:
        wanted_json = bool(ctx.meta.get(_WANTS_JSON))
        try:
            return super().invoke(ctx)
        except CLIError as exc:
            ctx.ensure_object(Settings).fail_now(exc)
        except (KeyboardInterrupt, click.exceptions.Abort):
            # Ctrl-C before a command's event loop runs (at the secret prompt, click's Abort).
            ctx.ensure_object(Settings).fail_now(_INTERRUPTED)
        except click.UsageError as exc:
            _usage_document(ctx, exc, wanted_json)
            raise


def _asks_for_json(args: list[str]) -> bool:
    """Whether ``--json`` is among *args* as an option (not after ``--``)."""
    options = args[: args.index("--")] if "--" in args else args
    return "--json" in options


def _usage_document(ctx: click.Context, error: click.UsageError, wanted_json: bool) -> None:
    """Under ``--json``, write the usage error as the one JSON document on stdout."""
    output = ctx.ensure_object(Settings).output
    if wanted_json or output.json_mode:
        output.emit({"ok": False, "error": {"kind": "usage", "message": error.format_message()}})


def _check_base_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--base-url`` (or MIOGRAM_BASE_URL): an http(s) URL with a host, as the client checks."""
    if value:
        try:
            check_base_url(value)
        except ValidationError:
            raise click.BadParameter(
                f"expected an http:// or https:// URL like https://miogram.net/dojob.php, "
                f"got {value!r}"
            ) from None
    return value


def _check_send_gate(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """
    ``--send-gate`` (or MIOGRAM_SEND_GATE): ``local``, a ``postgresql://`` URL or an existing
    directory; a malformed URL is refused without being quoted (it may hold a password).
    """
    if value is None or not value.strip():
        return None
    try:
        gate_from_text(value)
    except ValidationError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


_NO_REGION = ("none", "off", "-")


def _check_region(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--region``: a region code such as IR (the default), or ``none`` for international forms."""
    if value is None:
        return "IR"
    text = value.strip()
    if not text or text.lower() in _NO_REGION:
        return None
    try:
        normalize_phone("+989100000000", default_region=text)  # checks the region (and the extra)
    except ValidationError as exc:
        raise click.BadParameter(str(exc)) from None
    return text.upper()


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=_EPILOG,
)
@click.option(
    "--base-url",
    envvar="MIOGRAM_BASE_URL",
    callback=_check_base_url,
    metavar="URL",
    help="The service endpoint [env MIOGRAM_BASE_URL; default https://miogram.net/dojob.php].",
)
@click.option(
    "--region",
    envvar="MIOGRAM_DEFAULT_REGION",
    callback=_check_region,
    metavar="CODE",
    help="Read national numbers (0912..., 912...) as numbers of this region; 'none' accepts "
    "only +... and 00... [env MIOGRAM_DEFAULT_REGION; default IR, built in; other regions "
    "need the 'phone' extra].",
)
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Read the secret from FILE (otherwise MIOGRAM_SECRET, otherwise a hidden prompt).",
)
@click.option(
    "--send-gate",
    envvar="MIOGRAM_SEND_GATE",
    callback=_check_send_gate,
    metavar="URL|DIR|local",
    help="Share one send gate with every process given the same one: at most one "
    "state-changing request in flight across them all (--concurrency N: N), as the service's "
    "gateway needs. A postgresql:// URL (any machines; the 'postgres' extra), a directory "
    "(processes of one host; flock), or 'local' (this process only). After an unknown outcome "
    "it stays closed for all of them while the gateway may still be at work [env "
    "MIOGRAM_SEND_GATE; default: the host's machine-wide gate of the service, and a PostgreSQL "
    "campaign's workers share one in its database].",
)
@click.option(
    "--json",
    "json_output",
    is_flag=True,
    help="Write one JSON document to stdout (for scripts); human text goes to stderr.",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log each request to stderr (-v: retries and problems, -vv: every request).",
)
@click.version_option(package_name="miogram-async", prog_name="miogram")
@click.pass_context
def cli(  # noqa: PLR0917 - click passes every option as an argument
    ctx: click.Context,
    base_url: str | None,
    region: str | None,
    secret_file: Path | None,
    send_gate: str | None,
    json_output: bool,
    verbose: int,
) -> None:
    """Send MioGram messages and run durable mass campaigns from the shell."""
    settings = ctx.ensure_object(Settings)
    settings.base_url = base_url or None
    source = ctx.get_parameter_source("base_url")
    settings.base_url_from_option = source is click.core.ParameterSource.COMMANDLINE
    settings.secret_file = secret_file
    settings.send_gate = send_gate
    settings.region = region
    settings.output = Output(json_mode=json_output or settings.output.json_mode)
    if verbose:
        _log_to_stderr(logging.DEBUG if verbose > 1 else logging.INFO)


def _log_to_stderr(level: int) -> None:
    """Send the SDK's log records (which never hold the secret or a body) to stderr."""
    sdk = logging.getLogger("miogram_async")
    for old in [h for h in sdk.handlers if h.get_name() == _LOG_HANDLER]:
        sdk.removeHandler(old)  # an earlier invocation in the same process (tests, embedding)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_LOG_HANDLER)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    sdk.addHandler(handler)
    sdk.setLevel(level)


cli.add_command(send)
cli.add_command(send_file)
cli.add_command(account)
cli.add_command(campaign)
cli.add_command(fake)
cli.add_command(demo)
