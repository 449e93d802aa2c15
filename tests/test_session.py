"""The one request path: every action through Session._exchange and AsyncClient.send; options."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from miogram_async import MioGram, NumberNotFoundError, Outcome, ValidationError
from miogram_async._base.actions import ACTIONS, Action
from miogram_async._http.request import Request
from miogram_async._http.session import Session
from miogram_async._mass.options import DEFAULT_CONCURRENCY, MassOptions, mass_options

URL = "https://miogram.test/dojob.php"
PHONE = "+989100000000"


def answer(request: httpx.Request) -> httpx.Response:
    """Answers every Func the way its callers below expect."""
    fields = dict(httpx.QueryParams(request.content.decode("ascii")))
    func = fields["Func"]
    if func.endswith("Mass"):
        numbers = fields["Phone"].split(",")
        return httpx.Response(200, json={"Result": dict.fromkeys(numbers, True)})
    if func == "APIGetRobot":
        return httpx.Response(200, json={"Result": "A1,A2"})
    return httpx.Response(200, json={"Result": True, "Status": "success"})


async def test_every_request_goes_through_the_one_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    """Single actions, Mass chunks and call() all pass Session._exchange with their row."""
    seen: list[tuple[str, bool]] = []
    original = Session._exchange

    async def spy(
        self: Session, http: httpx.AsyncClient, request: Request[object], body: bytes
    ) -> httpx.Response:
        seen.append((request.action.func, request.action.changes_state))
        return await original(self, http, request, body)

    monkeypatch.setattr(Session, "_exchange", spy)
    async with MioGram("s", base_url=URL, transport=httpx.MockTransport(answer)) as client:
        assert await client.send_message(PHONE, "hi") is True
        assert await client.api_get_ads() is True
        result = await client.send_message_mass(
            [PHONE, "+989100000001", "+989100000002"], "hi", chunk_size=2, robots="all"
        )
        assert await client.call("SendSticker", phone=PHONE) is True
    assert result.counts[Outcome.DELIVERED] == 3
    assert seen[:2] == [("SendMessage", True), ("APIGetAds", False)]
    assert seen[2] == ("APIGetRobot", False)
    assert sorted(seen[3:5]) == [("SendMessageMass", True)] * 2
    assert seen[5] == ("SendSticker", True)
    assert len(seen) == 6


async def test_the_owned_client_posts_through_async_client_without_redirects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The exchange is httpx's public AsyncClient.send, streamed, following no redirect."""
    calls: list[dict[str, Any]] = []
    original = httpx.AsyncClient.send

    async def spy(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        calls.append({"url": str(request.url), "request": request, **kwargs})
        return await original(self, request, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "send", spy)
    async with MioGram("s", base_url=URL, transport=httpx.MockTransport(answer)) as client:
        await client.mark_read(PHONE)
    assert len(calls) == 1
    assert calls[0]["url"] == URL
    assert calls[0]["request"].method == "POST"
    assert calls[0]["follow_redirects"] is False
    assert calls[0]["stream"] is True
    assert calls[0]["request"].headers["Content-Type"] == "application/x-www-form-urlencoded"


def not_found(request: httpx.Request) -> httpx.Response:
    """The gateway's answer to a number it cannot resolve (docs/service.md E6)."""
    return httpx.Response(
        200, content=json.dumps({"Message": "Number Not Exist or Wrong", "Status": "error"})
    )


@pytest.mark.parametrize("row", [row for row in ACTIONS if not row.mass], ids=lambda r: r.func)
async def test_307_is_false_exactly_where_the_row_says(row: Action[object]) -> None:
    """A 307 reply is False for the rows marked not_found_is_false and raises everywhere else."""
    async with MioGram("s", base_url=URL, transport=httpx.MockTransport(not_found)) as client:
        if row.not_found_is_false:
            assert await client._run(row, phone=PHONE) is False
        else:
            with pytest.raises(NumberNotFoundError):
                await client._run(row, phone=PHONE)


def test_mass_options_have_one_set_of_defaults() -> None:
    """No options give the documented defaults; concurrency, front_wait: the client's until set."""
    options = mass_options({})
    assert options == MassOptions()
    assert (options.chunk_size, options.per_robot, options.cancel_grace) == (40, 1, 10.0)
    assert (options.front_wait, options.total_hint) == (None, None)
    assert options.concurrency is None
    assert options.robots is None
    assert DEFAULT_CONCURRENCY == 1


def test_mass_options_read_robots_in_every_form() -> None:
    """robots= takes one name, names, 'all' or None."""
    assert MassOptions(robots="A1").robots == ("A1",)
    assert MassOptions(robots=["A1", "A2"]).robots == ("A1", "A2")
    assert MassOptions(robots="all").robots == "all"
    assert MassOptions(robots=None).robots is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"chunk_size": 0}, "chunk_size as an int >= 1"),
        ({"chunk_size": True}, "chunk_size as an int >= 1"),
        ({"concurrency": 0}, "concurrency as an int >= 1"),
        ({"per_robot": 1.5}, "per_robot as an int >= 1"),
        ({"cancel_grace": -1}, "cancel_grace as a finite number"),
        ({"cancel_grace": float("inf")}, "cancel_grace as a finite number"),
        ({"robots": 7}, "robots as agent names"),
        ({"robots": ["A1", 2]}, "agent name as a str"),
        ({"chunksize": 10}, "'chunksize'"),
    ],
)
def test_bad_mass_options_are_validation_errors(options: dict[str, object], message: str) -> None:
    """Every bad option is a ValidationError naming it."""
    with pytest.raises(ValidationError, match=message):
        mass_options(options)


async def test_the_client_refuses_bad_mass_options_before_sending() -> None:
    """A Mass call with a bad option raises ValidationError and sends nothing."""
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer(request)

    async with MioGram("s", base_url=URL, transport=httpx.MockTransport(record)) as client:
        with pytest.raises(ValidationError, match="chunk_size"):
            await client.send_message_mass([PHONE], "hi", chunk_size=0)
        with pytest.raises(ValidationError, match="robots"):
            await client.send_message_mass([PHONE], "hi", robots=3)  # type: ignore[arg-type]
    assert sent == []
