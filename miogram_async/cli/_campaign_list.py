"""``miogram campaign list``: the campaigns a PostgreSQL database holds."""

from __future__ import annotations

import anyio
import click
from rich.table import Table

from ..campaign import CampaignError, NumberState
from ..campaign.storage import CampaignListing, is_database_url, list_campaigns
from ._campaign_common import journal_error
from ._context import Settings, json_option, pass_settings
from ._exit import CLIError, ExitCode

__all__ = ["campaign_list"]

#: The states a row of the table shows, in order (the rest add up to the total).
_SHOWN = (NumberState.DELIVERED, NumberState.PENDING, NumberState.UNKNOWN, NumberState.FAILED)


@click.command("list")
@click.argument("database", metavar="POSTGRESQL_URL")
@json_option
@pass_settings
def campaign_list(settings: Settings, *, database: str) -> None:
    """
    List the campaigns kept in the PostgreSQL database POSTGRESQL_URL (postgresql://...; a
    ?campaign= in it is ignored); needs no secret, reads only.
    """
    if not is_database_url(database):
        raise CLIError(
            f"expected a postgresql:// URL (campaigns kept in files are listed by ls), got "
            f"{database if '://' not in database else database.split('://', 1)[0] + '://...'!r}"
        )

    async def work() -> ExitCode:
        try:
            found = await anyio.to_thread.run_sync(list_campaigns, database)
        except CampaignError as exc:
            raise journal_error(exc) from None
        _report(settings, found)
        return ExitCode.OK

    settings.run(work)


def _report(settings: Settings, found: list[CampaignListing]) -> None:
    out = settings.output
    if out.json_mode:
        out.emit(
            {
                "ok": True,
                "campaigns": [
                    {
                        "name": item.name,
                        "url": item.url,
                        "kind": item.kind,
                        "schema_version": item.schema_version,
                        "created_at": item.created_at,
                        "total": item.total,
                        "counts": {str(state): count for state, count in item.by_state.items()},
                        "last_run": item.last_run,
                        "last_run_at": item.last_run_at,
                    }
                    for item in found
                ],
            }
        )
        return
    if not found:
        out.note("no campaign in this database")
        return
    table = Table(title="Campaigns", title_justify="left")
    table.add_column("campaign", no_wrap=True)
    table.add_column("kind")
    for name in ("numbers", *(str(state) for state in _SHOWN)):
        table.add_column(name, justify="right")
    table.add_column("last run")
    for item in found:
        table.add_row(
            item.name,
            item.kind or "?",
            f"{item.total:,}",
            *(f"{item.by_state.get(state, 0):,}" for state in _SHOWN),
            item.last_run or "-",
        )
    out.out.print(table)
    open_states = (NumberState.PENDING, NumberState.SENDING, NumberState.UNKNOWN)
    unfinished = [item for item in found if any(item.by_state.get(s, 0) for s in open_states)]
    if unfinished and unfinished[0].last_run != "running":
        out.note(
            f"resume {unfinished[0].name} with:  miogram campaign resume '{unfinished[0].url}'"
        )
