"""The secret never shows: not in repr, not in any error's text, not in DEBUG logs."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Awaitable, Callable

import httpx
import pytest

from miogram_async import HttpBackend, MioGram, MioGramError, RetryPolicy
from miogram_async.testing import AccountConfig, FakeMioGram

SECRET = "Sup3rS3cretKey42"
PHONE = "+989100000000"


def hostile_handler(request: httpx.Request) -> httpx.Response:
    """A misbehaving service: errors, timeouts, broken replies, even echoing the request."""
    body = request.content.decode("ascii")
    func = dict(pair.split("=", 1) for pair in body.split("&"))["Func"]
    if func == "SendMessage":
        raise httpx.ReadTimeout("timed out", request=request)
    if func == "SendPhoto":
        raise httpx.ConnectError("refused", request=request)
    if func == "APIGetLimits":
        return httpx.Response(200, text=f"<html>echo {body}</html>")
    if func == "APIGetCredits":
        return httpx.Response(200, json={"Message": f"Invalid Secret {SECRET}", "Status": "error"})
    if func == "APIGetUsername":
        return httpx.Response(200, json={"Result": {"echo": body}})
    if func == "GetHistory":
        return httpx.Response(200, json={"Message": "No Response From Server", "Status": "error"})
    if func == "APIChangeSecret":
        return httpx.Response(200, json={"Result": ["not", "a", "secret"], "Status": "success"})
    return httpx.Response(200, json={"Message": "Error 305 : No Credit", "Status": "error"})


ACTIONS: list[Callable[[MioGram], Awaitable[object]]] = [
    lambda c: c.send_message(PHONE, "hi"),
    lambda c: c.send_photo(PHONE, b"img"),
    lambda c: c.api_get_limits(),
    lambda c: c.api_get_credits(),
    lambda c: c.api_get_username(),
    lambda c: c.get_history(PHONE),
    lambda c: c.api_change_secret(),
    lambda c: c.send_location(PHONE, 1.0, 2.0),
    lambda c: c.send_message_mass([PHONE], "hi"),
    lambda c: c.call("SendMessageSmart", phone=PHONE),
]


async def test_secret_never_in_repr_errors_or_debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Across failing actions, no repr, error text or log line (httpx's included) has the secret."""
    caplog.set_level(logging.DEBUG)
    errors: list[MioGramError] = []
    async with MioGram(
        SECRET,
        robot="Agent1",
        transport=httpx.MockTransport(hostile_handler),
        retry_policy=RetryPolicy(base_delay=0.0, max_delay=0.0),
    ) as client:
        assert SECRET not in repr(client)
        assert SECRET not in str(client)
        for action in ACTIONS:
            try:
                await action(client)
            except MioGramError as error:
                errors.append(error)
        assert SECRET not in repr(client)

    assert len(errors) == len(ACTIONS)
    for raised in errors:
        for text in (str(raised), repr(raised), repr(raised.args)):
            assert SECRET not in text
        assert SECRET not in str(pickle.loads(pickle.dumps(raised)))
    assert caplog.records, "nothing was logged"
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in caplog.text
    logged_funcs = {r.getMessage().split()[0] for r in caplog.records if r.name == "miogram_async"}
    assert {"SendMessage", "SendPhoto", "GetHistory", "APIChangeSecret"} <= logged_funcs


async def test_secret_callable_value_is_masked_too() -> None:
    """A secret from a callable is masked in repr as well."""
    client = MioGram(lambda: SECRET)
    assert SECRET not in repr(client)
    assert "secret='***'" in repr(client)
    await client.aclose()


async def test_reply_excerpts_never_quote_the_secret() -> None:
    """Even a service echoing the request body gets an excerpt with the secret blanked."""
    async with MioGram(SECRET, transport=httpx.MockTransport(hostile_handler)) as client:
        with pytest.raises(MioGramError) as caught:
            await client.api_get_limits()
    assert "***" in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_secret_not_in_any_library_log_over_real_http(
    backend: HttpBackend, caplog: pytest.LogCaptureFixture
) -> None:
    """Over loopback HTTP, DEBUG logs of every library (httpx, httpcore, aiohttp) omit it."""
    caplog.set_level(logging.DEBUG)
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    async with (
        fake.serve() as url,
        MioGram(SECRET, base_url=url, http_backend=backend, max_retries=0) as client,
    ):
        await client.send_message(PHONE, "hi")
        await client.api_get_username()
        with pytest.raises(MioGramError):
            await client.call("NoSuchFunc")
    loggers = {record.name.split(".")[0] for record in caplog.records}
    expected = {"miogram_async", "httpx", "httpcore"} if backend == "httpx" else {"miogram_async"}
    assert expected <= loggers
    assert SECRET not in caplog.text


def test_secret_that_is_not_valid_unicode_is_refused_without_quoting_it() -> None:
    """A secret with a lone surrogate (an undecodable MIOGRAM_SECRET) is refused, unquoted."""
    bad = "Sup3r\udc80S3cret"
    with pytest.raises(ValueError, match="secret") as caught:
        MioGram(bad)
    assert "Sup3r" not in repr(caught.value.args)


async def test_secret_callable_returning_invalid_unicode_sends_nothing_and_quotes_nothing() -> None:
    """A callable secret with a lone surrogate is a ValidationError that does not carry it."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"Result": True, "Status": "success"})

    async with MioGram(
        lambda: "Sup3r\udc80S3cret", transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(MioGramError) as caught:
            await client.send_message(PHONE, "hi")
    assert sent == []
    for text in (str(caught.value), repr(caught.value.args)):
        assert "Sup3r" not in text


async def test_reply_excerpt_cut_inside_the_secret_shows_no_part_of_it() -> None:
    """An echoed secret that the 200-character excerpt cuts in two is blanked all the same."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>" + "a" * 185 + f" {SECRET} tail</html>")

    async with MioGram(SECRET, transport=httpx.MockTransport(handler), max_retries=0) as client:
        with pytest.raises(MioGramError) as caught:
            await client.api_get_limits()
    assert SECRET[:6] not in str(caught.value)
    assert SECRET[:6] not in repr(caught.value.args)


async def test_reply_echoing_the_percent_encoded_secret_is_blanked() -> None:
    """A proxy page quoting the raw form body shows the secret percent-encoded: blanked too."""
    secret = "k3y+with/odd=chars"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text=f"<html>bad gateway for {request.content.decode()}</html>")

    async with MioGram(secret, transport=httpx.MockTransport(handler), max_retries=0) as client:
        with pytest.raises(MioGramError) as caught:
            await client.api_get_limits()
    assert "k3y%2Bwith%2Fodd%3Dchars" not in str(caught.value)
    assert "***" in str(caught.value)


def _frame_values(error: BaseException) -> list[object]:
    """Every local variable of every frame in *error*'s traceback and its cause/context chain."""
    values: list[object] = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        traceback = current.__traceback__
        while traceback is not None:
            values.extend(traceback.tb_frame.f_locals.values())
            traceback = traceback.tb_next
        pending.extend([current.__cause__, current.__context__])
    return values


@pytest.mark.parametrize("func", ["SendMessage", "SendPhoto", "APIGetCredits", "APIGetLimits"])
async def test_secret_not_in_traceback_locals(func: str) -> None:
    """Error trackers show frame locals: no frame of a raised error holds the secret or body."""
    actions: dict[str, Callable[[MioGram], Awaitable[object]]] = {
        "SendMessage": lambda c: c.send_message(PHONE, "hi"),
        "SendPhoto": lambda c: c.send_photo(PHONE, b"img"),
        "APIGetCredits": lambda c: c.api_get_credits(),
        "APIGetLimits": lambda c: c.api_get_limits(),
    }
    action = actions[func]
    async with MioGram(
        SECRET, transport=httpx.MockTransport(hostile_handler), max_retries=0
    ) as client:
        with pytest.raises(MioGramError) as caught:
            await action(client)
    for value in _frame_values(caught.value):
        if isinstance(value, str | bytes):
            shown = value if isinstance(value, str) else value.decode("utf-8", "replace")
            assert SECRET not in shown


async def test_new_secret_that_cannot_be_sent_is_refused_without_quoting_it() -> None:
    """A rotated secret UTF-8 cannot encode would fail (and be quoted) on every later request."""
    body = b'{"Result": "new\\udc80secret", "Status": "success"}'
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    async with MioGram(SECRET, transport=transport) as client:
        with pytest.raises(MioGramError) as caught:
            await client.api_change_secret()
    assert "secret" in str(caught.value)
    assert "udc80" not in repr(caught.value.args)
