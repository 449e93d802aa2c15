"""The pooled HTTP client: pool size, backend choice, and the transport-error table."""

from __future__ import annotations

import aiohttp
import httpx
import pytest
import trio
from httpx_aiohttp import AiohttpTransport

from miogram_async._client import MioGram
from miogram_async._errors import APIConnectionError, APITimeoutError
from miogram_async._sharded import ShardedTransport
from miogram_async._transport import (
    DEFAULT_TIMEOUT,
    HttpBackend,
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


async def test_auto_picks_aiohttp_on_asyncio() -> None:
    """On asyncio with the extra installed, 'auto' routes requests through httpx_aiohttp."""
    assert choose_backend("auto") == "aiohttp"
    assert choose_backend("httpx") == "httpx"
    http = build_http_client(concurrency=32, timeout=DEFAULT_TIMEOUT)
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
        http = build_http_client(concurrency=4, timeout=DEFAULT_TIMEOUT, backend="aiohttp")
        async with http:
            transport = http._transport
            is_httpx = isinstance(transport, ShardedTransport) and all(
                isinstance(pool, httpx.AsyncHTTPTransport) for pool in transport.pools
            )
        return choose_backend("auto"), choose_backend("aiohttp"), is_httpx

    assert trio.run(main) == ("httpx", "httpx", True)


@pytest.mark.parametrize(
    ("concurrency", "sizes"),
    [(64, [8] * 8), (256, [8] * 32), (20, [7, 7, 6]), (4, [5, 5])],
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
        assert http.headers["User-Agent"] == "miogram-async"


async def test_a_borrowed_transport_is_not_sharded() -> None:
    """With backend='httpx' too, a transport given by the caller is used as is."""
    mock = httpx.MockTransport(lambda request: httpx.Response(200))
    http = build_http_client(
        concurrency=64, timeout=DEFAULT_TIMEOUT, backend="httpx", transport=mock
    )
    async with http:
        assert http._transport is mock


async def test_proxies_from_the_environment_still_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY routes the service through a proxy pool; NO_PROXY hosts use the shards."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "nearby.test")
    http = build_http_client(concurrency=16, timeout=DEFAULT_TIMEOUT, backend="httpx")
    async with http:
        proxied = http._transport_for_url(httpx.URL("https://miogram.test/dojob.php"))
        direct = http._transport_for_url(httpx.URL("https://nearby.test/dojob.php"))
        plain = http._transport_for_url(httpx.URL("http://miogram.test/dojob.php"))
    assert isinstance(proxied, httpx.AsyncHTTPTransport)
    assert isinstance(direct, ShardedTransport)
    assert plain is direct


async def test_httpx_connect_refused_is_not_sent() -> None:
    """A refused connection through the sharded httpx transport is a retryable, unsent failure."""
    async with MioGram(
        "s", base_url="http://127.0.0.1:9/dojob.php", http_backend="httpx", max_retries=0
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.api_get_ads()
        assert isinstance(client._http_client()._transport, ShardedTransport)
    assert caught.value.sent is False
    assert "could not connect" in str(caught.value)


def test_outside_a_loop_httpx_is_chosen() -> None:
    """With no async library running, the choice is httpx."""
    assert choose_backend("auto") == "httpx"


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
