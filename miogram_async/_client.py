"""
`MioGram`: construction, lifecycle, the one request path (``_call``) and the 43 actions in order.

Every action method validates its input first (a `ValidationError` means nothing was sent), then
makes exactly one ``_call``. ``_call`` is the only place that POSTs: it resolves the secret, takes a
rate-limit token, retries per `_retry`, maps transport failures, decodes the envelope and the
result.
"""

# ASYNC109: every action takes ``timeout=`` (seconds to wait for the service's reply) by contract
# (SURFACE.md); it is handed to httpx per request, not implemented with a cancel scope, because
# cancelling an in-flight send would make its outcome unknown.

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import math
import os
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import BinaryIO, Final, Self, TypeVar, Unpack
from urllib.parse import quote

import anyio
import anyio.to_thread
import attrs
import httpx

from . import _fanout
from ._direct import DirectPoster
from ._errors import (
    APIError,
    APIResponseError,
    ClientClosedError,
    MioGramError,
    NumberNotFoundError,
    ValidationError,
)
from ._fanout import Chunk, FanoutOptions, MassResult
from ._models import Credits, Limits, ReportRecord, as_credits, as_limits, as_reports
from ._ratelimit import TokenBucket
from ._retry import RetryPolicy
from ._transport import (
    DEFAULT_TIMEOUT,
    HttpBackend,
    aiohttp_available,
    build_http_client,
    map_transport_error,
)
from ._validation import (
    Media,
    check_forward_count,
    check_history,
    check_ips,
    check_location,
    check_media_size,
    check_message,
    check_misc_piece,
    check_online,
    check_report_count,
    check_username,
    load_media,
    normalize_phone,
)
from ._wire import (
    FORM_HEADERS,
    Reply,
    as_bool,
    as_flag,
    as_json,
    as_mass_map,
    as_str,
    as_str_list,
    decode_reply,
    encode_form,
)

__all__ = ["DEFAULT_BASE_URL", "MediaData", "MioGram", "SecretSource"]

logger: Final = logging.getLogger("miogram_async")
# A library leaves output to the application: without this, Python's last-resort handler prints
# retry warnings to stderr in programs that never configured logging.
logger.addHandler(logging.NullHandler())

DEFAULT_BASE_URL: Final = "https://miogram.net/dojob.php"

SecretSource = str | Callable[[], str] | Callable[[], Awaitable[str]]
"""A secret, or a callable (sync or async) returning it, asked before every request."""

MediaData = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO
"""File data for the media actions: the bytes, a path, or a binary file object."""

SecretCallback = Callable[[str], object]

_T = TypeVar("_T")

# Element names `call()` accepts: the Python names and the wire names.
_CALL_ELEMENTS: Final = frozenset({"phone", "message", "misc", "data"}) | frozenset(
    {"Phone", "Message", "Misc", "Data"}
)

# The service appends the account's advertisement (a newline and its text) to every message when
# APIGetAds is true (E30), and its length is not published: reserve this many bytes for it.
AD_HEADROOM_BYTES: Final = 200

# The service resolves numbers one by one, about a second each (E24): a Mass chunk may wait long.
_MASS_BASE_SECONDS: Final = 60.0
_MASS_SECONDS_PER_NUMBER: Final = 3.0

# Requests no cancellation may cut off once they are being sent: the reply of APIChangeSecret
# carries the account's only working secret.
_SHIELDED_FUNCS: Final = frozenset({"APIChangeSecret"})

# Media up to this size is base64-encoded on the event loop; larger data in a worker thread.
_INLINE_MEDIA_BYTES: Final = 1 << 20

_MEDIA_LIMITS: Final = {
    "SendPhoto": "photo",
    "SendPhotoMass": "photo",
    "SendVideo": "video",
    "SendVideoMass": "video",
    "SetProfilePhoto": "photo",
}


# Said instead of letting UnicodeEncodeError escape: that error carries the whole string.
_SECRET_NOT_UNICODE: Final = (
    "expected the secret as valid Unicode text, got one with a character UTF-8 cannot encode "
    "(an undecodable byte in MIOGRAM_SECRET?)"
)


@functools.lru_cache(maxsize=8)
def _parsed_url(url: str) -> httpx.URL:
    """*url* parsed once, not on every request (httpx would parse the str each time)."""
    return httpx.URL(url)


def _encodable(text: str) -> bool:
    """Whether *text* can go on the wire (UTF-8): no lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _check_robot(robot: str | None) -> str | None:
    """An agent name as the service wants it: no spaces, commas or control characters (API.md 2)."""
    if robot is None:
        return None
    if not isinstance(robot, str):
        raise ValidationError(f"expected an agent name as a str, got {type(robot).__name__}")
    if _has_space_or_control(robot) or "," in robot or not _encodable(robot):
        raise ValidationError(
            f"expected an agent name without spaces or commas, as valid Unicode, got {robot!r}"
        )
    return robot


def _check_base_url(url: str) -> str:
    """An http(s) URL with a host, or ValueError (httpx's InvalidURL is no HTTPError)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"base_url must be an http(s) URL like {DEFAULT_BASE_URL}, got {url!r}")
    return url


def _has_space_or_control(text: str) -> bool:
    """Whether *text* has whitespace or a control character (NUL...): not in a name."""
    return any(char.isspace() or not char.isprintable() for char in text)


def _is_seconds(value: object) -> bool:
    """Whether *value* is a positive number (not a bool, not NaN)."""
    return not isinstance(value, bool) and isinstance(value, int | float) and value > 0


def _positive_int(name: str, value: object) -> int:
    """A fan-out option that must be an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"expected {name} as an int >= 1, got {value!r}")
    return value


def _to_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout)


class MioGram:
    """
    An async client for the MioGram.net web service (asyncio and trio).

    Args:
        secret: the account's secret key, or a callable (sync or async) returning it, asked before
            every request (when it raises, that request fails with `ValidationError`, its
            exception as ``__cause__``, and nothing is sent); ``None`` reads ``MIOGRAM_SECRET``.
        robot: the default agent (form field ``Robot``); ``None`` or ``""`` lets the service pick
            the account's first agent. Every action takes ``robot=`` to override it per call
            (``None``: this default; ``""``: no ``Robot`` at all).
        base_url: the endpoint; ``None`` reads ``MIOGRAM_BASE_URL``, else the public service.
        timeout: seconds, or an `httpx.Timeout`, for every request; the default waits 10 s to
            connect and 120 s for a reply. Every action takes ``timeout=`` (seconds to wait for the
            reply) to override the read timeout per call.
        max_retries: retries after the first attempt, for failures that may be retried (see
            `miogram_async._retry`); 0 disables them.
        concurrency: requests one Mass send runs at once (its default), also the pool size.
        rate_limit: at most this many requests per second (every attempt counts), shared by all
            calls of this client; ``None`` for no limit.
        rate_burst: how many requests may go at once before *rate_limit* applies; default
            ``max(1, rate_limit)``.
        http_client: an `httpx.AsyncClient` to use instead of building one; it is never closed
            by this client.
        transport: an `httpx.AsyncBaseTransport` for the client this one builds (tests, the fake
            service).
        on_secret_change: called (sync or async) with the new secret after `api_change_secret`
            succeeds, before it returns: store it there.
        default_region: a region like ``"IR"`` under which national numbers (``0912...``) are
            understood (needs the ``phone`` extra); ``None`` accepts international forms only.
        check_limits: load the account's limits (`load_limits`) before the first send and refuse
            over-long messages and over-size files client-side.
        http_backend: ``"auto"`` (aiohttp's transport on asyncio when the ``aiohttp`` extra is
            installed, else httpx's), ``"httpx"`` or ``"aiohttp"``; under trio always httpx's.
            Ignored with *http_client* or *transport*. Mocking with respx needs ``"httpx"``: respx
            does not see requests made through aiohttp.
        retry_policy: backoff and deadline of retries; its ``max_retries`` is replaced by
            *max_retries*.

    Raises:
        ValueError: no secret was given and ``MIOGRAM_SECRET`` is not set, the secret is not valid
            Unicode, or an option is out of range.
        TypeError: *secret* is neither a str nor a callable, or *robot* is not a str.
    """

    def __init__(
        self,
        secret: SecretSource | None = None,
        *,
        robot: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        concurrency: int = 8,
        rate_limit: float | None = None,
        rate_burst: float | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_secret_change: SecretCallback | None = None,
        default_region: str | None = None,
        check_limits: bool = False,
        http_backend: HttpBackend = "auto",
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        if secret is None:
            secret = _env("MIOGRAM_SECRET")
        if secret is None or (isinstance(secret, str) and not secret.strip()):
            raise ValueError(
                "no secret: pass MioGram(secret=...) or set the MIOGRAM_SECRET environment variable"
            )
        if not isinstance(secret, str) and not callable(secret):
            raise TypeError(f"secret must be a str or a callable, got {type(secret).__name__}")
        if isinstance(secret, str) and not _encodable(secret):
            raise ValueError(_SECRET_NOT_UNICODE)
        if robot is not None and not isinstance(robot, str):
            raise TypeError(f"robot must be a str, got {type(robot).__name__}")
        _check_robot(robot)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
        if not isinstance(timeout, httpx.Timeout) and not _is_seconds(timeout):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if rate_limit is not None and not _is_seconds(rate_limit):
            raise ValueError(f"rate_limit must be a positive number per second, got {rate_limit!r}")
        if rate_burst is not None and rate_limit is None:
            raise ValueError("rate_burst needs rate_limit")
        if http_client is not None and transport is not None:
            raise ValueError("pass http_client or transport, not both")
        if http_backend not in ("auto", "httpx", "aiohttp"):
            raise ValueError(f"http_backend must be auto, httpx or aiohttp, got {http_backend!r}")
        if http_backend == "aiohttp" and not aiohttp_available():
            raise ValueError(
                "http_backend='aiohttp' needs the aiohttp extra: "
                "pip install 'miogram-async[aiohttp]'"
            )
        if default_region is not None:
            normalize_phone("+989100000000", default_region=default_region)  # checks the region

        self._secret: SecretSource = secret.strip() if isinstance(secret, str) else secret
        self._robot = robot or None
        self._base_url = _check_base_url(base_url or _env("MIOGRAM_BASE_URL") or DEFAULT_BASE_URL)
        self._timeout = _to_timeout(timeout)
        self._concurrency = concurrency
        self._retry = attrs.evolve(retry_policy or RetryPolicy(), max_retries=max_retries)
        self._bucket = TokenBucket(rate_limit, burst=rate_burst) if rate_limit is not None else None
        self._transport = transport
        self._http_backend: HttpBackend = http_backend
        self._on_secret_change = on_secret_change
        # The plain function when there is no region: a partial costs a call per Mass number.
        self._normalize: Callable[[str], str] = (
            normalize_phone
            if default_region is None
            else functools.partial(normalize_phone, default_region=default_region)
        )
        self._check_limits = check_limits
        self._limits: Limits | None = None
        self._ads = False
        self._limits_lock: anyio.Lock | None = None
        self._http: httpx.AsyncClient | None = http_client
        self._owns_http = http_client is None
        # The owned client's POSTs skip AsyncClient's send machinery (see _direct); None: use post.
        self._direct: DirectPoster | None = None
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"MioGram(base_url={self._base_url!r}, robot={self._robot!r}, secret='***', "
            f"closed={self._closed!r})"
        )

    @property
    def base_url(self) -> str:
        """The endpoint every request is POSTed to."""
        return self._base_url

    @property
    def robot(self) -> str | None:
        """The default agent, or ``None`` for the account's first agent."""
        return self._robot

    @property
    def limits(self) -> Limits | None:
        """The limits loaded by `load_limits`, or ``None`` before."""
        return self._limits

    @property
    def is_closed(self) -> bool:
        """Whether `aclose` was called."""
        return self._closed

    async def __aenter__(self) -> Self:
        self._http_client()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (unless it was borrowed); calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        http, self._http = self._http, None
        self._direct = None
        if http is not None and self._owns_http:
            await http.aclose()

    def _http_client(self) -> httpx.AsyncClient:
        """The shared HTTP client, built on first use inside the running event loop."""
        if self._closed:
            raise ClientClosedError("this MioGram client is closed; create a new one")
        if self._http is None:
            self._http = build_http_client(
                concurrency=self._concurrency,
                timeout=self._timeout,
                backend=self._http_backend,
                transport=self._transport,
            )
            self._direct = DirectPoster.for_client(
                self._http, _parsed_url(self._base_url), FORM_HEADERS
            )
        return self._http

    # -- the request path -----------------------------------------------------------------------

    async def _resolve_secret(self) -> str:
        source = self._secret
        if isinstance(source, str):
            return source
        try:
            value = source()
            if inspect.isawaitable(value):
                value = await value
        except Exception as error:  # not BaseException: a cancellation stays one
            # A MioGramError that says nothing was sent: left raw, a Mass chunk would be UNKNOWN.
            raise ValidationError(
                f"the secret callable failed ({type(error).__name__}); nothing was sent"
            ) from error
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(
                "expected the secret callable to return a non-empty str, "
                f"got {type(value).__name__}"
            )
        if not _encodable(value):
            raise ValidationError(_SECRET_NOT_UNICODE)
        return value.strip()

    def _request_timeout(self, timeout: float | None) -> httpx.Timeout:
        if timeout is None:
            return self._timeout
        if not _is_seconds(timeout):
            raise ValidationError(
                f"expected timeout as a positive number of seconds, got {timeout!r}"
            )
        return httpx.Timeout(
            connect=self._timeout.connect,
            read=float(timeout),
            write=self._timeout.write,
            pool=self._timeout.pool,
        )

    async def _call(
        self,
        func: str,
        decode: Callable[[Reply], _T],
        *,
        robot: str | None = None,
        timeout: float | None = None,
        **elements: str | None,
    ) -> _T:
        """
        POST action *func* with *elements*, retrying per the retry policy, and decode the reply.

        Args:
            func: the wire action name.
            decode: turns the decoded envelope into the method's result.
            robot: the agent for this call; ``None`` uses the client's default, ``""`` none.
            timeout: seconds to wait for the reply; ``None`` uses the client's timeouts.
            elements: ``phone``, ``message``, ``misc``, ``data``; ``None`` values are left out.
        """
        http = self._http_client()
        request_timeout = self._request_timeout(timeout)
        agent = self._robot if robot is None else _check_robot(robot)
        started = anyio.current_time()
        attempt = 1
        while True:
            try:
                return await self._attempt(
                    http,
                    func,
                    decode,
                    robot=agent,
                    timeout=request_timeout,
                    elements=elements,
                    attempt=attempt,
                )
            except MioGramError as error:
                delay = self._retry.backoff(attempt)
                elapsed = anyio.current_time() - started
                if not self._retry.should_retry(func, error, attempt, elapsed, delay):
                    raise
                logger.warning(
                    "%s attempt %d failed (%s); retrying in %.2fs",
                    func,
                    attempt,
                    _describe(error),
                    delay,
                )
            await anyio.sleep(delay)
            attempt += 1

    async def _attempt(
        self,
        http: httpx.AsyncClient,
        func: str,
        decode: Callable[[Reply], _T],
        *,
        robot: str | None,
        timeout: httpx.Timeout,
        elements: dict[str, str | None],
        attempt: int,
    ) -> _T:
        if self._bucket is not None:
            await self._bucket.acquire()
        # No local other than `secret` may hold it: it is deleted below.
        secret = self._secret if isinstance(self._secret, str) else await self._resolve_secret()
        body = encode_form(secret, func, elements, robot)
        debug = logger.isEnabledFor(logging.DEBUG)
        started = anyio.current_time() if debug else 0.0
        outcome = "ok"
        try:
            try:
                # Waiting for the rate limit or the secret above stays cancellable.
                shield = func in _SHIELDED_FUNCS
                with anyio.CancelScope(shield=True) if shield else contextlib.nullcontext():
                    direct = self._direct
                    if direct is not None:
                        # The client's own pool: the same request, straight to its transport.
                        response = await direct.post(body, timeout)
                    else:
                        # Never follow a redirect, a borrowed client's setting notwithstanding:
                        # a 301/302 turns the POST into a GET, which the service counts towards
                        # blocking the caller's IP (API.md E23).
                        response = await http.post(
                            _parsed_url(self._base_url),
                            content=body,
                            headers=FORM_HEADERS,
                            timeout=timeout,
                            follow_redirects=False,
                        )
            except httpx.HTTPError as error:
                # httpx's frames hold the body (and so the secret) as locals: keep the chain's
                # exceptions for their types and texts, without their frames.
                raise map_transport_error(error, func) from _without_frames(error)
            reply = decode_reply(func, response.status_code, response.content)
            return decode(reply)
        except (APIResponseError, APIError) as error:
            outcome = _describe(error)
            scrubbed = _scrub(error, secret)
            if scrubbed is error:
                raise
        except BaseException as error:  # logged, never swallowed: cancellation included
            outcome = _describe(error)
            raise
        finally:
            # Error trackers (Sentry, loguru's diagnose, rich) show the locals of every frame of
            # a traceback, this one included.
            del secret, body
            if debug:
                logger.debug(
                    "%s attempt %d: %s in %.3fs",
                    func,
                    attempt,
                    outcome,
                    anyio.current_time() - started,
                )
        # Raised outside the handler so that the unscrubbed error is not kept as its context.
        raise scrubbed

    # -- helpers shared by the actions ----------------------------------------------------------

    def _phone(self, phone: str) -> str:
        return self._normalize(phone)

    async def _ensure_limits(self) -> None:
        if not self._check_limits or self._limits is not None:
            return
        if self._limits_lock is None:
            self._limits_lock = anyio.Lock()
        async with self._limits_lock:
            if self._limits is None:
                await self.load_limits()

    async def _message(self, message: str) -> str:
        await self._ensure_limits()
        if self._limits is None:
            return check_message(message)
        return check_message(
            message,
            max_bytes=self._limits.message,
            ad_bytes=AD_HEADROOM_BYTES if self._ads else 0,
        )

    async def _media(
        self, func: str, data: MediaData, file_format: str | None, default_format: str
    ) -> Media:
        await self._ensure_limits()
        if isinstance(data, bytes | bytearray | memoryview) and len(data) <= _INLINE_MEDIA_BYTES:
            media = load_media(data, file_format, default_format)
        else:
            # Reading a file, or encoding megabytes, blocks: do it in a worker thread.
            media = await anyio.to_thread.run_sync(load_media, data, file_format, default_format)
        if self._limits is not None:
            kind = _MEDIA_LIMITS.get(func, "file")
            limit: int = getattr(self._limits, kind)
            check_media_size(media, limit if limit > 0 else None)
        return media

    async def _deliver(
        self, func: str, *, robot: str | None, timeout: float | None, **elements: str | None
    ) -> bool:
        """
        A single message send: whether the service reports it delivered.

        The gateway answers a number it cannot resolve with the error 307 (API.md E6) where the
        document promises ``false`` (G2): both mean "not delivered", and neither was charged.
        """
        try:
            return await self._call(func, as_bool, robot=robot, timeout=timeout, **elements)
        except NumberNotFoundError:
            return False

    async def load_limits(self) -> Limits:
        """
        Fetch the account's limits and advertising state (``APIGetLimits``, ``APIGetAds``).

        From then on, message length (UTF-8 bytes, with room for the advertisement) and file sizes
        are checked before sending, and an over-limit send raises `ValidationError`.
        """
        limits = await self.api_get_limits()
        ads = await self.api_get_ads()
        self._limits, self._ads = limits, ads
        return limits

    async def _mass(
        self,
        func: str,
        phones: Iterable[str] | AsyncIterable[str],
        elements: dict[str, str | None],
        *,
        robot: str | None,
        timeout: float | None,
        fanout: FanoutOptions,
    ) -> MassResult:
        """Run a Mass action over *phones* in chunks through the fan-out."""
        self._http_client()  # a closed client fails here, before anything else
        self._request_timeout(timeout)  # inside a chunk, a bad one would only FAIL every chunk
        if isinstance(phones, str | bytes):
            raise ValidationError(
                "expected an iterable of phone numbers, got a single "
                f"{type(phones).__name__}: wrap one number in a list"
            )
        chunk_size = _positive_int("chunk_size", fanout.get("chunk_size", 100))
        concurrency_option = fanout.get("concurrency")
        concurrency = _positive_int(
            "concurrency", self._concurrency if concurrency_option is None else concurrency_option
        )
        per_robot = _positive_int("per_robot", fanout.get("per_robot", 1))
        cancel_grace = fanout.get("cancel_grace", 10.0)
        if (
            isinstance(cancel_grace, bool)
            or not isinstance(cancel_grace, int | float)
            or not 0 <= cancel_grace < math.inf
        ):
            raise ValidationError(
                f"expected cancel_grace as a finite number of seconds >= 0, got {cancel_grace!r}"
            )
        _check_robot(robot)
        robots_option = fanout.get("robots")
        robots: Sequence[str | None]
        if robots_option == "all":
            robots = tuple(await self.api_get_robot()) or (robot,)
        elif robots_option is None:
            robots = (robot,)
        elif isinstance(robots_option, str):
            robots = (robots_option,)
        else:
            robots = tuple(robots_option) or (robot,)
        for name in robots:
            _check_robot(name)

        async def send_chunk(chunk: Chunk) -> dict[str, bool]:
            chunk_timeout = timeout
            if chunk_timeout is None:
                chunk_timeout = max(
                    self._timeout.read or 0.0,
                    _MASS_BASE_SECONDS + _MASS_SECONDS_PER_NUMBER * len(chunk.numbers),
                )
            return await self._call(
                func,
                as_mass_map(chunk.numbers),
                phone=",".join(chunk.numbers),
                robot=chunk.robot or robot,
                timeout=chunk_timeout,
                **elements,
            )

        return await _fanout.fan_out(
            phones,
            send_chunk,
            normalize=self._normalize,
            chunk_size=chunk_size,
            concurrency=concurrency,
            robots=robots,
            per_robot=per_robot,
            on_progress=fanout.get("on_progress"),
            hooks=fanout.get("hooks"),
            cancel_grace=cancel_grace,
        )

    # -- the raw escape hatch -------------------------------------------------------------------

    async def call(
        self,
        func: str,
        *,
        robot: str | None = None,
        timeout: float | None = None,
        **elements: str | None,
    ) -> object:
        """
        Call any action, documented or not, and return its ``Result`` as decoded JSON, unchanged.

        Elements are given by Python name (``phone``, ``message``, ``misc``, ``data``) or by wire
        name (``Phone``...); ``None`` values are left out; values are sent as given (no
        normalising). A ``Status: error`` reply still raises its `APIError`. ``APIChangeSecret``
        goes through `api_change_secret`, so that this client switches to the new secret. Only
        the read-only actions of `miogram_async._retry.READ_ONLY_FUNCS` are retried after the
        request may have been sent.

        Raises:
            ValidationError: *func* is empty or has spaces or control characters, an element
                name is unknown, or a value is not a non-empty str of valid Unicode.
        """
        if (
            not isinstance(func, str)
            or not func
            or _has_space_or_control(func)
            or not _encodable(func)
        ):
            raise ValidationError(f"expected an action name like 'SendMessage', got {func!r}")
        for name, value in elements.items():
            if name not in _CALL_ELEMENTS:
                raise ValidationError(
                    f"expected elements among phone, message, misc, data, got {name!r}"
                )
            if value is not None and (not isinstance(value, str) or not value):
                raise ValidationError(f"expected {name} as a non-empty str, got {type(value)!r}")
            if value is not None and not _encodable(value):
                raise ValidationError(
                    f"expected {name} as valid Unicode text, got a lone surrogate in it"
                )
        if func == "APIChangeSecret" and not any(value is not None for value in elements.values()):
            # The old secret dies with this request: the client must follow, as it does there.
            return await self.api_change_secret(robot=robot, timeout=timeout)
        return await self._call(func, as_json, robot=robot, timeout=timeout, **elements)

    # -- the 43 actions, in the order of the service's document ---------------------------------

    async def set_status_online(
        self, online: bool, *, robot: str | None = None, timeout: float | None = None
    ) -> bool:
        """
        Show the agent online or offline (action ``SetStatusOnline``).

        Raises:
            ValidationError: *online* is not a bool; nothing was sent.
            PermissionDeniedError: the account lacks isSuper (309).
        """
        return await self._call(
            "SetStatusOnline", as_bool, misc=check_online(online), robot=robot, timeout=timeout
        )

    async def send_typing(
        self, phone: str, *, robot: str | None = None, timeout: float | None = None
    ) -> bool:
        """
        Show "typing..." to *phone* (action ``SendTyping``).

        Raises:
            ValidationError: *phone* is malformed; nothing was sent.
            PermissionDeniedError: the account lacks isSuper (309).
        """
        return await self._call(
            "SendTyping", as_bool, phone=self._phone(phone), robot=robot, timeout=timeout
        )

    async def send_message_mass(
        self,
        phones: Iterable[str] | AsyncIterable[str],
        message: str,
        *,
        robot: str | None = None,
        timeout: float | None = None,
        **fanout: Unpack[FanoutOptions],
    ) -> MassResult:
        """
        Send *message* to any number of *phones*, in chunks (action ``SendMessageMass``).

        Args:
            phones: any iterable or async iterable of numbers; streamed, normalised, de-duplicated.
            message: the text, validated once.
            robot: the agent for every chunk unless *robots* is given.
            timeout: seconds to wait for each chunk's reply; default 60 s + 3 s per number.
            fanout: ``chunk_size`` (100), ``concurrency`` (the client's), ``robots`` (a list of
                agents, one agent name, or ``"all"`` for every agent `api_get_robot` names),
                ``per_robot`` (requests per named agent at once, 1), ``on_progress``, ``hooks``.
                The other ``*_mass`` methods take the same options.

        Returns:
            Every number's `Outcome`.

        Raises:
            ValidationError: *message* is malformed; nothing was sent.
            MassSendError: an error doomed every later chunk; ``.result`` holds every outcome.
        """
        text = await self._message(message)
        return await self._mass(
            "SendMessageMass",
            phones,
            {"message": text},
            robot=robot,
            timeout=timeout,
            fanout=fanout,
        )

    async def send_message(
        self, phone: str, message: str, *, robot: str | None = None, timeout: float | None = None
    ) -> bool:
        """
        Send a text message to one number (action ``SendMessage``).

        Returns:
            Whether the service reports the message delivered; ``False`` also when it answers
            that the number does not exist (307).

        Raises:
            ValidationError: *phone* or *message* is malformed; nothing was sent.
            CreditError: the account cannot pay for it (305).
        """
        number = self._phone(phone)
        text = await self._message(message)
        return await self._deliver(
            "SendMessage", phone=number, message=text, robot=robot, timeout=timeout
        )

    async def send_message_whatsapp(
        self, phone: str, message: str, *, robot: str | None = None, timeout: float | None = None
    ) -> bool:
        """
        Send a text message to one number on WhatsApp (action ``SendMessageWhatsApp``, beta).

        Returns:
            Always ``True`` from the service while WhatsApp sending is in beta (G4).

        Raises:
            ValidationError: *phone* or *message* is malformed; nothing was sent.
            CreditError: the account cannot pay for it (305).
        """
        number = self._phone(phone)
        text = await self._message(message)
        return await self._deliver(
            "SendMessageWhatsApp", phone=number, message=text, robot=robot, timeout=timeout
        )

    async def send_message_whatsapp_mass(
        self,
        phones: Iterable[str] | AsyncIterable[str],
        message: str,
        *,
        robot: str | None = None,
        timeout: float | None = None,
        **fanout: Unpack[FanoutOptions],
    ) -> MassResult:
        """
        Send *message* on WhatsApp to any number of *phones* (action ``SendMessageWhatsAppMass``).

        The service reports every number delivered while WhatsApp sending is in beta (G4).

        Raises:
            ValidationError: *message* is malformed; nothing was sent.
            MassSendError: an error doomed every later chunk; ``.result`` holds every outcome.
        """
        text = await self._message(message)
        return await self._mass(
            "SendMessageWhatsAppMass",
            phones,
            {"message": text},
            robot=robot,
            timeout=timeout,
            fanout=fanout,
        )

    async def create_group_chat(
        self,
        name: str,
        phones: str | Iterable[str],
        *,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """
        Create a group named *name* with the members *phones* (action ``CreateGroupChat``).

        *phones* is one number or several (an iterable, or a comma-separated str); they are
        normalised and de-duplicated.

        Raises:
            ValidationError: *name* is empty or has a comma, a number is malformed, or there is
                none; nothing was sent.
            PermissionDeniedError: the account lacks isSuper (309).
        """
        group = check_misc_piece(name, "a group name")
        pieces = phones.split(",") if isinstance(phones, str) else list(phones)
        members = list(dict.fromkeys(self._phone(phone) for phone in pieces))
        if not members:
            raise ValidationError("expected at least one member phone, got none")
        return await self._call(
            "CreateGroupChat",
            as_bool,
            phone=",".join(members),
            misc=group,
            robot=robot,
            timeout=timeout,
        )

    async def chat_info(
        self, chat: str, *, robot: str | None = None, timeout: float | None = None
    ) -> object:
        """
        Information about a chat or group (action ``ChatInfo``).

        Returns:
            The decoded JSON as the service sent it (its shape is undocumented), or ``False``.

        Raises:
            ValidationError: *chat* is empty or has a comma; nothing was sent.
            PermissionDeniedError: the account lacks canGet (309).
        """
        return await self._call(
            "ChatInfo",
            as_json,
            misc=check_misc_piece(chat, "a chat name"),
            robot=robot,
            timeout=timeout,
        )

    async def rename_chat(
        self, chat: str, new_name: str, *, robot: str | None = None, timeout: float | None = None
    ) -> bool:
        """
        Rename chat *chat* to *new_name* (action ``RenameChat``).

        Raises:
            ValidationError: a name is empty or has a comma; nothing was sent.
            PermissionDeniedError: the account lacks isSuper (309).
        """
        old = check_misc_piece(chat, "a chat name")
        new = check_misc_piece(new_name, "a new chat name")
        return await self._call(
            "RenameChat", as_bool, misc=f"{old},{new}", robot=robot, timeout=timeout
        )

    async def chat_add_user(
        self,
        chat: str,
        phone: str,
        forward_count: int = 0,
        *,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """
        Add *phone* to *chat*, forwarding it the last *forward_count* messages (``ChatAddUser``).

        Raises:
            ValidationError: *chat*, *phone* or *forward_count* is malformed; nothing was sent.
            PermissionDeniedError: the account lacks isSuper (309).
        """
        name = check_misc_piece(chat, "a chat name")
        number = self._phone(phone)
        count = check_forward_count(forward_count)
        return await self._call(
            "ChatAddUser",
            as_bool,
            phone=number,
            misc=f"{name},{count}",
            robot=robot,
            timeout=timeout,
        )

    async def chat_delete_user(
        self, chat: str, phone: str, *, robot: str | None = None, timeout: float | None = None
    ) -> bool:
        """
        Remove *phone* from *chat* (action ``ChatDeleteUser``).

        Raises:
            ValidationError: *chat* or *phone* is malformed; nothing was sent.
            PermissionDeniedError: the account lacks isSuper (309).
        """
        name = check_misc_piece(chat, "a chat name")
        number = self._phone(phone)
        return await self._call(
            "ChatDeleteUser", as_bool, phone=number, misc=name, robot=robot, timeout=timeout
        )

    async def set_profile_name(
        self,
        first_name: str,
        last_name: str,
        *,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """
        Change the agent's first and last name (action ``SetProfileName``).

        Raises:
            ValidationError: a name is empty or has a comma; nothing was sent.
            PermissionDeniedError: the account lacks isSuper (309).
        """
        first = check_misc_piece(first_name, "a first name")
        last = check_misc_piece(last_name, "a last name")
        return await self._call(
            "SetProfileName",
            _as_bool_or_object,
            misc=f"{first},{last}",
            robot=robot,
            timeout=timeout,
        )

    async def block_user(
        self, phone: str, *, robot: str | None = None, timeout: float | None = None
    ) -> bool:
        """
        Block *phone* (action ``BlockUser``).

        Raises:
            ValidationError: *phone* is malformed; nothing was sent.
            PermissionDeniedError: the account lacks isSuper (309).
        """
        return await self._call(
            "BlockUser", as_bool, phone=self._phone(phone), robot=robot, timeout=timeout
        )

    async def unblock_user(
        self, phone: str, *, robot: str | None = None, timeout: float | None = None
    ) -> bool:
        """
        Remove *phone* from the block list (action ``UnBlockUser``).

        Raises:
            ValidationError: *phone* is malformed; nothing was sent.
            PermissionDeniedError: the account lacks isSuper (309).
        """
        return await self._call(
            "UnBlockUser", as_bool, phone=self._phone(phone), robot=robot, timeout=timeout
        )

    async def mark_read(
        self, phone: str, *, robot: str | None = None, timeout: float | None = None
    ) -> bool:
        """
        Show *phone*'s messages as read (action ``MarkRead``).

        Raises:
            ValidationError: *phone* is malformed; nothing was sent.
            PermissionDeniedError: the account lacks isSuper (309).
        """
        return await self._call(
            "MarkRead", as_bool, phone=self._phone(phone), robot=robot, timeout=timeout
        )

    async def get_user_info(
        self, phone: str, *, robot: str | None = None, timeout: float | None = None
    ) -> object:
        """
        Information about the user *phone* (action ``GetUserInfo``).

        Returns:
            The decoded JSON as the service sent it (its shape is undocumented), or ``False``.

        Raises:
            ValidationError: *phone* is malformed; nothing was sent.
            PermissionDeniedError: the account lacks canGet (309).
        """
        return await self._call(
            "GetUserInfo", as_json, phone=self._phone(phone), robot=robot, timeout=timeout
        )

    async def get_dialog_list(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> object:
        """
        The agent's dialogs (action ``GetDialogList``).

        Returns:
            The decoded JSON as the service sent it (its shape is undocumented), or ``False``.

        Raises:
            PermissionDeniedError: the account lacks canGet (309).
        """
        return await self._call("GetDialogList", as_json, robot=robot, timeout=timeout)

    async def get_history(
        self,
        phone: str,
        *,
        offset: int = 0,
        limit: int = 100,
        limit_first: bool = False,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> object:
        """
        Messages exchanged with *phone* (action ``GetHistory``).

        ``Misc`` is sent as ``offset,limit``, the document's order; the service's own code reads it
        the other way round (API.md A17, E17): pass ``limit_first=True`` to send ``limit,offset``.

        Returns:
            The decoded JSON as the service sent it (its shape is undocumented), or ``False``.

        Raises:
            ValidationError: *phone* is malformed, *offset* < 0 or *limit* < 1; nothing was sent.
            PermissionDeniedError: the account lacks canGet (309).
        """
        number = self._phone(phone)
        window = check_history(offset, limit)
        if limit_first is True:
            window = ",".join(reversed(window.split(",")))
        elif limit_first is not False:
            raise ValidationError(f"expected limit_first as a bool, got {limit_first!r}")
        return await self._call(
            "GetHistory", as_json, phone=number, misc=window, robot=robot, timeout=timeout
        )

    async def set_username(
        self, username: str, *, robot: str | None = None, timeout: float | None = None
    ) -> bool:
        """
        Change or create the agent's username (action ``SetUsername``).

        Raises:
            ValidationError: *username* is empty or has spaces or commas; nothing was sent.
            PermissionDeniedError: the account lacks isSuper (309).
        """
        return await self._call(
            "SetUsername", as_bool, misc=check_username(username), robot=robot, timeout=timeout
        )

    async def set_profile_photo(
        self,
        data: MediaData,
        *,
        file_format: str | None = None,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """
        Change the agent's picture (action ``SetProfilePhoto``).

        The extension goes in ``Misc`` when it is known (given, or from the file name); the service
        assumes ``jpg`` otherwise (E28).

        Raises:
            ValidationError: *data* is unreadable or empty, or *file_format* is malformed.
            PermissionDeniedError: the account lacks isSuper (309).
        """
        name = data if isinstance(data, str | os.PathLike) else getattr(data, "name", None)
        known = file_format is not None or isinstance(name, str | os.PathLike)
        media = await self._media("SetProfilePhoto", data, file_format, "jpg")
        return await self._call(
            "SetProfilePhoto",
            as_bool,
            misc=media.file_format if known else None,
            data=media.data_b64,
            robot=robot,
            timeout=timeout,
        )

    async def _send_media(
        self,
        func: str,
        phone: str,
        data: MediaData,
        *,
        file_format: str | None,
        default_format: str,
        robot: str | None,
        timeout: float | None,
    ) -> bool:
        number = self._phone(phone)
        media = await self._media(func, data, file_format, default_format)
        return await self._deliver(
            func,
            phone=number,
            misc=media.file_format,
            data=media.data_b64,
            robot=robot,
            timeout=timeout,
        )

    async def send_photo(
        self,
        phone: str,
        data: MediaData,
        *,
        file_format: str | None = None,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """
        Send an image to *phone* (action ``SendPhoto``); *file_format* defaults to the file's
        suffix, else ``jpg``.

        Raises:
            ValidationError: *phone*, *data* or *file_format* is malformed; nothing was sent.
            FileTooLargeError: the file exceeds the account's limit (303).
            CreditError: the account cannot pay for it (305).
        """
        return await self._send_media(
            "SendPhoto",
            phone,
            data,
            file_format=file_format,
            default_format="jpg",
            robot=robot,
            timeout=timeout,
        )

    async def send_video(
        self,
        phone: str,
        data: MediaData,
        *,
        file_format: str | None = None,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """
        Send a video to *phone* (action ``SendVideo``); *file_format* defaults to the file's
        suffix, else ``mp4``.

        Raises:
            ValidationError: *phone*, *data* or *file_format* is malformed; nothing was sent.
            FileTooLargeError: the file exceeds the account's limit (303).
            CreditError: the account cannot pay for it (305).
        """
        return await self._send_media(
            "SendVideo",
            phone,
            data,
            file_format=file_format,
            default_format="mp4",
            robot=robot,
            timeout=timeout,
        )

    async def send_audio(
        self,
        phone: str,
        data: MediaData,
        *,
        file_format: str | None = None,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """
        Send audio to *phone* (action ``SendAudio``); *file_format* defaults to the file's
        suffix, else ``mp3``.

        Raises:
            ValidationError: *phone*, *data* or *file_format* is malformed; nothing was sent.
            FileTooLargeError: the file exceeds the account's limit (303).
            CreditError: the account cannot pay for it (305).
        """
        return await self._send_media(
            "SendAudio",
            phone,
            data,
            file_format=file_format,
            default_format="mp3",
            robot=robot,
            timeout=timeout,
        )

    async def send_text(
        self,
        phone: str,
        data: MediaData,
        *,
        file_format: str | None = None,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """
        Send a text file to *phone* (action ``SendText``); *file_format* defaults to the file's
        suffix, else ``txt``.

        Raises:
            ValidationError: *phone*, *data* or *file_format* is malformed; nothing was sent.
            FileTooLargeError: the file exceeds the account's limit (303).
            CreditError: the account cannot pay for it (305).
        """
        return await self._send_media(
            "SendText",
            phone,
            data,
            file_format=file_format,
            default_format="txt",
            robot=robot,
            timeout=timeout,
        )

    async def send_file(
        self,
        phone: str,
        data: MediaData,
        *,
        file_format: str | None = None,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """
        Send a file of any type to *phone* (action ``SendFile``); *file_format* defaults to the
        file's suffix, else ``zip``.

        Raises:
            ValidationError: *phone*, *data* or *file_format* is malformed; nothing was sent.
            FileTooLargeError: the file exceeds the account's limit (303).
            CreditError: the account cannot pay for it (305).
        """
        return await self._send_media(
            "SendFile",
            phone,
            data,
            file_format=file_format,
            default_format="zip",
            robot=robot,
            timeout=timeout,
        )

    async def send_document(
        self,
        phone: str,
        data: MediaData,
        *,
        file_format: str | None = None,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """
        Send a document to *phone* (action ``SendDocument``); *file_format* defaults to the
        file's suffix, else ``doc``.

        Raises:
            ValidationError: *phone*, *data* or *file_format* is malformed; nothing was sent.
            FileTooLargeError: the file exceeds the account's limit (303).
            CreditError: the account cannot pay for it (305).
        """
        return await self._send_media(
            "SendDocument",
            phone,
            data,
            file_format=file_format,
            default_format="doc",
            robot=robot,
            timeout=timeout,
        )

    async def _send_media_mass(
        self,
        func: str,
        phones: Iterable[str] | AsyncIterable[str],
        data: MediaData,
        *,
        file_format: str | None,
        default_format: str,
        robot: str | None,
        timeout: float | None,
        fanout: FanoutOptions,
    ) -> MassResult:
        media = await self._media(func, data, file_format, default_format)
        return await self._mass(
            func,
            phones,
            {"misc": media.file_format, "data": media.data_b64},
            robot=robot,
            timeout=timeout,
            fanout=fanout,
        )

    async def send_photo_mass(
        self,
        phones: Iterable[str] | AsyncIterable[str],
        data: MediaData,
        *,
        file_format: str | None = None,
        robot: str | None = None,
        timeout: float | None = None,
        **fanout: Unpack[FanoutOptions],
    ) -> MassResult:
        """
        Send an image to any number of *phones*, in chunks (action ``SendPhotoMass``).

        The file is read and encoded once. *file_format* defaults to its suffix, else ``jpg``.

        Raises:
            ValidationError: *data* or *file_format* is malformed; nothing was sent.
            MassSendError: an error doomed every later chunk; ``.result`` holds every outcome.
        """
        return await self._send_media_mass(
            "SendPhotoMass",
            phones,
            data,
            file_format=file_format,
            default_format="jpg",
            robot=robot,
            timeout=timeout,
            fanout=fanout,
        )

    async def send_video_mass(
        self,
        phones: Iterable[str] | AsyncIterable[str],
        data: MediaData,
        *,
        file_format: str | None = None,
        robot: str | None = None,
        timeout: float | None = None,
        **fanout: Unpack[FanoutOptions],
    ) -> MassResult:
        """
        Send a video to any number of *phones*, in chunks (action ``SendVideoMass``).

        The file is read and encoded once. *file_format* defaults to its suffix, else ``mp4``.

        Raises:
            ValidationError: *data* or *file_format* is malformed; nothing was sent.
            MassSendError: an error doomed every later chunk; ``.result`` holds every outcome.
        """
        return await self._send_media_mass(
            "SendVideoMass",
            phones,
            data,
            file_format=file_format,
            default_format="mp4",
            robot=robot,
            timeout=timeout,
            fanout=fanout,
        )

    async def send_file_mass(
        self,
        phones: Iterable[str] | AsyncIterable[str],
        data: MediaData,
        *,
        file_format: str | None = None,
        robot: str | None = None,
        timeout: float | None = None,
        **fanout: Unpack[FanoutOptions],
    ) -> MassResult:
        """
        Send a file to any number of *phones*, in chunks (action ``SendFileMass``).

        The file is read and encoded once. *file_format* defaults to its suffix, else ``zip``.

        Raises:
            ValidationError: *data* or *file_format* is malformed; nothing was sent.
            MassSendError: an error doomed every later chunk; ``.result`` holds every outcome.
        """
        return await self._send_media_mass(
            "SendFileMass",
            phones,
            data,
            file_format=file_format,
            default_format="zip",
            robot=robot,
            timeout=timeout,
            fanout=fanout,
        )

    async def send_location(
        self,
        phone: str,
        latitude: float,
        longitude: float,
        *,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """
        Send a geographic location to *phone* (action ``SendLocation``).

        Raises:
            ValidationError: *phone* is malformed or a coordinate is out of range; nothing was sent.
            CreditError: the account cannot pay for it (305).
        """
        number = self._phone(phone)
        where = check_location(latitude, longitude)
        return await self._deliver(
            "SendLocation", phone=number, misc=where, robot=robot, timeout=timeout
        )

    async def send_contact(
        self,
        phone: str,
        name: str,
        contact_phone: str,
        *,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """
        Send the contact *name* / *contact_phone* to *phone* (action ``SendContact``).

        ``Misc`` is ``name,contact_phone`` as documented; the service's own code may use the pieces
        differently (API.md A18, unverified).

        Raises:
            ValidationError: a number is malformed or *name* is empty or has a comma.
            CreditError: the account cannot pay for it (305).
        """
        number = self._phone(phone)
        contact_name = check_misc_piece(name, "a contact name")
        contact_number = self._phone(contact_phone)
        return await self._deliver(
            "SendContact",
            phone=number,
            misc=f"{contact_name},{contact_number}",
            robot=robot,
            timeout=timeout,
        )

    async def api_get_limits(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> Limits:
        """The account's limits and permission levels (action ``APIGetLimits``)."""
        return await self._call("APIGetLimits", as_limits, robot=robot, timeout=timeout)

    async def api_get_credits(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> Credits:
        """The account's remaining credit per kind of send (action ``APIGetCredits``)."""
        return await self._call("APIGetCredits", as_credits, robot=robot, timeout=timeout)

    async def api_get_ip(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> list[str]:
        """The IPs allowed to use the account; ``["*"]`` means any (action ``APIGetIP``)."""
        return await self._call("APIGetIP", as_str_list, robot=robot, timeout=timeout)

    async def api_set_ip(
        self,
        ips: str | Iterable[str],
        *,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> list[str]:
        """
        Set the IPs allowed to use the account (action ``APISetIP``).

        Args:
            ips: addresses (a list, or a comma-separated str), or ``"*"`` to allow any.

        Returns:
            The list the service stored (it may add its own address).

        Raises:
            ValidationError: an address is malformed; nothing was sent.
            NoInputError: the service got no list (330).
        """
        return await self._call(
            "APISetIP", as_str_list, misc=check_ips(ips), robot=robot, timeout=timeout
        )

    async def api_change_secret(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> str:
        """
        Replace the account's secret (action ``APIChangeSecret``; never retried).

        On success the old secret stops working at once: this client switches to the new one
        (even when it was built with a callable) and awaits ``on_secret_change(new)`` before
        returning. Cancelling the caller does not cut the request off once it is being sent
        (it is bounded by the client's timeouts), nor the switch and the callback after it: a
        reply lost would leave the account with a secret nobody knows.

        Returns:
            The new secret.

        Raises:
            APIResponseError: the reply could not be read; the secret may have changed anyway
                (check the user panel).
            APIConnectionError: the request failed; unless ``sent`` is ``False`` the secret may
                have changed anyway.
        """
        secret = await self._call("APIChangeSecret", _as_new_secret, robot=robot, timeout=timeout)
        # No checkpoint between the shielded request and here: the switch cannot be cancelled.
        self._secret = secret
        logger.info("APIChangeSecret: the client now uses the new secret")
        if self._on_secret_change is not None:
            outcome = self._on_secret_change(secret)
            if inspect.isawaitable(outcome):
                with anyio.CancelScope(shield=True):
                    await outcome
        return secret

    async def api_get_robot(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> list[str]:
        """The names of the account's active agents (action ``APIGetRobot``)."""
        return await self._call("APIGetRobot", as_str_list, robot=robot, timeout=timeout)

    async def api_get_active(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> bool:
        """Whether the account is active (action ``APIGetActive``)."""
        return await self._call("APIGetActive", as_flag, robot=robot, timeout=timeout)

    async def api_get_username(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> str:
        """The account's username (action ``APIGetUsername``)."""
        return await self._call("APIGetUsername", as_str, robot=robot, timeout=timeout)

    async def api_is_super(self, *, robot: str | None = None, timeout: float | None = None) -> bool:
        """Whether the account has the control permission, isSuper (action ``APIisSuper``)."""
        return await self._call("APIisSuper", as_flag, robot=robot, timeout=timeout)

    async def api_can_get(self, *, robot: str | None = None, timeout: float | None = None) -> bool:
        """Whether the account has the data-retrieval permission, canGet (action ``APIcanGet``)."""
        return await self._call("APIcanGet", as_flag, robot=robot, timeout=timeout)

    async def api_get_ads(self, *, robot: str | None = None, timeout: float | None = None) -> bool:
        """Whether the service appends an advertisement to messages (action ``APIGetAds``)."""
        return await self._call("APIGetAds", as_flag, robot=robot, timeout=timeout)

    async def api_get_report(
        self,
        count: int | None = None,
        *,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> list[ReportRecord]:
        """
        The latest message-sending reports (action ``APIGetReport``).

        Args:
            count: how many records, 1 to 999; ``None`` sends no ``Misc`` (the service then gives
                up to 1000).

        Raises:
            ValidationError: *count* is out of range; nothing was sent.
            NoDataError: there are no records (111).
        """
        misc = None if count is None else check_report_count(count)
        return await self._call("APIGetReport", as_reports, misc=misc, robot=robot, timeout=timeout)


# A shorter piece of the secret left at the end of a cut excerpt gives too little away to blank.
_MIN_SECRET_PREFIX: Final = 4


def _blank(text: str, secret: str) -> str:
    """*text* with *secret*, as given or percent-encoded, replaced by ``***``."""
    forms = sorted({secret, quote(secret, safe="")}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, "***")
    # An excerpt cut to length may end inside the secret: "...Sup3rS…".
    if text.endswith("…"):
        head = text[:-1]
        for form in forms:
            for size in range(min(len(form) - 1, len(head)), _MIN_SECRET_PREFIX - 1, -1):
                if head.endswith(form[:size]):
                    return head[:-size] + "***…"
    return text


def _scrub(error: APIResponseError | APIError, secret: str) -> APIResponseError | APIError:
    """
    *error* with *secret* blanked out of the reply text it quotes.

    The service never echoes the request, but a misbehaving proxy or server might: keep the secret
    out of exception text anyway, also when it is percent-encoded (a quoted form body) or cut off
    by the excerpt. Returns *error* itself when there is nothing to blank.
    """
    if isinstance(error, APIResponseError):
        message, excerpt = _blank(error.message, secret), _blank(error.excerpt, secret)
        if (message, excerpt) == (error.message, error.excerpt):
            return error
        return APIResponseError(message, error.status_code, excerpt)
    message = _blank(error.message, secret)
    if message == error.message:
        return error
    return type(error)(error.code, message, error.func)


def _without_frames(error: BaseException) -> BaseException:
    """*error* and the exceptions it chains, stripped of their tracebacks."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__
    return error


def _as_bool_or_object(reply: Reply) -> bool:
    """``SetProfileName``: the gateway answers the updated user object on success (API.md E19)."""
    if reply.status == "success" and isinstance(reply.result, dict | list):
        return True
    return as_bool(reply)


def _as_new_secret(reply: Reply) -> str:
    """The new secret of ``APIChangeSecret``; a blank one would lock the client out."""
    secret = as_str(reply).strip()
    if not secret or not _encodable(secret):
        raise APIResponseError(
            "APIChangeSecret returned an empty secret or one that cannot be sent (not valid "
            "Unicode); the old one may no longer work",
            reply.http_status,
        )
    return secret


def _describe(error: BaseException) -> str:
    """A short, secret-free outcome for logs: the error code or the exception class."""
    if isinstance(error, APIError):
        return f"error {error.code}" if error.code is not None else f"{type(error).__name__}"
    return type(error).__name__
