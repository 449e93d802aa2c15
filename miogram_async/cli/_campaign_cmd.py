"""``miogram campaign run | resume | status``: durable mass sends from the shell."""

from __future__ import annotations

import functools
import io
import os
import shlex
import sqlite3
import sys
from pathlib import Path
from typing import Literal, TextIO

import anyio
import click

from .._base.errors import APIConnectionError
from .._base.scrub import contains_secret
from .._client import MioGram
from .._mass.options import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE
from ..campaign import (
    Campaign,
    CampaignError,
    CampaignKind,
    CampaignStatus,
    CampaignStorageError,
    NumbersFileError,
)
from ..campaign.storage import is_database_url, split_url
from ._context import Settings, json_option, pass_settings
from ._exit import CLIError, ExitCode
from ._numbers import (
    check_encoding,
    describe,
    empty_note,
    mostly_invalid,
    no_valid_message,
    numbers_error,
    open_numbers,
)
from ._precheck import check_service
from ._progress import summary_table
from ._run import (
    prepare_campaign,
    report_interrupted,
    report_run,
    report_unreachable,
    run_campaign,
    status_counts,
)
from ._text import STDIN, message_text, read_message_file

__all__ = ["campaign"]


def _robots(value: str | None) -> list[str] | str | None:
    """``--robots``: ``all``, or agent names separated by commas."""
    if value is None:
        return None
    if value.strip().lower() == "all":
        return "all"
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise CLIError(f"--robots: expected 'all' or agent names like a,b, got {value!r}")
    return names


def _journal_target(ctx: click.Context, param: click.Parameter, value: str) -> Path | str:
    """
    A journal file (a `Path`) or a ``postgresql://`` URL (kept as given, a `str`); a malformed
    URL is refused without being quoted (it may hold a password).
    """
    if is_database_url(value):
        try:
            split_url(value)
        except CampaignError as exc:
            raise click.BadParameter(str(exc)) from None
        return value
    if not value:
        raise click.BadParameter("expected a journal file or a postgresql:// URL, got ''")
    return Path(value)


def _shown(journal: Path | str) -> str:
    """*journal* as it may be printed: a database URL loses its password."""
    if isinstance(journal, str):
        return split_url(journal)[2]
    return str(journal)


def _journal_error(exc: CampaignError) -> CLIError:
    # Storage trouble (disk full, read-only) is the environment's, not a usage error; the journal
    # stays resumable once it is fixed.
    code = ExitCode.SERVICE_ERROR if isinstance(exc, CampaignStorageError) else ExitCode.USAGE
    return CLIError(str(exc), code, "campaign")


def resume_command(settings: Settings, journal: str, options: list[str]) -> str:
    """The exact command line that continues the campaign in *journal*."""
    words = ["miogram"]
    if settings.base_url_from_option and settings.base_url:
        words += ["--base-url", settings.base_url]
    if settings.secret_file is not None:
        words += ["--secret-file", str(settings.secret_file)]
    words += ["campaign", "resume", journal, *options]
    return shlex.join(words)


def _run_options(concurrency: int | None, rate: float | None, robots: str | None) -> list[str]:
    options: list[str] = []
    if concurrency is not None:
        options += ["--concurrency", str(concurrency)]
    if rate is not None:
        options += ["--rate", f"{rate:g}"]
    if robots is not None:
        options += ["--robots", robots]
    return options


def _content(
    *,
    message: str | None,
    message_file: Path | None,
    photo: Path | None,
    video: Path | None,
    file: Path | None,
    whatsapp: bool,
) -> tuple[CampaignKind, str | None, Path | None]:
    """Check that exactly one content option was given; return the kind, text and media file."""
    given = [
        name
        for name, value in (
            ("--message", message),
            ("--message-file", message_file),
            ("--photo", photo),
            ("--video", video),
            ("--file", file),
        )
        if value is not None
    ]
    if len(given) != 1:
        got = ", ".join(given) if given else "none"
        raise CLIError(
            f"give exactly one of --message, --message-file, --photo, --video, --file (got {got})"
        )
    if message_file is not None:
        message = read_message_file(message_file)
    elif message is not None:
        message = message_text(message)
    if message is not None:
        return (CampaignKind.WHATSAPP if whatsapp else CampaignKind.MESSAGE), message, None
    if whatsapp:
        raise CLIError("--whatsapp sends text only: use it with --message or --message-file")
    if photo is not None:
        return CampaignKind.PHOTO, None, photo
    if video is not None:
        return CampaignKind.VIDEO, None, video
    return CampaignKind.FILE, None, file


@click.group()
def campaign() -> None:
    """Durable mass sends: every number and outcome is kept in a journal file."""


_media = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
_text_file = click.Path(exists=True, dir_okay=False, readable=True, allow_dash=True, path_type=Path)


@campaign.command("run")
@click.argument("numbers", metavar="NUMBERS")
@click.option("--message", "-m", help="The text to send; '-' reads it from stdin.")
@click.option(
    "--message-file",
    type=_text_file,
    help="Send the text in this file (UTF-8, sent exactly); '-' reads stdin.",
)
@click.option("--photo", type=_media, help="Send this image.")
@click.option("--video", type=_media, help="Send this video.")
@click.option("--file", "file", type=_media, help="Send this file.")
@click.option("--whatsapp", is_flag=True, help="Send the text on WhatsApp (beta on the service).")
@click.option("--format", "file_format", help="The media's extension (default: the file's).")
@click.option(
    "--column",
    metavar="NAME|N",
    help="The column holding the numbers: a header name or a position from 1 [the column whose "
    "header names a phone column (phone, mobile, cell, tel, شماره تماس, موبایل, تلفن همراه...), "
    "else the one holding most valid numbers; the choice is printed].",
)
@click.option(
    "--sheet",
    metavar="NAME|N",
    help="The sheet of an .xlsx workbook: a name or a position from 1 [the first].",
)
@click.option(
    "--encoding",
    metavar="NAME",
    callback=check_encoding,
    help="The numbers file's text encoding, e.g. utf-8, utf-16, cp1256 [told from the file: "
    "UTF-8, UTF-16 with a byte-order mark, or Windows-1256].",
)
@click.option(
    "--journal",
    "-j",
    required=True,
    callback=_journal_target,
    help="The journal to create: a file (SQLite) that must not exist, or a "
    "postgresql://.../DB?campaign=NAME URL (password from PGPASSWORD or ~/.pgpass) for workers "
    "on several machines.",
)
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    help="State-changing requests at once [1]; more is an opt-in the service's gateway may "
    "not take (E33).",
)
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Requests per second.")
@click.option(
    "--robots", help="Agents to spread chunks over: a,b or 'all' [every agent of the account]."
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1, max=MAX_CHUNK_SIZE),
    default=DEFAULT_CHUNK_SIZE,
    show_default=True,
    help="Numbers per Mass request, at most 100 (the service answers within its 60 s wait only "
    "for about 55, API.md E32; its own sender uses 40, E48).",
)
@json_option
@pass_settings
def campaign_run(
    settings: Settings,
    *,
    numbers: str,
    message: str | None,
    message_file: Path | None,
    photo: Path | None,
    video: Path | None,
    file: Path | None,
    whatsapp: bool,
    file_format: str | None,
    column: str | None,
    sheet: str | None,
    encoding: str | None,
    journal: Path | str,
    concurrency: int | None,
    rate: float | None,
    robots: str | None,
    chunk_size: int,
) -> None:
    """
    Send to every number in NUMBERS (a CSV or text file, an .xlsx workbook; '-' reads stdin).

    Iranian numbers may be written 0912..., 912..., 98912..., 0098912... or +98912... (see
    --region). Malformed numbers and empty phone cells are recorded INVALID and repeats
    DUPLICATE; none is sent. A file without any valid number is refused. Ctrl-C stops gracefully;
    continue with 'miogram campaign resume JOURNAL'.
    """
    if numbers == STDIN and STDIN in (message, str(message_file)):
        raise CLIError("stdin can hold the numbers or the message, not both: put one in a file")
    kind, text, media = _content(
        message=message,
        message_file=message_file,
        photo=photo,
        video=video,
        file=file,
        whatsapp=whatsapp,
    )
    agents = _robots(robots)
    if isinstance(journal, Path) and journal.exists():
        raise CLIError(
            f"the journal {str(journal)!r} already exists; continue it with "
            f"'miogram campaign resume {journal}' or choose another file"
        )
    secret = settings.secret()
    if text is not None and contains_secret(text, secret):
        raise CLIError(
            "the message holds the account's secret: it would be sent to every number and kept "
            "in the journal; nothing was sent or written. Write the message without it"
        )
    reader = open_numbers(
        numbers, column=column, sheet=sheet, encoding=encoding, region=settings.region
    )
    settings.output.note(describe(reader))

    async def work() -> ExitCode:
        def create() -> Campaign:
            with reader:
                # Refuse a file without any valid number before a journal exists.
                if not reader.read_to_first_valid():
                    raise CLIError(no_valid_message(reader), kind="input")
                return Campaign.create(
                    journal,
                    reader,
                    kind=kind,
                    message=text,
                    media=media,
                    file_format=file_format,
                    chunk_size=chunk_size,
                    robots=agents,
                    default_region=settings.region,
                )

        async with _client(settings, secret, concurrency, rate) as client:
            try:
                check = await check_service(
                    client, kind=kind, message=text, media=media, new_campaign=True
                )
            except BaseException:
                reader.close()  # never read: the journal is not created
                raise
            try:
                opened, interrupted = await prepare_campaign(settings, create)
            except NumbersFileError as exc:  # bad bytes or CSV further on: no journal is left
                raise numbers_error(exc, column=column, encoding=encoding) from None
            except CampaignError as exc:
                raise _journal_error(exc) from None
            except (OSError, sqlite3.Error) as exc:
                raise CLIError(f"cannot create the journal {_shown(journal)!r}: {exc}") from None
            for warning in (mostly_invalid(reader), empty_note(reader)):
                if warning is not None:
                    settings.output.note(warning)
            options = _run_options(concurrency, rate, robots)
            resume = resume_command(settings, _shown(journal), options)
            if interrupted:
                return await report_interrupted(
                    settings, opened, resume=resume, title="Campaign summary"
                )
            if check.unreachable is not None:
                return await _report_unreachable(settings, opened, check.unreachable, resume)
            return await _run_and_report(
                settings, opened, client, concurrency=concurrency, robots=None, resume=resume
            )

    try:
        settings.run(work)
    finally:
        reader.close()  # closed already unless the run stopped before reading it


def _client(
    settings: Settings, secret: str, concurrency: int | None, rate: float | None
) -> MioGram:
    return settings.client(secret, rate_limit=rate, concurrency=concurrency or 1)


async def _report_unreachable(
    settings: Settings, opened: Campaign, error: APIConnectionError, resume: str
) -> ExitCode:
    """The service did not answer before anything was sent: report it (exit 1), send nothing."""
    async with opened:
        status = await anyio.to_thread.run_sync(opened.status)
    return report_unreachable(settings, status, error, resume=resume)


@campaign.command("resume")
@click.argument("journal", callback=_journal_target)
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
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    help="State-changing requests at once [1]; more is an opt-in the service's gateway may "
    "not take (E33).",
)
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Requests per second.")
@click.option("--robots", help="Agents to spread chunks over: a,b or 'all' [as created].")
@json_option
@pass_settings
def campaign_resume(
    settings: Settings,
    *,
    journal: Path | str,
    resend_unknown: bool,
    retry_failed: bool,
    concurrency: int | None,
    rate: float | None,
    robots: str | None,
) -> None:
    """Continue the campaign in JOURNAL: send what is still pending; never send a number twice."""
    agents = _robots(robots)
    secret = settings.secret()

    async def work() -> ExitCode:
        opened = await _open(journal)
        options = _run_options(concurrency, rate, robots)
        if resend_unknown:
            options.append("--resend-unknown")
        if retry_failed:
            options.append("--retry-failed")
        resume = resume_command(settings, _shown(journal), options)
        try:
            async with _client(settings, secret, concurrency, rate) as client:
                media = Path(opened.media.path) if opened.media is not None else None
                check = await check_service(
                    client,
                    kind=opened.kind,
                    message=opened.message,
                    media=media,
                    new_campaign=False,
                )
                if check.unreachable is not None:
                    return await _report_unreachable(settings, opened, check.unreachable, resume)
                return await _run_and_report(
                    settings,
                    opened,
                    client,
                    concurrency=concurrency,
                    robots=agents,
                    resume=resume,
                    resend_unknown=resend_unknown,
                    retry_failed=retry_failed,
                )
        finally:
            await anyio.to_thread.run_sync(opened.close)

    settings.run(work)


async def _open(journal: Path | str, *, read_only: bool = False) -> Campaign:
    try:
        return await anyio.to_thread.run_sync(
            functools.partial(Campaign.open, journal, read_only=read_only)
        )
    except CampaignError as exc:
        raise _journal_error(exc) from None


async def _run_and_report(
    settings: Settings,
    opened: Campaign,
    client: MioGram,
    *,
    concurrency: int | None,
    robots: list[str] | str | None,
    resume: str,
    resend_unknown: bool = False,
    retry_failed: bool = False,
) -> ExitCode:
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
                title=f"{opened.kind} campaign",
            )
        except CampaignError as exc:
            raise _journal_error(exc) from None
    return report_run(settings, run, resume=resume, title="Campaign summary")


@campaign.command("status")
@click.argument("journal", callback=_journal_target)
@click.option(
    "--export",
    "export_format",
    type=click.Choice(["csv", "json"]),
    help="Also write every number with its state, error and agent.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where --export writes (default: stdout, instead of the summary).",
)
@json_option
@pass_settings
def campaign_status(
    settings: Settings, *, journal: Path | str, export_format: str | None, output: Path | None
) -> None:
    """Show where the campaign in JOURNAL stands; needs no secret and sends nothing."""
    if output is not None and export_format is None:
        raise CLIError("--output is where --export writes: give --export csv or --export json")
    if output is not None and isinstance(journal, Path) and _is_journal_file(output, journal):
        raise CLIError(
            f"--output {str(output)!r} is the journal itself (or one of its files): "
            "choose another file for the export"
        )
    if settings.output.json_mode and export_format == "csv" and output is None:
        raise CLIError(
            "--json writes one JSON document to stdout: write the CSV export to a file with "
            "--output, or use --export json"
        )

    async def work() -> ExitCode:
        # Read-only: no lock, no waiting, so a running campaign can be watched from another shell.
        opened = await _open(journal, read_only=True)
        async with opened:
            try:
                status = await anyio.to_thread.run_sync(opened.status)
            except CampaignError as exc:  # a damaged journal: what to do, exit 2
                raise _journal_error(exc) from None
            if export_format is not None:
                target: Path | TextIO = output if output is not None else sys.stdout
                fmt: Literal["csv", "json"] = "json" if export_format == "json" else "csv"
                try:
                    rows = await anyio.to_thread.run_sync(opened.export, target, fmt)
                except CampaignError as exc:
                    raise _journal_error(exc) from None
                except BrokenPipeError:
                    # `... --export csv | head`: the reader has all it wanted.
                    _silence_stdout()
                    return ExitCode.OK
                except OSError as exc:
                    raise CLIError(f"cannot write the export to {str(output)!r}: {exc}") from None
                if output is None:
                    return ExitCode.OK
                settings.output.note(f"wrote {rows:,} rows to {output}")
        _report_status(settings, status, resume_command(settings, _shown(journal), []))
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


def _report_status(settings: Settings, status: CampaignStatus, resume: str) -> None:
    out = settings.output
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
                "running": status.last_run == "running",
                "rate": status.rate,
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
    running = status.last_run == "running"
    if running:
        details["running"] = "yes, in another process"
    if status.rate is not None:
        details["rate"] = f"{status.rate:,.1f} numbers/s (latest run)"
    table = summary_table(status_counts(status), title="Campaign status", details=details)
    out.out.print(table)
    if not status.complete and not running:
        out.note(f"resume with:  {resume}")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # pragma: no cover - not a real file
        pass
