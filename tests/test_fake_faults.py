"""The fake service's seeded fault injection, in process and over loopback."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from miogram_async.testing import FakeMioGram, FaultKind, FaultRule, Faults

SECRET = "test-secret"
PHONE = "+989100000001"
SEND = {"Secret": SECRET, "Func": "SendMessage", "Phone": PHONE, "Message": "hi"}


@asynccontextmanager
async def client_for(
    fake: FakeMioGram, *, loopback: bool
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An httpx client and URL reaching *fake* in process or over loopback."""
    if loopback:
        async with fake.serve() as url, httpx.AsyncClient(timeout=0.3) as http:
            yield http, url
    else:
        async with httpx.AsyncClient(transport=fake.transport()) as http:
            yield http, "http://fake/dojob.php"


async def outcomes(faults: Faults, *, loopback: bool, count: int = 16) -> list[str]:
    """Send *count* SendMessage requests to a fresh fake and describe what came back."""
    fake = FakeMioGram(faults=faults)
    seen: list[str] = []
    async with client_for(fake, loopback=loopback) as (http, url):
        for _ in range(count):
            try:
                response = await http.post(url, data=SEND)
            except httpx.TransportError as exc:
                seen.append(type(exc).__name__)
                continue
            try:
                body = response.json()
            except json.JSONDecodeError:
                seen.append(f"{response.status_code} not json")
                continue
            seen.append(f"{response.status_code} {body.get('Code') or body.get('Status')}")
    return seen


KIND_SIGNS = [
    (FaultKind.HTTP_ERROR, "502 not json", "502 not json"),
    (FaultKind.DROP, "RemoteProtocolError", "RemoteProtocolError"),
    (FaultKind.CONNECT_ERROR, "ConnectError", "RemoteProtocolError"),
    (FaultKind.LOST_REPLY, "RemoteProtocolError", "RemoteProtocolError"),
    (FaultKind.TIMEOUT_AFTER, "ReadTimeout", "ReadTimeout"),
    (FaultKind.HTTP_ERROR_AFTER, "502 not json", "502 not json"),
    (FaultKind.TRUNCATED_JSON, "200 not json", "200 not json"),
    (FaultKind.NO_RESPONSE, "200 999", "200 999"),
]


@pytest.mark.parametrize("loopback", [False, True], ids=["in-process", "loopback"])
@pytest.mark.parametrize(("kind", "in_process_sign", "loopback_sign"), KIND_SIGNS)
async def test_each_fault_reproduces_from_its_seed(
    kind: FaultKind, in_process_sign: str, loopback_sign: str, loopback: bool
) -> None:
    """The same seed gives the same faults on the same requests; another seed differs."""
    sign = loopback_sign if loopback else in_process_sign
    count = 10 if loopback else 16
    faults = Faults.of(FaultRule(kind=kind, rate=0.5), seed=11)
    first = await outcomes(faults, loopback=loopback, count=count)
    again = await outcomes(faults, loopback=loopback, count=count)
    assert first == again
    assert set(first) == {sign, "200 success"}
    if not loopback:
        other = Faults.of(FaultRule(kind=kind, rate=0.5), seed=12)
        assert await outcomes(other, loopback=False, count=count) != first


async def test_latency_is_seeded_and_recorded() -> None:
    """Latency faults fall on the same requests for the same seed and are logged per request."""
    faults = Faults.of(FaultRule(kind=FaultKind.LATENCY, rate=0.5, delay=0.001), seed=3)
    delays = []
    for _ in range(2):
        fake = FakeMioGram(faults=faults)
        async with client_for(fake, loopback=True) as (http, url):
            for _ in range(10):
                assert (await http.post(url, data=SEND)).json()["Status"] == "success"
        delays.append([record.added_delay for record in fake.requests])
    assert delays[0] == delays[1]
    assert set(delays[0]) == {0.0, 0.001}


@pytest.mark.parametrize("loopback", [False, True], ids=["in-process", "loopback"])
@pytest.mark.parametrize("kind", [FaultKind.LOST_REPLY, FaultKind.TIMEOUT_AFTER])
async def test_lost_reply_still_delivers_and_charges(kind: FaultKind, loopback: bool) -> None:
    """A reply lost after processing leaves the delivery logged and the credit charged."""
    fake = FakeMioGram(faults=Faults.of(FaultRule(kind=kind, funcs="SendMessage")))
    before = fake.credits()["Message"]
    async with client_for(fake, loopback=loopback) as (http, url):
        with pytest.raises(httpx.TransportError):
            await http.post(url, data=SEND)
        credits = (await http.post(url, data={"Secret": SECRET, "Func": "APIGetCredits"})).json()
    assert [(d.number, d.func, d.text) for d in fake.deliveries] == [(PHONE, "SendMessage", "hi")]
    assert fake.credits()["Message"] == before - 1
    assert credits["Result"]["Message"] == str(before - 1)
    assert [r.fault for r in fake.requests] == [kind.value, None]


@pytest.mark.parametrize(
    ("kind", "sign"),
    [
        (FaultKind.DROP, "RemoteProtocolError"),
        (FaultKind.HTTP_ERROR, "502 not json"),
        (FaultKind.NO_RESPONSE, "200 999"),
    ],
)
async def test_faults_before_processing_change_nothing(kind: FaultKind, sign: str) -> None:
    """A fault before processing neither delivers nor charges."""
    faults = Faults.of(FaultRule(kind=kind))
    assert await outcomes(faults, loopback=True, count=1) == [sign]
    fake = FakeMioGram(faults=faults)
    async with client_for(fake, loopback=False) as (http, url):
        with contextlib.suppress(httpx.RemoteProtocolError):
            await http.post(url, data=SEND)
    assert fake.deliveries == []
    assert fake.credits()["Message"] == 1_000_000
    assert [record.fault for record in fake.requests] == [kind.value]


async def test_block_after_n_requests() -> None:
    """A BLOCK rule with after=3 lets three requests through, then 815 for every action."""
    fake = FakeMioGram(
        faults=Faults.of(FaultRule(kind=FaultKind.BLOCK, after=3, funcs="SendMessage"))
    )
    async with client_for(fake, loopback=True) as (http, url):
        codes = [(await http.post(url, data=SEND)).json().get("Code") for _ in range(5)]
        other = (await http.post(url, data={"Secret": SECRET, "Func": "APIGetActive"})).json()
    assert codes == [None, None, None, "815", "815"]
    assert other == {"Message": "Session Blocked", "Status": "error", "Code": "815"}


async def test_rules_are_per_func_and_limited() -> None:
    """A rule fires only for its Func and at most `times` times."""
    fake = FakeMioGram(
        faults=Faults.of(FaultRule(kind=FaultKind.NO_RESPONSE, funcs={"APIGetActive"}, times=2))
    )
    async with client_for(fake, loopback=False) as (http, url):
        active = [
            (await http.post(url, data={"Secret": SECRET, "Func": "APIGetActive"})).json()
            for _ in range(3)
        ]
        sent = (await http.post(url, data=SEND)).json()
    assert [reply.get("Code") for reply in active] == ["999", "999", None]
    assert sent == {"Result": True, "Status": "success"}


async def test_inject_and_reset_restart_the_random_streams() -> None:
    """After reset() the same requests meet the same faults again."""
    fake = FakeMioGram()
    fake.inject(FaultRule(kind=FaultKind.NO_RESPONSE, rate=0.5), seed=5)
    runs = []
    for _ in range(2):
        async with client_for(fake, loopback=False) as (http, url):
            runs.append([(await http.post(url, data=SEND)).json()["Status"] for _ in range(12)])
        fake.reset()
    assert runs[0] == runs[1]
    assert set(runs[0]) == {"error", "success"}
    assert fake.requests == []


async def test_gateway_timeout_after_processing_still_charges() -> None:
    """HTTP_ERROR_AFTER with status 504 answers an HTML page after the send happened."""
    rule = FaultRule(kind=FaultKind.HTTP_ERROR_AFTER, status=504, funcs="SendMessage")
    fake = FakeMioGram(faults=Faults.of(rule))
    async with client_for(fake, loopback=True) as (http, url):
        response = await http.post(url, data=SEND)
    assert response.status_code == 504
    assert "504 Gateway Time-out" in response.text
    assert [d.number for d in fake.deliveries] == [PHONE]
    assert fake.credits()["Message"] == 1_000_000 - 1
