"""
``miogram demo``: a whole campaign against the fake service, in process: no secret, no network.

The fake runs with the real service's pace (0.3 s per request, 1 s per number, one request at a time
per agent) scaled down, and the client with the SDK's safe defaults (one request in flight, chunks
of 40 rotating over the four agents, docs/service.md E33, E48): 10,000 numbers take about half a
minute. The speed comes from scaling the fake's time, never from parallelism the real service cannot
take.
"""

from __future__ import annotations

import secrets
import shlex
import shutil
import sqlite3
import tempfile
from pathlib import Path

import anyio
import click

from .._client import MioGram
from ..campaign import Campaign, CampaignError
from ..testing import FakeMioGram, TimeModel
from ._context import Settings, json_option, pass_settings
from ._demo_data import DEMO_AGENTS, EXISTING_SHARE, demo_account, demo_numbers
from ._exit import CLIError, ExitCode
from ._run import prepare_campaign, report_interrupted, report_run, run_campaign

__all__ = ["demo"]

#: Scale of the realistic time model: a chunk of 40 numbers takes 0.08 s instead of 40 s.
DEMO_SCALE = 0.002
DEMO_MESSAGE = "Hello from the miogram-async demo!"


@click.command()
@click.option(
    "--numbers",
    "count",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="How many numbers to make up (about 1.5% malformed, 3% repeated).",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The journal file (default: one in a new temporary directory, removed at the end "
    "unless --keep). An existing demo journal is resumed.",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Keep the temporary directory with the journal (to look at it with 'campaign status').",
)
@click.option(
    "--scale",
    type=click.FloatRange(min=0),
    default=DEMO_SCALE,
    show_default=True,
    help="Pace of the fake relative to the real service (1 is real time, 0 instant).",
)
@json_option
@pass_settings
def demo(settings: Settings, *, count: int, journal: Path | None, scale: float, keep: bool) -> None:
    """
    Run a campaign of made-up numbers against an in-process fake service, with live progress.

    Needs no account, no secret and no network. About 1.5% of the made-up numbers are malformed
    and 3% repeat an earlier one: they are recorded INVALID and DUPLICATE and never sent, so the
    bar counts fewer numbers than the campaign has.
    """
    temporary: Path | None = None
    if journal is None:
        temporary = Path(tempfile.mkdtemp(prefix="miogram-demo-"))
        journal = temporary / "campaign.sqlite"
    resuming = journal.exists()
    secret = secrets.token_hex(8)
    service = FakeMioGram(demo_account(secret), time_model=TimeModel.realistic(scale=scale))
    output = settings.output

    async def work() -> ExitCode:
        if resuming:
            output.note(f"resuming the demo campaign in {journal}")
        else:
            output.note(
                f"fake MioGram service in process: {len(DEMO_AGENTS)} agents, about "
                f"{1 - EXISTING_SHARE:.0%} of numbers not on the messenger, "
                f"real-service pace x{scale:g}"
            )
            output.note(f"campaign of {count:,} made-up numbers; journal: {journal}")

        def opener() -> Campaign:
            if resuming:
                return Campaign.open(journal)
            return Campaign.create(journal, demo_numbers(count), message=DEMO_MESSAGE, robots="all")

        try:
            campaign, interrupted = await prepare_campaign(settings, opener)
        except CampaignError as exc:
            raise CLIError(str(exc), ExitCode.USAGE, "campaign") from None
        except (OSError, sqlite3.Error) as exc:
            raise CLIError(f"cannot create the journal {str(journal)!r}: {exc}") from None
        if campaign.message != DEMO_MESSAGE:
            # Never let the fake's outcomes into a real campaign's journal.
            await anyio.to_thread.run_sync(campaign.close)
            raise CLIError(
                f"{str(journal)!r} is not a demo journal; resume it with 'miogram campaign resume'",
                ExitCode.USAGE,
                "campaign",
            )
        resume = f"miogram demo --journal {shlex.quote(str(journal))}"
        title = "Demo campaign"
        if interrupted:
            return await report_interrupted(settings, campaign, resume=resume, title=title)
        async with (
            campaign,
            MioGram(
                secret=secret,
                transport=service.transport(),
                max_retries=0,
                # The service's time is scaled, its front's wait too (E32): the client sizes its
                # chunks and drains from it and from the pace it measures (E49). Instant (0): the
                # client's own.
                front_wait=60.0 * scale if scale > 0 else None,
            ) as client,
        ):
            run = await run_campaign(settings, campaign, client, title="demo campaign")
        code = report_run(
            settings,
            run,
            resume=resume,
            title=f"{title}: {run.status.total:,} numbers",
        )
        if temporary is not None:
            _tidy(settings, temporary, keep=keep or code != ExitCode.OK)
        return code

    settings.run(work)


def _tidy(settings: Settings, directory: Path, *, keep: bool) -> None:
    """Remove the demo's temporary directory, or say where it stays."""
    if keep:
        settings.output.note(f"the demo journal stays in {directory}")
        return
    shutil.rmtree(directory, ignore_errors=True)
    settings.output.note("removed the demo's temporary journal (--keep keeps it)")
