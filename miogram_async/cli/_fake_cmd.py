"""
``miogram fake serve``: the fake MioGram service on 127.0.0.1, to try code and scripts on.

The flags and the serving are those of ``python -m miogram_async.testing`` (one implementation,
in `miogram_async.testing._serve`); this module only turns its flags into click options.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..testing._serve import (
    ServeOptions,
    active_flags,
    announcement,
    announcement_document,
    build_fake,
    serve_until_stopped,
)
from ._context import Settings, json_option, pass_settings
from ._exit import CLIError, ExitCode

__all__ = ["fake"]

_CLICK_TYPES: dict[type, Any] = {int: click.INT, float: click.FLOAT, str: click.STRING}


@click.group()
def fake() -> None:
    """The fake MioGram service (needs the 'testing' extra)."""


def _with_serve_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the fake server's flags (but --json, which the CLI has already) as click options."""
    for flag in reversed(active_flags()):
        if flag.dest == "json":
            continue
        command = click.option(
            flag.name,
            flag.dest,
            type=_CLICK_TYPES[flag.kind],
            default=() if flag.repeat else flag.default,
            multiple=flag.repeat,
            metavar=flag.metavar,
            help=flag.help[:1].upper() + flag.help[1:] + ".",
        )(command)
    return command


@fake.command("serve")
@_with_serve_flags
@json_option
@pass_settings
def fake_serve(settings: Settings, /, **values: object) -> None:
    """
    Serve the fake service on 127.0.0.1 until Ctrl-C or SIGTERM (exit code 0).

    Takes the same flags as 'python -m miogram_async.testing'. When it stops it says what it did:
    requests, messages delivered, numbers that got the same message twice, the most
    state-changing requests in flight at once, and whether the gateway's credit file held.
    """
    try:
        options = ServeOptions.from_values({**values, "json": settings.output.json_mode})
        service = build_fake(options)
    except ValueError as exc:
        raise CLIError(str(exc)) from None

    def announce(url: str) -> None:
        output = settings.output
        if options.json:
            output.emit(announcement_document(url, options))
            return
        for line in announcement(url, options):
            output.out.print(line, markup=False)
        output.out.file.flush()

    async def work() -> ExitCode:
        try:
            summary = await serve_until_stopped(service, options.port, announce, options.deliveries)
        except ImportError:
            raise CLIError(
                "the fake server needs uvicorn: pip install 'miogram-async[testing]'"
            ) from None
        except OSError as exc:
            where = (
                f"write {options.deliveries!r}"
                if exc.filename == options.deliveries and options.deliveries
                else f"listen on 127.0.0.1:{options.port}"
            )
            raise CLIError(f"cannot {where}: {exc.strerror or exc}") from None
        for line in summary.lines():
            settings.output.note(line)
        return ExitCode.OK

    settings.run(work)
