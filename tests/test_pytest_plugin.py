"""
The pytest plugin, run as a user's project runs it: pytest in a fresh directory, in a subprocess.

Plugin autoloading is off and every plugin is named with ``-p``, so that what is tested is exactly
pytest-asyncio (strict or auto mode) or anyio's plugin, plus ours, whatever else this environment
has installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "miogram_async_pytest"
PYTEST_ASYNCIO = ("-p", "pytest_asyncio.plugin")
ANYIO = ("-p", "anyio.pytest_plugin")
# anyio's plugin runs an anyio test once per backend it finds installed.
ANYIO_BACKENDS = 2 if importlib.util.find_spec("trio") is not None else 1

_FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def readme_pytest_example() -> str:
    """The pytest example of README.md's testing section, exactly as written there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Testing your code with the fake service", 1)[1].split("\n## ", 1)[0]
    examples: list[str] = [code for code in _FENCE.findall(section) if "miogram_client" in code]
    assert len(examples) == 1, "README's testing section should have one pytest example"
    return examples[0]


def run_pytest(
    project: Path, *options: str, environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """
    Run pytest on *project* with only the plugins named in *options* (and ours), in this
    process's environment updated with *environ*.
    """
    # Every warning is an error but pytest-asyncio's own about its unset loop-scope option, which
    # any fresh project gets.
    (project / "pytest.ini").write_text(
        "[pytest]\nfilterwarnings =\n    error\n"
        '    ignore:The configuration option "asyncio_default_fixture_loop_scope" is unset\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("PYTEST_ADDOPTS", None)
    env.update(environ or {})
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            PLUGIN,
            *options,
            "-p",
            "no:cacheprovider",
            "-q",
            str(project),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def assert_passed(done: subprocess.CompletedProcess[str], count: int) -> None:
    """pytest exited 0 with *count* tests passed and nothing else reported."""
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(rf"{count} passed in [0-9.]+s", summary), done.stdout


@pytest.mark.parametrize(
    ("options", "runs"),
    [
        pytest.param((*PYTEST_ASYNCIO,), 1, id="pytest-asyncio-strict"),
        pytest.param((*PYTEST_ASYNCIO, "-o", "asyncio_mode=auto"), 1, id="pytest-asyncio-auto"),
        pytest.param((*ANYIO,), ANYIO_BACKENDS, id="anyio"),
        pytest.param((*ANYIO, *PYTEST_ASYNCIO), 1, id="anyio-and-pytest-asyncio"),
    ],
)
def test_readme_example_runs_verbatim(tmp_path: Path, options: tuple[str, ...], runs: int) -> None:
    """README's pytest example passes as written, without a mark, under each async plugin."""
    (tmp_path / "test_readme.py").write_text(readme_pytest_example(), encoding="utf-8")
    assert_passed(run_pytest(tmp_path, *options), runs)


MARKED_TESTS = """
import pytest


@pytest.mark.asyncio
async def test_marked_asyncio(miogram_client, miogram_fake):
    assert await miogram_client.send_message("+989100000000", "hi") is True
    assert [d.text for d in miogram_fake.deliveries] == ["hi"]


def test_sync_test_gets_the_fake(miogram_fake, miogram_client):
    assert miogram_fake.secret() == "test-secret"
    assert not miogram_client.is_closed
"""


def test_strict_mode_marked_and_sync_tests(tmp_path: Path) -> None:
    """In strict mode a marked test and a plain sync test use the fixtures without a warning."""
    (tmp_path / "test_marked.py").write_text(MARKED_TESTS, encoding="utf-8")
    assert_passed(run_pytest(tmp_path, *PYTEST_ASYNCIO), 2)


ANYIO_TESTS = """
import pytest

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param


async def test_send_under_each_backend(miogram_client, miogram_fake, anyio_backend):
    assert await miogram_client.send_message("+989100000000", anyio_backend) is True
    assert [d.text for d in miogram_fake.deliveries] == [anyio_backend]


async def test_user_fixture_on_top(miogram_client):
    assert await miogram_client.api_get_robot() == ["Agent1"]
"""


def test_anyio_on_asyncio_and_trio(tmp_path: Path) -> None:
    """Under anyio's plugin a module-wide anyio mark is honoured, on asyncio and on trio."""
    (tmp_path / "test_anyio.py").write_text(ANYIO_TESTS, encoding="utf-8")
    assert_passed(run_pytest(tmp_path, *ANYIO, *PYTEST_ASYNCIO), 4)


FAULT_TESTS = """
import anyio
import pytest

from miogram_async import NoResponseError
from miogram_async.testing import FaultKind, FaultRule


@pytest.mark.anyio
async def test_a_999_then_the_next_send(miogram_client, miogram_fake):
    miogram_fake.inject(FaultRule(kind=FaultKind.NO_RESPONSE, funcs="SendMessage", times=1))
    with pytest.raises(NoResponseError):
        await miogram_client.send_message("+989100000000", "first")
    # The gate stays closed while the gateway may still work on "first": a tenth of a second a
    # number at the fixture's front wait, ten seconds at the service's.
    with anyio.fail_after(5):
        assert await miogram_client.send_message("+989100000001", "second") is True
    assert [d.text for d in miogram_fake.deliveries] == ["second"]
"""


def test_fixture_client_keeps_its_own_gate_and_a_short_drain(tmp_path: Path) -> None:
    """
    miogram_client's requests pass a gate of its own (no machine-wide gate file is made), and a
    test of an unknown outcome waits at it a tenth of a second a number, not the service's ten.
    """
    project, runtime = tmp_path / "project", tmp_path / "runtime"
    project.mkdir()
    runtime.mkdir(mode=0o700)
    (project / "test_fault.py").write_text(FAULT_TESTS, encoding="utf-8")
    environ = {"XDG_RUNTIME_DIR": str(runtime), "MIOGRAM_FRONT_WAIT": ""}
    assert_passed(run_pytest(project, *ANYIO, environ=environ), ANYIO_BACKENDS)
    assert list(runtime.iterdir()) == []


UNRELATED_TESTS = """
async def test_not_ours():
    pass
"""


def test_tests_without_our_fixtures_are_left_alone(tmp_path: Path) -> None:
    """An unmarked async test that takes none of our fixtures is not marked by the plugin."""
    (tmp_path / "test_other.py").write_text(UNRELATED_TESTS, encoding="utf-8")
    done = run_pytest(tmp_path, *PYTEST_ASYNCIO)
    assert done.returncode == 1
    assert "async def functions are not natively supported" in done.stdout


def test_importing_the_plugin_imports_nothing_else() -> None:
    """The plugin module pytest loads in every run imports no module of the SDK (nor httpx)."""
    program = textwrap.dedent(
        f"""
        import sys
        import pytest
        before = set(sys.modules)
        import {PLUGIN}
        print(sorted(set(sys.modules) - before))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == f"[{PLUGIN!r}]"


def test_entry_point_names_the_light_module() -> None:
    """pyproject registers the top-level plugin module, not one inside the package."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["pytest11"] == {"miogram_async": PLUGIN}


def test_explicit_plugin_module_reexports_the_fixtures() -> None:
    """-p miogram_async.testing.pytest_plugin gives the same fixtures and hook."""
    import miogram_async_pytest  # noqa: PLC0415
    from miogram_async.testing import pytest_plugin  # noqa: PLC0415

    for name in pytest_plugin.__all__:
        assert getattr(pytest_plugin, name) is getattr(miogram_async_pytest, name)
