"""``miogram campaign status``: where a campaign stands, and every number's outcome exported."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Literal, TextIO

import anyio
import click

from ..campaign import CampaignError, CampaignStatus
from ._campaign_common import journal_error, journal_target, open_campaign, shown
from ._context import Settings, json_option, pass_settings
from ._exit import CLIError, ExitCode
from ._next import Commands, commands_for, next_step
from ._progress import summary_table
from ._run import settle_document, status_counts

__all__ = ["campaign_status", "report_status"]


@click.command("status")
@click.argument("journal", callback=journal_target)
@click.option(
    "--export",
    "export_format",
    type=click.Choice(["csv", "json", "xlsx"]),
    help="Also write every number with its state, error and agent, the numbers file's other "
    "columns and (a message per row) its text. xlsx needs --output and the 'xlsx' extra.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where --export writes (default: stdout, instead of the summary).",
)
@click.option(
    "--bom/--no-bom",
    default=True,
    show_default=True,
    help="Start a CSV export with a UTF-8 byte-order mark, so that Excel shows Persian text.",
)
@json_option
@pass_settings
def campaign_status(
    settings: Settings,
    *,
    journal: Path | str,
    export_format: str | None,
    output: Path | None,
    bom: bool,
) -> None:
    """Show where the campaign in JOURNAL stands; needs no secret and sends nothing."""
    if output is not None and export_format is None:
        raise CLIError(
            "--output is where --export writes: give --export csv, --export json or --export xlsx"
        )
    if output is not None and isinstance(journal, Path) and _is_journal_file(output, journal):
        raise CLIError(
            f"--output {str(output)!r} is the journal itself (or one of its files): "
            "choose another file for the export"
        )
    if export_format == "xlsx" and output is None:
        raise CLIError("--export xlsx writes a workbook: give the file with --output FILE.xlsx")
    if settings.output.json_mode and export_format == "csv" and output is None:
        raise CLIError(
            "--json writes one JSON document to stdout: write the CSV export to a file with "
            "--output, or use --export json"
        )

    async def work() -> ExitCode:
        # Read-only: no lock, no waiting, so a running campaign can be watched from another shell.
        opened = await open_campaign(journal, read_only=True)
        async with opened:
            try:
                status = await anyio.to_thread.run_sync(opened.status)
            except CampaignError as exc:  # a damaged journal: what to do, exit 2
                raise journal_error(exc) from None
            if export_format is not None:
                target: Path | TextIO = output if output is not None else sys.stdout
                fmt: Literal["csv", "json", "xlsx"] = (
                    "json"
                    if export_format == "json"
                    else "xlsx"
                    if export_format == "xlsx"
                    else "csv"
                )

                def export() -> int:
                    return opened.export(target, fmt, bom=bom)

                try:
                    rows = await anyio.to_thread.run_sync(export)
                except CampaignError as exc:
                    raise journal_error(exc) from None
                except BrokenPipeError:
                    # `... --export csv | head`: the reader has all it wanted.
                    _silence_stdout()
                    return ExitCode.OK
                except ImportError as exc:
                    raise CLIError(str(exc)) from None
                except OSError as exc:
                    raise CLIError(f"cannot write the export to {str(output)!r}: {exc}") from None
                if output is None:
                    return ExitCode.OK
                settings.output.note(f"wrote {rows:,} rows to {output}")
        report_status(settings, status, commands_for(settings, shown(journal), []))
        return ExitCode.OK

    settings.run(work)


def _is_journal_file(output: Path, journal: Path) -> bool:
    """Whether writing *output* would overwrite *journal* or its SQLite side files."""
    target = output.resolve()
    base = journal.resolve()
    side_files = {base.with_name(base.name + suffix) for suffix in ("-wal", "-shm", "-journal")}
    if target == base or target in side_files:
        return True
    try:
        return os.path.samefile(output, journal)  # a hard link
    except OSError:  # one of them does not exist
        return False


def report_status(settings: Settings, status: CampaignStatus, commands: Commands) -> None:
    """Print *status* (a table, or the JSON document) and the one next command."""
    out = settings.output
    running = status.last_run == "running"
    step = None if running else next_step(status, commands)
    if out.json_mode:
        out.emit(
            {
                "ok": True,
                "journal": status.path,
                "kind": str(status.kind),
                "total": status.total,
                "counts": {str(state): count for state, count in status.by_state.items()},
                "chunks": status.chunks,
                "chunks_done": status.chunks_done,
                "chunks_in_doubt": status.chunks_in_doubt,
                "in_doubt": status.in_doubt,
                "runs": status.runs,
                "complete": status.complete,
                "running": running,
                "rate": status.rate,
                "settle": None if status.settle is None else settle_document(status.settle),
                "next": None if step is None else step.command,
            }
        )
        return
    details = {
        "journal": status.path,
        "kind": str(status.kind),
        "runs": f"{status.runs:,}",
        "chunks": f"{status.chunks_done:,} of {status.chunks:,} done"
        + (f", {status.chunks_in_doubt:,} in doubt" if status.chunks_in_doubt else ""),
        "complete": "yes" if status.complete else "no",
    }
    if running:
        details["running"] = "yes, in another process"
    if status.rate is not None:
        details["rate"] = f"{status.rate:,.1f} numbers/s (latest run)"
    table = summary_table(status_counts(status), title="Campaign status", details=details)
    out.out.print(table)
    if step is not None:
        for line in step.printed():
            out.note(line)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # pragma: no cover - not a real file
        pass
