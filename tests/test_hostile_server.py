"""The request path against hostile servers on 127.0.0.1: every failure a MioGramError, no secret
in any frame, a total deadline per attempt, a capped reply (issue 11 items 6-9)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from types import FrameType
from typing import Final

import anyio
import pytest

from miogram_async import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    HttpBackend,
    MioGram,
    MioGramError,
)

SECRET: Final = "Hostile-Secret-7f3a9c"
PHONE: Final = "+989100000000"
BACKENDS: Final[tuple[HttpBackend, ...]] = ("httpx", "aiohttp")

Writer = Callable[[asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> None:
    """Read one request: headers, then the body its Content-Length announces."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    await reader.readexactly(length)


@contextlib.asynccontextmanager
async def raw_server(answer: Writer) -> AsyncIterator[str]:
    """A raw TCP server on 127.0.0.1 that reads a request and lets *answer* write the reply."""

    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await _read_request(reader)
            await answer(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up: what these tests provoke
        except asyncio.CancelledError:
            # Stopped below, at the end of the test: end quietly (asyncio 3.11's stream server
            # logs a handler that ends cancelled as an error).
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/dojob.php"
    finally:
        server.close()
        for task in handlers:
            task.cancel()  # handlers still trickling or sleeping
        await asyncio.gather(*handlers, return_exceptions=True)


def _reply(raw: bytes) -> Writer:
    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()

    return answer


async def _reset_mid_body(writer: asyncio.StreamWriter) -> None:
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"Result": tr')
    await writer.drain()
    sock = writer.get_extra_info("socket")
    # SO_LINGER with a zero timeout: close() sends a RST, not a FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def _trickle(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    while True:
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.25)


async def _endless_chunks(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    piece = b"a" * 16384
    while True:
        writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        await writer.drain()


async def _silent(writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


# (name, what the server answers): each must end in an APIConnectionError that may have been sent.
_BROKEN: Final[tuple[tuple[str, Writer], ...]] = (
    (
        "bad chunked encoding",
        _reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n"),
    ),
    ("garbage status line", _reply(b"HELLO THERE\r\n\r\n")),
    (
        "a header over 8 KB",
        _reply(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000 + b"\r\nContent-Length: 2\r\n\r\n{}"),
    ),
    ("reset mid-body", _reset_mid_body),
    ("closed mid-body", _reply(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{")),
)


def _holds(value: object, depth: int = 0) -> bool:
    """Whether *value* (or what it contains, two levels down) holds the secret."""
    if isinstance(value, str):
        return SECRET in value
    if isinstance(value, bytes | bytearray | memoryview):
        return SECRET.encode() in bytes(value)
    if depth < 2 and isinstance(value, dict):
        return any(_holds(k, depth + 1) or _holds(v, depth + 1) for k, v in value.items())
    if depth < 2 and isinstance(value, list | tuple | set | frozenset):
        return any(_holds(item, depth + 1) for item in value)
    try:
        return SECRET in repr(value)
    except Exception:  # a repr that fails shows nothing either
        return False


def secret_frames(error: BaseException) -> list[str]:
    """Every frame of *error*'s traceback (and its causes' and contexts') holding the secret."""
    found: list[str] = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _holds(current.args):
            found.append(f"{type(current).__name__}.args")
        tb = current.__traceback__
        while tb is not None:
            frame: FrameType = tb.tb_frame
            if frame.f_code.co_filename != __file__:  # the test's own frames hold it
                found += [
                    f"{frame.f_code.co_name}:{name}"
                    for name, value in frame.f_locals.items()
                    if name != "self" and _holds(value)
                ]
            tb = tb.tb_next
        pending += [current.__cause__, current.__context__]
    return found


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("name", "answer"), _BROKEN, ids=[name for name, _ in _BROKEN])
async def test_every_broken_reply_is_an_sdk_error_that_may_have_been_sent(
    backend: HttpBackend, name: str, answer: Writer
) -> None:
    """Bad chunks, garbage status line, huge header, reset: APIConnectionError, sent None."""
    async with (
        raw_server(answer) as url,
        MioGram(SECRET, base_url=url, http_backend=backend, max_retries=0) as client,
    ):
        with pytest.raises(MioGramError) as caught:
            await client.send_message(PHONE, "hi", timeout=10)
    if name == "a header over 8 KB" and backend == "httpx":
        # h11 takes a long header that arrives at once; the body "{}" is then no envelope.
        assert isinstance(caught.value, APIResponseError)
    else:
        assert isinstance(caught.value, APIConnectionError), name
        assert caught.value.sent is None, name
    assert "SendMessage" in str(caught.value) or isinstance(caught.value, APIResponseError)
    assert SECRET not in str(caught.value)
    assert secret_frames(caught.value) == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_closed_port_is_an_error_that_was_not_sent(backend: HttpBackend) -> None:
    """Nothing listens: APIConnectionError with sent False, and no secret in its frames."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/dojob.php"
    async with MioGram(SECRET, base_url=url, http_backend=backend, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.send_message(PHONE, "hi")
    assert caught.value.sent is False
    assert secret_frames(caught.value) == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_wait_for_leaves_no_secret_in_any_frame(backend: HttpBackend) -> None:
    """asyncio.wait_for cancelling a call in flight: the TimeoutError's chain holds no secret."""
    async with (
        raw_server(_silent) as url,
        MioGram(SECRET, base_url=url, http_backend=backend, max_retries=0) as client,
    ):
        with pytest.raises(TimeoutError) as caught:
            await asyncio.wait_for(client.send_message(PHONE, "hi"), 0.5)
    assert secret_frames(caught.value) == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_timeout_is_a_total_deadline_against_a_trickling_server(
    backend: HttpBackend,
) -> None:
    """A byte every 0.25 s does not keep send_message(timeout=2) going: APITimeoutError."""
    async with (
        raw_server(_trickle) as url,
        MioGram(SECRET, base_url=url, http_backend=backend, max_retries=0) as client,
    ):
        began = anyio.current_time()
        with pytest.raises(APITimeoutError) as caught:
            await client.send_message(PHONE, "hi", timeout=2)
        took = anyio.current_time() - began
    # Generous: the point is that it ends (it ran 20-45 s and on before), not how fast.
    assert took < 15
    assert caught.value.sent is not False  # the request left: its outcome is unknown
    assert secret_frames(caught.value) == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_endless_reply_is_cut_at_the_cap(backend: HttpBackend) -> None:
    """An endless chunked body raises APIResponseError once past max_reply_bytes."""
    async with (
        raw_server(_endless_chunks) as url,
        MioGram(
            SECRET, base_url=url, http_backend=backend, max_retries=0, max_reply_bytes=100_000
        ) as client,
    ):
        with pytest.raises(APIResponseError, match="larger than 100000 bytes"):
            await client.send_message(PHONE, "hi", timeout=30)


async def test_a_declared_huge_reply_is_refused_before_reading() -> None:
    """A Content-Length over the cap is refused from the header; the default cap is a few MiB."""
    huge = b"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n{"
    async with (
        raw_server(_reply(huge)) as url,
        MioGram(SECRET, base_url=url, max_retries=0) as client,
    ):
        with pytest.raises(APIResponseError, match="max_reply_bytes"):
            await client.api_get_ads()


def test_max_reply_bytes_is_checked() -> None:
    """A cap that is not an int >= 1 is a ValidationError naming the option."""
    for bad in (0, -1, 1.5, True, "1"):
        with pytest.raises(ValueError, match="max_reply_bytes"):
            MioGram(SECRET, max_reply_bytes=bad)  # type: ignore[arg-type]
