"""
What a user installs: the wheel and the sdist build offline, and the wheel holds what it should.

Built with ``python -m build --no-isolation`` (hatchling comes with the dev dependency group), so
the test needs no network; the wheel is then unpacked and imported from a directory.
"""

from __future__ import annotations

import email.parser
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.message import Message
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PROJECT["project"]["version"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist, and the wheel built from it, in a fresh directory."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return out


def wheel_names(dist: Path) -> list[str]:
    """Every path in the wheel."""
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def wheel_text(dist: Path, name: str) -> str:
    """One dist-info file of the wheel, as text."""
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(f"miogram_async-{VERSION}.dist-info/{name}").decode("utf-8")


def metadata(dist: Path) -> Message:
    """The wheel's METADATA, parsed."""
    return email.parser.Parser().parsestr(wheel_text(dist, "METADATA"))


def test_wheel_contents(dist: Path) -> None:
    """The wheel ships the package, py.typed, the plugin module and LICENSE; no tests or caches."""
    names = wheel_names(dist)
    assert "miogram_async/py.typed" in names
    assert "miogram_async/__init__.py" in names
    assert "miogram_async_pytest/__init__.py" in names
    assert f"miogram_async-{VERSION}.dist-info/licenses/LICENSE" in names
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {
        "miogram_async",
        "miogram_async_pytest",
        f"miogram_async-{VERSION}.dist-info",
    }
    assert [name for name in names if "__pycache__" in name or name.endswith(".pyc")] == []


def test_wheel_metadata(dist: Path) -> None:
    """Licence, project URLs, classifiers, tzdata; the dev tools are not published."""
    meta = metadata(dist)
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL", []))
    assert {"Documentation", "Changelog", "Issues"} <= set(urls)
    assert all(
        url.startswith("https://github.com/miogram-async/miogram-async") for url in urls.values()
    )
    classifiers = meta.get_all("Classifier", [])
    for minor in (11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    requirements = meta.get_all("Requires-Dist", [])
    assert any(requirement.startswith("tzdata") for requirement in requirements)
    for tool in ("ruff", "mypy", "build", "hatchling"):
        assert not any(requirement.startswith(tool) for requirement in requirements), tool


def test_wheel_entry_points(dist: Path) -> None:
    """The wheel registers the CLI and the light pytest plugin module."""
    entry_points = wheel_text(dist, "entry_points.txt")
    assert "[pytest11]\nmiogram_async = miogram_async_pytest\n" in entry_points
    assert "miogram = miogram_async.cli:main" in entry_points


def test_installed_wheel_reports_its_version(dist: Path, tmp_path: Path) -> None:
    """Imported from the unpacked wheel, __version__ is the wheel's version and the plugin loads."""
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    program = (
        "import miogram_async, miogram_async_pytest\n"
        "from miogram_async._base.version import USER_AGENT\n"
        "print(miogram_async.__file__)\n"
        "print(miogram_async.__version__)\n"
        "print(USER_AGENT.split()[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    location, version, agent = done.stdout.split()
    assert Path(location).is_relative_to(tmp_path)
    assert (version, agent) == (VERSION, f"miogram-async/{VERSION}")


def test_sdist_contents(dist: Path) -> None:
    """The sdist has what a rebuild and a test run need, LICENSE included."""
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for name in ("pyproject.toml", "LICENSE", "README.md", "miogram_async/py.typed"):
        assert name in names
    assert "miogram_async_pytest/__init__.py" in names
    assert any(name.startswith("tests/") for name in names)


def test_dev_tools_are_a_dependency_group() -> None:
    """ruff and mypy are in the dev dependency group, not in the published dev extra."""
    group = PROJECT["dependency-groups"]["dev"]
    extra = PROJECT["project"]["optional-dependencies"]["dev"]
    for tool in ("ruff", "mypy", "hatchling"):
        assert any(requirement.startswith(tool) for requirement in group), tool
        assert not any(requirement.startswith(tool) for requirement in extra), tool
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")
