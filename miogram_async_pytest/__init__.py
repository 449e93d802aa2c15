"""
pytest fixtures for testing code that uses miogram-async against the fake service.

Registered through the ``pytest11`` entry point, so pytest imports this module in every run of
every project that has miogram-async installed. It is a top-level module, not a part of
``miogram_async``, because importing any module of a package first imports the package itself
(the client, httpx, the campaign store): here that is deferred to the first test that asks for a
fixture, and the import costs pytest's own modules only.

Fixtures:
    miogram_fake: a :class:`~miogram_async.testing.FakeMioGram` with one account (secret
        ``test-secret``, agent ``Agent1``, generous credits, every number exists).
    miogram_client: a ``MioGram`` client bound to ``miogram_fake`` through its in-process
        transport, with the fake's current secret (override ``miogram_fake`` to configure both):
        ``miogram_fake.client()``, so its send gate is its own, not the machine-wide gate of the
        real service's clients. Unless ``MIOGRAM_FRONT_WAIT`` is set it plans as against a
        service a hundred times faster (``front_wait`` `TEST_FRONT_WAIT`): the instant fake
        takes no time, and a fault test that leaves an outcome unknown then waits for the
        gateway a tenth of a second a number, not ten (E32, E49).

Both fixtures are plain (synchronous) fixtures: they create objects that bind to an event loop on
first use, so they work unchanged under pytest-asyncio (strict or auto mode), under anyio's plugin
with either backend (asyncio, trio), and in synchronous tests. The in-process transport holds no
socket, so the client needs no closing.

An ``async def`` test that takes one of these fixtures and carries no ``asyncio``, ``anyio`` or
``trio`` mark (on itself, its class or its module) is marked ``asyncio`` when pytest-asyncio is
loaded, ``anyio`` otherwise: the example of the README then runs as written whatever the async
plugin and its mode.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Generator
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from miogram_async import MioGram
    from miogram_async.testing import FakeMioGram

__all__ = [
    "FIXTURES",
    "TEST_FRONT_WAIT",
    "TEST_SECRET",
    "miogram_client",
    "miogram_fake",
    "pytest_pycollect_makeitem",
]

FIXTURES: Final = frozenset({"miogram_client", "miogram_fake"})
TEST_SECRET: Final = "test-secret"
# The front wait miogram_client plans with: the service's 60 s, a hundred times faster.
TEST_FRONT_WAIT: Final = 0.6

# Marks by which a plugin claims an async test: a test carrying one is left as it is.
_ASYNC_MARKS: Final = ("asyncio", "anyio", "trio")
# The plugins' modules: looked up by module, as their registered names depend on how they were
# loaded (entry point name, or the module given to -p).
_PYTEST_ASYNCIO: Final = "pytest_asyncio.plugin"
_ANYIO: Final = "anyio.pytest_plugin"


@pytest.fixture
def miogram_fake() -> FakeMioGram:
    """A fake MioGram service with one default account (secret ``test-secret``)."""
    from miogram_async.testing import AccountConfig, FakeMioGram  # noqa: PLC0415

    return FakeMioGram(AccountConfig(secret=TEST_SECRET, agents=("Agent1",)))


@pytest.fixture
def miogram_client(miogram_fake: FakeMioGram) -> MioGram:
    """A ``MioGram`` client talking to ``miogram_fake`` in process (no server, no socket)."""
    if os.environ.get("MIOGRAM_FRONT_WAIT"):
        return miogram_fake.client()
    return miogram_fake.client(front_wait=TEST_FRONT_WAIT)


def _has_async_mark(collector: pytest.Module | pytest.Class, obj: object) -> bool:
    own = getattr(obj, "pytestmark", [])
    own_names = {mark.name for mark in (own if isinstance(own, list) else [own])}
    return any(
        name in own_names or collector.get_closest_marker(name) is not None for name in _ASYNC_MARKS
    )


def _takes_our_fixture(obj: object) -> bool:
    try:
        parameters = inspect.signature(obj).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return not FIXTURES.isdisjoint(parameters)


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Generator[None, object, object]:
    """Mark an unmarked ``async def`` test that takes our fixtures for the async plugin there is."""
    # Before the items are made: pytest-asyncio reads the marks of the new item, anyio's plugin
    # reads the function's own marks, both while this hook runs.
    if (
        inspect.iscoroutinefunction(obj)
        and collector.istestfunction(obj, name)
        and _takes_our_fixture(obj)
        and not _has_async_mark(collector, obj)
    ):
        loaded = {
            getattr(plugin, "__name__", None)
            for plugin in collector.config.pluginmanager.get_plugins()
        }
        if _PYTEST_ASYNCIO in loaded:
            pytest.mark.asyncio(obj)
        elif _ANYIO in loaded:
            pytest.mark.anyio(obj)
    return (yield)
