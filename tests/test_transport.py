"""The pooled HTTP client: pool size, backend choice, and the transport-error table."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
import anyio
import anyio.abc
import httpx
import pytest
import respx
import trio
from httpx_aiohttp import AiohttpTransport

from miogram_async import APIConnectionError, APITimeoutError, HttpBackend, MioGram
from miogram_async._base.version import USER_AGENT
from miogram_async._http.sharded import ShardedTransport
from miogram_async._http.transport import (
    DEFAULT_TIMEOUT,
    UNSHARDED_MAX,
    build_http_client,
    choose_backend,
    map_transport_error,
    pool_limits,
)
from miogram_async.testing import AccountConfig, FakeMioGram


def test_pool_is_sized_to_concurrency_with_a_floor() -> None:
    """max_connections and kept-alive connections follow the concurrency, never below 10."""
    assert pool_limits(64) == httpx.Limits(
        max_connections=64, max_keepalive_connections=64, keepalive_expiry=60.0
    )
    assert pool_limits(2).max_connections == 10


async def test_auto_is_httpx_even_with_aiohttp_installed() -> None:
    """With the aiohttp extra installed, 'auto' is still httpx; only 'aiohttp' picks the extra."""
    assert choose_backend("auto") == "httpx"
    assert choose_backend("httpx") == "httpx"
    assert choose_backend("aiohttp") == "aiohttp"
    default = build_http_client(concurrency=32, timeout=DEFAULT_TIMEOUT)
    async with default:
        assert isinstance(default._transport, ShardedTransport)
    http = build_http_client(concurrency=32, timeout=DEFAULT_TIMEOUT, backend="aiohttp")
    async with http:
        transport = http._transport
        assert isinstance(transport, AiohttpTransport)
        assert transport.limits.max_connections == 32


async def test_explicit_transport_wins_over_backend() -> None:
    """A transport given by the caller is used as is."""
    mock = httpx.MockTransport(lambda request: httpx.Response(200))
    http = build_http_client(
        concurrency=4, timeout=DEFAULT_TIMEOUT, backend="aiohttp", transport=mock
    )
    async with http:
        assert http._transport is mock


def test_trio_always_uses_httpx() -> None:
    """Under trio every choice resolves to httpx's own transport."""

    async def main() -> tuple[str, str, bool]:
        http = build_http_client(concurrency=64, timeout=DEFAULT_TIMEOUT, backend="aiohttp")
        async with http:
            transport = http._transport
            is_httpx = isinstance(transport, ShardedTransport) and all(
                isinstance(pool, httpx.AsyncHTTPTransport) for pool in transport.pools
            )
        return choose_backend("auto"), choose_backend("aiohttp"), is_httpx

    assert trio.run(main) == ("httpx", "httpx", True)


@pytest.mark.parametrize(
    ("concurrency", "sizes"),
    [(64, [8] * 8), (256, [8] * 32), (20, [7, 7, 6]), (11, [6, 5])],
)
async def test_httpx_backend_is_sharded_with_the_pool_size_in_all(
    concurrency: int, sizes: list[int]
) -> None:
    """backend='httpx' builds pools of at most 8 connections holding pool_limits() in all."""
    http = build_http_client(concurrency=concurrency, timeout=DEFAULT_TIMEOUT, backend="httpx")
    async with http:
        transport = http._transport
        assert isinstance(transport, ShardedTransport)
        assert [limits.max_connections for limits in transport.pool_limits] == sizes
        assert sum(sizes) == pool_limits(concurrency).max_connections
        assert {limits.keepalive_expiry for limits in transport.pool_limits} == {60.0}
        assert http.follow_redirects is False
        assert http.timeout == DEFAULT_TIMEOUT
        assert http.headers["User-Agent"] == USER_AGENT


@pytest.mark.parametrize("concurrency", [1, 8, 10])
async def test_a_pool_one_small_pool_holds_is_not_sharded(concurrency: int) -> None:
    """Up to UNSHARDED_MAX connections (the default client's 10) httpx keeps one pool."""
    http = build_http_client(concurrency=concurrency, timeout=DEFAULT_TIMEOUT, backend="httpx")
    async with http:
        assert isinstance(http._transport, httpx.AsyncHTTPTransport)
    assert (pool_limits(concurrency).max_connections or 0) <= UNSHARDED_MAX


async def test_a_borrowed_transport_is_not_sharded() -> None:
    """With backend='httpx' too, a transport given by the caller is used as is."""
    mock = httpx.MockTransport(lambda request: httpx.Response(200))
    http = build_http_client(
        concurrency=64, timeout=DEFAULT_TIMEOUT, backend="httpx", transport=mock
    )
    async with http:
        assert http._transport is mock


async def test_an_environment_proxy_leaves_the_pool_to_httpx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With HTTPS_PROXY set, even a large pool is httpx's own, so that httpx mounts the proxy."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    http = build_http_client(concurrency=64, timeout=DEFAULT_TIMEOUT, backend="httpx")
    async with http:
        assert isinstance(http._transport, httpx.AsyncHTTPTransport)


async def test_httpx_connect_refused_is_not_sent() -> None:
    """A refused connection through the sharded httpx transport is a retryable, unsent failure."""
    async with MioGram(
        "s",
        base_url="http://127.0.0.1:9/dojob.php",
        http_backend="httpx",
        max_retries=0,
        concurrency=64,
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.api_get_ads()
        assert isinstance(client._session.http_client()._transport, ShardedTransport)
    assert caught.value.sent is False
    assert "could not connect" in str(caught.value)


def test_outside_a_loop_httpx_is_chosen() -> None:
    """With no async library running, the choice is httpx."""
    assert choose_backend("auto") == "httpx"
    assert choose_backend("aiohttp") == "httpx"


async def test_respx_sees_the_default_clients_requests_with_aiohttp_installed() -> None:
    """The default backend is httpx, so a respx mock catches the request: none reaches a network."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://miogram.test/dojob.php").respond(200, content=_REPLY_BODY)
        async with MioGram("s", base_url="https://miogram.test/dojob.php") as client:
            assert await client.api_get_ads() is True
    assert route.call_count == 1


REQUEST = httpx.Request("POST", "https://miogram.test/dojob.php", content=b"Secret=zz")


@pytest.mark.parametrize(
    ("error", "sdk_class", "sent"),
    [
        (httpx.ConnectError("refused", request=REQUEST), APIConnectionError, False),
        (httpx.ConnectTimeout("slow", request=REQUEST), APITimeoutError, False),
        (httpx.PoolTimeout("busy", request=REQUEST), APITimeoutError, False),
        (httpx.ReadTimeout("slow", request=REQUEST), APITimeoutError, True),
        (httpx.WriteTimeout("slow", request=REQUEST), APITimeoutError, None),
        (httpx.RemoteProtocolError("cut", request=REQUEST), APIConnectionError, None),
        (httpx.ReadError("reset", request=REQUEST), APIConnectionError, None),
        (httpx.WriteError("reset", request=REQUEST), APIConnectionError, None),
        (httpx.UnsupportedProtocol("ftp", request=REQUEST), APIConnectionError, False),
        (httpx.ProxyError("proxy", request=REQUEST), APIConnectionError, None),
    ],
)
def test_transport_errors_map_to_sdk_errors(
    error: httpx.HTTPError, sdk_class: type[APIConnectionError], sent: bool | None
) -> None:
    """Each httpx failure becomes the SDK class with the right `sent`."""
    mapped = map_transport_error(error, "SendMessage")
    assert type(mapped) is sdk_class
    assert mapped.sent is sent
    assert "SendMessage" in str(mapped)
    assert "zz" not in str(mapped)


def _chained(error: httpx.HTTPError, cause: BaseException) -> httpx.HTTPError:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "sdk_class", "sent"),
    [
        # httpx_aiohttp maps every ClientConnectionError to ConnectTimeout: read the cause.
        (
            _chained(httpx.ConnectTimeout("x"), aiohttp.ServerDisconnectedError()),
            APIConnectionError,
            None,
        ),
        (
            _chained(httpx.ConnectTimeout("x"), aiohttp.ClientOSError(104, "reset")),
            APIConnectionError,
            None,
        ),
        (
            _chained(httpx.ConnectTimeout("x"), aiohttp.ConnectionTimeoutError()),
            APITimeoutError,
            False,
        ),
        (
            _chained(httpx.ReadTimeout("x"), aiohttp.SocketTimeoutError()),
            APITimeoutError,
            True,
        ),
        (
            _chained(httpx.TimeoutException("x"), aiohttp.ServerTimeoutError()),
            APITimeoutError,
            None,
        ),
    ],
)
def test_aiohttp_errors_are_classified_by_their_cause(
    error: httpx.HTTPError, sdk_class: type[APIConnectionError], sent: bool | None
) -> None:
    """A server disconnect under aiohttp is never taken for 'not sent'."""
    mapped = map_transport_error(error, "SendMessage")
    assert type(mapped) is sdk_class
    assert mapped.sent is sent


async def test_aiohttp_connect_refused_is_not_sent() -> None:
    """A refused connection through aiohttp's transport is a retryable, unsent failure."""
    async with MioGram(
        "s", base_url="http://127.0.0.1:9/dojob.php", http_backend="aiohttp", max_retries=0
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.api_get_ads()
    assert caught.value.sent is False


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_both_backends_talk_to_the_loopback_fake(backend: HttpBackend) -> None:
    """Real HTTP over 127.0.0.1 works with both backends."""
    fake = FakeMioGram(AccountConfig(secret="loop-secret", username="looper"))
    async with (
        fake.serve() as url,
        MioGram("loop-secret", base_url=url, http_backend=backend) as client,
    ):
        assert await client.api_get_username() == "looper"
        assert await client.send_message("+989100000000", "hi") in (True, False)
    assert fake.funcs() == ["APIGetUsername", "SendMessage"]


# -- the owned client's direct request path -------------------------------------------------------

_REPLY_BODY = b'{"Result": true, "Status": "success"}'


class RawServer:
    """A loopback HTTP/1.1 server that records each request's raw bytes (head and body)."""

    def __init__(self, *, set_cookie: bool = False, answer: bool = True) -> None:
        self.requests: list[bytes] = []
        self.received = anyio.Event()
        self.set_cookie = set_cookie
        self.answer = answer
        self.port = 0

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        buffer = b""
        async with stream:
            while True:
                while b"\r\n\r\n" not in buffer:
                    try:
                        buffer += await stream.receive()
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        return
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                while len(buffer) < length:
                    buffer += await stream.receive()
                body, buffer = buffer[:length], buffer[length:]
                self.requests.append(head + b"\r\n\r\n" + body)
                self.received.set()
                if not self.answer:
                    await anyio.sleep_forever()
                cookie = b"Set-Cookie: lb=node7; Path=/\r\n" if self.set_cookie else b""
                await stream.send(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + cookie
                    + b"Content-Length: %d\r\n\r\n" % len(_REPLY_BODY)
                    + _REPLY_BODY
                )

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Serve on an ephemeral port; yields the service URL."""
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as group:
            group.start_soon(listener.serve, self._handle)
            try:
                yield f"http://127.0.0.1:{self.port}/dojob.php"
            finally:
                group.cancel_scope.cancel()


async def _raw_requests(backend: HttpBackend, *, borrowed: bool) -> list[bytes]:
    """The bytes of three calls through an owned or a borrowed AsyncClient."""
    server = RawServer(set_cookie=True)
    async with server.serve() as url:
        http = build_http_client(concurrency=4, timeout=DEFAULT_TIMEOUT, backend=backend)
        async with (
            http,
            MioGram(
                "raw-secret",
                base_url=url,
                http_backend=backend,
                http_client=http if borrowed else None,
            ) as client,
        ):
            await client.api_get_ads()
            await client.send_message("+989100000000", "salam")
            await client.mark_read("+989100000000", timeout=5)
    port = b":%d" % server.port
    return [request.replace(port, b":PORT") for request in server.requests]


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_owned_and_borrowed_clients_send_the_same_bytes(
    backend: HttpBackend,
) -> None:
    """The owned client's requests, cookies set by the service included, are a borrowed one's."""
    direct = await _raw_requests(backend, borrowed=False)
    through_client = await _raw_requests(backend, borrowed=True)
    assert len(direct) == 3
    assert direct == through_client
    assert b"cookie: lb=node7" not in direct[0].lower()
    assert b"cookie: lb=node7" in direct[1].lower()
    assert direct[0].lower().startswith(b"post /dojob.php http/1.1\r\nhost: 127.0.0.1:port\r\n")


async def _wait_then_cancel(client: MioGram, server: RawServer) -> None:
    """Start a call the server never answers, and cancel it once the server has the request."""
    async with anyio.create_task_group() as group:
        group.start_soon(client.api_get_ads)
        await server.received.wait()
        group.cancel_scope.cancel()


async def test_the_request_path_gives_sharded_slots_back_on_cancel_and_error() -> None:
    """A cancelled call and a broken connection both leave no ShardedTransport slot in flight."""
    server = RawServer(answer=False)
    async with (
        server.serve() as url,
        MioGram("s", base_url=url, http_backend="httpx", max_retries=0, concurrency=64) as client,
    ):
        transport = client._session.http_client()._transport
        assert isinstance(transport, ShardedTransport)
        await _wait_then_cancel(client, server)
        assert sum(transport.in_flight) == 0
    async with (
        MioGram(
            "s", base_url="http://127.0.0.1:9/dojob.php", http_backend="httpx", concurrency=64
        ) as refused,
    ):
        sharded = refused._session.http_client()._transport
        assert isinstance(sharded, ShardedTransport)
        with pytest.raises(APIConnectionError):
            await refused.api_get_ads()
        assert sum(sharded.in_flight) == 0


async def test_the_request_path_gives_the_aiohttp_connection_back_on_cancel() -> None:
    """A cancelled call leaves no aiohttp connection acquired; the next call gets an answer."""
    server = RawServer(answer=False)
    async with (
        server.serve() as url,
        MioGram("s", base_url=url, http_backend="aiohttp", max_retries=0) as client,
    ):
        await _wait_then_cancel(client, server)
        transport = client._session.http_client()._transport
        assert isinstance(transport, AiohttpTransport)
        assert isinstance(transport.client, aiohttp.ClientSession)
        connector = transport.client.connector
        assert isinstance(connector, aiohttp.BaseConnector)
        assert len(connector._acquired) == 0
        server.answer = True
        assert await client.api_get_ads() is True


def _failing(error: httpx.HTTPError) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("error", "sdk_class", "sent"),
    [
        (httpx.ConnectError("refused"), APIConnectionError, False),
        (httpx.ReadTimeout("slow"), APITimeoutError, True),
        (httpx.RemoteProtocolError("cut"), APIConnectionError, None),
    ],
)
async def test_transport_errors_map_with_their_request(
    error: httpx.HTTPError, sdk_class: type[APIConnectionError], sent: bool | None
) -> None:
    """A user transport's httpx error keeps its class, its request, and the SDK mapping."""
    async with MioGram("s", transport=_failing(error), max_retries=0) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.api_get_ads()
    assert type(caught.value) is sdk_class
    assert caught.value.sent is sent
    cause = caught.value.__cause__
    assert type(cause) is type(error)
    assert isinstance(cause, httpx.RequestError)
    assert cause.request.headers["Content-Type"] == "application/x-www-form-urlencoded"


async def test_mock_and_fake_transports_get_the_request_as_sent() -> None:
    """A transport given by the caller (MockTransport, the fake's) gets the request as sent."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=_REPLY_BODY)

    async with MioGram("s", transport=httpx.MockTransport(handler)) as client:
        assert await client.api_get_ads() is True
    defaults = httpx.AsyncClient().headers  # Accept-Encoding names the decoders installed
    assert list(seen[0].headers.items()) == [
        ("host", "miogram.net"),
        ("accept", "*/*"),
        ("accept-encoding", defaults["Accept-Encoding"]),
        ("connection", "keep-alive"),
        ("user-agent", USER_AGENT),
        ("content-type", "application/x-www-form-urlencoded"),
        ("accept-charset", "UTF-8"),
        ("content-length", str(len(seen[0].content))),
    ]
    assert seen[0].extensions["timeout"] == DEFAULT_TIMEOUT.as_dict()
    fake = FakeMioGram(AccountConfig(secret="fake-secret", username="faker"))
    async with MioGram("fake-secret", transport=fake.transport()) as client:
        assert await client.api_get_username() == "faker"
    assert fake.funcs() == ["APIGetUsername"]


async def test_respx_still_sees_the_owned_clients_requests() -> None:
    """respx's default mocker intercepts the owned client's requests on the httpx backend."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://miogram.test/dojob.php").respond(200, content=_REPLY_BODY)
        async with MioGram(
            "s", base_url="https://miogram.test/dojob.php", http_backend="httpx"
        ) as client:
            assert await client.api_get_ads() is True
    assert route.call_count == 1


class _StallingBody(httpx.AsyncByteStream):
    """A reply body that sends its first bytes, then stalls (or fails with *error*)."""

    def __init__(self, error: httpx.HTTPError | None) -> None:
        self.error = error
        self.started = anyio.Event()
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"Result": '
        self.started.set()
        if self.error is not None:
            raise self.error
        await anyio.sleep_forever()

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.parametrize("error", [None, httpx.ReadError("reset")])
async def test_a_body_cut_off_while_read_is_closed(error: httpx.ReadError | None) -> None:
    """A reply cancelled or broken mid-body is closed and its ShardedTransport slot given back."""
    body = _StallingBody(error)

    def pool(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        return httpx.MockTransport(lambda request: httpx.Response(200, stream=body))

    transport = ShardedTransport(pool_limits(16), pool_factory=pool)
    http = build_http_client(concurrency=16, timeout=DEFAULT_TIMEOUT, transport=transport)
    failures: list[BaseException] = []

    async def post() -> None:
        try:
            await http.post("https://miogram.test/dojob.php", content=b"Secret=s")
        except httpx.ReadError as caught:
            failures.append(caught)

    async with http, anyio.create_task_group() as group:
        group.start_soon(post)
        await body.started.wait()
        group.cancel_scope.cancel()
    assert body.closed
    assert transport.in_flight == (0, 0)
    assert [type(failure) for failure in failures] == ([] if error is None else [httpx.ReadError])


@pytest.mark.parametrize("concurrency", [8, 64])
async def test_an_environment_proxy_carries_the_requests(
    monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> None:
    """With HTTP_PROXY set, the owned client's requests reach the service through the proxy."""
    for name in ("ALL_PROXY", "NO_PROXY", "all_proxy", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy = RawServer()
    async with proxy.serve() as proxy_url:
        monkeypatch.setenv("HTTP_PROXY", proxy_url.removesuffix("/dojob.php"))
        async with MioGram(
            "s",
            base_url="http://miogram.test/dojob.php",
            http_backend="httpx",
            concurrency=concurrency,
        ) as client:
            assert await client.api_get_ads() is True
    assert len(proxy.requests) == 1
    assert proxy.requests[0].startswith(b"POST http://miogram.test/dojob.php HTTP/1.1\r\n")
