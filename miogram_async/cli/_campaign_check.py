"""
``miogram campaign check``: a dry run of a numbers file; writes nothing and sends nothing.

It says which column is read, how the rows count up (valid, invalid, empty, repeated), what the
first message looks like (a message per row, each checked), and with a secret the credit needed
against what the account has, and how long a run would take at the service's pace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import click

from .._base.errors import MioGramError
from ..campaign import CampaignKind, FileCheck, NumbersFileError, TemplateError, check_file
from ._campaign_run import content_options, message_content
from ._context import Settings, json_option, pass_settings, translate_error
from ._exit import CLIError, ExitCode
from ._numbers import describe, numbers_error, numbers_options, open_numbers
from ._text import STDIN

__all__ = ["PACE", "campaign_check"]

#: The gateway's seconds per number (docs/service.md E49): 1.5 to 3 s is ordinary.
PACE: Final = (1.5, 3.0)
#: The credit each kind of campaign draws on (docs/service.md E13).
_CREDIT: Final = {
    CampaignKind.MESSAGE: "message",
    CampaignKind.WHATSAPP: "message",
    CampaignKind.PHOTO: "photo",
    CampaignKind.VIDEO: "video",
    CampaignKind.FILE: "file",
}


def _duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _rows(rows: tuple[int, ...]) -> str:
    return ", ".join(str(row) for row in rows)


@click.command("check")
@click.argument("numbers", metavar="NUMBERS")
@content_options
@numbers_options
@json_option
@pass_settings
def campaign_check(
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
    column: str | None,
    sheet: str | None,
    encoding: str | None,
) -> None:
    """
    Check NUMBERS as 'campaign run' would read it, without writing or sending anything.

    Prints the column read; the valid, invalid, empty and repeated rows (a few by row number);
    the first message as it would be sent (each row's, with a template or --message-column,
    checked); with a secret (MIOGRAM_SECRET or --secret-file; never asked for) the credit needed
    against the account's, and each text against its limit; and how long a run would take at
    the service's pace of 1.5 to 3 s per number. Exit 2 when a run would be refused.
    """
    if numbers == STDIN and STDIN in (message, str(message_file)):
        raise CLIError("stdin can hold the numbers or the message, not both: put one in a file")
    kind, text, _ = message_content(
        message=message,
        message_file=message_file,
        message_column=message_column,
        photo=photo,
        video=video,
        file=file,
        whatsapp=whatsapp,
        required=False,
    )
    has_secret = settings.secret_file is not None or bool(settings.environ.get("MIOGRAM_SECRET"))
    secret = settings.secret() if has_secret else None
    reader = open_numbers(
        numbers, column=column, sheet=sheet, encoding=encoding, region=settings.region
    )
    settings.output.note(describe(reader))

    async def work() -> ExitCode:
        account: dict[str, object] = {}
        limit: int | None = None
        if secret is not None:
            account = await _account(settings, secret, kind)
            message_limit = account.get("message_limit")
            limit = message_limit if isinstance(message_limit, int) and message_limit > 0 else None
        try:
            with reader:
                checked = check_file(
                    reader,
                    message=text,
                    message_column=message_column,
                    message_limit=limit,
                    region=settings.region,
                    secret=secret,
                )
        except TemplateError as exc:
            option = "--message-column" if message_column is not None else "--message"
            raise CLIError(f"{option}: {exc}", kind="input") from None
        except NumbersFileError as exc:
            raise numbers_error(exc, column=column, sheet=sheet, encoding=encoding) from None
        return _report(settings, checked, account, limit_known=limit is not None, secret=has_secret)

    try:
        settings.run(work)
    finally:
        reader.close()


async def _account(settings: Settings, secret: str, kind: CampaignKind) -> dict[str, object]:
    """The account's credit of *kind*'s sort and its text limit; an error says why not."""
    credit = _CREDIT[kind]
    try:
        async with settings.client(secret, max_retries=0) as client:
            credits = await client.api_get_credits()
            limits = await client.api_get_limits()
    except MioGramError as exc:
        return {"error": translate_error(exc, settings.url).message, "credit_kind": credit}
    return {
        "credit_kind": credit,
        "credit": int(getattr(credits, credit)),
        "message_limit": limits.message,
    }


def _report(
    settings: Settings,
    checked: FileCheck,
    account: dict[str, object],
    *,
    limit_known: bool,
    secret: bool,
) -> ExitCode:
    """Print *checked* (lines for humans, or the JSON document); exit 2 if a run is refused."""
    refused = checked.to_send == 0 or checked.text_problem_count > 0
    low, high = (checked.to_send * pace for pace in PACE)
    credit = account.get("credit")
    enough = None if not isinstance(credit, int) else credit >= checked.to_send
    out = settings.output
    if out.json_mode:
        out.emit(
            {
                "ok": not refused,
                "column": {
                    "position": checked.column.index + 1,
                    "header": checked.column.header,
                    "reason": checked.column.reason,
                },
                "columns": list(checked.columns),
                "rows": checked.rows,
                "valid": checked.valid,
                "invalid": checked.invalid,
                "empty": checked.empty,
                "duplicate": checked.duplicates,
                "to_send": checked.to_send,
                "invalid_rows": [{"row": row, "cell": cell} for row, cell in checked.invalid_rows],
                "empty_rows": list(checked.empty_rows),
                "message": checked.message,
                "message_row": checked.message_row,
                "per_row": checked.per_row,
                "texts": checked.texts,
                "sent_one_by_one": checked.alone,
                "text_problems": [
                    {"row": row, "problem": why} for row, why in checked.text_problems
                ],
                "text_problem_count": checked.text_problem_count,
                "message_limit_checked": limit_known,
                "credit": None
                if not secret
                else {
                    "kind": account.get("credit_kind"),
                    "needed": checked.to_send,
                    "available": credit,
                    "enough": enough,
                    "error": account.get("error"),
                },
                "duration_seconds": {"low": low, "high": high, "pace": list(PACE)},
            }
        )
        return ExitCode.USAGE if refused else ExitCode.OK
    lines = [
        f"rows: {checked.rows:,} (valid {checked.valid:,}, invalid {checked.invalid:,}, "
        f"empty phone cell {checked.empty:,})",
        f"duplicate: {checked.duplicates:,} (a number repeated: sent once)",
        f"to send: {checked.to_send:,} numbers",
    ]
    if checked.invalid_rows:
        shown = ", ".join(f"row {row} {cell!r}" for row, cell in checked.invalid_rows)
        more = ", ..." if checked.invalid > len(checked.invalid_rows) else ""
        lines.append(f"invalid: {shown}{more}")
    if checked.empty_rows:
        more = ", ..." if checked.empty > len(checked.empty_rows) else ""
        lines.append(f"empty phone cell: row {_rows(checked.empty_rows)}{more}")
    if checked.kept:
        lines.append(f"kept beside each number: {', '.join(checked.kept)}")
    if checked.message is not None:
        where = f" (row {checked.message_row})" if checked.per_row else ""
        lines.append(f"message{where}: {checked.message}")
    if checked.per_row:
        lines.append(
            f"texts: {checked.texts:,} distinct; {checked.alone:,} numbers get a text no other "
            f"gets (one request each), {checked.to_send - checked.alone:,} share theirs (Mass "
            "requests)"
        )
    for row, why in checked.text_problems:
        lines.append(f"message problem: row {row}: {why}" if row else f"message problem: {why}")
    if checked.text_problem_count > len(checked.text_problems):
        lines.append(f"  ... {checked.text_problem_count:,} rows in all")
    if checked.message is not None and not limit_known:
        lines.append("message length: not checked against the account's limit (no secret given)")
    if not secret:
        lines.append("credit: not checked (give the secret: MIOGRAM_SECRET or --secret-file)")
    elif isinstance(credit, int):
        lines.append(
            f"credit: {checked.to_send:,} {account.get('credit_kind')} credits needed at most, "
            f"{credit:,} left" + ("" if enough else " - NOT ENOUGH: the run stops when it runs out")
        )
    else:
        lines.append(f"credit: not checked ({account.get('error')})")
    if checked.to_send:
        lines.append(
            f"duration: about {_duration(low)} to {_duration(high)} at the service's pace of "
            f"{PACE[0]:g} to {PACE[1]:g} s per number (docs/service.md E49), one request at a time"
        )
    lines.append("nothing was written and nothing was sent")
    if checked.to_send == 0:
        lines.append("a run would be refused: no valid number")
    elif checked.text_problem_count:
        lines.append("a run would be refused: fix the messages above")
    for line in lines:
        click.echo(line)  # not rich: a long line stays one line in a log or a pipe
    return ExitCode.USAGE if refused else ExitCode.OK
