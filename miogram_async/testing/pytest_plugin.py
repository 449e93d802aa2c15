"""
The pytest fixtures ``miogram_fake`` and ``miogram_client`` (see `miogram_async_pytest`).

pytest loads them by itself through the package's ``pytest11`` entry point, which names the
lightweight top-level module `miogram_async_pytest`; this module re-exports them for projects that
name the plugin explicitly (``-p miogram_async.testing.pytest_plugin`` or ``pytest_plugins``).
"""

from __future__ import annotations

from miogram_async_pytest import (
    miogram_client,
    miogram_fake,
    pytest_pycollect_makeitem,
)

__all__ = ["miogram_client", "miogram_fake", "pytest_pycollect_makeitem"]
