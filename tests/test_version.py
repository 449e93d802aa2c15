"""The version comes from the installed metadata; the User-Agent names it, Python's and httpx's."""

from __future__ import annotations

import importlib.metadata
import re
import sys

import httpx
import pytest

import miogram_async
from miogram_async._base import version as _version


def test_version_is_the_installed_one() -> None:
    """miogram_async.__version__ is the installed distribution's version."""
    assert miogram_async.__version__ == importlib.metadata.version("miogram-async")


def test_version_fallback_when_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A source tree that was never installed reports 0+unknown instead of failing on import."""

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert _version._installed_version() == "0+unknown"


def test_user_agent() -> None:
    """USER_AGENT is miogram-async/<version> python/<x.y> httpx/<version>."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    expected = (
        f"miogram-async/{miogram_async.__version__} python/{python} httpx/{httpx.__version__}"
    )
    agent = _version.USER_AGENT
    assert agent == expected
    assert re.fullmatch(
        r"miogram-async/1\.2\.3 python/3\.\d+ httpx/\S+", _version.user_agent("1.2.3")
    )
