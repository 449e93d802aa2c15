"""
The pooled HTTP client, and the one table that turns transport failures into SDK errors.

One `httpx.AsyncClient` per `MioGram`, its connections sized to the client's concurrency (httpx's
default of 100 connections / 20 kept alive does not fit a client that runs ``concurrency`` requests
at once). With ``http_backend="aiohttp"`` on asyncio (the ``aiohttp`` extra installed), requests
go through ``httpx_aiohttp``'s transport. Otherwise (the default ``"auto"``, which is httpx
whatever is installed, and always under trio) they go through httpx's own transport, split by
`ShardedTransport` into pools of at most `SHARD_SIZE` connections: one httpx pool of 64-256
connections costs milliseconds of CPU per request. A pool that one small pool holds
(`UNSHARDED_MAX` connections, the default client's) is left to httpx as it is, and so is any pool
when the environment names a proxy (httpx then mounts it).

The client's requests go through ``AsyncClient.send`` of a built request, httpx's public API
(`miogram_async._http.session`).
"""

from __future__ import annotations

import importlib.util
import urllib.request
from typing import Final, Literal

import httpx
import sniffio

from .._base.errors import APIConnectionError, APITimeoutError
from .._base.version import USER_AGENT
from .sharded import SHARD_SIZE, ShardedTransport

__all__ = [
    "DEFAULT_TIMEOUT",
    "SHARD_SIZE",
    "UNSHARDED_MAX",
    "HttpBackend",
    "aiohttp_available",
    "build_http_client",
    "choose_backend",
    "is_transport_error",
    "map_transport_error",
    "pool_limits",
]

HttpBackend = Literal["auto", "httpx", "aiohttp"]

DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=10.0, read=120.0, write=60.0, pool=120.0)
"""Connect quickly or fail (then a retry is safe); wait long for replies: the service takes about a
second per number (docs/service.md E24). ``pool`` bounds the wait for a free connection when more
requests are started than the pool holds."""

_POOL_FLOOR: Final = 10
_KEEPALIVE_EXPIRY: Final = 60.0

UNSHARDED_MAX: Final = _POOL_FLOOR
"""The most connections left in one httpx pool: the default client's pool. Above it, one pool
costs measurably more CPU per request than pools of `SHARD_SIZE` (at 16 connections 0.67 against
0.57 ms, benchmarks/RESULTS.md "One request path")."""


def pool_limits(concurrency: int) -> httpx.Limits:
    """Connection limits for a client that runs *concurrency* requests at once."""
    size = max(concurrency, _POOL_FLOOR)
    return httpx.Limits(
        max_connections=size, max_keepalive_connections=size, keepalive_expiry=_KEEPALIVE_EXPIRY
    )


def aiohttp_available() -> bool:
    """Whether the ``aiohttp`` extra (``httpx_aiohttp``) is installed."""
    return importlib.util.find_spec("httpx_aiohttp") is not None


def _async_library() -> str | None:
    try:
        return sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return None


def choose_backend(requested: HttpBackend) -> Literal["httpx", "aiohttp"]:
    """
    The transport to build for *requested*, in the running async library.

    ``"auto"`` and ``"httpx"`` are httpx's own transport, whatever is installed, so that respx
    and httpx's event hooks see every request. ``"aiohttp"`` is the opt-in throughput transport
    on asyncio (`ImportError` when the extra is missing); under trio (or outside any loop) httpx's
    own transport is used for it too.
    """
    if requested != "aiohttp" or _async_library() != "asyncio":
        return "httpx"
    if not aiohttp_available():
        raise ImportError(
            "http_backend='aiohttp' needs the aiohttp extra: pip install 'miogram-async[aiohttp]'"
        )
    return "aiohttp"


def build_http_client(
    *,
    concurrency: int,
    timeout: httpx.Timeout,
    backend: HttpBackend = "auto",
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """
    Build the client's own `httpx.AsyncClient` (call it inside the event loop that will use it).

    Args:
        concurrency: requests the client runs at once; sizes the pool.
        timeout: the default timeouts.
        backend: ``"auto"``, ``"httpx"`` or ``"aiohttp"``, see `choose_backend`.
        transport: a transport to use as is (tests, the fake service); *backend* is then ignored.

    The httpx backend is httpx's own transport up to `UNSHARDED_MAX` connections (or behind an
    environment proxy, which httpx mounts itself), else a `ShardedTransport` over `pool_limits`:
    pools of at most `SHARD_SIZE` connections, as many connections in all as one pool would hold.
    """
    limits = pool_limits(concurrency)
    headers = {"User-Agent": USER_AGENT}
    if transport is None:
        if choose_backend(backend) == "aiohttp":
            from httpx_aiohttp import AiohttpTransport  # noqa: PLC0415 - optional extra

            transport = AiohttpTransport(limits=limits)
        elif _needs_shards(limits):
            transport = ShardedTransport(limits, shard_size=SHARD_SIZE)
    # Never follow redirects: a 301/302 turns the POST into a GET, which the service answers with
    # 812 and counts towards blocking the caller's IP (docs/service.md E23).
    return httpx.AsyncClient(
        transport=transport,
        limits=limits,
        timeout=timeout,
        headers=headers,
        follow_redirects=False,
    )


def _needs_shards(limits: httpx.Limits) -> bool:
    """
    Whether the pool is too big for one httpx pool and no proxy is set in the environment.

    httpx reads ``HTTP(S)_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` only when it builds its own
    transport; behind a proxy every connection goes to the proxy, so the one pool httpx mounts
    for it is kept.
    """
    size = limits.max_connections
    return size is not None and size > UNSHARDED_MAX and not urllib.request.getproxies()


def _aiohttp_row(cause: BaseException) -> tuple[type[APIConnectionError], bool | None, str]:
    """
    Class, ``sent`` and wording for a request that failed with aiohttp exception *cause*.

    ``httpx_aiohttp`` maps every ``aiohttp.ClientConnectionError`` (a server disconnect or a reset
    in the middle of a reply included) to ``httpx.ConnectTimeout``; trusting that would repeat sends
    that may have been delivered. The aiohttp exception it chains is read instead.
    """
    import aiohttp  # noqa: PLC0415 - only reached when aiohttp raised

    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return APITimeoutError, False, "timed out connecting to the service"
    if isinstance(cause, aiohttp.ClientConnectorError):
        return APIConnectionError, False, "could not connect to the service"
    if isinstance(cause, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
        return APIConnectionError, None, "the reply was malformed"
    if isinstance(cause, aiohttp.SocketTimeoutError):
        return APITimeoutError, True, "timed out waiting for the reply"
    if isinstance(cause, TimeoutError):
        return APITimeoutError, None, "timed out"
    return APIConnectionError, None, "the connection broke"


# (httpx exception, SDK class, sent, what to say): the first matching row wins.
_TRANSPORT_ERRORS: Final[
    tuple[tuple[type[httpx.HTTPError], type[APIConnectionError], bool | None, str], ...]
] = (
    (httpx.ConnectTimeout, APITimeoutError, False, "timed out connecting to the service"),
    (httpx.PoolTimeout, APITimeoutError, False, "timed out waiting for a free connection"),
    (httpx.ConnectError, APIConnectionError, False, "could not connect to the service"),
    (httpx.UnsupportedProtocol, APIConnectionError, False, "unsupported URL scheme"),
    # The whole request was written; the reply did not come in time.
    (httpx.ReadTimeout, APITimeoutError, True, "timed out waiting for the reply"),
    # Part of the body may have reached the service, which may act on it.
    (httpx.WriteTimeout, APITimeoutError, None, "timed out sending the request"),
    (httpx.TimeoutException, APITimeoutError, None, "timed out"),
    (httpx.RemoteProtocolError, APIConnectionError, None, "the connection broke"),
    (httpx.ReadError, APIConnectionError, None, "the connection broke while reading the reply"),
    (httpx.WriteError, APIConnectionError, None, "the connection broke while sending"),
    (httpx.HTTPError, APIConnectionError, None, "the request failed"),
)


def _from_aiohttp(error: BaseException) -> bool:
    return type(error).__module__.split(".")[0] == "aiohttp"


def is_transport_error(error: BaseException) -> bool:
    """
    Whether *error* is a transport's failure: an httpx error, or an aiohttp one.

    ``httpx_aiohttp`` wraps only some of aiohttp's exceptions: a bad chunked body, a garbage
    status line or an over-long header come out as raw ``aiohttp.ClientResponseError`` or
    ``ClientPayloadError``.
    """
    return isinstance(error, httpx.HTTPError) or (
        isinstance(error, Exception) and _from_aiohttp(error)
    )


def map_transport_error(error: BaseException, func: str) -> APIConnectionError:
    """
    The SDK error for a transport failure (`is_transport_error`) of action *func*.

    The message names the action and the exception classes only: never the body (which holds the
    secret) nor the exception's own text.
    """
    if _from_aiohttp(error):
        sdk_class, sent, what = _aiohttp_row(error)
        return sdk_class(f"{func}: {what} ({type(error).__name__})", sent)
    cause = error.__cause__
    if cause is not None and _from_aiohttp(cause):
        sdk_class, sent, what = _aiohttp_row(cause)
        detail = f"{type(error).__name__} from {type(cause).__name__}"
    else:
        sdk_class, sent, what = next(
            (cls, sent, what)
            for httpx_class, cls, sent, what in _TRANSPORT_ERRORS
            if isinstance(error, httpx_class)
        )
        detail = type(error).__name__
    return sdk_class(f"{func}: {what} ({detail})", sent)
