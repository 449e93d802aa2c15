"""The token bucket: logical tests on a fake clock (nothing here waits for real time)."""

from __future__ import annotations

import httpx
import pytest

from miogram_async import MioGram
from miogram_async._http.ratelimit import TokenBucket


class FakeClock:
    """A clock that only moves when the bucket sleeps (or the test advances it)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def bucket(rate: float, burst: float | None = None) -> tuple[TokenBucket, FakeClock]:
    """A bucket on a fake clock."""
    clock = FakeClock()
    return TokenBucket(rate, burst=burst, clock=clock, sleep=clock.sleep), clock


async def test_burst_passes_without_waiting_then_rate_applies() -> None:
    """A full bucket lets `burst` requests through at once; the next waits 1/rate seconds."""
    limiter, clock = bucket(rate=4.0)
    for _ in range(4):
        await limiter.acquire()
    assert clock.sleeps == []
    await limiter.acquire()
    assert clock.sleeps == [pytest.approx(0.25)]


async def test_average_rate_over_many_requests() -> None:
    """N requests beyond the burst take (N - burst) / rate seconds of fake time."""
    limiter, clock = bucket(rate=5.0, burst=1)
    start = clock.now
    for _ in range(11):
        await limiter.acquire()
    assert clock.now - start == pytest.approx(2.0)


async def test_idle_time_refills_up_to_burst_only() -> None:
    """Tokens accumulate while idle but never beyond the burst."""
    limiter, clock = bucket(rate=2.0, burst=3)
    for _ in range(3):
        await limiter.acquire()
    clock.now += 60.0
    for _ in range(3):
        await limiter.acquire()
    assert clock.sleeps == []
    await limiter.acquire()
    assert clock.sleeps == [pytest.approx(0.5)]


async def test_fractional_rate_defaults_to_burst_of_one() -> None:
    """rate < 1 gets a burst of one: one request, then one every 1/rate seconds."""
    limiter, clock = bucket(rate=0.5)
    assert limiter.burst == 1.0
    await limiter.acquire()
    await limiter.acquire()
    assert clock.sleeps == [pytest.approx(2.0)]


@pytest.mark.parametrize(("rate", "burst"), [(0.0, None), (-1.0, None), (1.0, 0.5)])
def test_bad_settings_are_refused(rate: float, burst: float | None) -> None:
    """A non-positive rate or a burst below one is a ValueError."""
    with pytest.raises(ValueError, match=r"rate|burst"):
        TokenBucket(rate, burst=burst)


async def test_client_takes_one_token_per_request() -> None:
    """Every request of the client, whatever the action, takes a token from one shared bucket."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"Result": "1"})

    clock = FakeClock()
    limiter = TokenBucket(10.0, burst=2, clock=clock, sleep=clock.sleep)
    async with MioGram("s", transport=httpx.MockTransport(handler), rate_limit=10.0) as client:
        client._session._bucket = limiter  # the fake clock instead of anyio's
        await client.api_get_active()
        await client.api_is_super()
        await client.api_can_get()
        await client.api_get_ads()
    assert len(seen) == 4
    assert clock.sleeps == [pytest.approx(0.1), pytest.approx(0.1)]


def test_client_builds_bucket_from_options() -> None:
    """rate_limit and rate_burst configure the client's bucket; None means no limit."""
    limited = MioGram("s", rate_limit=3.0, rate_burst=6)
    assert repr(limited._session._bucket) == "TokenBucket(rate=3.0, burst=6.0)"
    assert MioGram("s")._session._bucket is None
