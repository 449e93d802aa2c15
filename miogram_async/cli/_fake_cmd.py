"""``miogram fake serve``: the fake MioGram service on 127.0.0.1, to try code and scripts on."""

from __future__ import annotations

import signal

import anyio
import click

from ..testing import AccountConfig, FakeMioGram, NumberBook, TimeModel
from ._context import Settings, json_option, pass_settings
from ._exit import CLIError, ExitCode

__all__ = ["fake"]

DEFAULT_FAKE_SECRET = "test-secret"


@click.group()
def fake() -> None:
    """The fake MioGram service (needs the 'testing' extra)."""


@fake.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--realistic",
    is_flag=True,
    help="Take as long as the real service: 0.3 s per request and 1 s per number, one request "
    "at a time per agent (times --scale).",
)
@click.option(
    "--scale",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Multiply the realistic durations (0.01 is a hundred times faster).",
)
@click.option(
    "--secret",
    help=f"The fake account's secret [{DEFAULT_FAKE_SECRET}]. Not a real secret: anything goes.",
)
@click.option("--agents", type=click.IntRange(1, 45), default=1, show_default=True)
@click.option(
    "--missing-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of numbers that are not on the messenger (sends to them come back false).",
)
@json_option
@pass_settings
def fake_serve(
    settings: Settings,
    *,
    port: int,
    realistic: bool,
    scale: float,
    secret: str | None,
    agents: int,
    missing_share: float,
) -> None:
    """Serve the fake service on 127.0.0.1 until Ctrl-C (exit code 0)."""
    account = AccountConfig(
        secret=secret or DEFAULT_FAKE_SECRET,
        agents=tuple(f"Agent{index}" for index in range(1, agents + 1)),
        numbers=NumberBook.ratio(1.0 - missing_share) if missing_share else NumberBook.everyone(),
    )
    time_model = TimeModel.realistic(scale=scale) if realistic else TimeModel.instant()
    service = FakeMioGram(account, time_model=time_model)

    async def work() -> ExitCode:
        try:
            async with service.serve(port=port) as url:
                _announce(settings, url, secret is None, agents)
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        break
        except ImportError:
            raise CLIError(
                "the fake server needs uvicorn: pip install 'miogram-async[testing]'"
            ) from None
        except OSError as exc:
            raise CLIError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
        settings.output.note(f"stopped after {len(service.requests):,} requests")
        return ExitCode.OK

    settings.run(work)


def _announce(settings: Settings, url: str, default_secret: bool, agents: int) -> None:
    output = settings.output
    if output.json_mode:
        document: dict[str, object] = {"ok": True, "url": url, "agents": agents}
        if default_secret:
            document["secret"] = DEFAULT_FAKE_SECRET
        output.emit(document)
        return
    output.out.print(f"fake MioGram service on {url} (Ctrl-C to stop)", markup=False)
    output.out.print(f"  export MIOGRAM_BASE_URL={url}", markup=False)
    if default_secret:
        output.out.print(f"  export MIOGRAM_SECRET={DEFAULT_FAKE_SECRET}", markup=False)
    else:
        output.out.print("  the secret is the one given with --secret", markup=False)
    output.out.file.flush()
