"""
The user documentation tells the truth: its Python examples run, its commands and options exist.

Every ```python block of README.md and docs/*.md is a complete example: it is type-checked with
``mypy --strict`` and run as a user would run it, in a subprocess of its own, in a temporary
folder holding the ``numbers.txt`` it opens. Programs reach a fake service served on loopback
through ``MIOGRAM_BASE_URL`` and ``MIOGRAM_SECRET`` (the documented way to point a client
elsewhere); pytest examples run under pytest with the plugin's own fixtures. What an example
should do is then checked on the fake (`CHECKS`). A block that cannot run on its own (a listing of
signatures) is marked by an HTML comment ``<!-- fragment -->`` on the line before its fence, and
is neither run nor type-checked.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import httpx
import pytest
from click.testing import CliRunner

from miogram_async import MioGram
from miogram_async.campaign import Campaign
from miogram_async.cli import ExitCode, cli
from miogram_async.testing import AccountConfig, FakeMioGram

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")))
FRAGMENT = "<!-- fragment -->"
QUICK_START_SECRET = "x32nv86ss5z"  # the secret README's quick start passes
NUMBERS = ["+989100000001", "+989100000002", "0098 910 000 0003"]
EXAMPLE_TIMEOUT = 120  # seconds for one example's subprocess

_HEADING = re.compile(r"^#{1,6} +(.*?) *#*$")

# Run in the example's subprocess: the example as a script (``__main__``), then the type of every
# name it defined, for the checks that look at what an example built.
_DRIVER = """
import json, runpy, sys
namespace = runpy.run_path(sys.argv[1], run_name="__main__")
with open("namespace.json", "w", encoding="utf-8") as out:
    json.dump({k: type(v).__name__ for k, v in namespace.items() if not k.startswith("__")}, out)
"""


class Example(NamedTuple):
    """A fenced block of a doc: where it is, its language and code, and whether it is a fragment."""

    name: str  # "README.md: Quick start", "(2)" appended for a later block in the same section
    language: str
    code: str
    fragment: bool


def examples(language: str = "python") -> list[Example]:
    """Every fenced block of *language* in the user docs, in order, named by file and section."""
    found: list[Example] = []
    for doc in DOCS:
        lines = (ROOT / doc).read_text(encoding="utf-8").splitlines()
        section, index = doc, 0
        seen: dict[str, int] = {}
        while index < len(lines):
            line = lines[index]
            heading = _HEADING.match(line)
            if heading:
                section = heading.group(1)
            if line.startswith("```"):
                end = next(
                    (i for i in range(index + 1, len(lines)) if lines[i].strip() == "```"),
                    len(lines),
                )
                seen[section] = seen.get(section, 0) + 1
                name = f"{doc}: {section}" + (f" ({seen[section]})" if seen[section] > 1 else "")
                fragment = index > 0 and lines[index - 1].strip() == FRAGMENT
                code = "".join(f"{text}\n" for text in lines[index + 1 : end])
                if line[3:].strip() == language:
                    found.append(Example(name, language, code, fragment))
                index = end
            index += 1
    return found


def is_pytest_module(code: str) -> bool:
    """Whether *code* defines test functions at top level: it is run by pytest, not as a script."""
    return bool(defined_tests(code))


def defined_tests(code: str) -> list[str]:
    """The names of the top-level ``test_*`` functions of *code*."""
    return [
        node.name
        for node in ast.parse(code).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    ]


@contextlib.contextmanager
def serving(fake: FakeMioGram) -> Iterator[str]:
    """Serve *fake* on 127.0.0.1 from its own thread and event loop; yield the URL."""
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(fake.serve()) as url,
    ):
        yield url


class Ran(NamedTuple):
    """What an example's subprocess did: its exit status, its output, the folder it ran in."""

    returncode: int
    stdout: str
    stderr: str
    folder: Path

    def namespace(self) -> dict[str, str]:
        """The names a script example defined, with their types' names."""
        loaded: dict[str, str] = json.loads((self.folder / "namespace.json").read_text("utf-8"))
        return loaded


def example_environment(url: str) -> dict[str, str]:
    """This process's environment without MIOGRAM_*, pointed at the fake at *url*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIOGRAM_")}
    env.update(
        MIOGRAM_BASE_URL=url,
        MIOGRAM_SECRET=QUICK_START_SECRET,
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def run_example(example: Example, folder: Path, url: str) -> Ran:
    """Run *example* as its user would, in *folder*, against the fake at *url*."""
    if is_pytest_module(example.code):
        script = folder / "test_example.py"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", script.name]
    else:
        script = folder / "example.py"
        command = [sys.executable, "-c", _DRIVER, script.name]
    script.write_text(example.code, encoding="utf-8")
    done = subprocess.run(
        command,
        cwd=folder,
        env=example_environment(url),
        capture_output=True,
        text=True,
        timeout=EXAMPLE_TIMEOUT,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr, folder)


# -- what each example should do, checked after it ran ------------------------------------------


def quick_start(ran: Ran, fake: FakeMioGram) -> None:
    assert [d.text for d in fake.deliveries].count("سلام") == 1
    assert sorted(d.number for d in fake.deliveries if d.text == "Hello") == [
        "+989100000001",
        "+989100000002",
        "+989100000003",
    ]
    assert ran.stdout.startswith("3 [] {}"), ran.stdout


def mass_sends(ran: Ran, fake: FakeMioGram) -> None:
    assert sorted(d.number for d in fake.deliveries) == [
        "+989100000001",
        "+989100000002",
        "+989100000003",
    ]
    assert "MassProgress(" in ran.stdout, "on_progress=print was never called"
    delivered = "['+989100000001', '+989100000002', '+989100000003']"
    assert ran.stdout.rstrip().endswith(f"{delivered} []"), ran.stdout


def campaign_example(ran: Ran, fake: FakeMioGram) -> None:
    assert "delivered" in ran.stdout  # the first run's summary, by state
    assert sorted(d.number for d in fake.deliveries) == sorted(
        ["+989100000001", "+989100000002", "+989100000003"]
    )
    exported = (ran.folder / "spring-results.csv").read_text(encoding="utf-8").splitlines()
    assert exported[0].lstrip("\ufeff") == "seq,input,number,state,error_code,error,robot"
    assert len(exported) == 1 + len(NUMBERS)


def builds_a_fake(ran: Ran, fake: FakeMioGram) -> None:
    """Configuration examples: they must build what they show, and send nothing."""
    assert ran.namespace()["fake"] == "FakeMioGram"
    assert fake.deliveries == []


def own_fake(ran: Ran, fake: FakeMioGram) -> None:
    """An example that serves a fake of its own (its asserts ran): the shared one saw nothing."""
    del ran
    assert fake.requests == []


def pytest_passes(ran: Ran, fake: FakeMioGram) -> None:
    """A pytest example: every test it defines passed (none skipped), on the plugin's fixtures."""
    ran_tests = defined_tests((ran.folder / "test_example.py").read_text(encoding="utf-8"))
    assert re.search(rf"\b{len(ran_tests)} passed\b", ran.stdout), ran.stdout
    assert "skipped" not in ran.stdout
    assert fake.requests == []


CHECKS: dict[str, Callable[[Ran, FakeMioGram], None]] = {
    "README.md: Quick start": quick_start,
    "README.md: Mass sends": mass_sends,
    "README.md: Testing your code with the fake service": pytest_passes,
    "docs/campaigns.md: Durable campaigns": campaign_example,
    "docs/testing.md: pytest fixtures": pytest_passes,
    "docs/testing.md: A FastAPI app": pytest_passes,
    "docs/testing.md: Configuring the fake": builds_a_fake,
    "docs/testing.md: Faults": builds_a_fake,
    "docs/testing.md: The gateway's pace (E49)": builds_a_fake,
    "docs/testing.md: A real server": own_fake,
}


def campaign_api(code: str) -> None:
    """The API listing is signatures, not code: check each documented name and parameter exists."""
    documented: dict[str, Callable[..., Any]] = {
        "create": Campaign.create,
        "open": Campaign.open,
        "run": Campaign.run,
        "settle": Campaign.settle,
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


# Fragments whose content is still checked against the code.
FRAGMENT_CHECKS: dict[str, Callable[[str], None]] = {
    "docs/campaigns.md: API": campaign_api,
}


def test_examples_are_found() -> None:
    """The fence parser finds the examples, and every check names an existing one."""
    found = {example.name: example for example in examples()}
    assert len(found) >= len(CHECKS) + len(FRAGMENT_CHECKS)
    assert sorted(name for name in CHECKS if name not in found) == []
    assert all(not found[name].fragment for name in CHECKS)
    assert all(found[name].fragment for name in FRAGMENT_CHECKS)


def test_every_runnable_example_has_a_check() -> None:
    """Each example that runs says what it should do, so a new one cannot just exit 0 unseen."""
    runnable = [example.name for example in examples() if not example.fragment]
    assert [name for name in runnable if name not in CHECKS] == []


def test_fragments_are_few_and_not_code_in_disguise() -> None:
    """Fragments are listings (signatures, layouts), never a program that could have been run."""
    fragments = [example for example in examples() if example.fragment]
    assert len(fragments) <= 8, [example.name for example in fragments]
    for example in fragments:
        assert "anyio.run(" not in example.code, example.name
        assert "asyncio.run(" not in example.code, example.name


@pytest.fixture
def service() -> Iterator[tuple[FakeMioGram, str]]:
    """A fake on loopback with the quick start's account and two agents: (fake, URL)."""
    fake = FakeMioGram([AccountConfig(secret=QUICK_START_SECRET, agents=("Agent1", "Agent2"))])
    with serving(fake) as url:
        yield fake, url


def _runnable() -> list[Any]:
    return [
        pytest.param(example, id=example.name) for example in examples() if not example.fragment
    ]


@pytest.mark.parametrize("example", _runnable())
def test_python_example_runs(
    example: Example, service: tuple[FakeMioGram, str], tmp_path: Path
) -> None:
    """The example runs as written, in a subprocess, and does what the text says."""
    fake, url = service
    (tmp_path / "numbers.txt").write_text("".join(f"{n}\n" for n in NUMBERS), encoding="utf-8")
    ran = run_example(example, tmp_path, url)
    assert ran.returncode == 0, f"{example.name}\n{ran.stdout}\n{ran.stderr}"
    CHECKS[example.name](ran, fake)


def test_python_examples_pass_mypy_strict(tmp_path: Path) -> None:
    """Every example that is not a fragment passes ``mypy --strict`` as written."""
    runnable = [example for example in examples() if not example.fragment]
    files: dict[str, str] = {}
    for number, example in enumerate(runnable):
        prefix = "test_" if is_pytest_module(example.code) else ""
        file = tmp_path / f"{prefix}example_{number}.py"
        file.write_text(example.code, encoding="utf-8")
        files[file.name] = example.name
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file=",
            "--cache-dir",
            str(tmp_path / "cache"),
            *files,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = done.stdout
    for file_name, name in files.items():
        report = report.replace(file_name, name)
    assert done.returncode == 0, report
    assert f"no issues found in {len(files)} source files" in done.stdout


@pytest.mark.parametrize("name", sorted(FRAGMENT_CHECKS))
def test_fragment_matches_the_code(name: str) -> None:
    """A fragment that lists signatures lists the real ones."""
    (example,) = [example for example in examples() if example.name == name]
    FRAGMENT_CHECKS[name](example.code)


async def test_asgi_app_flow(miogram_client: MioGram, miogram_fake: FakeMioGram) -> None:
    """The FastAPI example's flow on a bare ASGI app: a handler uses the swapped-in client."""
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
    assert len(rows) == 11
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
