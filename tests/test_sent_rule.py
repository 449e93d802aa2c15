"""
The one rule for "may have been sent" (issue 10, item 1), over every state-changing action.

Every state-changing row of the action table meets every kind of reply: an error proves a refusal
(single sends raise with ``sent=False``, Mass numbers are ``FAILED``) only for the front's checks
and the gateway's refusals before delivery; anything else (999, a 5xx, an unreadable body, a
timeout, a dropped connection) leaves ``sent=None`` and ``UNKNOWN``, and is never retried.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import NamedTuple

import httpx
import pytest
from chunk_layout import first_chunk
from test_actions import ROWS, Row

from miogram_async import (
    APIError,
    FileTooLargeError,
    GatewayBlockedError,
    MassResult,
    MassSendError,
    MessageTooLongError,
    MioGram,
    MioGramError,
    NoCreditError,
    Outcome,
    SessionBlockedError,
)
from miogram_async._base.actions import BY_FUNC, Retry
from miogram_async._base.outcomes import REFUSAL_CODES, error_for_code, proves_refusal
from miogram_async._http.retry import RetryPolicy
from miogram_async.cli._context import translate_error
from miogram_async.cli._exit import ExitCode

URL = "https://miogram.test/dojob.php"

Handler = Callable[[httpx.Request], httpx.Response]


class Kind(NamedTuple):
    """One kind of reply and whether it proves the request was refused before sending."""

    name: str
    handler: Handler
    refusal: bool


def _json(payload: object, status: int = 200, tail: bytes = b"") -> Handler:
    body = json.dumps(payload).encode() + tail
    return lambda request: httpx.Response(status, content=body)


def _gateway(code: int, text: str) -> Handler:
    return _json({"Message": f"Error {code} : {text}", "Status": "error"})


def _raw(body: bytes, status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, content=body)


def _raise(error: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    return handler


FRONT_TEXTS = {
    800: "Empty Secret",
    801: "Invalid Secret",
    802: "Invalid IP Address",
    812: "Bad Request",
    815: "Session Blocked",
    826: "Account Not Activated",
    827: "No Robot Has Been Set Yet",
    302: "Bad Request of Functions",
    303: "File Size is Too High",
    304: "Message Length is Too High",
    305: "No Credit",
    306: "Low Credit",
    309: "Permission Denied",
    330: "No Input",
}
GATEWAY_TEXTS = {
    813: "Invalid Token",
    814: "Invalid IP Address",
    400: "Not Valid File",
    305: "No Credit",
    306: "Low Credit",
    309: "Permission Denied",
}
HTML = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

KINDS: list[Kind] = [
    *(
        Kind(f"front {code}", _json({"Message": text, "Status": "error", "Code": str(code)}), True)
        for code, text in FRONT_TEXTS.items()
    ),
    *(
        Kind(
            f"gateway {code}", _json({"Message": f"Error {code} : {text}", "Status": "error"}), True
        )
        for code, text in GATEWAY_TEXTS.items()
    ),
    Kind(
        "gateway size 304",
        _json({"Message": "Error 304 : Photo Size is High", "Status": "error"}),
        True,
    ),
    Kind(
        "gateway 302 with its exit status after the JSON",
        _json({"Message": "Error 302 : Bad Request of Func ", "Status": "error"}, tail=b"302"),
        True,
    ),
    Kind(
        "gateway 815",
        _json({"Message": "Error 815 : Session Blocked", "Status": "error"}),
        True,
    ),
    Kind(
        "999",
        _json({"Message": "No Response From Server", "Status": "error", "Code": "999"}),
        False,
    ),
    Kind("gateway 301", _json({"Message": "Error 301 : No UserID", "Status": "error"}), False),
    Kind("gateway 101", _json({"Message": "Error 101 : WhatsApp Not Supported"}), False),
    Kind("unknown code", _json({"Message": "Odd", "Status": "error", "Code": "777"}), False),
    Kind("error without a code", _json({"Message": "Something broke", "Status": "error"}), False),
    Kind("HTTP 500 empty", _raw(b"", 500), False),
    Kind("HTTP 502 HTML", _raw(HTML, 502), False),
    Kind("HTTP 503 JSON 999", _json({"Message": "Error 999 : x", "Status": "error"}, 503), False),
    Kind("empty body", _raw(b""), False),
    Kind("HTML body", _raw(HTML), False),
    Kind("truncated JSON", _raw(b'{"Result":{"+98910000000'), False),
    Kind("read timeout", _raise(httpx.ReadTimeout), False),
    Kind("dropped connection after send", _raise(httpx.RemoteProtocolError), False),
    Kind("read error", _raise(httpx.ReadError), False),
    Kind("connect error", _raise(httpx.ConnectError), True),
]

STATE_CHANGING: list[Row] = [row for row in ROWS if BY_FUNC[row.func].changes_state]


class Counter:
    """
    A MockTransport handler that counts the requests it answers.

    A Mass send first asks for the account's agents (``APIGetRobot``, a read): that one is
    answered with the agents the rows name and not counted.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if b"Func=APIGetRobot" in request.content:
            return httpx.Response(200, json={"Result": "Agent1,Stack1"})
        self.calls += 1
        return self.handler(request)


async def _outcome(row: Row, counter: Counter) -> MioGramError | MassResult:
    """Call *row*'s method against *counter*; the error it raised or the Mass result."""
    async with MioGram(
        "s",
        base_url=URL,
        transport=httpx.MockTransport(counter),
        max_retries=2,
        retry_policy=RetryPolicy(base_delay=0.0, max_delay=0.0),
        # An instant service: the drain after each unknown outcome a share of 0.06 s (E49).
        front_wait=0.06,
    ) as client:
        method: Callable[..., Awaitable[object]] = getattr(client, row.method)
        try:
            result = await method(*row.args, **row.kwargs)
        except MassSendError as exc:
            stopped = exc.result
        except MioGramError as exc:
            return exc
        else:
            assert isinstance(result, MassResult), f"{row.func} returned {result!r}"
            return result
    assert isinstance(stopped, MassResult)
    return stopped


def test_the_table_covers_every_state_changing_action() -> None:
    """Every row that changes state is in the table below, the three Mass kinds included."""
    assert {row.func for row in STATE_CHANGING} == {
        func for func, action in BY_FUNC.items() if action.changes_state
    }
    assert len(STATE_CHANGING) == 29


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
async def test_every_state_changing_action_follows_the_one_rule(kind: Kind) -> None:
    """Refusals give sent=False / FAILED; everything else sent None / UNKNOWN, sent once."""
    for row in STATE_CHANGING:
        counter = Counter(kind.handler)
        outcome = await _outcome(row, counter)
        action = BY_FUNC[row.func]
        if isinstance(outcome, MassResult):
            assert action.mass, row.func
            expected = Outcome.FAILED if kind.refusal else Outcome.UNKNOWN
            assert set(outcome.values()) == {expected}, (row.func, kind.name)
            error = next(iter(outcome.errors.values()))
        else:
            assert not action.mass, row.func
            error = outcome
            if kind.refusal:
                assert getattr(error, "sent", None) is False, (row.func, kind.name, error)
            else:
                assert getattr(error, "sent", "missing") in (None, True), (row.func, kind.name)
        assert proves_refusal(error) is kind.refusal, (row.func, kind.name, error)
        # Only a connection that never left is tried again, and never the secret change.
        retried = kind.name == "connect error" and action.retry is Retry.UNSENT_ONLY
        assert counter.calls == (3 if retried else 1), (row.func, kind.name)


def test_refusal_codes_are_exactly_the_brief() -> None:
    """The front's checks and the gateway's pre-delivery refusals, nothing else."""
    front = {800, 801, 802, 812, 815, 826, 827, 302, 303, 304, 305, 306, 309, 330}
    assert front | {813, 814, 400} == REFUSAL_CODES
    for code in (999, 301, 101, 307, 111, 777, None):
        assert not proves_refusal(APIError(code, "x", "SendMessage")), code


async def test_a_read_only_action_error_carries_sent_none() -> None:
    """For reads sent is irrelevant: a 305 on APIGetCredits has sent None."""
    counter = Counter(_json({"Message": "No Credit", "Status": "error", "Code": "305"}))
    async with MioGram("s", base_url=URL, transport=httpx.MockTransport(counter)) as client:
        with pytest.raises(NoCreditError) as caught:
            await client.api_get_credits()
    assert caught.value.sent is None


async def test_size_304_is_file_too_large_and_length_304_message_too_long() -> None:
    """The gateway's 'Photo Size is High' is FileTooLargeError; the front's 304 is not."""
    size = Counter(_json({"Message": "Error 304 : Video Size is High", "Status": "error"}))
    length = Counter(_json({"Message": "Message Length is Too High", "Status": "error"}))
    async with MioGram("s", base_url=URL, transport=httpx.MockTransport(size)) as client:
        with pytest.raises(FileTooLargeError) as too_large:
            await client.send_video("+989100000000", b"data")
    async with MioGram("s", base_url=URL, transport=httpx.MockTransport(length)) as client:
        with pytest.raises(MessageTooLongError) as too_long:
            await client.send_message("+989100000000", "hello")
    assert (too_large.value.code, too_large.value.sent) == (304, False)
    assert (too_long.value.code, too_long.value.sent) == (304, False)


async def test_gateway_815_is_service_wide_and_front_815_is_the_callers_ip() -> None:
    """Gateway-form 815 raises GatewayBlockedError saying so; the front's stays the caller's."""
    gateway = Counter(_json({"Message": "Error 815 : Session Blocked", "Status": "error"}))
    front = Counter(_json({"Message": "Session Blocked", "Status": "error", "Code": "815"}))
    async with MioGram("s", base_url=URL, transport=httpx.MockTransport(gateway)) as client:
        with pytest.raises(GatewayBlockedError) as blocked:
            await client.send_message("+989100000000", "hello")
    async with MioGram("s", base_url=URL, transport=httpx.MockTransport(front)) as client:
        with pytest.raises(SessionBlockedError) as caller:
            await client.send_message("+989100000000", "hello")
    assert "whole service" in str(blocked.value)
    assert "not your IP" in str(blocked.value)
    assert not isinstance(caller.value, GatewayBlockedError)
    assert "whole service" not in str(caller.value)


async def test_gateway_815_stops_a_mass_send() -> None:
    """A gateway-form 815 stops the fan-out: later chunks stay NOT_ATTEMPTED."""
    counter = Counter(_json({"Message": "Error 815 : Session Blocked", "Status": "error"}))
    numbers = [f"+98910{i:07d}" for i in range(250)]
    async with MioGram(
        "s", base_url=URL, transport=httpx.MockTransport(counter), concurrency=1
    ) as client:
        with pytest.raises(MassSendError) as caught:
            await client.send_message_mass(numbers, "hello", chunk_size=100)
    assert isinstance(caught.value.cause, GatewayBlockedError)
    assert counter.calls == 1
    # The first chunk is small (the pace unknown, E49): every later number stays unsent.
    assert caught.value.result.counts[Outcome.NOT_ATTEMPTED] == 250 - first_chunk(100)


def test_the_cli_never_calls_an_unproven_error_a_refusal() -> None:
    """A 999 after a send reads 'may have been sent'; a 305 'the service refused'; both exit 1."""
    unproven = translate_error(error_for_code(999, "No Response From Server", "SendMessage"))
    refused = translate_error(error_for_code(305, "No Credit", "SendMessage"))
    read = translate_error(error_for_code(999, "No Response From Server", "APIGetCredits"))
    assert "may have been sent" in unproven.message
    assert "refused" not in unproven.message
    assert refused.message.startswith("the service refused")
    assert "may have been sent" not in read.message
    assert unproven.exit_code == refused.exit_code == ExitCode.SERVICE_ERROR
