"""The client: construction, lifecycle, secrets, validation-first, media, limits, Mass wiring."""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import re
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qsl

import anyio
import anyio.lowlevel
import httpx
import pytest
import respx
from chunk_layout import layout
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miogram_async import (
    APIResponseError,
    Chunk,
    ClientClosedError,
    InvalidSecretError,
    MassSendError,
    MioGram,
    MioGramError,
    NoCreditError,
    NumberNotFoundError,
    Outcome,
    RetryPolicy,
    ValidationError,
)
from miogram_async._client import DEFAULT_BASE_URL
from miogram_async.testing import AccountConfig, FakeMioGram

URL = "https://miogram.test/dojob.php"
PHONE = "+989100000000"
PHONE_RULE = re.compile(r"^\+[1-9]\d{7,14}$")

Handler = Callable[[httpx.Request], httpx.Response]


def form(request: httpx.Request) -> dict[str, str]:
    """The request's form fields."""
    return dict(parse_qsl(request.content.decode("ascii"), keep_blank_values=True))


class Recorder:
    """
    A mock transport that records forms and answers with a fixed body.

    ``APIGetRobot`` (which a Mass send asks once per client for the account's agents) gets
    *agents* and is counted in `agent_lists`, not recorded in `forms`.
    """

    def __init__(self, reply: object = None, *, agents: tuple[str, ...] = ("Agent1",)) -> None:
        self.forms: list[dict[str, str]] = []
        self.reply: object = {"Result": True, "Status": "success"} if reply is None else reply
        self.agents = agents
        self.agent_lists = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        fields = form(request)
        if fields.get("Func") == "APIGetRobot":
            self.agent_lists += 1
            return httpx.Response(200, json={"Result": ",".join(self.agents), "Status": "ok"})
        self.forms.append(fields)
        return httpx.Response(200, json=self.reply)

    def transport(self) -> httpx.MockTransport:
        """The transport to hand to MioGram."""
        return httpx.MockTransport(self)


# -- construction -------------------------------------------------------------------------------


def test_missing_secret_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a secret or MIOGRAM_SECRET the constructor says how to give one."""
    monkeypatch.delenv("MIOGRAM_SECRET", raising=False)
    with pytest.raises(ValueError, match="MIOGRAM_SECRET"):
        MioGram()


async def test_secret_and_base_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """MIOGRAM_SECRET and MIOGRAM_BASE_URL are used when no argument is given."""
    monkeypatch.setenv("MIOGRAM_SECRET", "env-secret")
    monkeypatch.setenv("MIOGRAM_BASE_URL", "https://env.test/dojob.php")
    seen: list[tuple[str, dict[str, str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), form(request)))
        return httpx.Response(200, json={"Result": "1"})

    async with MioGram(transport=httpx.MockTransport(handler)) as client:
        assert client.base_url == "https://env.test/dojob.php"
        assert await client.api_get_active() is True
    assert seen == [
        ("https://env.test/dojob.php", {"Secret": "env-secret", "Func": "APIGetActive"})
    ]


def test_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an argument or MIOGRAM_BASE_URL the public endpoint is used."""
    monkeypatch.delenv("MIOGRAM_BASE_URL", raising=False)
    assert MioGram("s").base_url == DEFAULT_BASE_URL == "https://miogram.net/dojob.php"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concurrency": 0}, "concurrency"),
        ({"max_retries": -1}, "max_retries"),
        ({"http_backend": "curl"}, "http_backend"),
        # httpx reads 0 as "time out at once": every request would fail.
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": "30"}, "timeout"),
        ({"rate_limit": True}, "rate_limit"),
        ({"rate_limit": "3"}, "rate_limit"),
        ({"rate_burst": 5}, "rate_burst"),
        # Found out at construction, not as a bare httpx.InvalidURL from the first request.
        ({"base_url": "http://[::1/dojob.php"}, "base_url"),
        ({"base_url": "ftp://miogram.net/dojob.php"}, "base_url"),
        ({"base_url": "miogram.net/dojob.php"}, "base_url"),
        (
            {"http_client": httpx.AsyncClient(), "transport": httpx.MockTransport(Recorder())},
            "not both",
        ),
        ({"rate_limit": 2.0, "rate_burst": 0.5}, "burst"),
        ({"retry_policy": {"max_retries": 3}}, "retry_policy"),
        ({"on_secret_change": "store.txt"}, "on_secret_change"),
        ({"robot": 7}, "robot"),
        ({"robot": "two words"}, "agent name"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, object], message: str) -> None:
    """Every configuration error is a ValidationError (a MioGramError and a ValueError)."""
    with pytest.raises(ValidationError, match=message) as caught:
        MioGram("s", **kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, MioGramError)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("secret", [None, "", "  ", 42, "bad\udcff"])
def test_a_missing_or_bad_secret_is_a_validation_error(
    secret: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No secret, a blank one, one of the wrong type or not valid Unicode: ValidationError."""
    monkeypatch.delenv("MIOGRAM_SECRET", raising=False)
    with pytest.raises(ValidationError, match="secret"):
        MioGram(secret)  # type: ignore[arg-type]


def test_construction_needs_no_event_loop() -> None:
    """A client can be built at import time, outside any event loop."""
    client = MioGram("s", rate_limit=5.0, check_limits=True)
    assert client.is_closed is False
    assert client.limits is None


# -- lifecycle ----------------------------------------------------------------------------------


async def test_aclose_is_idempotent_and_later_calls_fail_clearly() -> None:
    """aclose() twice is fine; a call afterwards raises ClientClosedError (a RuntimeError too)."""
    recorder = Recorder()
    client = MioGram("s", transport=recorder.transport())
    assert await client.send_typing(PHONE) is True
    await client.aclose()
    await client.aclose()
    assert client.is_closed
    with pytest.raises(ClientClosedError, match="closed") as caught:
        await client.send_typing(PHONE)
    assert isinstance(caught.value, RuntimeError)
    with pytest.raises(ClientClosedError, match="closed"):
        await client.send_message_mass([PHONE], "hi")
    assert len(recorder.forms) == 1


async def test_borrowed_http_client_is_used_and_not_closed() -> None:
    """A caller's httpx.AsyncClient carries the requests and stays open after aclose()."""
    recorder = Recorder({"Result": "ali"})
    async with httpx.AsyncClient(transport=recorder.transport()) as http:
        async with MioGram("s", base_url=URL, http_client=http) as client:
            assert await client.api_get_username() == "ali"
        assert not http.is_closed
        response = await http.post(URL, content=b"x")
        assert response.status_code == 200
    assert len(recorder.forms) == 2


async def test_own_http_client_is_closed() -> None:
    """The client closes the pool it built."""
    client = MioGram("s", transport=Recorder().transport())
    async with client:
        http = client._session._http
        assert http is not None
        await client.api_get_ads()
    assert http.is_closed


async def test_lazy_client_without_context_manager() -> None:
    """The pool is built on first use when the client is not entered."""
    recorder = Recorder()
    client = MioGram("s", transport=recorder.transport())
    assert client._session._http is None
    assert await client.mark_read(PHONE) is True
    assert client._session._http is not None
    await client.aclose()


def test_repr_masks_secret_and_shows_endpoint() -> None:
    """repr shows base_url and robot, never the secret."""
    client = MioGram("very-secret-value", robot="Agent7", base_url=URL)
    text = repr(client)
    assert "very-secret-value" not in text
    assert text == f"MioGram(base_url={URL!r}, robot='Agent7', secret='***', closed=False)"


# -- secrets ------------------------------------------------------------------------------------


async def test_secret_from_sync_callable_is_asked_per_request() -> None:
    """A sync callable supplies the secret for every request (so it can rotate)."""
    secrets = iter(["one", "two"])
    recorder = Recorder({"Result": "1"})
    async with MioGram(lambda: next(secrets), transport=recorder.transport()) as client:
        await client.api_is_super()
        await client.api_is_super()
    assert [f["Secret"] for f in recorder.forms] == ["one", "two"]


async def test_secret_from_async_callable() -> None:
    """An async callable is awaited for the secret."""

    async def fetch() -> str:
        await anyio.lowlevel.checkpoint()
        return "from-vault"

    recorder = Recorder({"Result": "1"})
    async with MioGram(fetch, transport=recorder.transport()) as client:
        await client.api_can_get()
    assert recorder.forms[0]["Secret"] == "from-vault"


async def test_secret_callable_returning_nothing_sends_nothing() -> None:
    """A callable returning an empty secret is a ValidationError and no request is made."""
    recorder = Recorder()
    async with MioGram(lambda: "", transport=recorder.transport()) as client:
        with pytest.raises(ValidationError, match="secret callable"):
            await client.api_get_ads()
    assert recorder.forms == []


async def test_secret_callable_that_raises_sends_nothing_and_marks_chunks_failed() -> None:
    """A failing secret source is a ValidationError (nothing sent), not an 'unknown' Mass chunk."""
    recorder = Recorder({"Result": {PHONE: True}, "Status": "checking"})

    def vault() -> str:
        raise RuntimeError("vault unreachable")

    async with MioGram(vault, transport=recorder.transport()) as client:
        with pytest.raises(ValidationError, match="secret") as caught:
            await client.send_message(PHONE, "hi")
        result = await client.send_message_mass([PHONE, "+989100000001"], "hi", chunk_size=1)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert result.counts[Outcome.FAILED] == 2
    assert recorder.forms == []


async def test_cancellation_inside_an_async_secret_callable_is_not_wrapped() -> None:
    """Cancelling while the secret is fetched cancels; it never turns into an SDK error."""

    async def slow_vault() -> str:
        await anyio.sleep_forever()
        return "never"

    async with MioGram(slow_vault, transport=Recorder().transport()) as client:
        with anyio.CancelScope() as scope:
            scope.cancel()
            await client.send_message(PHONE, "hi")
    assert scope.cancelled_caught


@pytest.mark.parametrize("async_callback", [False, True])
async def test_change_secret_switches_client_and_notifies(async_callback: bool) -> None:
    """After APIChangeSecret the client uses the new secret and on_secret_change gets it first."""
    fake = FakeMioGram(AccountConfig(secret="old-secret"))
    stored: list[str] = []

    def remember(new: str) -> None:
        stored.append(new)

    async def remember_async(new: str) -> None:
        await anyio.lowlevel.checkpoint()
        stored.append(new)

    callback = remember_async if async_callback else remember
    async with MioGram(
        lambda: "old-secret", transport=fake.transport(), on_secret_change=callback
    ) as client:
        new = await client.api_change_secret()
        assert stored == [new]
        assert new == fake.secret() != "old-secret"
        assert await client.api_get_username() == "tester"


class _HeldTransport(httpx.AsyncBaseTransport):
    """Answers APIChangeSecret only once the test lets it, after the caller was cancelled."""

    def __init__(self) -> None:
        self.received = anyio.Event()
        self.release = anyio.Event()
        self.secrets: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fields = form(httpx.Request("POST", URL, content=await request.aread()))
        self.secrets.append(fields["Secret"])
        if fields["Func"] == "APIChangeSecret":
            self.received.set()
            await self.release.wait()
            return httpx.Response(200, json={"Result": "new-secret", "Status": "success"})
        return httpx.Response(200, json={"Result": "tester"})


async def test_cancelling_change_secret_mid_request_still_switches_to_the_new_secret() -> None:
    """A caller cancelled while APIChangeSecret is in flight does not lose the new secret."""
    transport = _HeldTransport()
    stored: list[str] = []
    async with MioGram("old-secret", transport=transport, on_secret_change=stored.append) as client:
        async with anyio.create_task_group() as group:
            with anyio.CancelScope() as scope:

                async def cancel_once_sent() -> None:
                    await transport.received.wait()
                    scope.cancel()
                    transport.release.set()

                group.start_soon(cancel_once_sent)
                await client.api_change_secret()
        await client.api_get_username()
    assert stored == ["new-secret"]
    assert transport.secrets == ["old-secret", "new-secret"]


async def test_change_secret_waiting_for_its_secret_can_still_be_cancelled() -> None:
    """Only the request is shielded: a secret source that hangs does not make it uncancellable."""

    async def hanging_vault() -> str:
        await anyio.sleep_forever()
        return "never"

    recorder = Recorder({"Result": "new-secret", "Status": "success"})
    async with MioGram(hanging_vault, transport=recorder.transport()) as client:
        with anyio.CancelScope() as scope:
            scope.cancel()
            await client.api_change_secret()
    assert scope.cancelled_caught
    assert recorder.forms == []


async def test_change_secret_through_call_also_switches_the_client() -> None:
    """call("APIChangeSecret") rotates the secret like api_change_secret: the client follows."""
    fake = FakeMioGram(AccountConfig(secret="old-secret"))
    stored: list[str] = []
    async with MioGram(
        "old-secret", transport=fake.transport(), on_secret_change=stored.append
    ) as client:
        new = await client.call("APIChangeSecret")
        assert new == fake.secret() == stored[0]
        assert await client.api_get_username() == "tester"


async def test_old_secret_after_rotation_is_refused_by_the_service() -> None:
    """Another client still on the old secret gets InvalidSecretError (801)."""
    fake = FakeMioGram(AccountConfig(secret="old-secret"))
    async with (
        MioGram("old-secret", transport=fake.transport()) as rotating,
        MioGram("old-secret", transport=fake.transport()) as stale,
    ):
        await rotating.api_change_secret()
        with pytest.raises(InvalidSecretError):
            await stale.api_get_username()


# -- validation first ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        lambda c: c.send_message("0912", "hi"),
        lambda c: c.send_message(PHONE, "   "),
        lambda c: c.rename_chat("a,b", "c"),
        lambda c: c.chat_add_user("chat", PHONE, -1),
        lambda c: c.set_profile_name("A", ""),
        lambda c: c.get_history(PHONE, limit=0),
        lambda c: c.set_username("has space"),
        lambda c: c.send_location(PHONE, 91.0, 0.0),
        lambda c: c.send_contact(PHONE, "A,B", PHONE),
        lambda c: c.api_get_report(1000),
        lambda c: c.api_set_ip(["not-an-ip"]),
        lambda c: c.create_group_chat("G", []),
        lambda c: c.send_photo(PHONE, b""),
        lambda c: c.send_photo(PHONE, b"x", file_format="a b"),
        lambda c: c.set_status_online("yes"),
        lambda c: c.send_message_mass([PHONE], ""),
        lambda c: c.send_message(PHONE, "hi", timeout=-1),
        lambda c: c.call("Bad Func"),
        lambda c: c.call("SendMessage", Secret="x"),
        lambda c: c.call("SendMessage", phone=""),
        lambda c: c.send_typing(PHONE, robot="Agent 1"),
        lambda c: c.send_message_mass([PHONE], "hi", robots=["A1", "A,2"]),
        lambda c: c.send_message_mass([PHONE], "hi", robot="A 1"),
        # A lone surrogate cannot be UTF-8 encoded: refused, not a UnicodeEncodeError mid-call.
        lambda c: c.send_typing(PHONE, robot="Agent\udc80"),
        lambda c: c.call("ChatLinkGen", misc="group\udc80"),
        lambda c: c.call("ChatLink\udc80"),
        lambda c: c.send_typing(PHONE, robot="Agent\x00"),
        lambda c: c.call("ChatLink\x00"),
        # Fan-out options are the caller's input: ValidationError, never a bare ValueError.
        lambda c: c.send_message_mass([PHONE], "hi", concurrency=0),
        lambda c: c.send_message_mass([PHONE], "hi", concurrency=1.5),
        lambda c: c.send_message_mass([PHONE], "hi", robots=["A"], per_robot=0),
        lambda c: c.send_message_mass([PHONE], "hi", cancel_grace=float("nan")),
        lambda c: c.send_message_mass(PHONE, "hi"),
        # A bad timeout is refused up front, not reported as every chunk FAILED.
        lambda c: c.send_message_mass([PHONE], "hi", timeout=-1),
        lambda c: c.send_file_mass([PHONE], b"x", timeout=0),
    ],
)
async def test_validation_error_means_nothing_was_sent(
    action: Callable[[MioGram], Awaitable[object]],
) -> None:
    """Bad input raises ValidationError before any request."""
    recorder = Recorder()
    async with MioGram("s", transport=recorder.transport()) as client:
        with pytest.raises(ValidationError):
            await action(client)
    assert recorder.forms == []


async def test_default_region_reads_national_numbers() -> None:
    """With default_region='IR' a national 09... number is sent as +98..."""
    recorder = Recorder()
    async with MioGram("s", transport=recorder.transport(), default_region="IR") as client:
        await client.send_typing("0912 345 6789")
    assert recorder.forms[0]["Phone"] == "+989123456789"


async def test_iran_is_the_default_region_and_none_turns_it_off() -> None:
    """Without default_region the Iranian forms are read; default_region=None refuses them."""
    recorder = Recorder()
    async with MioGram("s", transport=recorder.transport()) as client:
        await client.send_typing("۰۹۱۲۳۴۵۶۷۸۹")
        result = await client.send_message_mass(
            ["09123456780", "9123456781", "00989123456782"], "hi"
        )
    assert recorder.forms[0]["Phone"] == "+989123456789"
    assert sorted(result) == ["+989123456780", "+989123456781", "+989123456782"]
    async with MioGram("s", transport=recorder.transport(), default_region=None) as client:
        with pytest.raises(ValidationError, match="09123456789"):
            await client.send_typing("09123456789")
        assert await client.send_typing("+989123456789") is True


# -- single sends -------------------------------------------------------------------------------

# The gateway's answer for a number it cannot resolve (docs/service.md E6): an error form, code 307.
NOT_FOUND = {"Result": False, "Status": "error", "Message": "Number Not Exist or Wrong"}

SINGLE_SENDS: list[Callable[[MioGram], Awaitable[object]]] = [
    lambda c: c.send_message(PHONE, "hi"),
    lambda c: c.send_message_whatsapp(PHONE, "hi"),
    lambda c: c.send_photo(PHONE, b"jpeg"),
    lambda c: c.send_document(PHONE, b"doc", file_format="pdf"),
    lambda c: c.send_location(PHONE, 35.7, 51.4),
    lambda c: c.send_contact(PHONE, "Ali", "+989100000001"),
]


@pytest.mark.parametrize("send", SINGLE_SENDS)
async def test_single_send_to_a_number_that_does_not_exist_is_not_delivered(
    send: Callable[[MioGram], Awaitable[object]],
) -> None:
    """A single send answered with 307 returns False (not delivered), sent once, as G2 promises."""
    recorder = Recorder(NOT_FOUND)
    async with MioGram("s", transport=recorder.transport()) as client:
        assert await send(client) is False
    assert len(recorder.forms) == 1


async def test_number_not_found_is_false_on_every_single_number_bool_action() -> None:
    """A 307 is False on block_user, mark_read, send_typing... (one rule, E39)."""
    recorder = Recorder(NOT_FOUND)
    async with MioGram("s", transport=recorder.transport()) as client:
        assert await client.block_user(PHONE) is False
        assert await client.unblock_user(PHONE) is False
        assert await client.mark_read(PHONE) is False
        assert await client.send_typing(PHONE) is False
        assert await client.chat_delete_user("Team", PHONE) is False


async def test_number_not_found_still_raises_for_typed_results() -> None:
    """get_user_info and get_history raise NumberNotFoundError on a 307 (E39)."""
    recorder = Recorder(NOT_FOUND)
    async with MioGram("s", transport=recorder.transport()) as client:
        with pytest.raises(NumberNotFoundError):
            await client.get_user_info(PHONE)
        with pytest.raises(NumberNotFoundError):
            await client.get_history(PHONE)


async def test_get_history_sends_limit_first_by_default() -> None:
    """Misc is limit,offset by default (E34); limit_first=False sends the document's order."""
    recorder = Recorder({"Result": [], "Status": "success"})
    async with MioGram("s", transport=recorder.transport()) as client:
        await client.get_history(PHONE, offset=10, limit=20)
        await client.get_history(PHONE, offset=10, limit=20, limit_first=False)
        await client.get_history(PHONE)
        with pytest.raises(ValidationError, match="limit_first"):
            await client.get_history(PHONE, limit_first="yes")  # type: ignore[arg-type]
    assert [f["Misc"] for f in recorder.forms] == ["20,10", "10,20", "100,0"]


# -- call() -------------------------------------------------------------------------------------


async def test_call_sends_elements_by_either_name_and_returns_result() -> None:
    """call() accepts Python or wire element names, sends them as given, returns Result."""
    recorder = Recorder({"Result": {"id": 1}, "Status": "success"})
    async with MioGram("s", robot="R", transport=recorder.transport()) as client:
        result = await client.call("ChatLinkGen", misc="group", Phone="+1 555", robot="")
    assert result == {"id": 1}
    assert recorder.forms == [
        {"Secret": "s", "Func": "ChatLinkGen", "Phone": "+1 555", "Misc": "group"}
    ]


async def test_call_raises_service_errors() -> None:
    """A Status error reply through call() is its typed APIError."""
    recorder = Recorder({"Message": "Error 305 : No Credit", "Status": "error"})
    async with MioGram("s", transport=recorder.transport()) as client:
        with pytest.raises(NoCreditError):
            await client.call("SendMessage", phone=PHONE, message="x")


# -- media --------------------------------------------------------------------------------------


async def test_media_from_path_takes_format_from_suffix(tmp_path: Path) -> None:
    """A path is read (in a worker thread) and its suffix becomes Misc."""
    picture = tmp_path / "cat.PNG"
    picture.write_bytes(b"png-bytes")
    recorder = Recorder()
    async with MioGram("s", transport=recorder.transport()) as client:
        await client.send_photo(PHONE, picture)
        await client.set_profile_photo(str(picture))
        await client.set_profile_photo(b"raw")
    assert recorder.forms[0]["Misc"] == "png"
    assert recorder.forms[0]["Data"] == "cG5nLWJ5dGVz"
    assert recorder.forms[1]["Misc"] == "png"
    assert "Misc" not in recorder.forms[2]


async def test_media_from_file_object() -> None:
    """A binary file object is read to its end and encoded."""
    recorder = Recorder()
    async with MioGram("s", transport=recorder.transport()) as client:
        await client.send_document(PHONE, io.BytesIO(b"pdf"), file_format="pdf")
    assert recorder.forms[0] == {
        "Secret": "s",
        "Func": "SendDocument",
        "Phone": PHONE,
        "Misc": "pdf",
        "Data": "cGRm",
    }


async def test_missing_file_is_a_validation_error(tmp_path: Path) -> None:
    """An unreadable path is refused before sending."""
    recorder = Recorder()
    async with MioGram("s", transport=recorder.transport()) as client:
        with pytest.raises(ValidationError, match="readable"):
            await client.send_file(PHONE, tmp_path / "missing.zip")
    assert recorder.forms == []


# -- limits -------------------------------------------------------------------------------------


async def test_check_limits_refuses_long_messages_and_large_files() -> None:
    """check_limits loads the limits once, then refuses over-limit input client-side."""
    from miogram_async.testing import LimitsConfig  # noqa: PLC0415

    fake = FakeMioGram(
        AccountConfig(
            secret="s", ads="Sent with MioGram", limits=LimitsConfig(message=300, photo_mb=1)
        )
    )
    async with MioGram("s", transport=fake.transport(), check_limits=True) as client:
        with pytest.raises(ValidationError, match="at most 300 UTF-8 bytes"):
            await client.send_message(PHONE, "x" * 301)
        with pytest.raises(ValidationError, match="bytes"):
            await client.send_photo(PHONE, b"x" * (1024 * 1024 + 1))
        assert client.limits is not None
        assert client.limits.message == 300
        await client.send_message(PHONE, "short")
    assert fake.funcs() == ["APIGetLimits", "APIGetAds", "SendMessage"]


async def test_check_limits_with_ads_sends_what_the_service_takes() -> None:
    """With ads on, 69 bytes of a 100-byte limit go out (they were refused as -101 before)."""
    from miogram_async.testing import LimitsConfig  # noqa: PLC0415

    fake = FakeMioGram(
        AccountConfig(secret="s", ads="Sent with MioGram", limits=LimitsConfig(message=100))
    )
    async with MioGram("s", transport=fake.transport(), check_limits=True) as client:
        assert await client.send_message(PHONE, "x" * 69) is True
    assert fake.funcs() == ["APIGetLimits", "APIGetAds", "SendMessage"]


async def test_load_limits_without_check_limits() -> None:
    """load_limits() turns the checks on even when check_limits was not set."""
    from miogram_async.testing import LimitsConfig  # noqa: PLC0415

    fake = FakeMioGram(AccountConfig(secret="s", limits=LimitsConfig(message=10)))
    async with MioGram("s", transport=fake.transport()) as client:
        limits = await client.load_limits()
        assert limits.message == 10
        with pytest.raises(ValidationError):
            await client.send_message(PHONE, "more than ten bytes")


# -- Mass ---------------------------------------------------------------------------------------


async def test_mass_send_chunks_and_marks_invalid_numbers() -> None:
    """A Mass send chunks numbers, skips invalid ones and returns every outcome."""
    fake = FakeMioGram(AccountConfig(secret="s"))
    numbers = [f"+98910000{i:04d}" for i in range(5)] + ["bogus"]
    async with MioGram("s", transport=fake.transport()) as client:
        result = await client.send_message_mass(numbers, "hi", chunk_size=2)
    assert len(result) == 6
    assert result["bogus"] == Outcome.INVALID
    assert fake.funcs() == ["APIGetRobot"] + ["SendMessageMass"] * 3  # the agents, asked once
    assert all(len(record.elements["Phone"].split(",")) <= 2 for record in fake.requests[1:])


async def test_mass_robots_all_spreads_over_api_get_robot() -> None:
    """robots='all' asks APIGetRobot once and sends chunks through every agent."""
    fake = FakeMioGram(AccountConfig(secret="s", agents=("A1", "A2")))
    numbers = [f"+98910000{i:04d}" for i in range(4)]
    async with MioGram("s", transport=fake.transport()) as client:
        await client.send_message_mass(numbers, "hi", chunk_size=1, robots="all")
    assert fake.funcs()[0] == "APIGetRobot"
    robots = {record.robot for record in fake.requests[1:]}
    assert robots == {"A1", "A2"}


async def test_mass_chunk_timeout_scales_with_chunk_size() -> None:
    """Each chunk waits at least the front's wait (60 s) + 3 s per number for its reply."""
    seen: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if form(request)["Func"] == "APIGetRobot":
            return httpx.Response(200, json={"Result": "Agent1", "Status": "ok"})
        timeouts = request.extensions["timeout"]
        seen.append(float(timeouts["read"]))
        numbers = form(request)["Phone"].split(",")
        return httpx.Response(
            200, json={"Result": dict.fromkeys(numbers, True), "Status": "checking"}
        )

    transport = httpx.MockTransport(handler)
    async with MioGram("s", transport=transport, front_wait=60) as client:
        numbers = [f"+98910000{i:04d}" for i in range(60)]
        await client.send_message_mass(numbers, "hi", chunk_size=50)
        await client.send_message_mass(numbers[:1], "hi", timeout=7.5)
    # A small first chunk (the pace unknown, E49: the client's 120 s read timeout is longer), then
    # 50, then the rest.
    first, full, rest = layout(60, 50)
    assert full == 50
    assert sorted(seen) == [7.5, 120.0, 120.0, 210.0]
    assert 60 + 3 * max(first, rest) < 120


async def test_mass_stop_error_raises_mass_send_error_with_result() -> None:
    """A doomed chunk (305) stops the fan-out and MassSendError carries every outcome."""
    recorder = Recorder({"Message": "No Credit", "Status": "error", "Code": "305"})
    async with MioGram("s", transport=recorder.transport(), concurrency=1) as client:
        with pytest.raises(MassSendError) as caught:
            await client.send_photo_mass([PHONE, "+989100000001"], b"img", chunk_size=1)
    assert len(caught.value.result) == 2
    assert len(recorder.forms) == 1


async def test_mass_chunk_robot_overrides_call_robot() -> None:
    """Chunk.robot wins over the call's robot; the call's robot wins over the client's."""
    recorder = Recorder({"Result": True, "Status": "checking"}, agents=("Default", "ChunkRobot"))
    async with MioGram("s", robot="Default", transport=recorder.transport()) as client:
        await client.send_message_mass([PHONE], "a", robot="CallRobot")
        await client.send_message_mass([PHONE], "b", robots=["ChunkRobot"])
        await client.send_message_mass([PHONE], "c")
    assert [f.get("Robot") for f in recorder.forms] == ["CallRobot", "ChunkRobot", "Default"]
    assert Chunk(index=0, numbers=(PHONE,), robot=None).robot is None


# -- logging ------------------------------------------------------------------------------------


async def test_one_debug_line_per_attempt_and_a_warning_per_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Attempts log Func, number, agent, outcome and duration (a failed one at INFO); retries
    log a WARNING."""
    replies = iter(
        [
            httpx.Response(200, json={"Message": "No Response From Server", "Status": "error"}),
            httpx.Response(200, json={"Result": "ali"}),
        ]
    )
    caplog.set_level(logging.DEBUG, logger="miogram_async")
    async with MioGram("s", transport=httpx.MockTransport(lambda r: next(replies))) as client:
        client._session._retry = RetryPolicy(base_delay=0.0, max_delay=0.0)
        await client.api_get_username()
    records = [r for r in caplog.records if r.name == "miogram_async"]
    messages = [(r.levelname, r.getMessage()) for r in records]
    assert [level for level, _ in messages] == ["INFO", "WARNING", "DEBUG"]
    assert re.fullmatch(
        r"APIGetUsername attempt 1 via the first agent: error 999 in \d+\.\d{3}s", messages[0][1]
    )
    assert messages[1][1].startswith("APIGetUsername attempt 1 failed (error 999); retrying in")
    assert re.fullmatch(
        r"APIGetUsername attempt 2 via the first agent: ok in \d+\.\d{3}s", messages[2][1]
    )


async def test_no_attempt_line_above_debug(caplog: pytest.LogCaptureFixture) -> None:
    """With the package logger above DEBUG an attempt logs nothing, and the call still works."""
    caplog.set_level(logging.INFO, logger="miogram_async")
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"Result": "ali"}))
    async with MioGram("s", transport=transport) as client:
        assert await client.api_get_username() == "ali"
    assert [r.getMessage() for r in caplog.records if r.name == "miogram_async"] == []


async def test_requests_go_to_the_base_url_with_its_query() -> None:
    """The endpoint, parsed once and reused, is the one every request goes to."""
    seen: list[str] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"Result": "ali"})

    url = "http://127.0.0.1:8080/api/dojob.php?x=1"
    async with MioGram("s", base_url=url, transport=httpx.MockTransport(reply)) as client:
        await client.api_get_username()
        await client.api_get_username()
    assert seen == [url, url]


def test_unconfigured_logging_prints_nothing() -> None:
    """A program that never configures logging sees no retry warnings on stderr."""
    script = textwrap.dedent(
        """
        import anyio, httpx
        from miogram_async import MioGram, RetryPolicy
        replies = iter([{"Status": "error", "Code": "999", "Message": "x"}, {"Result": "me"}])
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json=next(replies)))
        async def main():
            policy = RetryPolicy(base_delay=0.0, max_delay=0.0)
            async with MioGram("s", transport=transport, retry_policy=policy) as client:
                assert await client.api_get_username() == "me"
        anyio.run(main)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")


# -- property tests -----------------------------------------------------------------------------


def _run_action(action: Callable[[MioGram], Awaitable[object]], reply: object) -> Recorder:
    recorder = Recorder(reply)

    async def main() -> None:
        async with MioGram("prop-secret", transport=recorder.transport(), max_retries=0) as client:
            try:
                await action(client)
            except ValidationError:
                assert recorder.forms == []
            except MioGramError:
                assert len(recorder.forms) == 1  # the reply did not fit this action; it was sent

    anyio.run(main)
    return recorder


TEXT = st.text(max_size=30)
PHONES = TEXT | st.from_regex(r"(\+|00|۰۰)?[0-9۰-۹ ()\-]{6,18}", fullmatch=True)
NAMES = TEXT | st.sampled_from(["Team", "Ali", "a b", "گروه", "x,y"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phone=PHONES, chat=NAMES, first=NAMES, last=NAMES | PHONES, count=st.integers(-5, 1200))
def test_arbitrary_input_never_breaks_wire_rules(
    phone: str, chat: str, first: str, last: str, count: int
) -> None:
    """Either ValidationError with no request, or a well-formed Phone and comma-free Misc pieces."""
    actions: list[tuple[Callable[[MioGram], Awaitable[object]], int | None]] = [
        (lambda c: c.send_message(phone, first), None),
        (lambda c: c.chat_add_user(chat, phone, count), 2),
        (lambda c: c.rename_chat(first, last), 2),
        (lambda c: c.set_profile_name(first, last), 2),
        (lambda c: c.send_contact(phone, first, last), 2),
        (lambda c: c.chat_delete_user(chat, phone), 1),
        (lambda c: c.api_get_report(count), 1),
    ]
    for action, misc_pieces in actions:
        recorder = _run_action(action, {"Result": True, "Status": "success"})
        for sent in recorder.forms:
            if "Phone" in sent:
                assert PHONE_RULE.match(sent["Phone"])
            if misc_pieces is not None:
                assert len(sent["Misc"].split(",")) == misc_pieces


JSON: st.SearchStrategy[object] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
    | st.just([])
    | st.just({}),
    # Non-empty containers: hypothesis warns when `extend` can ignore its argument; the empty
    # ones come from the base strategy instead.
    lambda inner: (
        st.lists(inner, min_size=1, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, min_size=1, max_size=3)
    ),
    max_leaves=8,
)
ENVELOPE = st.fixed_dictionaries(
    {},
    optional={
        "Result": JSON,
        "Status": st.sampled_from(["success", "fail", "error", "checking", "NULL", "sent", "x"]),
        "Message": st.text(max_size=20) | st.just("Error 305 : No Credit"),
        "Code": st.integers(0, 999) | st.text(max_size=4),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=60) | JSON | ENVELOPE)
def test_arbitrary_replies_raise_only_sdk_errors(body: object) -> None:
    """Whatever comes back, the client returns or raises a MioGramError, nothing else."""
    content = body if isinstance(body, bytes) else None

    def handler(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(200, content=content)
        return httpx.Response(200, json=body)

    async def main() -> None:
        # The mock answers at once: a service whose front waits a millisecond, so the drain
        # after each unknown outcome (a share of it, E32) takes microseconds.
        async with MioGram(
            "s", transport=httpx.MockTransport(handler), max_retries=0, front_wait=0.001
        ) as client:
            actions: list[Callable[[], Awaitable[object]]] = [
                lambda: client.send_message(PHONE, "hi"),
                lambda: client.chat_info("Team"),
                client.api_get_limits,
                client.api_get_credits,
                client.api_get_report,
                client.api_get_robot,
                client.api_get_active,
                client.api_get_username,
                client.api_change_secret,
                lambda: client.send_message_mass([PHONE], "hi"),
            ]
            for action in actions:
                with contextlib.suppress(MioGramError):
                    await action()

    anyio.run(main)


async def test_non_json_reply_is_api_response_error_with_status() -> None:
    """An HTML error page is APIResponseError carrying the HTTP status (A24)."""
    with respx.mock(assert_all_called=True) as mock:
        mock.post(URL, data__contains={"Func": "SendMessage"}).mock(
            return_value=httpx.Response(502, text="<html>Bad Gateway</html>")
        )
        async with MioGram("s", base_url=URL, http_backend="httpx") as client:
            with pytest.raises(APIResponseError) as caught:
                await client.send_message(PHONE, "hi")
    assert caught.value.status_code == 502


async def test_error_reply_with_http_500_is_still_read() -> None:
    """The body is parsed whatever the HTTP status: a 500 with an error envelope is typed."""
    recorder_reply = {"Message": "Error 305 : No Credit", "Status": "error"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json=recorder_reply)

    async with MioGram("s", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(NoCreditError):
            await client.send_message(PHONE, "hi")


async def test_timeouts_default_float_and_per_call() -> None:
    """A float timeout applies to every phase; a per-call timeout replaces the read timeout."""
    seen: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.extensions["timeout"]))
        return httpx.Response(200, json={"Result": "1"})

    async with MioGram("s", transport=httpx.MockTransport(handler), timeout=5.0) as client:
        await client.api_get_active()
        await client.api_get_active(timeout=42)
    assert seen == [
        {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0},
        {"connect": 5.0, "read": 42.0, "write": 5.0, "pool": 5.0},
    ]


def test_properties_and_type_checks() -> None:
    """robot and base_url are readable; a secret or robot of the wrong type is a ValidationError."""
    client = MioGram("s", robot="Agent9", base_url=URL)
    assert (client.robot, client.base_url) == ("Agent9", URL)
    assert MioGram("s", robot="").robot is None
    with pytest.raises(ValidationError, match="secret"):
        MioGram(42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="robot"):
        MioGram("s", robot=7)  # type: ignore[arg-type]


async def test_mass_options_are_checked_before_sending() -> None:
    """A bad chunk_size is a ValidationError and nothing is sent; a str robots is one agent."""
    recorder = Recorder({"Result": True, "Status": "checking"}, agents=("Stack1", "Stack2"))
    async with MioGram("s", transport=recorder.transport()) as client:
        with pytest.raises(ValidationError, match="chunk_size"):
            await client.send_message_mass([PHONE], "hi", chunk_size=0)
        assert recorder.forms == []
        await client.send_video_mass([PHONE], b"v", robots="Stack2", concurrency=None)
    assert recorder.forms[0]["Robot"] == "Stack2"


async def test_large_media_is_encoded_off_the_loop_and_sent_once() -> None:
    """Bytes over 1 MiB go through a worker thread and still arrive intact."""
    recorder = Recorder()
    payload = bytes(range(256)) * 4097
    async with MioGram("s", transport=recorder.transport()) as client:
        await client.send_video(PHONE, payload)
    assert base64.b64decode(recorder.forms[0]["Data"]) == payload


async def test_redirects_are_not_followed() -> None:
    """A redirect would turn the POST into a GET (812, IP blocking): it is an error instead."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(301, headers={"Location": "https://elsewhere.test/"}, text="moved")

    async with MioGram("s", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(APIResponseError) as caught:
            await client.send_message(PHONE, "hi")
    assert seen == ["POST"]
    assert caught.value.status_code == 301


async def test_redirects_are_not_followed_with_a_borrowed_client_either() -> None:
    """A borrowed client set to follow redirects still never turns the POST into a GET."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(301, headers={"Location": "https://elsewhere.test/"}, text="moved")

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True) as http,
        MioGram("s", http_client=http) as client,
    ):
        with pytest.raises(APIResponseError):
            await client.send_message(PHONE, "hi")
    assert seen == ["POST"]


async def test_a_borrowed_client_sends_through_its_own_hooks() -> None:
    """A borrowed httpx client keeps AsyncClient's send path: its event hooks see every call."""
    recorder = Recorder()
    hooked: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        hooked.append(f"request {request.method}")

    async def on_response(response: httpx.Response) -> None:
        hooked.append(f"response {response.status_code}")

    async with (
        httpx.AsyncClient(
            transport=recorder.transport(),
            event_hooks={"request": [on_request], "response": [on_response]},
        ) as http,
        MioGram("s", base_url=URL, http_client=http) as client,
    ):
        assert await client.mark_read(PHONE) is True
    assert hooked == ["request POST", "response 200"]
    assert recorder.forms[0]["Func"] == "MarkRead"


async def test_the_owned_client_sends_until_closed() -> None:
    """The client's own pool is built on first use; once closed, sending fails as before."""
    recorder = Recorder()
    client = MioGram("s", base_url=URL, transport=recorder.transport())
    assert client._session._http is None
    assert await client.mark_read(PHONE) is True
    assert client._session._http is not None
    await client.aclose()
    assert client._session._http is None
    with pytest.raises(RuntimeError, match="closed"):
        await client.mark_read(PHONE)
    assert len(recorder.forms) == 1
