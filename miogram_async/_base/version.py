"""
The package's version and the ``User-Agent`` the client sends.

The version comes from the installed distribution's metadata, so that it is written in one place
(``pyproject.toml``); a source tree that was never installed reports `UNKNOWN_VERSION`.
"""

from __future__ import annotations

import importlib.metadata
import sys
from typing import Final

import httpx

__all__ = ["DISTRIBUTION", "UNKNOWN_VERSION", "USER_AGENT", "__version__", "user_agent"]

DISTRIBUTION: Final = "miogram-async"
UNKNOWN_VERSION: Final = "0+unknown"


def _installed_version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return UNKNOWN_VERSION


__version__: Final = _installed_version()


def user_agent(version: str = __version__) -> str:
    """``miogram-async/<version> python/<x.y> httpx/<version>``: what a server log should show."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return f"{DISTRIBUTION}/{version} python/{python} httpx/{httpx.__version__}"


USER_AGENT: Final = user_agent()
"""The ``User-Agent`` header of every request."""
