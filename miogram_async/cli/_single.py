"""The one-shot commands: ``send``, ``send-file`` and ``account``."""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import attrs
import click
from rich.table import Table

from .._base.actions import FILE_SENDS
from .._base.errors import MioGramError
from .._runner import send_media_action
from ._context import Settings, error_document, json_option, pass_settings, translate_error
from ._exit import ExitCode
from ._text import message_text, phone_argument

__all__ = ["FILE_KINDS", "account", "guess_kind", "send", "send_file"]

#: The kinds ``send-file --kind`` takes: the single file sends of the action table.
FILE_KINDS = tuple(FILE_SENDS)
_DOCUMENT_TYPES = ("application/pdf", "application/msword", "application/vnd.")


def guess_kind(path: Path) -> str:
    """Pick the send action (photo, video, audio, text, document, file) from *path*'s media type."""
    media_type, _encoding = mimetypes.guess_type(path.name)
    if media_type is None:
        return "file"
    major = media_type.partition("/")[0]
    if major == "image":
        return "photo"
    if major in ("video", "audio", "text"):
        return major
    if media_type.startswith(_DOCUMENT_TYPES):
        return "document"
    return "file"


def _report_send(
    settings: Settings, phone: str, delivered: bool, extra: dict[str, object]
) -> ExitCode:
    output = settings.output
    if output.json_mode:
        output.emit({"ok": True, "phone": phone, "delivered": delivered, **extra})
    elif delivered:
        output.out.print(f"delivered to {phone}", markup=False)
    else:
        output.out.print(
            f"not delivered to {phone} (the service said false; no credit was used)", markup=False
        )
    return ExitCode.OK if delivered else ExitCode.NOT_DELIVERED


@click.command()
@click.argument("phone")
@click.option(
    "-m", "--message", required=True, help="The text to send (UTF-8); '-' reads it from stdin."
)
@click.option("--robot", help="The agent to send through (default: the account's first).")
@json_option
@pass_settings
def send(settings: Settings, *, phone: str, message: str, robot: str | None) -> None:
    """Send one text message to PHONE (action SendMessage); 0912... is read as Iranian."""
    phone = phone_argument(phone, settings.region)
    message = message_text(message)
    secret = settings.secret()

    async def work() -> ExitCode:
        async with settings.client(secret) as client:
            # A number the gateway cannot resolve (307) already comes back as not delivered.
            delivered = await client.send_message(phone, message, robot=robot)
        return _report_send(settings, phone, delivered, {})

    settings.run(work)


@click.command("send-file")
@click.argument("phone")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(FILE_KINDS),
    help="Which send action to use; by default guessed from the file name.",
)
@click.option(
    "--format", "file_format", help="The file extension to announce (default: the file's)."
)
@click.option("--robot", help="The agent to send through (default: the account's first).")
@json_option
@pass_settings
def send_file(
    settings: Settings,
    *,
    phone: str,
    file: Path,
    kind: str | None,
    file_format: str | None,
    robot: str | None,
) -> None:
    """Send FILE to PHONE as a photo, video, audio, text, file or document."""
    chosen = kind or guess_kind(file)
    phone = phone_argument(phone, settings.region)
    secret = settings.secret()

    async def work() -> ExitCode:
        async with settings.client(secret) as client:
            # The package's file-send entry point, with the row of the chosen kind.
            delivered = await send_media_action(
                client, FILE_SENDS[chosen], phone, file, file_format=file_format, robot=robot
            )
        return _report_send(settings, phone, delivered, {"kind": chosen, "file": str(file)})

    settings.run(work)


@attrs.define
class _AccountFacts:
    """What ``account`` gathered; a failed question keeps its error instead of a value."""

    values: dict[str, object] = attrs.field(factory=dict)
    errors: dict[str, MioGramError] = attrs.field(factory=dict)


def _plain(value: object) -> object:
    """An attrs result as a plain mapping without its raw reply; anything else unchanged."""
    if attrs.has(type(value)):
        return {k: v for k, v in attrs.asdict(value).items() if k != "raw"}  # type: ignore[arg-type]
    return value


@click.command()
@json_option
@pass_settings
def account(settings: Settings) -> None:
    """Show the account: limits, credits, agents, allowed IPs, ads and username."""
    secret = settings.secret()

    async def work() -> ExitCode:
        facts = _AccountFacts()
        async with settings.client(secret) as client:
            questions: dict[str, Callable[[], Awaitable[object]]] = {
                "limits": client.api_get_limits,
                "credits": client.api_get_credits,
                "robots": client.api_get_robot,
                "ips": client.api_get_ip,
                "ads": client.api_get_ads,
                "username": client.api_get_username,
            }

            async def ask(name: str, question: Callable[[], Awaitable[object]]) -> None:
                try:
                    facts.values[name] = _plain(await question())
                except MioGramError as exc:
                    facts.errors[name] = exc

            async with anyio.create_task_group() as group:
                for name, question in questions.items():
                    group.start_soon(ask, name, question)
        if len(facts.errors) == len(questions):
            # Nothing worked: most likely the secret or the IP; report the one cause.
            raise next(iter(facts.errors.values()))
        _report_account(settings, facts, list(questions))
        return ExitCode.SERVICE_ERROR if facts.errors else ExitCode.OK

    settings.run(work)


def _report_account(settings: Settings, facts: _AccountFacts, order: list[str]) -> None:
    output = settings.output
    if output.json_mode:
        document: dict[str, object] = {"ok": not facts.errors}
        document.update({name: facts.values.get(name) for name in order})
        if facts.errors:
            document["errors"] = {name: error_document(exc) for name, exc in facts.errors.items()}
        output.emit(document)
        return
    table = Table(title="MioGram account", title_justify="left")
    table.add_column("Section")
    table.add_column("Item")
    table.add_column("Value", overflow="fold")
    for name in order:
        if name in facts.errors:
            error = translate_error(facts.errors[name], settings.url)
            table.add_row(name, "", f"error: {error.message}")
            continue
        value = facts.values[name]
        if isinstance(value, dict):
            for index, (item, item_value) in enumerate(value.items()):
                shown = _show(item_value)
                if name == "limits" and type(item_value) is int:
                    shown = _size(item_value) if item in _MEDIA_LIMITS else f"{item_value:,} bytes"
                table.add_row(name if index == 0 else "", item, shown)
        else:
            table.add_row(name, "", _show(value))
        table.add_section()
    output.out.print(table)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "(none)"
    if isinstance(value, int) and value >= 10_000:
        return f"{value:,}"
    return str(value)


_MEDIA_LIMITS = ("photo", "video", "file")


def _size(size: int) -> str:
    mebibytes = size / 1_048_576
    return f"{mebibytes:,.1f} MiB" if size >= 1_048_576 else f"{size:,} bytes"
