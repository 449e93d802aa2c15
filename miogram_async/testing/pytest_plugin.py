"""
pytest fixtures for testing code that uses miogram-async against the fake service.

Loaded through the ``pytest11`` entry point, so it must stay importable at all times: everything
beyond pytest itself is imported inside the fixtures.

Fixtures:
    miogram_fake: a :class:`~miogram_async.testing.FakeMioGram` with one account (secret
        ``test-secret``, agent ``Agent1``, generous credits, every number exists).
    miogram_client: a ``MioGram`` client bound to ``miogram_fake`` through its in-process
        transport, with the fake's current secret (override ``miogram_fake`` to configure both).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from miogram_async import MioGram
    from miogram_async.testing import FakeMioGram

__all__ = ["miogram_client", "miogram_fake"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _async_fixture(function: _F) -> Any:
    # pytest-asyncio's decorator makes the fixture work in its strict mode too; without it, fall
    # back to a plain fixture (auto mode, or another async plugin that handles it).
    try:
        import pytest_asyncio  # noqa: PLC0415
    except ImportError:  # pragma: no cover - pytest-asyncio is a dev dependency
        return pytest.fixture(function)
    return pytest_asyncio.fixture(function)


@pytest.fixture
def miogram_fake() -> FakeMioGram:
    """A fake MioGram service with one default account (secret ``test-secret``)."""
    from miogram_async.testing import AccountConfig, FakeMioGram  # noqa: PLC0415

    return FakeMioGram(AccountConfig(secret="test-secret", agents=("Agent1",)))


@_async_fixture
async def miogram_client(miogram_fake: FakeMioGram) -> AsyncIterator[MioGram]:
    """A ``MioGram`` client talking to ``miogram_fake`` in process (no server, no socket)."""
    from miogram_async import MioGram  # noqa: PLC0415

    secret = miogram_fake.secret()
    async with MioGram(secret=secret, transport=miogram_fake.transport()) as client:
        yield client
