"""The secret never shows: not in repr, not in any error's text, not in DEBUG logs."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Awaitable, Callable

import httpx
import pytest

from miogram_async._client import MioGram
from miogram_async._errors import MioGramError
from miogram_async._retry import RetryPolicy
from miogram_async._transport import HttpBackend
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
