"""``miogram campaign resume``: continue a campaign; never send a number twice."""

from __future__ import annotations

from pathlib import Path

import anyio
import click

from ..campaign import CampaignError
from ._campaign_common import (
    concurrency_options,
    journal_error,
    journal_target,
    make_client,
    open_campaign,
    parse_robots,
    report_not_started,
    run_and_report,
    run_options,
    shown,
)
from ._context import Settings, json_option, pass_settings
from ._exit import ExitCode
from ._next import commands_for, report_idle_resume, resume_command
from ._precheck import check_service

__all__ = ["campaign_resume"]


@click.command("resume")
@click.argument("journal", callback=journal_target)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Also send numbers whose outcome is unknown (they may be delivered twice).",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Also send numbers the service refused (FAILED), e.g. after adding credit.",
)
@click.option(
    "--resend-absent",
    is_flag=True,
    help="Also send numbers settled ABSENT again: their agent's history showed no message since "
    "the send. A history read that answered wrongly would make a number get it twice.",
)
@click.option(
    "--no-settle",
    is_flag=True,
    help="Do not settle unknown numbers from the agents' histories at the end.",
)
@concurrency_options
@click.option("--robots", help="Agents to spread chunks over: a,b or 'all' [as created].")
@json_option
@pass_settings
def campaign_resume(
    settings: Settings,
    *,
    journal: Path | str,
    resend_unknown: bool,
    retry_failed: bool,
    resend_absent: bool,
    no_settle: bool,
    concurrency: int | None,
    rate: float | None,
    robots: str | None,
) -> None:
    """
    Continue the campaign in JOURNAL: send what is still pending; never send a number twice.

    Unknown numbers are then settled from the agents' histories, unless --no-settle. A finished
    campaign says so and sends nothing.
    """
    agents = parse_robots(robots)
    secret = settings.secret()

    async def work() -> ExitCode:
        opened = await open_campaign(journal)
        base = run_options(concurrency, rate, robots)
        options = list(base)
        if resend_unknown:
            options.append("--resend-unknown")
        if retry_failed:
            options.append("--retry-failed")
        if resend_absent:
            options.append("--resend-absent")
        resume = resume_command(settings, shown(journal), options)
        commands = commands_for(
            settings, shown(journal), base, resume=resume_command(settings, shown(journal), base)
        )
        try:
            idle = await report_idle_resume(
                settings,
                opened,
                commands,
                chosen=(resend_unknown, retry_failed, resend_absent),
                settle=not no_settle,
            )
        except CampaignError as exc:  # a damaged journal: what to do, exit 2
            await anyio.to_thread.run_sync(opened.close)
            raise journal_error(exc) from None
        if idle is not None:
            await anyio.to_thread.run_sync(opened.close)
            return idle
        try:
            async with make_client(settings, secret, concurrency, rate) as client:
                media = Path(opened.media.path) if opened.media is not None else None
                check = await check_service(
                    client,
                    kind=opened.kind,
                    message=opened.message,
                    media=media,
                    new_campaign=False,
                )
                if check.unreachable is not None:
                    return await report_not_started(settings, opened, check.unreachable, resume)
                return await run_and_report(
                    settings,
                    opened,
                    client,
                    concurrency=concurrency,
                    robots=agents,
                    resume=resume,
                    commands=commands,
                    resend_unknown=resend_unknown,
                    retry_failed=retry_failed,
                    resend_absent=resend_absent,
                    settle=not no_settle,
                )
        finally:
            await anyio.to_thread.run_sync(opened.close)

    settings.run(work)
