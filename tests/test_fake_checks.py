"""The fake service: check order, error wire forms, IP allow-list, secret rotation (loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from miogram_async.testing import AccountConfig, FakeMioGram

SECRET = "test-secret"


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake with one default account."""
    return FakeMioGram()


@pytest.fixture
async def url(fake: FakeMioGram) -> AsyncIterator[str]:
    """The fake served on loopback."""
    async with fake.serve() as endpoint:
        yield endpoint


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def post(http: httpx.AsyncClient, url: str, **form: str) -> object:
    """POST *form* and return the decoded JSON reply."""
    response = await http.post(url, data=form)
    assert response.status_code == 200
    return response.json()


def front(code: int, text: str) -> dict[str, str]:
    """The front script's error form."""
    return {"Message": text, "Status": "error", "Code": str(code)}


async def test_non_post_is_812(url: str, http: httpx.AsyncClient) -> None:
    """A GET request is answered with front error 812 Bad Request."""
    response = await http.get(url)
    assert response.json() == front(812, "Bad Request")
    assert response.headers["content-type"] == "application/json"


async def test_repeated_non_post_blocks_the_ip(url: str, http: httpx.AsyncClient) -> None:
    """The fourth non-POST request crosses the intrusion threshold: 815, then POSTs get 815 too."""
    replies = [(await http.get(url)).json() for _ in range(4)]
    assert replies[:3] == [front(812, "Bad Request")] * 3
    assert replies[3] == front(815, "Session Blocked")
    assert await post(http, url, Secret=SECRET, Func="APIGetActive") == front(
        815, "Session Blocked"
    )


async def test_blocked_ip_comes_before_secret_checks(
    fake: FakeMioGram, url: str, http: httpx.AsyncClient
) -> None:
    """A blocked caller gets 815 even with an empty secret."""
    fake.block_ip("127.0.0.1")
    assert await post(http, url, Func="APIGetActive") == front(815, "Session Blocked")


async def test_empty_secret_is_800(url: str, http: httpx.AsyncClient) -> None:
    """A missing or empty Secret is 800."""
    assert await post(http, url, Func="APIGetActive") == front(800, "Empty Secret")
    assert await post(http, url, Secret="", Func="APIGetActive") == front(800, "Empty Secret")


async def test_unknown_secret_is_801(url: str, http: httpx.AsyncClient) -> None:
    """An unknown secret is 801."""
    assert await post(http, url, Secret="nope", Func="APIGetActive") == front(801, "Invalid Secret")


async def test_inactive_account_is_826_before_agent_and_ip() -> None:
    """An inactive account is 826 even when it has no agent and the IP is not allowed."""
    fake = FakeMioGram(AccountConfig(active=False, agents=(), allowed_ips="10.0.0.1"))
    async with fake.serve() as url, httpx.AsyncClient() as http:
        reply = await post(http, url, Secret=SECRET, Func="APIGetActive")
    assert reply == front(826, "Account Not Activated")


async def test_no_agent_is_827_before_ip() -> None:
    """An account without agents is 827, checked before the IP allow-list."""
    fake = FakeMioGram(AccountConfig(agents=(), allowed_ips="10.0.0.1"))
    async with fake.serve() as url, httpx.AsyncClient() as http:
        reply = await post(http, url, Secret=SECRET, Func="APIGetActive")
    assert reply == front(827, "No Robot Has Been Set Yet")


async def test_ip_not_allowed_is_802_before_func() -> None:
    """A caller outside the allow-list gets 802, even for an unknown Func."""
    fake = FakeMioGram(AccountConfig(allowed_ips="10.0.0.1,10.0.0.2"))
    async with fake.serve() as url, httpx.AsyncClient() as http:
        reply = await post(http, url, Secret=SECRET, Func="NoSuchFunc")
    assert reply == front(802, "Invalid IP Address")


async def test_unknown_func_is_front_302(url: str, http: httpx.AsyncClient) -> None:
    """An unknown Func is the front script's 302, with a Code."""
    assert await post(http, url, Secret=SECRET, Func="sendmessage") == front(
        302, "Bad Request of Functions"
    )


async def test_missing_element_is_gateway_302(url: str, http: httpx.AsyncClient) -> None:
    """A missing Phone reaches the gateway: 'Error 302 : ...' without Code, as text/html."""
    response = await http.post(url, data={"Secret": SECRET, "Func": "SendMessage", "Message": "x"})
    # The server code prints the gateway's exit status after the JSON (docs/service.md E40).
    assert response.content == b'{"Message":"Error 302 : Bad Request of Func ","Status":"error"}302'
    assert response.headers["content-type"].startswith("text/html")


async def test_permission_denied_is_front_309() -> None:
    """isSuper and canGet actions are refused with front 309 without the permission."""
    fake = FakeMioGram(AccountConfig(is_super=False, can_get=False))
    async with fake.serve() as url, httpx.AsyncClient() as http:
        typing = await post(http, url, Secret=SECRET, Func="SendTyping", Phone="+989100000000")
        dialogs = await post(http, url, Secret=SECRET, Func="GetDialogList")
        sent = await post(
            http, url, Secret=SECRET, Func="SendMessage", Phone="+989100000000", Message="hi"
        )
    assert typing == front(309, "Permission Denied")
    assert dialogs == front(309, "Permission Denied")
    assert sent == {"Result": True, "Status": "success"}


async def test_allow_list_follows_api_set_ip() -> None:
    """APISetIP stores the list (409); a list without the caller locks it out with 802."""
    fake = FakeMioGram(profile="documented")  # documented profile: APIGetIP lists the stored IPs
    async with fake.serve() as url, httpx.AsyncClient() as http:
        before = await post(http, url, Secret=SECRET, Func="APIGetIP")
        empty = await post(http, url, Secret=SECRET, Func="APISetIP", Misc="")
        stored = await post(http, url, Secret=SECRET, Func="APISetIP", Misc="127.0.0.1,10.1.1.1")
        listed = await post(http, url, Secret=SECRET, Func="APIGetIP")
        await post(http, url, Secret=SECRET, Func="APISetIP", Misc="10.1.1.1")
        locked_out = await post(http, url, Secret=SECRET, Func="APIGetIP")
    assert before == {"Result": "*"}
    assert empty == front(330, "No Input")
    assert stored == {
        "Result": "127.0.0.1,10.1.1.1",
        "Message": "Allow IP Sets",
        "Status": "success",
        "Code": "409",
    }
    assert listed == {"Result": "127.0.0.1,10.1.1.1"}
    assert locked_out == front(802, "Invalid IP Address")


async def test_in_process_client_ip_is_configurable() -> None:
    """The in-process transport reports the configured client IP to the allow-list."""
    fake = FakeMioGram(AccountConfig(allowed_ips="10.9.8.7"))
    form = {"Secret": SECRET, "Func": "APIGetUsername"}
    async with httpx.AsyncClient(transport=fake.transport(client_ip="10.9.8.7")) as allowed:
        ok = (await allowed.post("http://fake/dojob.php", data=form)).json()
    async with httpx.AsyncClient(transport=fake.transport()) as other:
        refused = (await other.post("http://fake/dojob.php", data=form)).json()
    assert ok == {"Result": "tester"}
    assert refused == front(802, "Invalid IP Address")
    assert [record.client_ip for record in fake.requests] == ["10.9.8.7", "127.0.0.1"]


async def test_change_secret_rotates_at_once(
    fake: FakeMioGram, url: str, http: httpx.AsyncClient
) -> None:
    """APIChangeSecret returns 10 hex characters with Code 407; the old secret fails with 801."""
    reply = await post(http, url, Secret=SECRET, Func="APIChangeSecret")
    assert isinstance(reply, dict)
    new_secret = reply["Result"]
    assert isinstance(new_secret, str)
    assert len(new_secret) == 10
    assert set(new_secret) <= set("0123456789abcdef")
    assert reply == {
        "Result": new_secret,
        "Message": "Secret Changed",
        "Status": "success",
        "Code": "407",
    }
    assert fake.secret() == new_secret
    assert await post(http, url, Secret=SECRET, Func="APIGetActive") == front(801, "Invalid Secret")
    assert await post(http, url, Secret=new_secret, Func="APIGetActive") == {"Result": "1"}


async def test_requests_are_logged_without_the_secret(
    fake: FakeMioGram, url: str, http: httpx.AsyncClient
) -> None:
    """The request log keeps Func, elements, robot and agent, never the secret."""
    await post(http, url, Secret=SECRET, Func="APIGetRobot", Robot="Nobody")
    (record,) = fake.requests
    assert record.func == "APIGetRobot"
    assert record.elements == {"Func": "APIGetRobot", "Robot": "Nobody"}
    assert record.agent == "Agent1"
    assert record.client_ip == "127.0.0.1"
    assert SECRET not in repr(fake.requests)


async def test_accounts_are_separate() -> None:
    """Two accounts keep their own credits and agents; duplicates are refused."""
    fake = FakeMioGram(
        [AccountConfig(), AccountConfig(secret="other", username="second", agents=("B1",))]
    )
    with pytest.raises(ValueError, match="secret"):
        fake.add_account(AccountConfig(username="third"))
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        form = {"Func": "SendMessage", "Phone": "+989100000001", "Message": "x"}
        await http.post("http://fake/dojob.php", data={"Secret": "other", **form})
        robot = await http.post(
            "http://fake/dojob.php", data={"Secret": "other", "Func": "APIGetRobot"}
        )
    assert robot.json() == {"Result": "B1"}
    assert fake.credits("second")["Message"] == 999_999
    assert fake.credits()["Message"] == 1_000_000
    assert [d.agent for d in fake.deliveries] == ["B1"]


async def test_secret_is_stripped_of_punctuation_before_lookup() -> None:
    """Punctuation in Secret is ignored, as the service strips it before the lookup (E21)."""
    fake = FakeMioGram(AccountConfig(secret="ab12cd34ef"))
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        form = {"Secret": "ab12-cd34.ef", "Func": "APIGetActive"}
        reply = (await http.post("http://fake/dojob.php", data=form)).json()
    assert reply == {"Result": "1"}


async def test_http_error_page_carries_its_status() -> None:
    """An HTTP_ERROR fault answers an HTML page with the configured status."""
    from miogram_async.testing import FaultKind, FaultRule  # noqa: PLC0415

    fake = FakeMioGram()
    fake.inject(FaultRule(kind=FaultKind.HTTP_ERROR, status=503))
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        response = await http.post("http://fake/dojob.php", data={"Secret": SECRET})
    assert response.status_code == 503
    assert response.headers["content-type"] == "text/html"
    assert "<title>503 Service Temporarily Unavailable</title>" in response.text


def test_reprs_never_show_the_secret() -> None:
    """Account configuration and state print without their secret."""
    fake = FakeMioGram(AccountConfig(secret="very-secret-value"))
    shown = repr(fake) + repr(fake.account()) + repr(fake.account().config)
    assert "very-secret-value" not in shown
    assert "tester" in shown
