"""``miogram campaign run``: a new campaign from a numbers file, sent at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import attrs
import click

from .._base.errors import ValidationError
from .._base.scrub import contains_secret
from .._client import MioGram
from .._mass.options import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE
from ..campaign import (
    Campaign,
    CampaignError,
    CampaignKind,
    NumbersFile,
    NumbersFileError,
    TemplateError,
    row_texts,
)
from ..campaign._rows import plain_message
from ._campaign_common import (
    concurrency_options,
    journal_error,
    journal_target,
    make_client,
    parse_robots,
    report_not_started,
    run_and_report,
    run_options,
    shown,
)
from ._context import Settings, json_option, pass_settings
from ._exit import CLIError, ExitCode
from ._next import Commands, commands_for, resume_command
from ._numbers import (
    describe,
    empty_note,
    mostly_invalid,
    no_valid_message,
    numbers_error,
    numbers_options,
    open_numbers,
)
from ._precheck import check_service
from ._run import prepare_campaign, report_interrupted
from ._text import STDIN, message_text, read_message_file

__all__ = ["campaign_run", "content_options", "default_journal", "message_content"]

_F = TypeVar("_F", bound=Callable[..., object])

_media = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
_text_file = click.Path(exists=True, dir_okay=False, readable=True, allow_dash=True, path_type=Path)

#: The suffix of a journal made for a numbers file without ``--journal`` (see `default_journal`).
JOURNAL_SUFFIX = ".sqlite"


def default_journal(numbers: str) -> Path:
    """
    The journal of a campaign of *numbers* when none is named: beside it, its name with
    `JOURNAL_SUFFIX` instead of its extension (``customers.xlsx``: ``customers.sqlite``).

    Raises:
        CLIError: the numbers come from stdin (no name to derive one from).
    """
    if numbers == STDIN:
        raise CLIError(
            "the numbers come from stdin: name the journal to create with --journal FILE"
        )
    path = Path(numbers)
    journal = path.with_suffix(JOURNAL_SUFFIX)
    if journal == path:  # a numbers file named *.sqlite
        journal = path.with_name(path.stem + ".campaign" + JOURNAL_SUFFIX)
    return journal


def content_options(command: _F) -> _F:
    """The options that say what a campaign sends (shared by ``run`` and ``check``)."""
    options = [
        click.option(
            "--message",
            "-m",
            help="The text to send; '-' reads it from stdin. A template: {column} is the cell of "
            "that column in each row (its header as written, e.g. {name} or {نام}; {column 2} "
            "without a header); write {{ and }} for literal braces.",
        ),
        click.option(
            "--message-file",
            type=_text_file,
            help="Send the text in this file (UTF-8, a template like --message); '-' reads stdin.",
        ),
        click.option(
            "--message-column",
            metavar="NAME|N",
            help="Send each row the text in this column (a header name or a position from 1).",
        ),
        click.option("--photo", type=_media, help="Send this image."),
        click.option("--video", type=_media, help="Send this video."),
        click.option("--file", "file", type=_media, help="Send this file."),
        click.option(
            "--whatsapp", is_flag=True, help="Send the text on WhatsApp (beta on the service)."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def message_content(
    *,
    message: str | None,
    message_file: Path | None,
    message_column: str | None,
    photo: Path | None,
    video: Path | None,
    file: Path | None,
    whatsapp: bool,
    required: bool = True,
) -> tuple[CampaignKind, str | None, Path | None]:
    """Check that one content option was given; return the kind, text (a template) and media."""
    given = [
        name
        for name, value in (
            ("--message", message),
            ("--message-file", message_file),
            ("--message-column", message_column),
            ("--photo", photo),
            ("--video", video),
            ("--file", file),
        )
        if value is not None
    ]
    if len(given) > 1 or (required and not given):
        got = ", ".join(given) if given else "none"
        raise CLIError(
            "give exactly one of --message, --message-file, --message-column, --photo, --video, "
            f"--file (got {got})"
        )
    if message_file is not None:
        message = read_message_file(message_file)
    elif message is not None:
        message = message_text(message)
    if message is not None or message_column is not None or not given:
        return (CampaignKind.WHATSAPP if whatsapp else CampaignKind.MESSAGE), message, None
    if whatsapp:
        raise CLIError("--whatsapp sends text only: use it with --message or --message-file")
    if photo is not None:
        return CampaignKind.PHOTO, None, photo
    if video is not None:
        return CampaignKind.VIDEO, None, video
    return CampaignKind.FILE, None, file


def template_message(
    reader: NumbersFile, text: str | None, message_column: str | None
) -> tuple[bool, str | None]:
    """
    (whether each row gets its own text, the text every row gets otherwise), the template
    checked against the file's columns before anything is asked or written.

    Raises:
        CLIError: (exit 2) the template or --message-column does not fit the file.
    """
    if text is None and message_column is None:
        return False, None
    try:
        texts = row_texts(reader, message=text, message_column=message_column)
        if texts is None:
            assert text is not None
            return False, plain_message(text, reader.columns)
    except TemplateError as exc:
        option = "--message-column" if message_column is not None else "--message"
        raise CLIError(f"{option}: {exc}", kind="input") from None
    return True, None


@click.command("run")
@click.argument("numbers", metavar="NUMBERS")
@content_options
@click.option("--format", "file_format", help="The media's extension (default: the file's).")
@numbers_options
@click.option(
    "--journal",
    "-j",
    callback=journal_target,
    help="The journal to create: a file (SQLite) that must not exist, or a "
    "postgresql://.../DB?campaign=NAME URL (password from PGPASSWORD or ~/.pgpass) for workers "
    "on several machines [beside NUMBERS, its name ending in .sqlite: customers.xlsx -> "
    "customers.sqlite].",
)
@concurrency_options
@click.option(
    "--robots", help="Agents to spread chunks over: a,b or 'all' [every agent of the account]."
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1, max=MAX_CHUNK_SIZE),
    default=DEFAULT_CHUNK_SIZE,
    show_default=True,
    help="Numbers per Mass request, at most 100 (the service answers within its 60 s wait only "
    "for about 55, docs/service.md E32; its own sender uses 40, E48).",
)
@click.option(
    "--no-settle",
    is_flag=True,
    help="Do not settle unknown numbers from the agents' histories at the end (see 'campaign "
    "settle').",
)
@json_option
@pass_settings
def campaign_run(
    settings: Settings,
    *,
    numbers: str,
    message: str | None,
    message_file: Path | None,
    message_column: str | None,
    photo: Path | None,
    video: Path | None,
    file: Path | None,
    whatsapp: bool,
    file_format: str | None,
    column: str | None,
    sheet: str | None,
    encoding: str | None,
    journal: Path | str | None,
    concurrency: int | None,
    rate: float | None,
    robots: str | None,
    chunk_size: int,
    no_settle: bool,
) -> None:
    """
    Send to every number in NUMBERS (a CSV or text file, an .xlsx workbook; '-' reads stdin).

    Iranian numbers may be written 0912..., 912..., 98912..., 0098912... or +98912... (see
    --region). Malformed numbers and empty phone cells are recorded INVALID and repeats
    DUPLICATE; none is sent. A file without any valid number is refused. The message may differ
    per row (a template, or --message-column): rows that share a text go out as Mass requests,
    the others one request each. Ctrl-C stops gracefully; continue with 'miogram campaign resume
    JOURNAL'. 'miogram campaign check NUMBERS' shows all of this without sending.
    """
    if numbers == STDIN and STDIN in (message, str(message_file)):
        raise CLIError("stdin can hold the numbers or the message, not both: put one in a file")
    kind, text, media = message_content(
        message=message,
        message_file=message_file,
        message_column=message_column,
        photo=photo,
        video=video,
        file=file,
        whatsapp=whatsapp,
    )
    agents = parse_robots(robots)
    target = journal if journal is not None else default_journal(numbers)
    if isinstance(target, Path) and target.exists():
        raise CLIError(
            f"the journal {str(target)!r} already exists; continue it with "
            f"'miogram campaign resume {target}', or name another with --journal"
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
    try:
        per_row, plain = template_message(reader, text, message_column)
    except BaseException:
        reader.close()
        raise
    if journal is None:
        settings.output.note(
            f"journal: {shown(target)} (named after the numbers file; --journal names another)"
        )
    new = _NewCampaign(
        target=target,
        kind=kind,
        text=text,
        message_column=message_column,
        media=media,
        file_format=file_format,
        chunk_size=chunk_size,
        agents=agents,
        per_row=per_row,
        plain=plain,
    )

    async def work() -> ExitCode:
        options = run_options(concurrency, rate, robots)
        async with make_client(settings, secret, concurrency, rate) as client:
            return await _create_and_run(
                settings,
                client,
                reader,
                new,
                resume=resume_command(settings, shown(target), options),
                commands=commands_for(settings, shown(target), options),
                settle=not no_settle,
                concurrency=concurrency,
                column=column,
                encoding=encoding,
                secret=secret,
            )

    try:
        settings.run(work)
    finally:
        reader.close()  # closed already unless the run stopped before reading it


@attrs.frozen(kw_only=True)
class _NewCampaign:
    """What ``campaign run`` was asked to create."""

    target: Path | str
    kind: CampaignKind
    text: str | None
    message_column: str | None
    media: Path | None
    file_format: str | None
    chunk_size: int
    agents: list[str] | str | None
    per_row: bool
    plain: str | None


async def _create_and_run(
    settings: Settings,
    client: MioGram,
    reader: NumbersFile,
    new: _NewCampaign,
    *,
    resume: str,
    commands: Commands,
    settle: bool,
    concurrency: int | None,
    column: str | None,
    encoding: str | None,
    secret: str,
) -> ExitCode:
    """
    Check the content with the service, create the journal from *reader* (each row's text
    checked against the account's limit and *secret*), then run it.
    """
    try:
        check = await check_service(
            client,
            kind=new.kind,
            message=None if new.per_row else new.plain,
            media=new.media,
            new_campaign=True,
        )
    except BaseException:
        reader.close()  # never read: the journal is not created
        raise
    limit = check.limits.message if check.limits is not None and check.limits.message > 0 else None

    def create() -> Campaign:
        with reader:
            # Refuse a file without any valid number before a journal exists.
            if not reader.read_to_first_valid():
                raise CLIError(no_valid_message(reader), kind="input")
            return Campaign.create(
                new.target,
                reader,
                kind=new.kind,
                message=new.text,
                message_column=new.message_column,
                media=new.media,
                file_format=new.file_format,
                chunk_size=new.chunk_size,
                robots=new.agents,
                default_region=settings.region,
                message_limit=limit,
                # Each row's text (a template's, a column's) is checked against it as it is read.
                secret=secret,
            )

    try:
        opened, interrupted = await prepare_campaign(settings, create)
    except NumbersFileError as exc:  # bad bytes or CSV further on: no journal is left
        raise numbers_error(exc, column=column, encoding=encoding) from None
    except CampaignError as exc:
        raise journal_error(exc) from None
    except ValidationError as exc:  # a row's text: empty or too long (it names the row)
        raise CLIError(f"{exc} (no campaign was created)", kind="input") from None
    except (OSError, sqlite3.Error) as exc:
        raise CLIError(f"cannot create the journal {shown(new.target)!r}: {exc}") from None
    for warning in (mostly_invalid(reader), empty_note(reader)):
        if warning is not None:
            settings.output.note(warning)
    if interrupted:
        return await report_interrupted(settings, opened, resume=resume, title="Campaign summary")
    if check.unreachable is not None:
        return await report_not_started(settings, opened, check.unreachable, resume)
    return await run_and_report(
        settings,
        opened,
        client,
        concurrency=concurrency,
        robots=None,
        resume=resume,
        commands=commands,
        settle=settle,
    )
