"""
The request value (issue 17): what a call needs travels down the request path in one `Request`,
the rate-limit token is taken before the send gate, the layers above hear about the gate through
the request's callbacks, and the client's options are one list.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from urllib.parse import parse_qs

import anyio
import attrs
import httpx
import pytest
from chunk_layout import layout

from miogram_async import (
    CampaignKind,
    Chunk,
    LocalSendGate,
    MassResult,
    MioGram,
    MioGramError,
    NoResponseError,
    Outcome,
    ValidationError,
)
from miogram_async._base.actions import BY_FUNC, FILE_SENDS, file_limit
from miogram_async._base.models import Limits
from miogram_async._base.wire import as_bool
from miogram_async._http.options import ClientOptions
from miogram_async._http.ratelimit import TokenBucket
from miogram_async._mass.options import MassOptions
from miogram_async._runner import send_mass_action
from miogram_async.campaign._model import mass_row
from miogram_async.cli._single import FILE_KINDS

URL = "https://miogram.test/dojob.php"
PHONE = "+989100000000"


def numbers(count: int) -> list[str]:
    """*count* distinct well-formed numbers."""
    return [f"+98910{i:07d}" for i in range(count)]


class RecordingGate:
    """A send gate that notes every acquire and release (with its drain) in *events*."""

    def __init__(self, events: list[str], *, waited: float = 0.0) -> None:
        self.events = events
        self.waited = waited
        self.drains: list[float] = []
        self._gate = LocalSendGate()

    async def acquire(self) -> float:
        await self._gate.acquire()
        self.events.append("acquire")
        return self.waited

    async def release(self, busy_for: float) -> None:
        self.events.append("release")
        self.drains.append(busy_for)
        await self._gate.release(0.0)


def replying(events: list[str], body: Mapping[str, object] | None = None) -> httpx.MockTransport:
    """A transport noting each request's Func; Mass chunks get every number delivered."""

    def handler(request: httpx.Request) -> httpx.Response:
        form = {key: values[0] for key, values in parse_qs(request.content.decode()).items()}
        events.append(f"sent {form['Func']}")
        if body is not None:
            return httpx.Response(200, json=body)
        if "Mass" in form["Func"]:
            return httpx.Response(200, json={"Result": dict.fromkeys(form["Phone"].split(","), 1)})
        if form["Func"] == "APIGetRobot":
            return httpx.Response(200, json={"Result": "A1"})
        return httpx.Response(200, json={"Result": True, "Status": "success"})

    return httpx.MockTransport(handler)


async def test_a_token_is_taken_before_the_gate_never_while_holding_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A send takes its rate-limit token, then the gate; a read takes a token and no gate."""
    events: list[str] = []
    taken = TokenBucket.acquire

    async def token(self: TokenBucket) -> None:
        events.append("token")
        await taken(self)

    monkeypatch.setattr(TokenBucket, "acquire", token)
    gate = RecordingGate(events)
    async with MioGram(
        "s", base_url=URL, transport=replying(events), rate_limit=1000.0, send_gate=gate
    ) as client:
        assert await client.send_message(PHONE, "hi") is True
        assert events == ["token", "acquire", "sent SendMessage", "release"]
        events.clear()
        assert await client.api_get_ads() is True
        assert events == ["token", "sent APIGetAds"]


async def test_the_layers_above_hear_of_the_gate_through_the_request() -> None:
    """on_gate_wait gets the seconds queued; on_admitted runs after the gate, before the send."""
    events: list[str] = []
    waits: list[float] = []
    gate = RecordingGate(events, waited=0.25)

    async def admitted() -> None:
        events.append("admitted")

    async with MioGram("s", base_url=URL, transport=replying(events), send_gate=gate) as client:
        row = BY_FUNC["SendMessage"]
        request = client._session.prepare(row, as_bool, {"phone": PHONE, "message": "hi"})
        request = attrs.evolve(request, on_admitted=admitted, on_gate_wait=waits.append)
        assert await client._session.send(request) is True
    assert events == ["acquire", "admitted", "sent SendMessage", "release"]
    assert waits == [0.25]


async def test_an_admission_that_fails_sends_nothing_and_keeps_the_gate_open() -> None:
    """An error before the request leaves (in on_admitted) sends nothing and drains nothing."""
    events: list[str] = []
    gate = RecordingGate(events)

    async def refuse() -> None:
        raise MioGramError("the journal could not record the chunk")

    async with MioGram(
        "s", base_url=URL, transport=replying(events), send_gate=gate, gateway_drain=10.0
    ) as client:
        row = BY_FUNC["SendMessage"]
        request = attrs.evolve(
            client._session.prepare(row, as_bool, {"phone": PHONE, "message": "hi"}),
            on_admitted=refuse,
        )
        with pytest.raises(MioGramError, match="journal"):
            await client._session.send(request)
    assert events == ["acquire", "release"]
    assert gate.drains == [0.0]


async def test_a_chunk_drains_for_the_numbers_it_carries() -> None:
    """After a 999 the gate stays closed for the chunk's own count of numbers (no recount)."""
    events: list[str] = []
    gate = RecordingGate(events)
    no_response = {"Status": "error", "Code": "999", "Message": "No Response From Server"}
    async with MioGram(
        "s",
        robot="A1",
        base_url=URL,
        transport=replying(events, no_response),
        send_gate=gate,
        gateway_drain=10.0,
    ) as client:
        result = await client.send_message_mass(numbers(5), "hi", chunk_size=5)
    assert set(result.values()) == {Outcome.UNKNOWN}
    assert isinstance(next(iter(result.errors.values())), NoResponseError)
    # Small chunks (the pace unknown, E49), each drained for its own numbers at the explicit
    # gateway_drain (a lower bound, above the client's own estimate here).
    sizes = layout(5, 5)
    assert len(sizes) == len(gate.drains) == 2
    for size, drain in zip(sizes, gate.drains, strict=True):
        assert 10.0 * size - 1.0 < drain <= 10.0 * size


async def test_the_mass_chunk_path_tells_when_the_gate_admits_each_chunk() -> None:
    """MassOptions.on_admitted is awaited with each chunk once the gate lets its request through."""
    events: list[str] = []
    admitted: list[Chunk] = []

    async def note(chunk: Chunk) -> None:
        events.append("admitted")
        admitted.append(chunk)

    gate = RecordingGate(events)
    async with MioGram(
        "s", robot="A1", base_url=URL, transport=replying(events), send_gate=gate
    ) as client:
        options = MassOptions(chunk_size=4, on_admitted=note)
        result = await send_mass_action(
            client, mass_row(CampaignKind.MESSAGE), numbers(10), "hi", options=options
        )
    assert result.counts[Outcome.DELIVERED] == 10
    sizes = layout(10, 4)  # the first one small (the pace unknown, E49)
    assert [len(chunk.numbers) for chunk in admitted] == sizes
    assert events == ["acquire", "admitted", "sent SendMessageMass", "release"] * len(sizes)


async def test_the_account_agents_are_asked_once_for_a_client_and_its_views() -> None:
    """APIGetRobot is asked once; a view made before the first Mass send uses the same answer."""
    events: list[str] = []
    async with MioGram("s", base_url=URL, transport=replying(events)) as client:
        view = client.with_options(timeout=30)
        await client.send_message_mass(numbers(3), "hi", robots="all")
        await view.send_message_mass(numbers(3), "hi", robots="all")
    assert events.count("sent APIGetRobot") == 1


def test_the_client_options_are_one_list() -> None:
    """MioGram's keywords are exactly ClientOptions' fields, and with_options is an evolve of it."""
    keywords = list(inspect.signature(MioGram.__init__).parameters)[1:]
    assert set(keywords) == set(attrs.fields_dict(ClientOptions))
    client = MioGram("s", base_url=URL, robot="A1", max_retries=4)
    view = client.with_options(robot="A2", timeout=30)
    assert view._options == attrs.evolve(client._options, robot="A2", timeout=30)
    assert (view.robot, view._session.max_retries) == ("A2", 4)
    assert client.robot == "A1"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "timeout must be a positive number of seconds"),
        ({"robot": 5}, "robot must be a str"),
        ({"max_retries": -1}, "max_retries must be an int >= 0"),
    ],
)
def test_with_options_checks_what_it_changes_as_the_client_does(
    options: dict[str, object], message: str
) -> None:
    """A view's options are checked by the same validators, with the same messages."""
    client = MioGram("s", base_url=URL)
    with pytest.raises(ValidationError, match=message):
        client.with_options(**options)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=message):
        MioGram("s", base_url=URL, **options)  # type: ignore[arg-type]


async def test_hooks_given_to_a_mass_method_never_empty_its_result() -> None:
    """Hooks with a records_outcomes attribute no longer change what send_message_mass returns."""

    class Hooks:
        records_outcomes = True

        def __init__(self) -> None:
            self.finished = 0

        async def chunk_started(self, chunk: Chunk) -> None:
            """Nothing to note before a chunk."""

        async def chunk_finished(
            self, chunk: Chunk, outcomes: Mapping[str, Outcome], errors: Mapping[str, object]
        ) -> None:
            self.finished += 1

    hooks = Hooks()
    async with MioGram("s", robot="A1", base_url=URL, transport=replying([])) as client:
        result = await client.send_message_mass(numbers(7), "hi", chunk_size=3, hooks=hooks)
    assert isinstance(result, MassResult)
    assert result.counts[Outcome.DELIVERED] == 7
    assert hooks.finished == 3


async def test_only_the_package_says_that_hooks_record_every_outcome() -> None:
    """hooks_record_outcomes is no fan-out keyword, and it needs hooks."""
    async with MioGram("s", robot="A1", base_url=URL, transport=replying([])) as client:
        with pytest.raises(ValidationError, match="fan-out options"):
            await client.send_message_mass(
                numbers(2),
                "hi",
                hooks_record_outcomes=True,  # type: ignore[call-arg]
            )
    with pytest.raises(ValidationError, match="needs hooks"):
        MassOptions(hooks_record_outcomes=True)


def test_file_kinds_and_limits_come_from_the_rows() -> None:
    """The CLI's file kinds, each campaign kind's row and its file limit are read from the table."""
    assert FILE_KINDS == ("photo", "video", "audio", "text", "file", "document")
    assert [row.func for row in FILE_SENDS.values()] == [
        "SendPhoto",
        "SendVideo",
        "SendAudio",
        "SendText",
        "SendFile",
        "SendDocument",
    ]
    limits = Limits(
        message=100, photo=1000, video=2000, file=3000, is_super=True, can_get=True, raw={}
    )
    expected = {"photo": 1000, "video": 2000, "file": 3000}
    for kind in CampaignKind:
        row = mass_row(kind)
        assert row.mass, kind
        assert kind.is_media is (row.media is not None)
        assert file_limit(row, limits) == expected.get(kind.value)
    assert file_limit(FILE_SENDS["audio"], limits) == 3000
    assert file_limit(FILE_SENDS["photo"], attrs.evolve(limits, photo=0)) is None


def test_the_request_path_runs_under_trio() -> None:
    """A gated send with a token and the gate's callbacks works on the trio backend too."""
    events: list[str] = []

    async def main() -> None:
        async with MioGram(
            "s", base_url=URL, transport=replying(events), rate_limit=1000.0
        ) as client:
            assert await client.send_message(PHONE, "hi") is True

    anyio.run(main, backend="trio")
    assert events == ["sent SendMessage"]
