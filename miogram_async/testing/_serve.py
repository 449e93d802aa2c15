"""
Serving the fake MioGram service from a shell: its flags, their checks, the fake they describe,
the announcement and the serving until stopped.

The one implementation behind ``python -m miogram_async.testing`` (`__main__`, argparse) and
``miogram fake serve`` (the CLI turns `FLAGS` into click options). Serving needs the ``testing``
extra (uvicorn).
"""

from __future__ import annotations

import argparse
import collections
import inspect
import json
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import anyio
import attrs

from ._config import AccountConfig, NumberBook
from ._fake import FakeMioGram
from ._state import Delivery
from ._timing import TimeModel

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_SECRET",
    "FLAGS",
    "Flag",
    "ServeOptions",
    "ServeSummary",
    "active_flags",
    "announcement",
    "announcement_document",
    "argument_parser",
    "build_fake",
    "delivery_line",
    "profile_supported",
    "serve_until_stopped",
    "summary_of",
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
        name="--deliveries",
        dest="deliveries",
        kind=str,
        default=None,
        metavar="FILE",
        help="append every delivered message to FILE as it is delivered, one JSON line each "
        "(number, text, action, agent, request); a summary is printed when the server stops",
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
    deliveries: str | None = None

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
        deliveries = values.get("deliveries")
        return cls(
            deliveries=deliveries if isinstance(deliveries, str) and deliveries else None,
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


@attrs.frozen(kw_only=True)
class ServeSummary:
    """
    What the fake did while it was served, for the summary printed when it stops.

    Attributes:
        requests: requests received.
        deliveries: messages delivered (one per number and message).
        double: numbers delivered the same message more than once (a double send).
        max_in_flight: the most state-changing requests it handled at once (1 is safe, E33).
        credit_file_corrupted: whether overlapping sends broke the gateway's credit file (E33).
        deliveries_file: where every delivery was written, or ``None``.
    """

    requests: int
    deliveries: int
    double: int
    max_in_flight: int
    credit_file_corrupted: bool
    deliveries_file: str | None = None

    def lines(self) -> list[str]:
        """The summary in words."""
        written = f" (written to {self.deliveries_file})" if self.deliveries_file else ""
        return [
            f"stopped after {self.requests:,} requests",
            f"  {self.deliveries:,} messages delivered{written}",
            f"  {self.double:,} numbers got the same message twice or more",
            f"  at most {self.max_in_flight} state-changing requests in flight at once",
            "  the gateway's credit file is "
            + ("CORRUPTED (overlapping sends, E33)" if self.credit_file_corrupted else "intact"),
        ]

    def document(self) -> dict[str, object]:
        """The summary as a JSON object."""
        return attrs.asdict(self)


def summary_of(fake: FakeMioGram, deliveries_file: str | None = None) -> ServeSummary:
    """What *fake* did so far (`ServeSummary`)."""
    delivered = fake.deliveries
    sent = collections.Counter((item.number, item.text, item.data_sha256) for item in delivered)
    numbers = {number for (number, _, _), times in sent.items() if times > 1}
    return ServeSummary(
        requests=len(fake.requests),
        deliveries=len(delivered),
        double=len(numbers),
        max_in_flight=fake.max_state_changing_in_flight,
        credit_file_corrupted=fake.credit_file_corrupted,
        deliveries_file=deliveries_file,
    )


def delivery_line(delivery: Delivery) -> str:
    """One delivery as a JSON line (the ``--deliveries`` file)."""
    record: dict[str, object] = {
        "number": delivery.number,
        "func": delivery.func,
        "agent": delivery.agent,
        "request": delivery.request_index,
    }
    if delivery.text is not None:
        record["text"] = delivery.text
    if delivery.data_sha256 is not None:
        record["data_sha256"] = delivery.data_sha256
    return json.dumps(record, ensure_ascii=False) + "\n"


#: How often the deliveries file is brought up to date while serving.
_WRITE_EVERY: Final = 0.2


async def _write_deliveries(fake: FakeMioGram, path: str, stopped: anyio.Event) -> None:
    """Append every delivery of *fake* to *path* as it comes, until *stopped* (then the rest)."""
    written = 0
    with open(path, "a", encoding="utf-8") as out:  # noqa: ASYNC230 - short appends, flushed
        while True:
            with anyio.move_on_after(_WRITE_EVERY):
                await stopped.wait()
            new = fake.deliveries_since(written)
            if new:
                out.writelines(map(delivery_line, new))
                out.flush()
                written += len(new)
            if stopped.is_set():
                return


async def serve_until_stopped(
    fake: FakeMioGram,
    port: int,
    announce: Callable[[str], None],
    deliveries: str | None = None,
) -> ServeSummary:
    """
    Serve *fake* on 127.0.0.1:*port*, call *announce* with its URL, return on SIGINT or SIGTERM
    with what it did; every delivery is appended to *deliveries* (JSON lines) as it comes.

    Raises:
        ImportError: uvicorn (the ``testing`` extra) is not installed.
        OSError: the port cannot be listened on, or *deliveries* cannot be written.
    """
    if deliveries is not None:
        open(deliveries, "a", encoding="utf-8").close()  # noqa: ASYNC230 - fail early
    stopped = anyio.Event()
    async with fake.serve(port=port) as url, anyio.create_task_group() as group:
        if deliveries is not None:
            group.start_soon(_write_deliveries, fake, deliveries, stopped)
        announce(url)
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                break
        stopped.set()
    return summary_of(fake, deliveries)


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
