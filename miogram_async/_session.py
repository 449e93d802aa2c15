"""
The one request path: the HTTP client's lifecycle, the secret, the rate limit, the retry loop, one
attempt, and keeping the secret out of what an attempt leaves behind.

`Session.request` is the only place in the package that sends: every action of `MioGram`, Mass
chunks and ``call()`` come here with their `Action` row. An attempt POSTs through httpx's public
API (``AsyncClient.send`` of a built request, streamed, with ``follow_redirects=False``) in
`Session._exchange`, the single place where the HTTP exchange of an action happens. Each attempt
has a total deadline (its read timeout: connect, headers and body) and reads at most
``max_reply_bytes`` of reply.
"""

# ASYNC109: every action takes ``timeout=`` (seconds to wait for the service's reply) by contract
# (SURFACE.md). It is handed to httpx per request and is also the attempt's total deadline (a
# cancel scope around send and read): an attempt cut off after its request may have left raises
# APITimeoutError with ``sent`` not False, so its outcome is unknown, never failed.

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextvars import ContextVar
from typing import Final, TypeVar

import anyio
import attrs
import httpx
import sniffio

from ._actions import API_CHANGE_SECRET, Action
from ._checks import (
    DEFAULT_BASE_URL,
    check_base_url,
    check_robot,
    encodable,
    env,
    has_space_or_control,
    is_seconds,
)
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    ClientClosedError,
    MioGramError,
    ValidationError,
)
from ._gate import SendGate
from ._logging import OK, log_request
from ._ratelimit import TokenBucket
from ._retry import RetryPolicy
from ._scrub import scrub, without_frames
from ._transport import HttpBackend, build_http_client, is_transport_error, map_transport_error
from ._version import USER_AGENT
from ._wire import FORM_HEADERS, Reply, decode_reply, encode_form

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_GATEWAY_DRAIN",
    "DEFAULT_MAX_REPLY_BYTES",
    "GATE_WAITS",
    "SEND_MARK",
    "SecretCallback",
    "SecretSource",
    "SendMark",
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


DEFAULT_MAX_REPLY_BYTES: Final = 8 * 1024 * 1024
"""The largest reply body read (after content decoding): the service's biggest replies (reports,
histories) are far smaller, and an endless or huge body must not take the client's memory."""

# httpx's own User-Agent: a borrowed client that still sends it gets the SDK's per request; one
# the application named itself keeps its name (a proxy or a server log may rely on it).
_HTTPX_DEFAULT_AGENT: Final = "python-httpx/"

# httpcore's trace events that say the request started to leave / a connection was being made.
_SENDING_EVENTS: Final = ("http11.send_request_headers.started", "http2.send_request_headers.")
_CONNECTING_EVENT: Final = "connection."

# Closing a reply never waits for the server; this only bounds a transport that would.
_CLOSE_SECONDS: Final = 5.0

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


class SendMark:
    """Set by the request path when a request starts to leave: from then on, it may arrive."""

    def __init__(self) -> None:
        self.leaving = False


SEND_MARK: Final[ContextVar[SendMark | None]] = ContextVar("miogram_send_mark", default=None)
"""The mark of the current task's request, for code that must tell "not sent yet" from "may have
been sent" from outside the task (`MioGram.api_change_secret` under asyncio)."""


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
        self._secret: SecretSource = secret
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
        self.max_reply_bytes = DEFAULT_MAX_REPLY_BYTES
        self.closed = False
        # A view (`derive`) shares its root's pool, secret, loop and everything else it does
        # not override; a root is its own.
        self._root: Session = self
        self._loop: object = None
        self._headers: Mapping[str, str] = FORM_HEADERS

    @property
    def secret(self) -> SecretSource:
        """The secret, or the callable asked for it; shared by a client and its views."""
        return self._root._secret

    @secret.setter
    def secret(self, value: SecretSource) -> None:
        self._root._secret = value

    def derive(self, *, robot: str | None, timeout: httpx.Timeout, max_retries: int) -> Session:
        """
        A view of this session with other defaults, sharing its pool, secret and everything else.

        Closing the view closes nothing of its root's.
        """
        view = copy.copy(self)
        view._root = self._root
        view.robot = robot
        view.timeout = timeout
        view._retry = attrs.evolve(self._retry, max_retries=max_retries)
        view.closed = False
        return view

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        return self._retry.max_retries

    # -- lifecycle ------------------------------------------------------------------------------

    def http_client(self) -> httpx.AsyncClient:
        """The shared HTTP client, built on first use inside the running event loop."""
        if self.closed:
            raise ClientClosedError("this MioGram client is closed; create a new one")
        root = self._root
        if root is not self:
            return root.http_client()
        loop = _running_loop()
        if root._loop is None:
            root._loop = loop
        elif loop is not root._loop:
            # A pool's connections belong to the loop that opened them: used from another loop
            # they hang or fail deep inside the transport.
            raise MioGramError(
                "this MioGram client was first used in another event loop: use one client per "
                "event loop (create the client inside the loop, e.g. inside the function that "
                "asyncio.run() runs)"
            )
        if self._http is None:
            self._http = build_http_client(
                concurrency=max(self.concurrency, _READ_POOL),
                timeout=self.timeout,
                backend=self._http_backend,
                transport=self._transport,
            )
        agent = self._http.headers.get("User-Agent", "")
        if not self._owns_http and agent.startswith(_HTTPX_DEFAULT_AGENT):
            self._headers = {**FORM_HEADERS, "User-Agent": USER_AGENT}
        return self._http

    async def aclose(self) -> None:
        """Close the pool (unless borrowed, or this is a view); calling it again does nothing."""
        if self.closed:
            return
        self.closed = True
        if self._root is not self:
            return  # a view: the pool is its root's
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
        callback = self._root._on_secret_change
        if callback is not None:
            outcome = callback(secret)
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
        started = anyio.current_time()
        outcome = OK
        try:
            try:
                response = await self._exchange(http, action, body, timeouts)
            except Exception as error:
                if not is_transport_error(error):
                    raise
                # The transport's frames hold the body (and so the secret) as locals: keep the
                # chain's exceptions for their types and texts, without their frames.
                raise map_transport_error(error, func) from without_frames(error)
            reply = decode_reply(
                func,
                response.status_code,
                response.content,
                secret_bearing=action.secret_bearing,
                changes_state=action.changes_state,
            )
            return decode(reply)
        except (APIResponseError, APIError) as error:
            outcome = describe(error)
            scrubbed = scrub(error, secret)
            if scrubbed is error:
                raise
        except BaseException as error:  # logged, never swallowed: cancellation included
            outcome = describe(error)
            if not isinstance(error, Exception) or isinstance(error, _cancelled_class()):
                # A cancellation passing through the transport: its frames below this one hold
                # the body (``asyncio.wait_for`` keeps it as its TimeoutError's cause).
                without_frames(error)
            raise
        finally:
            # Error trackers (Sentry, loguru's diagnose, rich) show the locals of every frame of
            # a traceback, this one included.
            del secret, body
            log_request(
                func=func,
                attempt=attempt,
                duration=anyio.current_time() - started,
                outcome=outcome,
                robot=robot,
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

        The reply's ``read`` timeout is also the attempt's total deadline, from connecting to
        the body's last byte (a server trickling bytes resets httpx's per-read timeout forever),
        and the body is read up to `max_reply_bytes`. Returns the reply with its body read.
        """
        # A reply carrying the account's secret must not be lost to a cancellation once sent.
        shield = action.secret_bearing
        with anyio.CancelScope(shield=True) if shield else contextlib.nullcontext():
            try:
                return await self._post(http, action.func, body, timeouts)
            finally:
                del body  # the secret stays out of this frame's locals in a traceback

    async def _post(
        self, http: httpx.AsyncClient, func: str, body: bytes, timeouts: httpx.Timeout
    ) -> httpx.Response:
        """POST *body* and read the reply within the attempt's deadline and the size cap."""
        events: list[str] = []

        async def trace(event: str, info: object) -> None:
            if event.startswith((*_SENDING_EVENTS, _CONNECTING_EVENT)):
                events.append(event)

        # Never follow a redirect, a borrowed client's setting notwithstanding: a 301/302 turns
        # the POST into a GET, which the service counts towards blocking the caller's IP (E23).
        request = http.build_request(
            "POST",
            self._url,
            content=body,
            headers=self._root._headers,
            timeout=timeouts,
            extensions={"trace": trace},
        )
        del body
        mark = SEND_MARK.get()
        if mark is not None:
            mark.leaving = True  # no await between here and the send
        deadline = timeouts.read
        try:
            with anyio.move_on_after(deadline if deadline is not None else float("inf")) as scope:
                response = await http.send(request, stream=True, follow_redirects=False)
                try:
                    content = await self._read_capped(response, func)
                finally:
                    # Closing gives the connection back (or drops a half-read one); a deadline
                    # or a cancellation must not cut that short and leak a pool slot.
                    with anyio.CancelScope(shield=True), anyio.move_on_after(_CLOSE_SECONDS):
                        await response.aclose()
        finally:
            del request  # it holds the body
        if scope.cancelled_caught:
            sending = any(event.startswith(_SENDING_EVENTS) for event in events)
            # Only a transport that reports its steps (httpx's own) can prove nothing left.
            sent = None if sending or not events else False
            raise APITimeoutError(
                f"{func}: no complete reply within the {deadline:g} s deadline", sent
            )
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    async def _read_capped(self, response: httpx.Response, func: str) -> bytes:
        """The body of *response*, or `APIResponseError` once it passes `max_reply_bytes`."""
        cap = self.max_reply_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _too_large(func, response.status_code, cap)
        pieces: list[bytes] = []
        size = 0
        async for piece in response.aiter_bytes():
            size += len(piece)
            if size > cap:
                raise _too_large(func, response.status_code, cap)
            pieces.append(piece)
        return b"".join(pieces)


def _too_large(func: str, status_code: int, cap: int) -> APIResponseError:
    return APIResponseError(
        f"{func}: the reply is larger than {cap} bytes (max_reply_bytes); not read", status_code
    )


def _cancelled_class() -> type[BaseException]:
    return anyio.get_cancelled_exc_class()


def _running_loop() -> object:
    """The running event loop (asyncio) or run (trio), to tell one from another."""
    if sniffio.current_async_library() == "asyncio":
        return asyncio.get_running_loop()
    import trio  # noqa: PLC0415 - only under trio

    return trio.lowlevel.current_trio_token()


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


def describe(error: BaseException) -> str:
    """A short, secret-free outcome for logs: the error code or the exception class."""
    if isinstance(error, APIError):
        return f"error {error.code}" if error.code is not None else f"{type(error).__name__}"
    return type(error).__name__
