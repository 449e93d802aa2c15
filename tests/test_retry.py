"""Retries: which actions repeat after which failures, backoff, max_retries and the deadline."""

from __future__ import annotations

import httpx
import pytest
import respx

from miogram_async import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    GatewayError,
    MioGram,
    MioGramError,
    NoCreditError,
    NoResponseError,
    RetryPolicy,
)
from miogram_async._http.retry import NEVER_RETRIED, READ_ONLY_FUNCS, may_retry
from miogram_async.testing import AccountConfig, FakeMioGram, FaultKind, FaultRule, Faults

URL = "https://miogram.test/dojob.php"
SECRET = "retry-secret-5z"
PHONE = "+989100000000"
FAST = RetryPolicy(base_delay=0.001, max_delay=0.002, deadline=30.0)


def client(max_retries: int = 2, policy: RetryPolicy = FAST) -> MioGram:
    """A client on respx's transport with near-zero backoff."""
    return MioGram(
        SECRET, base_url=URL, max_retries=max_retries, retry_policy=policy, http_backend="httpx"
    )


def error_reply(code: int, message: str) -> httpx.Response:
    """A service error envelope."""
    return httpx.Response(200, json={"Message": message, "Status": "error", "Code": str(code)})


def test_read_only_set_is_the_documented_one() -> None:
    """The read-only set holds the 14 actions the public contract lets retry after sending."""
    assert len(READ_ONLY_FUNCS) == 14
    assert "APIGetReport" in READ_ONLY_FUNCS
    assert "SendMessage" not in READ_ONLY_FUNCS
    assert "APISetIP" not in READ_ONLY_FUNCS
    assert set(NEVER_RETRIED) == {"APIChangeSecret"}


@pytest.mark.parametrize(
    ("func", "error", "expected"),
    [
        ("SendMessage", APIConnectionError("x", False), True),
        ("SendMessage", APITimeoutError("x", False), True),
        ("SendMessage", APITimeoutError("x", True), False),
        ("SendMessage", APIConnectionError("x", None), False),
        ("SendMessage", NoResponseError(999, "No Response From Server", "SendMessage"), False),
        ("APISetIP", APIConnectionError("x", None), False),
        ("GetHistory", APITimeoutError("x", True), True),
        ("GetHistory", APIConnectionError("x", None), True),
        ("APIGetLimits", NoResponseError(999, "No Response From Server", "APIGetLimits"), True),
        ("APIGetLimits", GatewayError(813, "Invalid Token", "APIGetLimits"), False),
        ("APIGetCredits", NoCreditError(305, "No Credit", "APIGetCredits"), False),
        ("APIChangeSecret", APIConnectionError("x", False), False),
        ("SendMessageSmart", APIConnectionError("x", False), True),
        ("SendMessageSmart", APITimeoutError("x", True), False),
    ],
)
def test_may_retry_follows_the_rules(func: str, error: APIConnectionError, expected: bool) -> None:
    """Sends retry only unsent requests; reads retry transport errors and 999; never the secret."""
    assert may_retry(func, error) is expected


def test_backoff_is_full_jitter_under_a_doubling_cap() -> None:
    """The n-th retry waits uniformly in [0, min(max_delay, base * 2**(n-1))]."""
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    caps = [policy.backoff(retry, lambda low, high: high) for retry in (1, 2, 3, 4, 5)]
    assert caps == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.backoff(3, lambda low, high: low) == 0.0


def test_backoff_of_a_late_retry_stays_at_the_cap() -> None:
    """Retry 2000 of a long-lived policy waits max_delay, not OverflowError from 2**1999."""
    policy = RetryPolicy(max_retries=5000, base_delay=0.5, max_delay=3.0, deadline=None)
    assert policy.backoff(2000, lambda low, high: high) == 3.0


def test_should_retry_respects_max_retries_and_deadline() -> None:
    """No retry past max_retries, nor one whose wait would end after the deadline."""
    policy = RetryPolicy(max_retries=2, deadline=10.0)
    error = APIConnectionError("x", False)
    assert policy.should_retry("SendMessage", error, 1, elapsed=1.0, delay=1.0)
    assert policy.should_retry("SendMessage", error, 2, elapsed=1.0, delay=1.0)
    assert not policy.should_retry("SendMessage", error, 3, elapsed=1.0, delay=1.0)
    assert not policy.should_retry("SendMessage", error, 1, elapsed=9.5, delay=1.0)
    assert RetryPolicy(deadline=None).should_retry("X", error, 1, elapsed=1e9, delay=1.0)


async def test_send_timing_out_after_writing_is_not_retried() -> None:
    """A send whose reply times out is sent once and raises APITimeoutError with sent=True."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL, data__contains={"Func": "SendMessage"}).mock(
            side_effect=httpx.ReadTimeout("no reply")
        )
        async with client() as miogram:
            with pytest.raises(APITimeoutError) as caught:
                await miogram.send_message(PHONE, "hello")
    assert route.call_count == 1
    assert caught.value.sent is True


async def test_send_that_could_not_connect_is_retried() -> None:
    """A connect failure proves nothing was sent, so a send is retried and succeeds."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL, data__contains={"Func": "SendMessage"}).mock(
            side_effect=[
                httpx.ConnectError("refused"),
                httpx.ConnectTimeout("slow"),
                httpx.Response(200, json={"Result": True, "Status": "success"}),
            ]
        )
        async with client() as miogram:
            assert await miogram.send_message(PHONE, "hello") is True
    assert route.call_count == 3


async def test_send_pool_timeout_is_retried() -> None:
    """Waiting too long for a free connection sends nothing, so it is retried."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL, data__contains={"Func": "SendPhoto"}).mock(
            side_effect=[
                httpx.PoolTimeout("busy"),
                httpx.Response(200, json={"Result": True, "Status": "success"}),
            ]
        )
        async with client() as miogram:
            assert await miogram.send_photo(PHONE, b"img") is True
    assert route.call_count == 2


async def test_send_is_not_retried_on_999() -> None:
    """999 on a send may follow a delivery: it is raised, not repeated."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL, data__contains={"Func": "SendMessage"}).mock(
            return_value=error_reply(999, "No Response From Server")
        )
        async with client() as miogram:
            with pytest.raises(NoResponseError):
                await miogram.send_message(PHONE, "hello")
    assert route.call_count == 1


async def test_read_only_action_is_retried_on_999_and_read_timeout() -> None:
    """A read retries after 999 and after a reply timeout, then returns the result."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL, data__contains={"Func": "APIGetUsername"}).mock(
            side_effect=[
                error_reply(999, "No Response From Server"),
                httpx.ReadTimeout("slow"),
                httpx.Response(200, json={"Result": "ali"}),
            ]
        )
        async with client() as miogram:
            assert await miogram.api_get_username() == "ali"
    assert route.call_count == 3


async def test_read_only_action_gives_up_after_max_retries() -> None:
    """After max_retries retries the last error is raised: 1 + max_retries requests in all."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL, data__contains={"Func": "GetDialogList"}).mock(
            return_value=error_reply(999, "No Response From Server")
        )
        async with client(max_retries=3) as miogram:
            with pytest.raises(NoResponseError):
                await miogram.get_dialog_list()
    assert route.call_count == 4


async def test_max_retries_zero_disables_retries() -> None:
    """max_retries=0 makes exactly one attempt even where a retry would be safe."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL, data__contains={"Func": "APIGetAds"}).mock(
            side_effect=httpx.ConnectError("refused")
        )
        async with client(max_retries=0) as miogram:
            with pytest.raises(APIConnectionError) as caught:
                await miogram.api_get_ads()
    assert route.call_count == 1
    assert caught.value.sent is False


async def test_deadline_stops_retries() -> None:
    """No retry starts once the deadline is reached, whatever max_retries allows."""
    policy = RetryPolicy(base_delay=0.0, max_delay=0.0, deadline=0.0)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL, data__contains={"Func": "APIGetIP"}).mock(
            side_effect=httpx.ReadTimeout("slow")
        )
        async with client(max_retries=5, policy=policy) as miogram:
            with pytest.raises(APITimeoutError):
                await miogram.api_get_ip()
    assert route.call_count == 1


async def test_change_secret_is_never_retried() -> None:
    """APIChangeSecret is sent once even when the connection could not be made."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL, data__contains={"Func": "APIChangeSecret"}).mock(
            side_effect=httpx.ConnectError("refused")
        )
        async with client(max_retries=5) as miogram:
            with pytest.raises(APIConnectionError) as caught:
                await miogram.api_change_secret()
    assert route.call_count == 1
    assert caught.value.sent is False


async def test_unknown_func_through_call_is_not_retried_after_sending() -> None:
    """call() with an undocumented action treats it as state-changing."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL, data__contains={"Func": "SendMessageSmart"}).mock(
            side_effect=httpx.ReadTimeout("slow")
        )
        async with client() as miogram:
            with pytest.raises(APITimeoutError):
                await miogram.call("SendMessageSmart", phone=PHONE, message="hi")
    assert route.call_count == 1


async def test_read_only_action_through_call_is_retried() -> None:
    """call() with a read-only action gets its retries."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL, data__contains={"Func": "APIGetRobot"}).mock(
            side_effect=[
                httpx.RemoteProtocolError("cut"),
                httpx.Response(200, json={"Result": "A"}),
            ]
        )
        async with client() as miogram:
            assert await miogram.call("APIGetRobot") == "A"
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("kind", "error_class", "sent", "deliveries", "requests"),
    [
        (FaultKind.CONNECT_ERROR, None, None, 1, 2),
        (FaultKind.DROP, APIConnectionError, None, 0, 1),
        (FaultKind.LOST_REPLY, APIConnectionError, None, 1, 1),
        (FaultKind.TIMEOUT_AFTER, APITimeoutError, True, 1, 1),
        (FaultKind.NO_RESPONSE, NoResponseError, None, 0, 1),
        (FaultKind.TRUNCATED_JSON, APIResponseError, None, 1, 1),
    ],
)
async def test_a_send_is_never_delivered_twice(
    kind: FaultKind,
    error_class: type[MioGramError] | None,
    sent: bool | None,
    deliveries: int,
    requests: int,
) -> None:
    """Against the fake with one injected fault, a send is retried only when nothing happened."""
    fake = FakeMioGram(
        AccountConfig(secret=SECRET),
        faults=Faults.of(FaultRule(kind=kind, funcs="SendMessage", times=1)),
    )
    async with MioGram(SECRET, transport=fake.transport(), retry_policy=FAST) as miogram:
        if error_class is None:
            assert await miogram.send_message(PHONE, "once") is True
        else:
            with pytest.raises(error_class) as caught:
                await miogram.send_message(PHONE, "once")
            if isinstance(caught.value, APIConnectionError):
                assert caught.value.sent is sent
    assert len(fake.deliveries) == deliveries
    assert len(fake.requests) == requests


@pytest.mark.parametrize(
    "kind",
    [
        FaultKind.CONNECT_ERROR,
        FaultKind.DROP,
        FaultKind.LOST_REPLY,
        FaultKind.TIMEOUT_AFTER,
        FaultKind.NO_RESPONSE,
    ],
)
async def test_a_read_recovers_from_one_fault(kind: FaultKind) -> None:
    """A read-only action retries through any one transport fault or 999."""
    fake = FakeMioGram(
        AccountConfig(secret=SECRET, username="reader"),
        faults=Faults.of(FaultRule(kind=kind, funcs="APIGetUsername", times=1)),
    )
    async with MioGram(SECRET, transport=fake.transport(), retry_policy=FAST) as miogram:
        assert await miogram.api_get_username() == "reader"
    assert len(fake.requests) == 2
