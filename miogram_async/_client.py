"""
`MioGram`: construction, lifecycle, ``call()`` and the 43 actions in the order of the document.

Every action method checks its input (a `ValidationError`: nothing was sent), then makes one
``self._run...(ROW, ...)`` with its row of `miogram_async._base.actions` (`ActionRunner`); the
request path is `miogram_async._http.session.Session`. Option checks live in
`miogram_async._http.options`, the secret change in `miogram_async._http.secret_change`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import AsyncIterable, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, Unpack

import attrs
import httpx

from ._base import actions
from ._base.checks import DEFAULT_BASE_URL
from ._base.errors import MassOutcomes, ValidationError
from ._base.evidence import DEFAULT_LOOKBACK, DEFAULT_TOLERANCE, Expected
from ._base.models import Credits, Limits, ReportRecord
from ._base.peers import Chat, Message, User
from ._base.validation import (
    check_forward_count,
    check_history,
    check_ips,
    check_location,
    check_misc_piece,
    check_online,
    check_report_count,
    check_username,
)
from ._base.wire import as_json
from ._gates.base import SendGate
from ._http.options import (
    DEFAULT_MAX_REPLY_BYTES,
    UNSET,
    ClientOptions,
    SecretCallback,
    SecretSource,
    Unset,
    check_call,
    phone_normalizer,
)
from ._http.retry import RetryPolicy
from ._http.session import Session
from ._http.transport import DEFAULT_TIMEOUT, HttpBackend
from ._mass.options import FanoutOptions
from ._mass.result import MassResult
from ._payload import MediaData, Payloads
from ._runner import ActionRunner
from ._settle import settle_mass_result
from ._settlement import SettleResult

__all__ = ["DEFAULT_BASE_URL", "MediaData", "MioGram", "SecretSource"]

_T = TypeVar("_T")


class MioGram(ActionRunner):
    """
    An async client for the MioGram.net web service (asyncio and trio).

    After an action that changes state (a send above all), an error proves a failure only when
    the service refused the request before sending anything: then its ``sent`` is ``False``. Any
    other error (999 ``No Response From Server``, an HTTP 5xx, an unreadable reply, a read timeout,
    a connection lost after the request was written) has ``sent`` ``None`` (or ``True``): the
    message may have been sent (docs/service.md E32, E45), and the client never sends it again by
    itself.

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
            `miogram_async._http.retry`); 0 disables them.
        concurrency: state-changing requests (sends, Mass chunks, ``call()`` of an unknown
            action) this client has in flight at once, from all its tasks together; 1 by default.
            The service's gateway has no lock and one credit file for all its agents and
            accounts: two sends in flight at once, even on different agents, corrupt it and every
            later send fails with 305/306/309 (docs/service.md E33); its own bulk sender sends one
            request at a time (E48). A value above 1 is an explicit opt-in for a service known to
            take it. Reads are never limited by it. Also a Mass send's default number of workers.
        send_gate: the gate state-changing requests pass: a `SendGate` (shared between
            clients, or between processes: `PostgresSendGate`, `FileSendGate`), or a text the
            client makes one of (and closes): ``"local"`` (its own in-process gate), a directory
            or a ``postgresql://`` URL. ``None`` reads ``MIOGRAM_SEND_GATE``; without it, a client
            with *concurrency* 1 shares the machine-wide gate of its service with every process
            of the user on the host (a `FileSendGate` in the runtime or cache directory; where
            none can be used, its own gate and one WARNING), so that ``uvicorn --workers 4`` or
            several scripts keep E33's rule with no configuration. Several machines or
            containers need ``MIOGRAM_SEND_GATE``.
        gateway_drain: a lower bound, in seconds per number, on how long the send gate stays
            closed after a state-changing request whose outcome is unknown (a 999 after the
            front's wait, a read timeout, a 5xx; E32), counted from the request's start. The
            client's own estimate always applies: the slowest pace it measured on the gateway,
            with a margin, or a slow pace while it has measured none (E49), so that the next
            request does not overlap that work (E33). ``None`` reads ``MIOGRAM_GATEWAY_DRAIN``,
            else 0 (no bound beyond the estimate). A gate the client makes waits, after a
            holder that died holding it, the drain of a request of 100 numbers at the slow pace
            (1,000 s at a 60 s front wait; ``gateway_drain`` seconds per number at least).
        front_wait: seconds the service's front waits for its gateway before it answers 999
            while the gateway goes on (E32); ``None`` reads ``MIOGRAM_FRONT_WAIT``, else 60. Mass
            chunks are sized to finish well inside it at the measured pace, and the client's
            assumed slow pace and drain are shares of it: a time-scaled service (a fake) scales
            them all with it.
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
        default_region: the region under which national numbers are understood: ``"IR"`` (the
            default) reads the Iranian mobile forms ``09...``, ``9...``, ``989...`` and
            ``00989...`` with no extra package; another region needs the ``phone`` extra;
            ``None`` accepts international forms (``+...``, ``00...``) only.
        check_limits: load the account's limits (`load_limits`) before the first send and refuse
            over-long messages and over-size files client-side. Only what the SDK can know is
            checked: a message's own UTF-8 bytes against the limit (an account's advertisement is
            appended by the service and its text is not published), so nothing the service would
            take is ever refused.
        http_backend: ``"auto"`` or ``"httpx"`` (httpx's own transport, whatever is installed:
            respx and httpx event hooks see every request), or ``"aiohttp"`` (the ``aiohttp``
            extra's transport on asyncio, for throughput; respx does not see its requests; under
            trio httpx's). Ignored with *http_client* or *transport*.
        retry_policy: backoff and deadline of retries; its ``max_retries`` is replaced by
            *max_retries*.
        max_reply_bytes: the largest reply body read (8 MiB by default); a larger one raises
            `APIResponseError` (for a state-changing action, its effect is unknown).

    A client belongs to the event loop it is first used in: using it from another one (a second
    ``asyncio.run()``) raises `MioGramError`. Create one client per event loop.

    Raises:
        ValidationError: (a `MioGramError` and a `ValueError`) no secret was given and
            ``MIOGRAM_SECRET`` is not set, the secret is neither a str nor a callable or is not
            valid Unicode, *robot* is not an agent name, or an option is of the wrong type or out
            of range.
    """

    def __init__(
        self,
        secret: SecretSource | None = None,
        *,
        robot: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        concurrency: int = 1,
        rate_limit: float | None = None,
        rate_burst: float | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_secret_change: SecretCallback | None = None,
        default_region: str | None = "IR",
        check_limits: bool = False,
        http_backend: HttpBackend = "auto",
        retry_policy: RetryPolicy | None = None,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        send_gate: SendGate | str | None = None,
        gateway_drain: float | None = None,
        front_wait: float | None = None,
    ) -> None:
        # The keywords above are the fields of ClientOptions, which checks them all (and
        # tests/test_client.py keeps the two alike): the one list of the client's options.
        given = dict(locals())
        del given["self"]
        self._options = ClientOptions(**given)
        self._session = Session(self._options)
        self._normalize = phone_normalizer(self._options.default_region)
        self._payloads = Payloads(check_limits=self._options.check_limits, session=self._session)

    # -- lifecycle ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"MioGram(base_url={self._session.base_url!r}, robot={self._session.robot!r}, "
            f"secret='***', closed={self._session.closed!r})"
        )

    @property
    def base_url(self) -> str:
        """The endpoint every request is POSTed to."""
        return self._session.base_url

    @property
    def robot(self) -> str | None:
        """The default agent, or ``None`` for the account's first agent."""
        return self._session.robot

    @property
    def limits(self) -> Limits | None:
        """The limits loaded by `load_limits`, or ``None`` before."""
        return self._payloads.limits

    @property
    def is_closed(self) -> bool:
        """Whether `aclose` was called."""
        return self._session.closed

    def with_options(
        self,
        *,
        robot: str | Literal[Unset.UNSET] | None = UNSET,
        timeout: float | httpx.Timeout | Literal[Unset.UNSET] = UNSET,
        max_retries: int | Literal[Unset.UNSET] = UNSET,
    ) -> MioGram:
        """
        A light view of this client with other defaults, sharing its connection pool.

        The view shares the pool, the secret (a secret change through either is seen by both),
        the rate limit and the loaded limits. Closing the view (``aclose``, ``async with``)
        closes nothing of this client's; closing this client closes the view's pool too.

        Args:
            robot: the view's default agent (``None``: the account's first).
            timeout: seconds, or an `httpx.Timeout`, for every request of the view.
            max_retries: retries after the first attempt.

        Raises:
            ValidationError: an option is of the wrong type or out of range.
        """
        given: dict[str, Any] = {"robot": robot, "timeout": timeout, "max_retries": max_retries}
        options = attrs.evolve(
            self._options, **{name: value for name, value in given.items() if value is not UNSET}
        )
        view = copy.copy(self)
        view._options = options
        view._session = self._session.derive(options)
        return view

    async def __aenter__(self) -> Self:
        self._session.http_client()
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
        await self._session.aclose()

    async def load_limits(self) -> Limits:
        """
        Fetch the account's limits and advertising state (``APIGetLimits``, ``APIGetAds``).

        From then on, message length and file sizes are checked before sending, and an over-limit
        send raises `ValidationError`. A message is checked by its own UTF-8 bytes only: when the
        account has ads, the service appends an advertisement whose text the SDK cannot see, so
        the service stays the judge of the whole (it may still answer 304).
        """
        return await self._payloads.load(self._session)

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
        the read-only actions of `miogram_async._http.retry.READ_ONLY_FUNCS` are retried after the
        request may have been sent.

        This is the raw escape hatch: the result is never decoded into a typed model (the
        methods do that), so it stays ``object``. An action missing from the table counts as
        changing state: its errors carry ``sent`` as the one rule says (`proves_refusal`).

        Raises:
            ValidationError: *func* is empty or has spaces or control characters, an element
                name is unknown, or a value is not a non-empty str of valid Unicode.
        """
        check_call(func, elements)
        row = actions.row_for(func)
        if row.secret_bearing and all(value is None for value in elements.values()):
            # The old secret dies with this request: the client must follow, as it does there.
            return await self._run(row, robot=robot, timeout=timeout)
        return await self._session.request(
            row, as_json, elements, robot=robot, read_timeout=timeout
        )

    # -- settling unknown numbers from evidence ---------------------------------------------

    async def settle_unknown(
        self,
        result: MassResult | MassOutcomes,
        sent: str | Expected | Mapping[str, Expected] | None = None,
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        lookback: float = DEFAULT_LOOKBACK,
    ) -> SettleResult:
        """
        Settle the ``UNKNOWN`` numbers of a Mass *result* from the agents' histories (E50).

        For each one it reads the history of the agent that sent its chunk (``GetHistory``): one
        request at a time through the send gate, once the gateway can no longer be at work on
        the chunk. A message that is outgoing, carries exactly what was sent and is dated between
        the chunk's arrival and the end of its drain on the service's clock (each end widened by
        *tolerance* seconds) makes the number ``DELIVERED``. A history read successfully that
        holds no outgoing message at all since the send (and for *lookback* seconds before it)
        makes it ``ABSENT``. An empty answer (``false``: the service gives it for an empty
        history and for a number it cannot look up alike) counts only when a read on the same
        agent right after it returned messages. Anything else stays ``UNKNOWN``, with its reason:
        no permission (309), a failed read, two matching messages, a message that may be ours
        outside the window.

        The service's clock is taken from the ``Date`` headers of its replies. Texts are compared
        with surrounding whitespace aside; when the account appends an ad (``APIGetAds``, asked
        once) a text followed by a newline and anything matches too. Files are matched by their
        kind only (the history shows no bytes): any photo counts for a photo.

        ``ABSENT`` is "not delivered, as far as the service shows", not a refusal: re-sending
        those numbers is the caller's choice (``send_message_mass(settled.absent, ...)``). The
        risk left is a history read that answered wrongly (a number the agent could not look up
        at that moment reads as an empty history): such a number may get the message twice.

        Args:
            result: what a ``*_mass`` call returned, or a `MassSendError`'s ``.result``: it
                keeps, for each chunk left with unknown numbers, its agent and times.
            sent: what was sent: the message (a ``str``), or a mapping of each number to its
                `Expected` (a message per number); for a file send ``None`` (the kind of file
                the Mass action sent) or an `Expected` such as ``Expected.media_of("photo")``.
            tolerance: seconds the window is widened on both ends (the messenger's clock and
                the service's may differ).
            lookback: seconds before a send during which any outgoing message to the number
                keeps it from being settled ``ABSENT``.

        Returns:
            A `SettleResult`: each number's `Settlement` (outcome, agent, reason, and for a
            delivery the message's id and date); ``settled.applied_to(result)`` is *result*
            with them. A WhatsApp send leaves no history the service can read: its numbers stay
            ``UNKNOWN``.

        Raises:
            ValidationError: a text send without *sent*, a number missing from a mapping, or
                *result* is no `MassResult`.
        """
        if not isinstance(result, MassResult):
            raise ValidationError(
                f"expected the MassResult of a Mass send, got {type(result).__name__}"
            )
        return await settle_mass_result(self, result, sent, tolerance=tolerance, lookback=lookback)

    @property
    def service_clock(self) -> tuple[float, float] | None:
        """
        How many seconds the service's clock runs ahead of this machine's, as bounds (low,
        high) proven by the ``Date`` headers of its replies so far; ``None`` before any.
        """
        clock = self._session.clock
        if clock.low is None or clock.high is None:
            return None
        return clock.low, clock.high

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
        return await self._run(
            actions.SET_STATUS_ONLINE, misc=check_online(online), robot=robot, timeout=timeout
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
        return await self._run(
            actions.SEND_TYPING, phone=self._phone(phone), robot=robot, timeout=timeout
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

        With neither *robot*, *robots* nor a client ``robot``, the chunks rotate over all the
        account's agents (asked once per client with `api_get_robot`), one request at a time,
        as the service's own bulk sender does (E48).

        Args:
            phones: any iterable or async iterable of numbers; streamed, normalised, de-duplicated.
            message: the text, validated once.
            robot: the agent for every chunk unless *robots* is given.
            timeout: seconds to wait for each chunk's reply; default 60 s + 3 s per number.
            fanout: ``chunk_size`` (40, at most 100; E32, E48, E49), ``concurrency`` (the
                client's, 1: one chunk at a time, E33), ``robots`` (a list of agents, checked
                against `api_get_robot`, one agent name, or ``"all"``), ``per_robot`` (requests
                per named agent at once, 1), ``on_progress``, ``hooks``, ``front_wait`` (the
                front's wait; the client's by default). ``chunk_size`` is an upper bound: each
                chunk is sized from the gateway's pace measured on its agent to finish well
                inside the front's wait, the first one small while the pace is unknown (E49).
                The other ``*_mass`` methods take the same options.

        Returns:
            Every number's `Outcome`.

        Raises:
            ValidationError: *message* is malformed; nothing was sent.
            MassSendError: an error doomed every later chunk; ``.result`` holds every outcome.
        """
        return await self._run_mass(
            actions.SEND_MESSAGE_MASS, phones, message, None, robot, timeout, fanout
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
        text = await self._payloads.message(message)
        return await self._run(
            actions.SEND_MESSAGE, phone=number, message=text, robot=robot, timeout=timeout
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
        text = await self._payloads.message(message)
        return await self._run(
            actions.SEND_MESSAGE_WHATSAPP, phone=number, message=text, robot=robot, timeout=timeout
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
        return await self._run_mass(
            actions.SEND_MESSAGE_WHATSAPP_MASS, phones, message, None, robot, timeout, fanout
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
        return await self._run(
            actions.CREATE_GROUP_CHAT,
            phone=",".join(members),
            misc=group,
            robot=robot,
            timeout=timeout,
        )

    async def chat_info(
        self, chat: str, *, robot: str | None = None, timeout: float | None = None
    ) -> Chat:
        """
        Information about a chat or group (action ``ChatInfo``).

        Returns:
            The chat: its id, title and members, the object as it came in ``raw``.

        Raises:
            ValidationError: *chat* is empty or has a comma; nothing was sent.
            NoDataError: the service answered ``false``: the agent is in no chat of that name.
            PermissionDeniedError: the account lacks canGet (309).
        """
        return await self._run(
            actions.CHAT_INFO,
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
        return await self._run(
            actions.RENAME_CHAT, misc=f"{old},{new}", robot=robot, timeout=timeout
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
        return await self._run(
            actions.CHAT_ADD_USER,
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
        return await self._run(
            actions.CHAT_DELETE_USER, phone=number, misc=name, robot=robot, timeout=timeout
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
        return await self._run(
            actions.SET_PROFILE_NAME, misc=f"{first},{last}", robot=robot, timeout=timeout
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
        return await self._run(
            actions.BLOCK_USER, phone=self._phone(phone), robot=robot, timeout=timeout
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
        return await self._run(
            actions.UNBLOCK_USER, phone=self._phone(phone), robot=robot, timeout=timeout
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
        return await self._run(
            actions.MARK_READ, phone=self._phone(phone), robot=robot, timeout=timeout
        )

    async def get_user_info(
        self, phone: str, *, robot: str | None = None, timeout: float | None = None
    ) -> User:
        """
        Information about the user *phone* (action ``GetUserInfo``).

        Returns:
            The user: names, phone, username, the object as it came in ``raw``.

        Raises:
            ValidationError: *phone* is malformed; nothing was sent.
            NumberNotFoundError: the service answered ``false`` or ``Number Not Exist or Wrong``
                (307, E39): no Telegram user has this number.
            PermissionDeniedError: the account lacks canGet (309).
        """
        return await self._run(
            actions.GET_USER_INFO, phone=self._phone(phone), robot=robot, timeout=timeout
        )

    async def get_dialog_list(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> list[User | Chat]:
        """
        The agent's dialogs (action ``GetDialogList``).

        Returns:
            The users and chats the agent talks with, in the service's order; ``[]`` when it has
            none (the server code answers ``false`` then, E46).

        Raises:
            PermissionDeniedError: the account lacks canGet (309).
        """
        return await self._run(actions.GET_DIALOG_LIST, robot=robot, timeout=timeout)

    async def get_history(
        self,
        phone: str,
        *,
        offset: int = 0,
        limit: int = 100,
        limit_first: bool = True,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> list[Message]:
        """
        Messages exchanged with *phone* (action ``GetHistory``).

        ``Misc`` is sent as ``limit,offset``: that is how the service's own code reads it
        (docs/service.md E34; the document's ``offset,limit`` with the defaults answers ``false``).
        Pass ``limit_first=False`` to send the document's order instead.

        Returns:
            The messages, in the service's order; ``[]`` when there are none (the server code
            answers ``false`` for an empty history, E46).

        Raises:
            ValidationError: *phone* is malformed, *offset* < 0 or *limit* < 1, or *limit_first*
                is not a bool; nothing was sent.
            NumberNotFoundError: ``Number Not Exist or Wrong`` (307, E39).
            PermissionDeniedError: the account lacks canGet (309).
        """
        number = self._phone(phone)
        window = check_history(offset, limit)
        if limit_first is True:
            window = ",".join(reversed(window.split(",")))
        elif limit_first is not False:
            raise ValidationError(f"expected limit_first as a bool, got {limit_first!r}")
        return await self._run(
            actions.GET_HISTORY, phone=number, misc=window, robot=robot, timeout=timeout
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
        return await self._run(
            actions.SET_USERNAME, misc=check_username(username), robot=robot, timeout=timeout
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
        media = await self._payloads.media(actions.SET_PROFILE_PHOTO, data, file_format)
        return await self._run(
            actions.SET_PROFILE_PHOTO,
            misc=media.file_format if known else None,
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
        return await self._run_media(actions.SEND_PHOTO, phone, data, file_format, robot, timeout)

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
        return await self._run_media(actions.SEND_VIDEO, phone, data, file_format, robot, timeout)

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
        return await self._run_media(actions.SEND_AUDIO, phone, data, file_format, robot, timeout)

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
        return await self._run_media(actions.SEND_TEXT, phone, data, file_format, robot, timeout)

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
        return await self._run_media(actions.SEND_FILE, phone, data, file_format, robot, timeout)

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
        return await self._run_media(
            actions.SEND_DOCUMENT, phone, data, file_format, robot, timeout
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
        return await self._run_mass(
            actions.SEND_PHOTO_MASS, phones, data, file_format, robot, timeout, fanout
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
        return await self._run_mass(
            actions.SEND_VIDEO_MASS, phones, data, file_format, robot, timeout, fanout
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
        return await self._run_mass(
            actions.SEND_FILE_MASS, phones, data, file_format, robot, timeout, fanout
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

        On the service's own code this action cannot work: the gateway hands the coordinates to
        telegram-cli as a document and always answers ``false`` (docs/service.md E36), so expect
        ``False`` (not delivered) unless the live service has fixed it.

        Raises:
            ValidationError: *phone* is malformed or a coordinate is out of range; nothing was sent.
            CreditError: the account cannot pay for it (305).
        """
        number = self._phone(phone)
        where = check_location(latitude, longitude)
        return await self._run(
            actions.SEND_LOCATION, phone=number, misc=where, robot=robot, timeout=timeout
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

        ``Misc`` is ``name,contact_phone`` as documented. On the service's own code the card does
        not carry *contact_phone*: it carries the recipient's own number, with *name* as the first
        name and *contact_phone* as the last name (docs/service.md E35). This action cannot send
        someone else's number there.

        Raises:
            ValidationError: a number is malformed or *name* is empty or has a comma.
            CreditError: the account cannot pay for it (305).
        """
        number = self._phone(phone)
        contact_name = check_misc_piece(name, "a contact name")
        contact_number = self._phone(contact_phone)
        return await self._run(
            actions.SEND_CONTACT,
            phone=number,
            misc=f"{contact_name},{contact_number}",
            robot=robot,
            timeout=timeout,
        )

    async def api_get_limits(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> Limits:
        """The account's limits and permission levels (action ``APIGetLimits``)."""
        return await self._run(actions.API_GET_LIMITS, robot=robot, timeout=timeout)

    async def api_get_credits(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> Credits:
        """The account's remaining credit per kind of send (action ``APIGetCredits``)."""
        return await self._run(actions.API_GET_CREDITS, robot=robot, timeout=timeout)

    async def api_get_ip(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> list[str]:
        """
        The IPs allowed to use the account; ``["*"]`` means any (action ``APIGetIP``).

        On the service's own code this returns the caller's own address, not the stored list
        (docs/service.md E37).
        """
        return await self._run(actions.API_GET_IP, robot=robot, timeout=timeout)

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
            The list the service stored: on the service's own code, the given list with the
            server's own address appended (docs/service.md E37).

        Raises:
            ValidationError: an address is malformed; nothing was sent.
            NoInputError: the service got no list (330).
        """
        return await self._run(
            actions.API_SET_IP, misc=check_ips(ips), robot=robot, timeout=timeout
        )

    async def api_change_secret(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> str:
        """
        Replace the account's secret (action ``APIChangeSecret``; never retried).

        On success the old secret stops working at once: this client switches to the new one
        (even when it was built with a callable) and awaits ``on_secret_change(new)`` before
        returning. No cancellation (anyio's, trio's, or asyncio's own: ``Task.cancel()``,
        ``asyncio.wait_for``) cuts the exchange off: the client finishes it (bounded by the
        client's timeouts), switches to the new secret, runs the callback, and only then
        re-raises the cancellation. A reply lost would leave the account with a secret nobody
        knows.

        If the process dies between the service's switch and the callback (a kill, a power cut),
        the new secret is lost to the program but not to the account: read it from the account
        panel on MioGram.net (the user panel shows the current secret) and give it to the
        client (``MIOGRAM_SECRET``). Until then every request fails with `InvalidSecretError`.

        Returns:
            The new secret.

        Raises:
            APIResponseError: the reply could not be read; the secret may have changed anyway
                (check the user panel).
            APIConnectionError: the request failed; unless ``sent`` is ``False`` the secret may
                have changed anyway.
        """
        return await self._run(actions.API_CHANGE_SECRET, robot=robot, timeout=timeout)

    async def api_get_robot(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> list[str]:
        """The names of the account's active agents (action ``APIGetRobot``)."""
        return await self._run(actions.API_GET_ROBOT, robot=robot, timeout=timeout)

    async def api_get_active(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> bool:
        """Whether the account is active (action ``APIGetActive``)."""
        return await self._run(actions.API_GET_ACTIVE, robot=robot, timeout=timeout)

    async def api_get_username(
        self, *, robot: str | None = None, timeout: float | None = None
    ) -> str:
        """The account's username (action ``APIGetUsername``)."""
        return await self._run(actions.API_GET_USERNAME, robot=robot, timeout=timeout)

    async def api_is_super(self, *, robot: str | None = None, timeout: float | None = None) -> bool:
        """Whether the account has the control permission, isSuper (action ``APIisSuper``)."""
        return await self._run(actions.API_IS_SUPER, robot=robot, timeout=timeout)

    async def api_can_get(self, *, robot: str | None = None, timeout: float | None = None) -> bool:
        """Whether the account has the data-retrieval permission, canGet (action ``APIcanGet``)."""
        return await self._run(actions.API_CAN_GET, robot=robot, timeout=timeout)

    async def api_get_ads(self, *, robot: str | None = None, timeout: float | None = None) -> bool:
        """Whether the service appends an advertisement to messages (action ``APIGetAds``)."""
        return await self._run(actions.API_GET_ADS, robot=robot, timeout=timeout)

    async def api_get_report(
        self,
        count: int | None = None,
        *,
        robot: str | None = None,
        timeout: float | None = None,
    ) -> list[ReportRecord]:
        """
        The latest message-sending reports (action ``APIGetReport``).

        Reports cannot confirm every send: the service's own code reads the first 1000 stored
        records (oldest first), so once an account has 1000 of them newer sends are never
        reported, and a send whose text contains ``'`` is delivered and charged but never
        logged (docs/service.md E44). A missing record does not prove a message was not sent.

        Args:
            count: how many records, 1 to 999; ``None`` sends no ``Misc`` (the service then gives
                up to 1000).

        Raises:
            ValidationError: *count* is out of range; nothing was sent.
            NoDataError: there are no records (111).
        """
        misc = None if count is None else check_report_count(count)
        return await self._run(actions.API_GET_REPORT, misc=misc, robot=robot, timeout=timeout)
