"""``miogram campaign settle``: a campaign's unknown numbers settled from the evidence."""

from __future__ import annotations

from pathlib import Path

import anyio
import click

from ._campaign_common import journal_target, make_client, open_campaign, run_and_report, shown
from ._context import Settings, json_option, pass_settings
from ._exit import ExitCode
from ._next import commands_for

__all__ = ["campaign_settle"]


@click.command("settle")
@click.argument("journal", callback=journal_target)
@json_option
@pass_settings
def campaign_settle(settings: Settings, *, journal: Path | str) -> None:
    """
    Settle the unknown numbers of the campaign in JOURNAL from the evidence; send nothing.

    Each one is looked up in the history of the agent that sent it (one GetHistory at a time,
    after the gateway has finished): an outgoing message with the campaign's text, dated from
    its chunk's arrival to the end of its work, makes it delivered; a history read successfully
    with no message since the send makes it absent ('resume --resend-absent' sends those
    again); anything else leaves it unknown, with the reason. Numbers a crashed run left in
    doubt are looked up in the send report first.
    """
    secret = settings.secret()

    async def work() -> ExitCode:
        opened = await open_campaign(journal)
        commands = commands_for(settings, shown(journal), [])
        try:
            async with make_client(settings, secret, None, None) as client:
                return await run_and_report(
                    settings,
                    opened,
                    client,
                    concurrency=None,
                    robots=None,
                    resume=commands.resume or "",
                    commands=commands,
                    settle_only=True,
                )
        finally:
            await anyio.to_thread.run_sync(opened.close)

    settings.run(work)
