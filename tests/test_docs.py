"""
The user documentation tells the truth: its Python examples run, its commands and options exist.

Every ```python block of README.md, docs/testing.md, docs/cli.md and docs/campaigns.md is run as
written against the fake service: complete programs and fragments that use a client reach it over
loopback through ``MIOGRAM_BASE_URL`` and ``MIOGRAM_SECRET`` (the documented way to point a client
elsewhere), pytest examples get the plugin's own fixtures. A block nobody has classified fails the
suite, so a new example cannot go untested by accident.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import re
import shlex
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from click.testing import CliRunner

from miogram_async import MioGram
from miogram_async.campaign import Campaign
from miogram_async.cli import ExitCode, cli
from miogram_async.testing import AccountConfig, FakeMioGram

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("README.md", "docs/testing.md", "docs/cli.md", "docs/campaigns.md")
QUICK_START_SECRET = "x32nv86ss5z"  # the secret README's quick start passes
NUMBERS = ["+989100000001", "+989100000002", "0098 910 000 0003"]

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[tuple[str, str]]:
    """(file, code) of every fenced block of *language* in the user docs, in order."""
    found = []
    for name in DOCS:
        text = (ROOT / name).read_text(encoding="utf-8")
        found += [(name, code) for lang, code in _FENCE.findall(text) if lang == language]
    return found


def block_id(block: tuple[str, str]) -> str:
    """A readable test id: the file and the block's first line."""
    name, code = block
    return f"{name}:{code.splitlines()[0]}"


@contextlib.contextmanager
def serving(fake: FakeMioGram) -> Iterator[str]:
    """Serve *fake* on 127.0.0.1 from its own thread and event loop; yield the URL."""
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(fake.serve()) as url,
    ):
        yield url


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeMioGram]:
    """A fake on loopback that MioGram() finds through the environment; cwd holds numbers.txt."""
    fake = FakeMioGram(
        [
            AccountConfig(secret=QUICK_START_SECRET, agents=("Agent1", "Agent2")),
        ]
    )
    (tmp_path / "numbers.txt").write_text("".join(f"{n}\n" for n in NUMBERS), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIOGRAM_SECRET", QUICK_START_SECRET)
    with serving(fake) as url:
        monkeypatch.setenv("MIOGRAM_BASE_URL", url)
        yield fake


def run_program(code: str) -> dict[str, Any]:
    """Execute a complete program (it starts its own event loop) and return its namespace."""
    namespace: dict[str, Any] = {"__name__": "__doc_example__"}
    exec(compile(code, "<doc>", "exec"), namespace)
    return namespace


def run_fragment(code: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Execute a fragment that awaits at top level (as in an async REPL) with *namespace* given."""
    compiled = compile(code, "<doc>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)

    async def main() -> None:
        result = eval(compiled, namespace)
        if inspect.isawaitable(result):
            await result

    anyio.run(main, backend="asyncio")
    return namespace


# -- one runner per documented example -------------------------------------------------------


def quick_start(code: str, fake: FakeMioGram) -> None:
    run_program(code)
    assert [d.text for d in fake.deliveries].count("سلام") == 1
    assert sorted(d.number for d in fake.deliveries if d.text == "Hello") == [
        "+989100000001",
        "+989100000002",
        "+989100000003",
    ]


def mass_sends(code: str, fake: FakeMioGram) -> None:
    progress: list[object] = []

    async def with_client() -> None:
        async with MioGram() as client:
            namespace: dict[str, Any] = {
                "client": client,
                "numbers": list(NUMBERS),
                "print": progress.append,
            }
            result = eval(
                compile(code, "<doc>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT), namespace
            )
            await result
            assert namespace["result"].delivered == [
                "+989100000001",
                "+989100000002",
                "+989100000003",
            ]

    anyio.run(with_client, backend="asyncio")
    assert len(fake.deliveries) == 3
    assert progress, "on_progress=print was never called"


def campaign_example(code: str, fake: FakeMioGram) -> None:
    namespace = run_fragment(code, {"print": lambda *args: None})
    assert namespace["summary"].status.by_state  # the first run's summary
    assert sorted(d.number for d in fake.deliveries) == sorted(
        ["+989100000001", "+989100000002", "+989100000003"]
    )
    exported = Path("spring-results.csv").read_text(encoding="utf-8").splitlines()
    assert exported[0] == "seq,input,number,state,error_code,error,robot"
    assert len(exported) == 1 + len(NUMBERS)


def campaign_api(code: str, fake: FakeMioGram) -> None:
    """The API listing is signatures, not code: check each documented name and parameter exists."""
    del fake
    documented: dict[str, Callable[..., Any]] = {
        "create": Campaign.create,
        "open": Campaign.open,
        "run": Campaign.run,
        "status": Campaign.status,
        "export": Campaign.export,
        "close": Campaign.close,
    }
    for name, function in documented.items():
        match = re.search(rf"\.{name}\(([^)]*)\)", code)
        assert match is not None, f"{name} is not in the listing"
        shown = [p.split("=")[0].strip(" *\n") for p in match.group(1).split(",")]
        shown = [p for p in shown if p]
        actual = [p for p in inspect.signature(function).parameters if p not in ("self", "cls")]
        assert shown == actual, name


def real_server(code: str, fake: FakeMioGram) -> None:
    """``fake.serve()`` then a client with the fixture secret: run with a fresh default fake."""
    del fake
    local = FakeMioGram()
    run_fragment(
        code.replace("...", "assert await client.send_message('+989100000001', 'hi')"),
        {
            "fake": local,
            "MioGram": MioGram,
        },
    )
    assert [d.text for d in local.deliveries] == ["hi"]


def plain(code: str, fake: FakeMioGram) -> None:
    """Configuration examples: they must build what they show."""
    del fake
    namespace = run_program(code)
    assert isinstance(namespace["fake"], FakeMioGram)


RUNNERS: dict[str, Callable[[str, FakeMioGram], None]] = {
    "README.md:import anyio": quick_start,
    "README.md:result = await client.send_message_mass(": mass_sends,
    "docs/campaigns.md:from miogram_async import MioGram": campaign_example,
    'docs/campaigns.md:Campaign.create(path, numbers, *, kind="message", message=None, media=None, '
    "file_format=None,": campaign_api,
    "docs/testing.md:from miogram_async.testing import (": plain,
    "docs/testing.md:from miogram_async.testing import FakeMioGram, FaultKind, FaultRule, Faults": (
        plain
    ),
    "docs/testing.md:async with fake.serve() as url:  # http://127.0.0.1:<free port>/dojob.php "
    "(asyncio only)": real_server,
}

# pytest examples run with the plugin's fixtures instead (see test_pytest_examples).
PYTEST_EXAMPLES = {
    "README.md:async def test_notify(miogram_client, miogram_fake):",
    "docs/testing.md:async def test_welcome_message(miogram_client, miogram_fake):",
    "docs/testing.md:from contextlib import asynccontextmanager",
}


def test_every_python_block_is_classified() -> None:
    """Each documented Python example has a runner here, so none goes untested."""
    ids = [block_id(block) for block in blocks("python")]
    assert ids, "no examples found: the fence pattern is wrong"
    unclassified = [i for i in ids if i not in RUNNERS and i not in PYTEST_EXAMPLES]
    assert unclassified == []
    assert sorted(set(RUNNERS) | PYTEST_EXAMPLES) == sorted(ids)


def _python_params() -> list[Any]:
    return [
        pytest.param(block, id=block_id(block))
        for block in blocks("python")
        if block_id(block) in RUNNERS
    ]


@pytest.mark.parametrize("block", _python_params())
def test_python_example_runs(block: tuple[str, str], service: FakeMioGram) -> None:
    """The example runs as written against the fake service and does what the text says."""
    RUNNERS[block_id(block)](block[1], service)


def _example(first_line: str) -> str:
    return next(
        code for block in blocks("python") if block_id(block) == first_line for code in [block[1]]
    )


async def test_readme_pytest_example(miogram_client: MioGram, miogram_fake: FakeMioGram) -> None:
    """README's pytest example passes with the plugin's fixtures."""
    namespace = run_program(
        _example("README.md:async def test_notify(miogram_client, miogram_fake):")
    )
    await namespace["test_notify"](miogram_client, miogram_fake)


async def test_testing_md_pytest_example(
    miogram_client: MioGram, miogram_fake: FakeMioGram
) -> None:
    """docs/testing.md's fixture example passes, given the ``send_welcome`` it stands for."""

    async def send_welcome(client: MioGram, phone: str) -> None:  # "your code under test"
        await client.send_message(phone, "Welcome!")

    code = _example("docs/testing.md:async def test_welcome_message(miogram_client, miogram_fake):")
    namespace: dict[str, Any] = {"send_welcome": send_welcome}
    exec(compile(code, "<doc>", "exec"), namespace)
    await namespace["test_welcome_message"](miogram_client, miogram_fake)


async def test_fastapi_example(miogram_client: MioGram, miogram_fake: FakeMioGram) -> None:
    """docs/testing.md's FastAPI example passes (needs fastapi, which is not a dependency)."""
    pytest.importorskip("fastapi", reason="fastapi is not installed; see test_asgi_app_flow")
    namespace = run_program(_example("docs/testing.md:from contextlib import asynccontextmanager"))
    await namespace["test_notify"](miogram_client, miogram_fake)


async def test_asgi_app_flow(miogram_client: MioGram, miogram_fake: FakeMioGram) -> None:
    """The FastAPI example's flow without FastAPI: an ASGI app's handler uses the swapped client."""
    clients: dict[str, MioGram] = {"miogram": miogram_client}  # the dependency override

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        phone = scope["path"].removeprefix("/notify/")
        delivered = await clients["miogram"].send_message(phone, "Your order has shipped")
        body = b'{"delivered": %s}' % (b"true" if delivered else b"false")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        response = await http.post("/notify/+989100000000")
    assert response.json() == {"delivered": True}
    assert [d.text for d in miogram_fake.deliveries] == ["Your order has shipped"]


# -- the command line as documented ----------------------------------------------------------

_PROMPT = re.compile(r"^\$ (.*)$", re.MULTILINE)
_SHELL_OPERATORS = {"|", ";", "&", "&&", "<", ">", "||"}


def documented_commands() -> list[list[str]]:
    """The arguments of every ``miogram`` run typed at a ``$`` prompt in README.md and cli.md."""
    found = []
    for name in ("README.md", "docs/cli.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        for line in _PROMPT.findall(text):
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            command: list[str] = []
            for token in [*lexer, ";"]:
                if token in _SHELL_OPERATORS:
                    if command[:1] == ["miogram"]:
                        found.append(command[1:])
                    command = [] if token != "<" else ["<"]
                else:
                    command.append(token)
    return found


def command_path(words: list[str]) -> tuple[list[str], list[str]]:
    """Split *words* into the command path (``campaign run``) and its options."""
    group_options = list(words[: _first_command(words)])
    rest = words[_first_command(words) :]
    path = [rest[0]]
    if rest[0] in ("campaign", "fake") and len(rest) > 1:
        path.append(rest[1])
    return path, group_options + rest[len(path) :]


def _first_command(words: list[str]) -> int:
    return next(i for i, w in enumerate(words) if not w.startswith("-"))


def help_text(path: list[str]) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, (path, result.output)
    return result.output


@pytest.mark.parametrize("words", documented_commands(), ids=" ".join)
def test_documented_command_exists(words: list[str]) -> None:
    """Each command line shown in the docs names a real command and real options."""
    path, options = command_path(words)
    text = help_text(path) + help_text([])
    for option in options:
        if option.startswith("-") and option != "-":  # "-" is stdin, not an option
            assert re.search(rf"(^|[\s,]){re.escape(option)}([\s,=]|$)", text, re.MULTILINE), option


_TABLE_OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)")


def test_commands_table_options_exist() -> None:
    """Every option in docs/cli.md's Commands table is in that command's --help."""
    text = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    table = text.split("## Commands", 1)[1].strip().split("\n\n", 1)[0]
    rows = re.findall(r"^\| `miogram ([^`]*)`", table, re.MULTILINE)
    assert len(rows) == 8
    for row in rows:
        words = row.split()
        path = words[:2] if words[0] in ("campaign", "fake") else words[:1]
        shown = help_text(path)
        for option in _TABLE_OPTION.findall(row):
            assert option in shown, (row, option)


def test_global_options_exist() -> None:
    """The global options docs/cli.md lists are the group's options."""
    shown = help_text([])
    for option in ("--base-url", "--secret-file", "--json", "-v", "--verbose", "--version"):
        assert option in shown


def test_there_is_no_secret_option() -> None:
    """As documented, no command takes the secret as an option."""
    for path in (["send"], ["send-file"], ["account"], ["campaign", "run"], ["campaign", "resume"]):
        assert "--secret " not in help_text(path)
        assert "--secret\n" not in help_text(path)


def test_exit_code_table_matches_the_code() -> None:
    """The exit codes in docs/cli.md, README.md and the --help epilog are ExitCode's values."""
    text = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    table = text.split("## Exit codes", 1)[1]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    assert documented == {int(code) for code in ExitCode}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = readme.split("Exit codes:", 1)[1].split("A real demo run", 1)[0]
    assert {int(c) for c in re.findall(r"\b(\d+) [a-z]", sentence)} == {int(c) for c in ExitCode}
    epilog = help_text([]).split("Exit codes:", 1)[1]
    assert {int(c) for c in re.findall(r"\b(\d+) [a-z]", epilog)} == {int(c) for c in ExitCode}


def test_testing_md_server_command_parses() -> None:
    """The ``python -m miogram_async.testing`` line of docs/testing.md is accepted as written."""
    from miogram_async.testing._serve import argument_parser  # noqa: PLC0415

    text = (ROOT / "docs/testing.md").read_text(encoding="utf-8")
    line = re.search(r"^python -m miogram_async\.testing (.*)$", text, re.MULTILINE)
    assert line is not None
    options = argument_parser().parse_args(shlex.split(line.group(1)))
    assert (options.port, options.secret, options.agents, options.realistic) == (
        8765,
        "test-secret",
        ["Agent1"],
        0.1,
    )


def _section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


async def test_testing_md_inspecting_expressions_work() -> None:
    """Every ``fake....`` expression of docs/testing.md's Inspecting section evaluates."""
    text = (ROOT / "docs/testing.md").read_text(encoding="utf-8")
    expressions = re.findall(r"`(fake\.[^`]+)`", _section(text, "## Inspecting"))
    assert len(expressions) >= 10
    fake = FakeMioGram()
    async with fake.client(robot="Agent1", max_retries=0) as client:
        assert await client.send_message("+989100000001", "hi")
    for expression in expressions:
        eval(expression, {"fake": fake})  # raises if the name or call is wrong
    assert fake.max_running_per_agent() == {"Agent1": 1}


def test_testing_md_fault_table_is_the_fault_kinds() -> None:
    """The kinds in docs/testing.md's fault table are exactly FaultKind's members."""
    from miogram_async.testing import FaultKind  # noqa: PLC0415

    text = (ROOT / "docs/testing.md").read_text(encoding="utf-8")
    kinds = re.findall(r"^\| `([A-Z_]+)` \|", _section(text, "## Faults"), re.MULTILINE)
    assert sorted(kinds) == sorted(kind.name for kind in FaultKind)


def test_testing_md_client_and_transport_calls() -> None:
    """``fake.client(robot=..., max_retries=...)`` and ``fake.transport(client_ip=...)`` exist."""
    fake = FakeMioGram()
    client = fake.client(robot="Agent1", max_retries=1)
    assert isinstance(client, MioGram)
    transport = fake.transport(client_ip="10.0.0.7")
    assert isinstance(transport, httpx.AsyncBaseTransport)
