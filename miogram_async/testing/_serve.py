"""
Serving the fake MioGram service from a shell: its flags, their checks, the fake they describe,
the announcement and the serving until stopped.

The one implementation behind ``python -m miogram_async.testing`` (`__main__`, argparse) and
``miogram fake serve`` (the CLI turns `FLAGS` into click options). Serving needs the ``testing``
extra (uvicorn).
"""

from __future__ import annotations

import argparse
import inspect
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import anyio
import attrs

from ._config import AccountConfig, NumberBook
from ._fake import FakeMioGram
from ._timing import TimeModel

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_SECRET",
    "FLAGS",
    "Flag",
    "ServeOptions",
    "active_flags",
    "announcement",
    "announcement_document",
    "argument_parser",
    "build_fake",
    "profile_supported",
    "serve_until_stopped",
]

DEFAULT_PORT: Final = 8765
DEFAULT_SECRET: Final = "test-secret"
_MAX_AGENTS: Final = 45


@attrs.frozen(kw_only=True)
class Flag:
    """
    One command-line flag of the fake server, for both argparse and click.

    Attributes:
        name: the flag, e.g. ``--port``.
        dest: the option's name in `ServeOptions`.
        kind: ``int``, ``float`` or ``str`` (``bool`` for a switch).
        default: the value when the flag is not given (``None``: see `ServeOptions`).
        metavar: the placeholder shown in help.
        help: the help text.
        repeat: whether the flag may be given several times (a list of values).
    """

    name: str
    dest: str
    kind: type
    default: object
    metavar: str | None
    help: str
    repeat: bool = False


FLAGS: Final[tuple[Flag, ...]] = (
    Flag(
        name="--port",
        dest="port",
        kind=int,
        default=DEFAULT_PORT,
        metavar="PORT",
        help=f"TCP port on 127.0.0.1 (0: any free port) [{DEFAULT_PORT}]",
    ),
    Flag(
        name="--secret",
        dest="secret",
        kind=str,
        default=DEFAULT_SECRET,
        metavar="SECRET",
        help=f"the fake account's secret; not a real one, anything goes [{DEFAULT_SECRET}]",
    ),
    Flag(
        name="--agent",
        dest="agents",
        kind=str,
        default=None,
        metavar="NAME",
        help="an agent (robot) name; repeat for several [Agent1]",
        repeat=True,
    ),
    Flag(
        name="--agents",
        dest="agent_count",
        kind=int,
        default=None,
        metavar="N",
        help=f"N agents named Agent1..AgentN (1 to {_MAX_AGENTS}), instead of --agent",
    ),
    Flag(
        name="--realistic",
        dest="realistic",
        kind=float,
        default=None,
        metavar="SCALE",
        help="take the real service's time (0.3 s per request, 1 s per number, one request at "
        "a time per agent) multiplied by SCALE, e.g. 0.01 [instant]",
    ),
    Flag(
        name="--exist-ratio",
        dest="exist_ratio",
        kind=float,
        default=1.0,
        metavar="SHARE",
        help="share of numbers that are on the messenger, 0 to 1 (seeded); sends to the others "
        "come back false [1.0]",
    ),
    Flag(
        name="--profile",
        dest="profile",
        kind=str,
        default=None,
        metavar="NAME",
        help="how the fake behaves where the document and the server code disagree: 'server' "
        "(as the server code does) or 'documented' [server]",
    ),
    Flag(
        name="--json",
        dest="json",
        kind=bool,
        default=False,
        metavar=None,
        help="announce the URL (and the default secret) as one JSON document",
    ),
)


@attrs.frozen(kw_only=True)
class ServeOptions:
    """The fake server's settings, checked; built with `from_values`."""

    port: int = DEFAULT_PORT
    secret: str = DEFAULT_SECRET
    agents: tuple[str, ...] = ("Agent1",)
    realistic: float | None = None
    exist_ratio: float = 1.0
    profile: str | None = None
    json: bool = False

    @classmethod
    def from_values(cls, values: Mapping[str, object]) -> ServeOptions:
        """
        Check the parsed flags (by `Flag.dest`).

        Raises:
            ValueError: a value out of range, or --agent and --agents together.
        """
        port = int(_number(values.get("port"), DEFAULT_PORT))
        if not 0 <= port <= 65535:
            raise ValueError(f"--port: expected 0 to 65535, got {port}")
        names = values.get("agents") or ()
        count = values.get("agent_count")
        if names and count is not None:
            raise ValueError("give --agent NAME (repeated) or --agents N, not both")
        if count is not None:
            if not isinstance(count, int) or not 1 <= count <= _MAX_AGENTS:
                raise ValueError(f"--agents: expected 1 to {_MAX_AGENTS}, got {count}")
            agents = tuple(f"Agent{index}" for index in range(1, count + 1))
        else:
            agents = tuple(str(name) for name in names) if isinstance(names, Sequence) else ()
        realistic = values.get("realistic")
        if realistic is not None and (not isinstance(realistic, float | int) or realistic < 0):
            raise ValueError(f"--realistic: expected a scale >= 0, got {realistic}")
        ratio = _number(values.get("exist_ratio"), 1.0)
        if not 0 <= ratio <= 1:
            raise ValueError(f"--exist-ratio: expected a share from 0 to 1, got {ratio}")
        profile = values.get("profile")
        if profile is not None and profile not in ("server", "documented"):
            raise ValueError(f"--profile: expected 'server' or 'documented', got {profile!r}")
        secret = values.get("secret")
        return cls(
            port=port,
            secret=secret if isinstance(secret, str) and secret else DEFAULT_SECRET,
            agents=agents or ("Agent1",),
            realistic=None if realistic is None else float(realistic),
            exist_ratio=float(ratio),
            profile=profile if isinstance(profile, str) else None,
            json=bool(values.get("json")),
        )


def _number(value: object, default: float) -> float:
    return default if not isinstance(value, int | float) else value


def profile_supported() -> bool:
    """Whether this `FakeMioGram` takes ``profile=`` (the --profile flag passes it through)."""
    return "profile" in inspect.signature(FakeMioGram).parameters


def active_flags() -> tuple[Flag, ...]:
    """`FLAGS` this fake can honour: ``--profile`` only when the fake has profiles."""
    return tuple(flag for flag in FLAGS if flag.dest != "profile" or profile_supported())


def build_fake(options: ServeOptions) -> FakeMioGram:
    """
    The fake service *options* describe.

    Raises:
        ValueError: --profile was given and this fake has no profiles.
    """
    account = AccountConfig(
        secret=options.secret,
        agents=options.agents,
        numbers=NumberBook.ratio(options.exist_ratio)
        if options.exist_ratio < 1
        else NumberBook.everyone(),
    )
    time_model = (
        TimeModel.instant()
        if options.realistic is None
        else TimeModel.realistic(scale=options.realistic)
    )
    if options.profile is None:
        return FakeMioGram(account, time_model=time_model)
    if not profile_supported():
        raise ValueError("--profile: this version of the fake service has no profiles")
    # Looked up by name: the keyword is newer than some of the fakes this module may run with.
    make: Callable[..., FakeMioGram] = FakeMioGram
    return make(account, time_model=time_model, profile=options.profile)


def announcement(url: str, options: ServeOptions) -> list[str]:
    """The lines that tell a user how to point a client at the fake."""
    lines = [f"fake MioGram service on {url} (Ctrl-C to stop)", f"  export MIOGRAM_BASE_URL={url}"]
    if options.secret == DEFAULT_SECRET:
        lines.append(f"  export MIOGRAM_SECRET={DEFAULT_SECRET}")
    else:
        lines.append("  the secret is the one given with --secret")
    return lines


def announcement_document(url: str, options: ServeOptions) -> dict[str, object]:
    """The JSON form of `announcement` (the secret only when it is the well-known default)."""
    document: dict[str, object] = {"ok": True, "url": url, "agents": len(options.agents)}
    if options.secret == DEFAULT_SECRET:
        document["secret"] = DEFAULT_SECRET
    return document


async def serve_until_stopped(
    fake: FakeMioGram, port: int, announce: Callable[[str], None]
) -> None:
    """
    Serve *fake* on 127.0.0.1:*port*, call *announce* with its URL, return on SIGINT or SIGTERM.

    Raises:
        ImportError: uvicorn (the ``testing`` extra) is not installed.
        OSError: the port cannot be listened on.
    """
    async with fake.serve(port=port) as url:
        announce(url)
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                break


def argument_parser() -> argparse.ArgumentParser:
    """The ``python -m miogram_async.testing`` command line: `FLAGS` as argparse options."""
    parser = argparse.ArgumentParser(
        prog="python -m miogram_async.testing",
        description="Serve a fake MioGram.net web service on 127.0.0.1 for tests and demos "
        "(the same as 'miogram fake serve').",
    )
    for flag in active_flags():
        if flag.kind is bool:
            parser.add_argument(flag.name, dest=flag.dest, action="store_true", help=flag.help)
        else:
            parser.add_argument(
                flag.name,
                dest=flag.dest,
                type=flag.kind,
                default=flag.default,
                metavar=flag.metavar,
                help=flag.help,
                action="append" if flag.repeat else "store",
            )
    return parser
