"""
The one request path: the HTTP client's lifecycle, the secret, the rate limit, the retry loop, one
attempt, and keeping the secret out of what an attempt leaves behind.

`Session.request` is the only place in the package that sends: every action of `MioGram`, Mass
chunks and ``call()`` come here with their `Action` row. An attempt POSTs through httpx's public
API (``AsyncClient.post`` with ``follow_redirects=False``) in `Session._exchange`, the single place
where the HTTP exchange of an action happens.
"""

# ASYNC109: every action takes ``timeout=`` (seconds to wait for the service's reply) by contract
# (SURFACE.md); it is handed to httpx per request, not implemented with a cancel scope, because
# cancelling an in-flight send would make its outcome unknown.

from __future__ import annotations

import contextlib
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextvars import ContextVar
from typing import Final, TypeVar
from urllib.parse import quote

import anyio
import httpx

from ._actions import API_CHANGE_SECRET, Action
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    ClientClosedError,
    MioGramError,
    ValidationError,
)
from ._gate import SendGate
from ._ratelimit import TokenBucket
from ._retry import RetryPolicy
from ._transport import HttpBackend, build_http_client, map_transport_error
from ._wire import FORM_HEADERS, Reply, decode_reply, encode_form

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_GATEWAY_DRAIN",
    "GATE_WAITS",
    "SecretCallback",
    "SecretSource",
    "Session",
    "check_base_url",
    "check_robot",
    "describe",
    "encodable",
    "env",
    "has_space_or_control",
    "is_seconds",
    "logger",
]

_R = TypeVar("_R")

logger: Final = logging.getLogger("miogram_async")
# A library leaves output to the application: without this, Python's last-resort handler prints
# retry warnings to stderr in programs that never configured logging.
logger.addHandler(logging.NullHandler())

DEFAULT_BASE_URL: Final = "https://miogram.net/dojob.php"

DEFAULT_GATEWAY_DRAIN: Final = 1.5
"""Seconds per number the gateway may still work after the front gave up (E32: >= 1 s each)."""

# Reads are not gated: the pool keeps room for them whatever the client's concurrency.
_READ_POOL: Final = 10

GATE_WAITS: ContextVar[Callable[[float], object] | None] = ContextVar(
    "miogram_gate_waits", default=None
)
"""Told the seconds every request of the current task spent queued at the send gate (Mass)."""

SecretSource = str | Callable[[], str] | Callable[[], Awaitable[str]]
"""A secret, or a callable (sync or async) returning it, asked before every request."""

SecretCallback = Callable[[str], object]
"""Called (sync or async) with the new secret after the secret-changing action succeeds."""

# Said instead of letting UnicodeEncodeError escape: that error carries the whole string.
SECRET_NOT_UNICODE: Final = (
    "expected the secret as valid Unicode text, got one with a character UTF-8 cannot encode "
    "(an undecodable byte in MIOGRAM_SECRET?)"
)

_SECRET_ACTION: Final = API_CHANGE_SECRET.func

# 999 "No Response From Server": the front stopped waiting; the gateway may go on (API.md E32).
_NO_RESPONSE: Final = 999

# A shorter piece of the secret left at the end of a cut excerpt gives too little away to blank.
_MIN_SECRET_PREFIX: Final = 4


def encodable(text: str) -> bool:
    """Whether *text* can go on the wire (UTF-8): no lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def env(name: str) -> str | None:
    """The environment variable *name*, stripped, or ``None`` when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None


def has_space_or_control(text: str) -> bool:
    """Whether *text* has whitespace or a control character (NUL...): not in a name."""
    return any(char.isspace() or not char.isprintable() for char in text)


def is_seconds(value: object) -> bool:
    """Whether *value* is a positive number (not a bool, not NaN)."""
    return not isinstance(value, bool) and isinstance(value, int | float) and value > 0


def check_robot(robot: str | None) -> str | None:
    """An agent name as the service wants it: no spaces, commas or control characters (API.md 2)."""
    if robot is None:
        return None
    if not isinstance(robot, str):
        raise ValidationError(f"expected an agent name as a str, got {type(robot).__name__}")
    if has_space_or_control(robot) or "," in robot or not encodable(robot):
        raise ValidationError(
            f"expected an agent name without spaces or commas, as valid Unicode, got {robot!r}"
        )
    return robot


def check_base_url(url: str) -> str:
    """An http(s) URL with a host, or ValidationError (httpx's InvalidURL is no HTTPError)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValidationError(
            f"base_url must be an http(s) URL like {DEFAULT_BASE_URL}, got {url!r}"
        )
    return url


class Session:
    """
    One client's connection pool and request path.

    Args:
        secret: the secret, or a callable asked before every request.
        robot: the default agent (``None``: the account's first).
        base_url: the endpoint, already checked.
        timeout: the default timeouts.
        concurrency: state-changing requests in flight at once (the gate's capacity); the pool
            holds at least 10 connections for reads.
        gate: the send gate of state-changing requests (API.md E33).
        gateway_drain: seconds per number the gate stays closed after a state-changing request
            whose outcome is unknown (the gateway may still be at work, API.md E32).
        retry: the retry policy.
        bucket: the rate limit, or ``None``.
        http_client: a borrowed client (never closed here), or ``None`` to build one.
        transport: a transport for the client built here.
        http_backend: which transport to build.
        on_secret_change: told the new secret by `adopt_secret`.
    """

    def __init__(
        self,
        *,
        secret: SecretSource,
        robot: str | None,
        base_url: str,
        timeout: httpx.Timeout,
        concurrency: int,
        retry: RetryPolicy,
        bucket: TokenBucket | None,
        http_client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        http_backend: HttpBackend,
        on_secret_change: SecretCallback | None,
        gate: SendGate,
        gateway_drain: float = DEFAULT_GATEWAY_DRAIN,
    ) -> None:
        self.gate = gate
        self.gateway_drain = gateway_drain
        self.secret: SecretSource = secret
        self.robot = robot
        self.base_url = base_url
        self.timeout = timeout
        self._url = httpx.URL(base_url)  # parsed once, not on every request
        self.concurrency = concurrency
        self._retry = retry
        self._bucket = bucket
        self._transport = transport
        self._http_backend: HttpBackend = http_backend
        self._http = http_client
        self._owns_http = http_client is None
        self._on_secret_change = on_secret_change
        self.closed = False

    # -- lifecycle ------------------------------------------------------------------------------

    def http_client(self) -> httpx.AsyncClient:
        """The shared HTTP client, built on first use inside the running event loop."""
        if self.closed:
            raise ClientClosedError("this MioGram client is closed; create a new one")
        if self._http is None:
            self._http = build_http_client(
                concurrency=max(self.concurrency, _READ_POOL),
                timeout=self.timeout,
                backend=self._http_backend,
                transport=self._transport,
            )
        return self._http

    async def aclose(self) -> None:
        """Close the pool (unless it was borrowed); calling it again does nothing."""
        if self.closed:
            return
        self.closed = True
        http, self._http = self._http, None
        if http is not None and self._owns_http:
            await http.aclose()

    # -- what every request needs ---------------------------------------------------------------

    async def resolve_secret(self) -> str:
        """The secret for the next request: the str, or what the callable returns."""
        source = self.secret
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
        if not encodable(value):
            raise ValidationError(SECRET_NOT_UNICODE)
        return value.strip()

    async def adopt_secret(self, secret: object) -> None:
        """Switch to the *secret* a secret-bearing action returned, then tell the application."""
        # No checkpoint between the shielded request and here: the switch cannot be cancelled.
        assert isinstance(secret, str)
        self.secret = secret
        logger.info("%s: the client now uses the new secret", _SECRET_ACTION)
        if self._on_secret_change is not None:
            outcome = self._on_secret_change(secret)
            if inspect.isawaitable(outcome):
                with anyio.CancelScope(shield=True):
                    await outcome

    def request_timeout(self, timeout: float | None) -> httpx.Timeout:
        """The timeouts of one request: the client's, with *timeout* seconds to read the reply."""
        if timeout is None:
            return self.timeout
        if not is_seconds(timeout):
            raise ValidationError(
                f"expected timeout as a positive number of seconds, got {timeout!r}"
            )
        return httpx.Timeout(
            connect=self.timeout.connect,
            read=float(timeout),
            write=self.timeout.write,
            pool=self.timeout.pool,
        )

    # -- the request path -----------------------------------------------------------------------

    async def request(
        self,
        action: Action[object],
        decode: Callable[[Reply], _R],
        elements: Mapping[str, str | None],
        *,
        robot: str | None = None,
        read_timeout: float | None = None,
    ) -> _R:
        """
        Send *action* with *elements*, retrying per its row and the policy, and decode the reply.

        Args:
            action: the action's row.
            decode: turns the decoded envelope into the result (the row's, a chunk's, or raw JSON
                for ``call()``).
            elements: ``phone``, ``message``, ``misc``, ``data``; ``None`` values are left out.
            robot: the agent for this call; ``None`` uses the client's default, ``""`` none.
            read_timeout: seconds to wait for the reply; ``None`` uses the client's timeouts.
        """
        http = self.http_client()
        timeouts = self.request_timeout(read_timeout)
        agent = self.robot if robot is None else check_robot(robot)
        func = action.func
        started = anyio.current_time()
        attempt = 1
        while True:
            try:
                sending = self._attempt(
                    http, action, decode, elements, robot=agent, timeouts=timeouts, attempt=attempt
                )
                if action.changes_state:
                    return await self._gated(action, _numbers_in(elements), sending)
                return await sending
            except MioGramError as error:
                delay = self._retry.backoff(attempt)
                elapsed = anyio.current_time() - started
                if not self._retry.should_retry(func, error, attempt, elapsed, delay):
                    raise
                logger.warning(
                    "%s attempt %d failed (%s); retrying in %.2fs",
                    func,
                    attempt,
                    describe(error),
                    delay,
                )
            await anyio.sleep(delay)
            attempt += 1

    async def _gated(
        self, action: Action[object], numbers: int, attempt: Coroutine[object, None, _R]
    ) -> _R:
        """
        One attempt of a state-changing action through the send gate (API.md E33).

        After an outcome that leaves the gateway possibly still at work (999, a read timeout, a
        5xx, an unreadable reply, a cancellation), the gate stays closed for the rest of an
        estimate of that work: *numbers* times `gateway_drain`, counted from the request's start.
        """
        try:
            waited = await self.gate.acquire()
        except BaseException:
            attempt.close()  # never started: no "never awaited" warning
            raise
        if waited > 0:
            logger.debug(
                "%s waited %.3fs at the send gate (one state-changing request at a time, E33)",
                action.func,
                waited,
            )
            observer = GATE_WAITS.get()
            if observer is not None:
                observer(waited)
        started = anyio.current_time()
        busy_for = 0.0
        try:
            return await attempt
        except BaseException as error:
            if _gateway_may_be_busy(error):
                busy_for = numbers * self.gateway_drain - (anyio.current_time() - started)
                if busy_for > 0:
                    logger.debug(
                        "%s: outcome unknown (%s); the send gate stays closed %.3fs while the "
                        "gateway may still be at work (E32)",
                        action.func,
                        describe(error),
                        busy_for,
                    )
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await self.gate.release(max(0.0, busy_for))

    async def _attempt(
        self,
        http: httpx.AsyncClient,
        action: Action[object],
        decode: Callable[[Reply], _R],
        elements: Mapping[str, str | None],
        *,
        robot: str | None,
        timeouts: httpx.Timeout,
        attempt: int,
    ) -> _R:
        func = action.func
        if self._bucket is not None:
            await self._bucket.acquire()
        # No local other than `secret` may hold it: it is deleted below.
        secret = self.secret if isinstance(self.secret, str) else await self.resolve_secret()
        body = encode_form(secret, func, elements, robot)
        debug = logger.isEnabledFor(logging.DEBUG)
        started = anyio.current_time() if debug else 0.0
        outcome = "ok"
        try:
            try:
                response = await self._exchange(http, action, body, timeouts)
            except httpx.HTTPError as error:
                # httpx's frames hold the body (and so the secret) as locals: keep the chain's
                # exceptions for their types and texts, without their frames.
                raise map_transport_error(error, func) from _without_frames(error)
            reply = decode_reply(
                func,
                response.status_code,
                response.content,
                secret_bearing=action.secret_bearing,
            )
            return decode(reply)
        except (APIResponseError, APIError) as error:
            outcome = describe(error)
            scrubbed = _scrub(error, secret)
            if scrubbed is error:
                raise
        except BaseException as error:  # logged, never swallowed: cancellation included
            outcome = describe(error)
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

    async def _exchange(
        self,
        http: httpx.AsyncClient,
        action: Action[object],
        body: bytes,
        timeouts: httpx.Timeout,
    ) -> httpx.Response:
        """
        The HTTP exchange of one attempt: the only place the package talks to the service.

        Waiting for the rate limit or the secret happens before and stays cancellable; what must
        hold around the exchange of an action (its row says which) is taken here, so that a
        per-client gate for ``action.changes_state`` goes around this one call.
        """
        # A reply carrying the account's secret must not be lost to a cancellation once sent.
        shield = action.secret_bearing
        with anyio.CancelScope(shield=True) if shield else contextlib.nullcontext():
            # Never follow a redirect, a borrowed client's setting notwithstanding: a 301/302
            # turns the POST into a GET, which the service counts towards blocking the caller's
            # IP (API.md E23).
            try:
                return await http.post(
                    self._url,
                    content=body,
                    headers=FORM_HEADERS,
                    timeout=timeouts,
                    follow_redirects=False,
                )
            finally:
                del body  # the secret stays out of this frame's locals in a traceback


def _numbers_in(elements: Mapping[str, str | None]) -> int:
    """How many numbers a request carries (a Mass chunk's comma-separated list), at least 1."""
    phone = elements.get("phone")
    return phone.count(",") + 1 if phone else 1


def _gateway_may_be_busy(error: BaseException) -> bool:
    """
    Whether the gateway may still be working on a request that ended in *error*.

    Only an answer (an error code of the front or of the gateway) or a failure that proves the
    request never left says it is not; a 999 (the front gave up waiting, E32), a reply with no
    readable code, a 5xx, a timeout after sending, a cancellation or anything unexpected may
    leave it at work.
    """
    if isinstance(error, ValidationError | ClientClosedError):
        return False
    if isinstance(error, APIConnectionError):
        return error.sent is not False
    if isinstance(error, APIError):
        return error.code is None or error.code == _NO_RESPONSE
    return True


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


def describe(error: BaseException) -> str:
    """A short, secret-free outcome for logs: the error code or the exception class."""
    if isinstance(error, APIError):
        return f"error {error.code}" if error.code is not None else f"{type(error).__name__}"
    return type(error).__name__
