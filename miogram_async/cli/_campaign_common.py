"""
What the ``campaign`` commands share: the journal argument, opening a campaign, the line that
resumes it, and running it with its summary.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio
import click

from .._base.errors import APIConnectionError
from .._client import MioGram
from ..campaign import Campaign, CampaignError, CampaignStorageError
from ..campaign.storage import is_database_url, split_url
from ._context import Settings
from ._exit import CLIError, ExitCode
from ._next import Commands, resume_command
from ._run import report_run, report_unreachable, run_campaign

__all__ = [
    "concurrency_options",
    "journal_error",
    "journal_target",
    "make_client",
    "open_campaign",
    "parse_robots",
    "report_not_started",
    "resume_command",
    "run_and_report",
    "run_options",
    "shown",
]


_Command = TypeVar("_Command", bound=Callable[..., object])


def concurrency_options(command: _Command) -> _Command:
    """``--concurrency`` and ``--rate``: how fast a run sends (``run`` and ``resume`` alike)."""
    command = click.option(
        "--rate", type=click.FloatRange(min=0, min_open=True), help="Requests per second."
    )(command)
    return click.option(
        "--concurrency",
        "-c",
        type=click.IntRange(min=1),
        help="State-changing requests at once [1]; more is an opt-in the service's gateway may "
        "not take (docs/service.md E33).",
    )(command)


def parse_robots(value: str | None) -> list[str] | str | None:
    """``--robots``: ``all``, or agent names separated by commas."""
    if value is None:
        return None
    if value.strip().lower() == "all":
        return "all"
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise CLIError(f"--robots: expected 'all' or agent names like a,b, got {value!r}")
    return names


def journal_target(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> Path | str | None:
    """
    A journal file (a `Path`) or a ``postgresql://`` URL (kept as given, a `str`); a malformed
    URL is refused without being quoted (it may hold a password).
    """
    if value is None:
        return None
    if is_database_url(value):
        try:
            split_url(value)
        except CampaignError as exc:
            raise click.BadParameter(str(exc)) from None
        return value
    if not value:
        raise click.BadParameter("expected a journal file or a postgresql:// URL, got ''")
    return Path(value)


def shown(journal: Path | str) -> str:
    """*journal* as it may be printed: a database URL loses its password."""
    if isinstance(journal, str):
        return split_url(journal)[2]
    return str(journal)


def journal_error(exc: CampaignError) -> CLIError:
    """*exc* as the command reports it."""
    # Storage trouble (disk full, read-only) is the environment's, not a usage error; the journal
    # stays resumable once it is fixed.
    code = ExitCode.SERVICE_ERROR if isinstance(exc, CampaignStorageError) else ExitCode.USAGE
    return CLIError(str(exc), code, "campaign")


def run_options(concurrency: int | None, rate: float | None, robots: str | None) -> list[str]:
    """The options of a run that its resume line repeats."""
    options: list[str] = []
    if concurrency is not None:
        options += ["--concurrency", str(concurrency)]
    if rate is not None:
        options += ["--rate", f"{rate:g}"]
    if robots is not None:
        options += ["--robots", robots]
    return options


def make_client(
    settings: Settings, secret: str, concurrency: int | None, rate: float | None
) -> MioGram:
    """The client a campaign command sends with."""
    return settings.client(secret, rate_limit=rate, concurrency=concurrency or 1)


async def open_campaign(journal: Path | str, *, read_only: bool = False) -> Campaign:
    """Open the campaign in *journal* in a worker thread; its errors as the command reports them."""
    try:
        return await anyio.to_thread.run_sync(
            functools.partial(Campaign.open, journal, read_only=read_only)
        )
    except CampaignError as exc:
        raise journal_error(exc) from None


async def report_not_started(
    settings: Settings, opened: Campaign, error: APIConnectionError, resume: str
) -> ExitCode:
    """The service did not answer before anything was sent: report it (exit 1), send nothing."""
    async with opened:
        status = await anyio.to_thread.run_sync(opened.status)
    return report_unreachable(settings, status, error, resume=resume)


async def run_and_report(
    settings: Settings,
    opened: Campaign,
    client: MioGram,
    *,
    concurrency: int | None,
    robots: list[str] | str | None,
    resume: str,
    commands: Commands,
    resend_unknown: bool = False,
    retry_failed: bool = False,
    resend_absent: bool = False,
    settle: bool = True,
    settle_only: bool = False,
) -> ExitCode:
    """
    Run *opened* with the live display (or only settle it: *settle_only*), then print its
    summary and the one next command; the exit code.
    """
    async with opened:
        try:
            run = await run_campaign(
                settings,
                opened,
                client,
                concurrency=concurrency,
                robots=robots,
                resend_unknown=resend_unknown,
                retry_failed=retry_failed,
                resend_absent=resend_absent,
                settle=settle,
                settle_only=settle_only,
                title="settling" if settle_only else f"{opened.kind} campaign",
            )
        except CampaignError as exc:
            raise journal_error(exc) from None
    title = "Settled" if settle_only else "Campaign summary"
    return report_run(settings, run, resume=resume, title=title, commands=commands)
