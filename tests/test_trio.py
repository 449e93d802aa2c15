"""The same client under trio: anyio everywhere, httpx's own transport."""

from __future__ import annotations

import httpx
import pytest
import respx
import trio

from miogram_async import APITimeoutError, MioGram, Outcome, RetryPolicy
from miogram_async.testing import AccountConfig, FakeMioGram, FaultKind, FaultRule, Faults

URL = "https://miogram.test/dojob.php"
PHONE = "+989100000000"


def test_client_runs_actions_under_trio() -> None:
    """Single sends, reads, a Mass send, retries and the rate limit all work under trio."""
    fake = FakeMioGram(AccountConfig(secret="trio-secret", username="trio-user"))

    async def main() -> tuple[bool, str, list[str], dict[str, Outcome]]:
        async with MioGram(
            "trio-secret", transport=fake.transport(), rate_limit=1000.0, concurrency=2
        ) as client:
            sent = await client.send_message(PHONE, "from trio")
            username = await client.api_get_username()
            robots = await client.api_get_robot()
            numbers = [f"+98910000{i:04d}" for i in range(6)]
            result = await client.send_message_mass(numbers, "bulk", chunk_size=2)
        return sent, username, robots, dict(result)

    sent, username, robots, outcomes = trio.run(main)
    assert sent is True
    assert username == "trio-user"
    assert robots == ["Agent1"]
    assert len(outcomes) == 6
    assert set(outcomes.values()) <= {Outcome.DELIVERED, Outcome.UNDELIVERED}


def test_respx_and_retries_under_trio() -> None:
    """respx intercepts under trio; a read retries, a send times out once, lazily built pool."""

    async def main() -> int:
        with respx.mock(assert_all_called=True) as mock:
            mock.post(URL, data__contains={"Func": "APIGetAds"}).mock(
                side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json={"Result": 0})]
            )
            send = mock.post(URL, data__contains={"Func": "SendTyping"}).mock(
                side_effect=httpx.ReadTimeout("slow")
            )
            client = MioGram(
                "s", base_url=URL, retry_policy=RetryPolicy(base_delay=0.001, max_delay=0.001)
            )
            try:
                assert await client.api_get_ads() is False
                with pytest.raises(APITimeoutError):
                    await client.send_typing(PHONE)
            finally:
                await client.aclose()
            return send.call_count

    assert trio.run(main) == 1


def test_change_secret_survives_cancellation_under_trio() -> None:
    """Under trio too, a caller cancelled mid-APIChangeSecret still leaves the client switched."""

    async def main() -> list[str]:
        received, release = trio.Event(), trio.Event()
        secrets: list[str] = []

        async def handler(request: httpx.Request) -> httpx.Response:
            fields = dict(
                pair.split("=", 1) for pair in (await request.aread()).decode().split("&")
            )
            secrets.append(fields["Secret"])
            if fields["Func"] == "APIChangeSecret":
                received.set()
                await release.wait()
                return httpx.Response(200, json={"Result": "new-secret", "Status": "success"})
            return httpx.Response(200, json={"Result": "trio-user"})

        async with MioGram("old-secret", transport=httpx.MockTransport(handler)) as client:
            async with trio.open_nursery() as nursery:
                with trio.CancelScope() as scope:

                    async def cancel_once_sent() -> None:
                        await received.wait()
                        scope.cancel()
                        release.set()

                    nursery.start_soon(cancel_once_sent)
                    await client.api_change_secret()
            await client.api_get_username()
        return secrets

    assert trio.run(main) == ["old-secret", "new-secret"]


def test_settling_unknown_numbers_runs_under_trio() -> None:
    """The settle step (gated history reads, the drain wait, the clock) works under trio."""
    fake = FakeMioGram(
        AccountConfig(secret="trio-secret"),
        faults=Faults.of(
            FaultRule(kind=FaultKind.GATEWAY_DIES, funcs={"SendMessageMass"}, times=1, handed=2)
        ),
    )
    numbers = [f"+98910000{i:04d}" for i in range(3)]  # one chunk: a client's first (E49)

    async def main() -> tuple[list[str], list[str]]:
        async with MioGram("trio-secret", transport=fake.transport()) as client:
            result = await client.send_message_mass(numbers, "bulk")
            settled = await client.settle_unknown(result, "bulk")
        return settled.delivered, settled.absent

    delivered, absent = trio.run(main)
    assert delivered == numbers[:2]
    assert absent == numbers[2:]
