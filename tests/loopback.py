"""The fake service on loopback, served from its own thread for tests driving a blocking caller."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import anyio
import anyio.to_thread

from miogram_async.testing import FakeMioGram


@contextlib.contextmanager
def serving(fake: FakeMioGram) -> Iterator[str]:
    """Serve *fake* on 127.0.0.1 from its own thread and event loop; yield the URL."""
    urls: list[str] = []
    errors: list[BaseException] = []
    ready = threading.Event()
    stop = threading.Event()

    async def main() -> None:
        async with fake.serve() as url:
            urls.append(url)
            ready.set()
            await anyio.to_thread.run_sync(stop.wait)

    def target() -> None:
        try:
            anyio.run(main)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=target, name="fake-miogram", daemon=True)
    thread.start()
    assert ready.wait(20)
    if errors:
        raise errors[0]
    try:
        yield urls[0]
    finally:
        stop.set()
        thread.join(20)
