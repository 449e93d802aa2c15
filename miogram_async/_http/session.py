"""
The one request path: the HTTP client's lifecycle, the secret, the rate limit, the retry loop, one
attempt, and keeping the secret out of what an attempt leaves behind.

`Session.send` is the only place in the package that sends: every action of `MioGram`, Mass
chunks and ``call()`` come here as a `Request` value (their `Action` row, elements, agent,
deadlines and what the layers above want to hear), made once by the layer that makes the call.
An attempt POSTs through httpx's public API (``AsyncClient.send`` of a built request, streamed,
with ``follow_redirects=False``) in `Session._exchange`, the single place where the HTTP exchange
of an action happens. Each attempt has a total deadline (its read timeout: connect, headers and
body) and reads at most ``max_reply_bytes`` of reply.
"""

# ASYNC109: every action takes ``timeout=`` (seconds to wait for the service's reply) by contract
# (the README's "Quick start"). It is handed to httpx per request and is also the attempt's total
# deadline (a cancel scope around send and read): an attempt cut off after its request may have
# left raises APITimeoutError with ``sent`` not False, so its outcome is unknown, never failed.

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import time
from collections.abc import Callable, Mapping
from typing import Final, TypeVar

import anyio
import httpx
import sniffio

from .._base.actions import API_CHANGE_SECRET, API_GET_ROBOT, Action
from .._base.checks import check_robot, encodable, is_seconds
from .._base.clock import ServiceClock, parse_http_date
from .._base.errors import (
    APIError,
    APIResponseError,
    APITimeoutError,
    ClientClosedError,
    MioGramError,
    ValidationError,
)
from .._base.log import OK, log_request, logger
from .._base.outcomes import gateway_may_be_busy, shrinks_chunks
from .._base.scrub import contains_secret, scrub, without_frames
from .._base.version import USER_AGENT
from .._base.wire import FORM_HEADERS, Reply, as_str_list, decode_reply, encode_form
from .._gates.base import SendGate
from .._gates.default import GateChoice, choose_gate
from .options import SECRET_NOT_UNICODE, ClientOptions, SecretSource
from .pace import GatewayPace, dead_holder_wait
from .ratelimit import TokenBucket
from .request import Request
from .transport import build_http_client, is_transport_error, map_transport_error

__all__ = ["Session", "describe"]

_R = TypeVar("_R")

# httpx's own User-Agent: a borrowed client that still sends it gets the SDK's per request; one
# the application named itself keeps its name (a proxy or a server log may rely on it).
_HTTPX_DEFAULT_AGENT: Final = "python-httpx/"

# httpcore's trace events that say the request started to leave / a connection was being made.
_SENDING_EVENTS: Final = ("http11.send_request_headers.started", "http2.send_request_headers.")
_CONNECTING_EVENT: Final = "connection."

# Closing a reply never waits for the server; this only bounds a transport that would.
_CLOSE_SECONDS: Final = 5.0

# Reads are not gated: the pool keeps room for them whatever the client's concurrency.
_READ_POOL: Final = 10

# The elements whose text reaches the recipients (Data is a file's base64: never searched).
_TEXT_ELEMENTS: Final = ("message", "misc")

_SECRET_ACTION: Final = API_CHANGE_SECRET.func


class Session:
    """
    One client's connection pool and request path, built from its `ClientOptions`.

    Args:
        options: the client's options, checked; the send gate is chosen by `choose_gate` (the
            one given, ``MIOGRAM_SEND_GATE``, or the machine-wide one of the service, E33), the
            rate limit a token bucket of ``rate_limit`` when set.
    """

    def __init__(self, options: ClientOptions) -> None:
        #: The send gate and how it was chosen (a campaign asks whether the user named it).
        #: How long a gate made for this client waits after a holder that died holding it.
        self.dead_holder_wait = dead_holder_wait(options.gateway_drain, options.front_wait)
        self.gate_choice: GateChoice = choose_gate(
            options.send_gate,
            base_url=options.base_url,
            concurrency=options.concurrency,
            dead_holder_wait=self.dead_holder_wait,
        )
        self.gate: SendGate = self.gate_choice.gate
        self.gateway_drain = options.gateway_drain
        self.front_wait = options.front_wait
        # What this client learns of the gateway's pace: shared with its views (`derive` copies
        # the reference), every Mass send and the drain after an unknown outcome (E49).
        self.pace = GatewayPace()
        self._secret: SecretSource = options.secret
        self.robot = options.default_robot
        self.base_url = options.base_url
        self.timeout = options.timeout
        self._url = httpx.URL(options.base_url)  # parsed once, not on every request
        self.concurrency = options.concurrency
        self._retry = options.retry
        self._bucket = (
            None
            if options.rate_limit is None
            else TokenBucket(options.rate_limit, burst=options.rate_burst)
        )
        self._transport = options.transport
        self._http_backend = options.http_backend
        self._http = options.http_client
        self._owns_http = options.http_client is None
        self._on_secret_change = options.on_secret_change
        self.max_reply_bytes = options.max_reply_bytes
        self.closed = False
        # A view (`derive`) shares its root's pool, secret, loop, agents and everything else it
        # does not override; a root is its own.
        self._root: Session = self
        self._loop: object = None
        self._headers: Mapping[str, str] = FORM_HEADERS
        self._agents: tuple[str, ...] | None = None
        #: The service's clock as the ``Date`` headers of replies bound it (shared by views).
        self.clock = ServiceClock()

    @property
    def secret(self) -> SecretSource:
        """The secret, or the callable asked for it; shared by a client and its views."""
        return self._root._secret

    @secret.setter
    def secret(self, value: SecretSource) -> None:
        self._root._secret = value

    def derive(self, options: ClientOptions) -> Session:
        """
        A view of this session with the defaults of *options* (its robot, timeout and retries),
        sharing its pool, secret, the gateway's pace (`pace`) and everything else.

        Closing the view closes nothing of its root's.
        """
        view = copy.copy(self)
        view._root = self._root
        view.robot = options.default_robot
        view.timeout = options.timeout
        view._retry = options.retry
        view.closed = False
        return view

    def through(self, gate: SendGate) -> Session:
        """A view of this session whose state-changing requests pass *gate* instead."""
        view = copy.copy(self)
        view._root = self._root
        view.gate = gate
        view.closed = False
        return view

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        return self._retry.max_retries

    # -- lifecycle ------------------------------------------------------------------------------

    def http_client(self) -> httpx.AsyncClient:
        """The shared HTTP client, built on first use inside the running event loop."""
        self._check_open()
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

    def _check_open(self) -> None:
        if self.closed:
            raise ClientClosedError("this MioGram client is closed; create a new one")

    async def aclose(self) -> None:
        """Close the pool (unless borrowed, or this is a view); calling it again does nothing."""
        if self.closed:
            return
        self.closed = True
        if self._root is not self:
            return  # a view: the pool is its root's
        http, self._http = self._http, None
        try:
            if http is not None and self._owns_http:
                await http.aclose()
        finally:
            close = getattr(self.gate, "aclose", None)
            if self.gate_choice.owned and close is not None:
                with anyio.CancelScope(shield=True):
                    await close()  # a gate the client made (its database connection)

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

    async def refuse_the_secret(
        self, action: Action[object], elements: Mapping[str, str | None]
    ) -> None:
        """
        Refuse *elements* of *action* if their text holds the secret (asked of the callable, if
        the client has one): a Mass send asks once, before its first chunk.

        Raises:
            ValidationError: the message (or ``Misc``) holds the secret; nothing was sent.
        """
        if isinstance(self.secret, str):
            secret = self.secret
        else:
            try:
                secret = await self.resolve_secret()
            except ValidationError:
                return  # the callable failed: each request's own attempt says so
        try:
            _refuse_the_secret(action, elements, secret)
        finally:
            del secret

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
        """
        The timeouts of one request: the client's, with *timeout* seconds to read the reply.

        Raises:
            ValidationError: *timeout* is not a positive number of seconds.
        """
        if timeout is None:
            return self.timeout
        if not is_seconds(timeout):
            raise ValidationError(
                f"expected timeout as a positive number of seconds, got {timeout!r}"
            )
        return self.read_timeouts(timeout)

    def read_timeouts(self, seconds: float) -> httpx.Timeout:
        """The client's timeouts with *seconds* (already checked) to read the reply."""
        return httpx.Timeout(
            connect=self.timeout.connect,
            read=float(seconds),
            write=self.timeout.write,
            pool=self.timeout.pool,
        )

    def agent(self, robot: str | None) -> str | None:
        """
        The agent a call names: *robot* checked, or the client's default when it is ``None``.

        Raises:
            ValidationError: *robot* is not an agent name.
        """
        return self.robot if robot is None else check_robot(robot)

    def drain_seconds(
        self, numbers: int, robot: str | None = None, front_wait: float | None = None
    ) -> float:
        """
        How long after its start the gateway may still work on a request of *numbers* numbers
        on *robot* whose outcome is unknown (E32): the send gate stays closed that long, and the
        settle step counts a chunk's messages up to then and reads its agent's history only
        after it.

        The one estimate of both: the gateway's pace as this client knows it, the slowest seen
        with a margin, a slow one while the agent is unmeasured (`GatewayPace.drain`, E49), at
        *front_wait*'s scale (``None``: the client's); ``gateway_drain`` seconds per number at
        least.
        """
        wait = front_wait or self.front_wait
        return max(self.pace.drain(robot, numbers, wait), numbers * self.gateway_drain)

    async def account_agents(self) -> tuple[str, ...]:
        """The account's agents, asked once per client and its views (``APIGetRobot``)."""
        root = self._root
        if root._agents is None:
            root._agents = tuple(await self.request(API_GET_ROBOT, as_str_list, {}))
            if root._agents:
                # A request that names no agent goes to the first (E47): its pace is that one's.
                root.pace.first_agent = root._agents[0]
        return root._agents

    # -- the request path -----------------------------------------------------------------------

    def prepare(
        self,
        action: Action[object],
        decode: Callable[[Reply], _R],
        elements: Mapping[str, str | None],
        *,
        robot: str | None = None,
        read_timeout: float | None = None,
        on_leaving: Callable[[], object] | None = None,
    ) -> Request[_R]:
        """
        The `Request` of one call of *action*: its agent and timeouts checked and resolved.

        Args:
            action: the action's row.
            decode: turns the decoded envelope into the result (the row's, or raw JSON for
                ``call()``).
            elements: ``phone``, ``message``, ``misc``, ``data``; ``None`` values are left out.
            robot: the agent for this call; ``None`` uses the client's default, ``""`` none.
            read_timeout: seconds to wait for the reply; ``None`` uses the client's timeouts.
            on_leaving: see `Request.on_leaving`.

        Raises:
            ClientClosedError: the client is closed.
            ValidationError: *robot* or *read_timeout* is malformed; nothing was sent.
        """
        self._check_open()
        return Request(
            action=action,
            decode=decode,
            elements=elements,
            robot=self.agent(robot),
            timeouts=self.request_timeout(read_timeout),
            on_leaving=on_leaving,
        )

    async def request(
        self,
        action: Action[object],
        decode: Callable[[Reply], _R],
        elements: Mapping[str, str | None],
        *,
        robot: str | None = None,
        read_timeout: float | None = None,
    ) -> _R:
        """Send one call of *action* (see `prepare` for the arguments) and return its result."""
        return await self.send(
            self.prepare(action, decode, elements, robot=robot, read_timeout=read_timeout)
        )

    async def send(self, request: Request[_R]) -> _R:
        """
        Send *request*, retrying per its row and the policy, and decode the reply.

        Every attempt takes a rate-limit token first; an attempt of a state-changing action (or
        of a read marked `Request.gated`) then passes the send gate (`_gated`).
        """
        http = self.http_client()
        func = request.action.func
        if isinstance(self.secret, str):
            # Before the gate: nothing is held for it.
            _refuse_the_secret(request.action, request.elements, self.secret)
        started = anyio.current_time()
        attempt = 1
        while True:
            try:
                if request.action.changes_state or request.gated:
                    return await self._gated(http, request, attempt)
                if self._bucket is not None:
                    await self._bucket.acquire()
                return await self._attempt(http, request, attempt)
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

    async def _gated(self, http: httpx.AsyncClient, request: Request[_R], attempt: int) -> _R:
        """
        One attempt of a state-changing action through the send gate (E33).

        The rate-limit token is taken before the gate, never while holding it: a shared gate's
        slot (another process may be waiting for it) is not held while this process waits on its
        own limit. A paced request (a Mass chunk) measures the gateway's pace on its agent: an
        answer is a sample, a 999 at the front's wait a lower bound (E49, `GatewayPace`). After
        an outcome that leaves the gateway possibly still at work (`gateway_may_be_busy`: 999, a
        read timeout, a 5xx, an unreadable reply, a cancellation), the gate stays closed until
        the gateway has, at the slowest pace seen with a margin (a slow one while nothing is
        measured), finished the request's numbers, counted from its start; ``gateway_drain``
        seconds per number at least.
        """
        if self._bucket is not None:
            await self._bucket.acquire()
        waited = await self.gate.acquire()
        func = request.action.func
        if waited > 0:
            logger.debug(
                "%s waited %.3fs at the send gate (one state-changing request at a time, E33)",
                func,
                waited,
            )
            if request.on_gate_wait is not None:
                request.on_gate_wait(waited)
        busy_for = 0.0
        try:
            if request.on_admitted is not None:
                await request.on_admitted()  # nothing has left: an error here keeps no drain
            started = anyio.current_time()
            try:
                reply = await self._attempt(http, request, attempt)
            except BaseException as error:
                took = anyio.current_time() - started
                busy_for = self._after_unknown(request, error, took)
                raise
            if request.paced:
                pace = self.pace.answered(
                    request.robot, request.numbers, anyio.current_time() - started
                )
                logger.debug(
                    "%s of %d numbers answered: agent %s at %.3fs per number (E49)",
                    func,
                    request.numbers,
                    request.robot or "(first)",
                    pace,
                )
            return reply
        finally:
            with anyio.CancelScope(shield=True):
                await self.gate.release(max(0.0, busy_for))

    def _after_unknown(self, request: Request[object], error: BaseException, took: float) -> float:
        """
        Seconds the send gate stays closed after *request* ended in *error* *took* seconds in.

        A paced request's 999 at the front's wait first proves a lower bound on its agent's
        pace (E32, `shrinks_chunks`).
        """
        front_wait = request.front_wait or self.front_wait
        if request.paced and shrinks_chunks(error, took, front_wait):
            bound = self.pace.overran(request.robot, request.numbers, took)
            logger.warning(
                "a chunk of %d numbers got 999 after %.1fs (the front's wait, E32): agent %s "
                "takes more than %.2fs per number; later chunks on it are smaller (E49)",
                request.numbers,
                took,
                request.robot or "(first)",
                bound,
            )
        if not gateway_may_be_busy(error):
            return 0.0
        busy_for = self.drain_seconds(request.numbers, request.robot, front_wait) - took
        if busy_for > 0:
            logger.debug(
                "%s: outcome unknown (%s); the send gate stays closed %.3fs while the gateway "
                "may still be at work (E32)",
                request.action.func,
                describe(error),
                busy_for,
            )
        return busy_for

    async def _attempt(self, http: httpx.AsyncClient, request: Request[_R], attempt: int) -> _R:
        action = request.action
        func = action.func
        # No local other than `secret` may hold it: it is deleted below.
        if isinstance(self.secret, str):
            secret = self.secret  # checked against the elements by `send`
        else:
            secret = await self.resolve_secret()
            try:
                _refuse_the_secret(request.action, request.elements, secret)
            except ValidationError:
                del secret
                raise
        body = encode_form(secret, func, request.elements, request.robot)
        started = anyio.current_time()
        outcome = OK
        try:
            try:
                response = await self._exchange(http, request, body)
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
            return request.decode(reply)
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
            duration = anyio.current_time() - started
            log_request(
                func=func,
                attempt=attempt,
                duration=duration,
                outcome=outcome,
                robot=request.robot,
            )
            if outcome == OK and request.elements.get("phone") is None:
                # No number, no per-number work at the gateway: a measure of the latency that
                # a chunk's round trip holds besides its numbers (E49).
                self.pace.round_trip(duration)
        # Raised outside the handler so that the unscrubbed error is not kept as its context.
        raise scrubbed

    async def _exchange(
        self, http: httpx.AsyncClient, request: Request[object], body: bytes
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
        shield = request.action.secret_bearing
        with anyio.CancelScope(shield=True) if shield else contextlib.nullcontext():
            try:
                return await self._post(http, request, body)
            finally:
                del body  # the secret stays out of this frame's locals in a traceback

    async def _post(
        self, http: httpx.AsyncClient, request: Request[object], body: bytes
    ) -> httpx.Response:
        """POST *body* and read the reply within the attempt's deadline and the size cap."""
        func = request.action.func
        timeouts = request.timeouts
        events: list[str] = []

        async def trace(event: str, info: object) -> None:
            if event.startswith((*_SENDING_EVENTS, _CONNECTING_EVENT)):
                events.append(event)

        # Never follow a redirect, a borrowed client's setting notwithstanding: a 301/302 turns
        # the POST into a GET, which the service counts towards blocking the caller's IP (E23).
        outgoing = http.build_request(
            "POST",
            self._url,
            content=body,
            headers=self._root._headers,
            timeout=timeouts,
            extensions={"trace": trace},
        )
        del body
        if request.on_leaving is not None:
            request.on_leaving()  # no await between here and the send
        deadline = timeouts.read
        try:
            with anyio.move_on_after(deadline if deadline is not None else float("inf")) as scope:
                left = time.time()
                response = await http.send(outgoing, stream=True, follow_redirects=False)
                # The reply's Date bounds the service's clock (settling from history, E50).
                self._root.clock.observe(
                    parse_http_date(response.headers.get("date")), left, time.time()
                )
                try:
                    content = await self._read_capped(response, func)
                finally:
                    # Closing gives the connection back (or drops a half-read one); a deadline
                    # or a cancellation must not cut that short and leak a pool slot.
                    with anyio.CancelScope(shield=True), anyio.move_on_after(_CLOSE_SECONDS):
                        await response.aclose()
        finally:
            del outgoing  # it holds the body
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


def _refuse_the_secret(
    action: Action[object], elements: Mapping[str, str | None], secret: str
) -> None:
    """
    Refuse a state-changing request whose text holds the account's secret (`contains_secret`):
    it would reach the recipients (and a campaign's journal), so nothing is sent.
    """
    if not action.changes_state:
        return
    for name in _TEXT_ELEMENTS:
        value = elements.get(name)
        if value and contains_secret(value, secret):
            raise ValidationError(
                f"{action.func}: the {name} holds the account's secret; it would be sent to "
                "the recipients: nothing was sent"
            )


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


def describe(error: BaseException) -> str:
    """A short, secret-free outcome for logs: the error code or the exception class."""
    if isinstance(error, APIError):
        return f"error {error.code}" if error.code is not None else f"{type(error).__name__}"
    return type(error).__name__
