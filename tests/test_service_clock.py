"""The service's clock as the Date headers of its replies bound it (settling from history, E50)."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from miogram_async import MioGram
from miogram_async._base.clock import ServiceClock, parse_http_date
from miogram_async.testing import FakeMioGram

SECRET = "test-secret"  # the fake account's default
URL = "http://fake/dojob.php"


def test_a_date_header_is_read_as_unix_seconds() -> None:
    """RFC 9110 dates (GMT, or -0000) read as Unix seconds; junk and absence read as None."""
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777.0
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 -0000") == 784111777.0
    assert parse_http_date("not a date") is None
    assert parse_http_date("") is None
    assert parse_http_date(None) is None


def test_one_reply_bounds_the_offset_by_its_round_trip_and_whole_second() -> None:
    """Date D between local send s and receipt r: the offset lies in [D - r, D + 1 - s]."""
    clock = ServiceClock()
    assert not clock.known
    assert clock.earliest(100.0) is None
    clock.observe(1000.0, sent=100.2, received=100.5)
    assert clock.low == pytest.approx(899.5)
    assert clock.high == pytest.approx(900.8)
    assert clock.earliest(101.0) == pytest.approx(1000.5)
    assert clock.latest(101.0) == pytest.approx(1001.8)


def test_replies_narrow_the_bounds_and_a_stepped_clock_starts_them_again() -> None:
    """Overlapping samples intersect; a sample outside the bounds (a clock step) replaces them."""
    clock = ServiceClock()
    clock.observe(1000.0, sent=100.0, received=100.9)  # [899.1, 901.0]
    clock.observe(1005.0, sent=104.5, received=104.6)  # [900.4, 901.5]
    assert clock.low == pytest.approx(900.4)
    assert clock.high == pytest.approx(901.0)
    assert clock.samples == 2
    clock.observe(5000.0, sent=200.0, received=200.1)  # an hour on: the service's clock stepped
    assert clock.low == pytest.approx(4799.9)
    assert clock.high == pytest.approx(4801.0)
    clock.observe(None, sent=300.0, received=300.1)  # no Date: nothing learnt
    clock.observe(7000.0, sent=300.0, received=1300.0)  # a reply that took too long proves little
    assert clock.samples == 3


async def test_the_fake_stamps_its_replies_with_its_own_clock() -> None:
    """The fake's Date header is its clock, clock_offset included."""
    fake = FakeMioGram(clock_offset=7200.0)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        before = time.time()
        reply = await http.post(URL, data={"Secret": SECRET, "Func": "APIGetAds"})
        after = time.time()
    stamped = email.utils.parsedate_to_datetime(reply.headers["date"]).timestamp()
    assert int(before + 7200) <= stamped <= after + 7200


@pytest.mark.parametrize("offset", [0.0, 3600.0, -86400.0])
async def test_the_client_learns_the_services_clock_from_any_reply(offset: float) -> None:
    """After one read the client's bounds hold the fake's clock_offset, within a second."""
    fake = FakeMioGram(clock_offset=offset)
    async with fake.client() as client:
        assert client.service_clock is None
        await client.api_get_ads()
        bounds = client.service_clock
        assert bounds is not None
        low, high = bounds
        assert low <= offset <= high
        assert high - low <= 1.5
        await client.api_get_credits()
        again = client.service_clock
        assert again is not None
        assert low <= again[0] <= offset <= again[1] <= high


async def test_the_loopback_fake_sends_one_date_its_own() -> None:
    """Over loopback the app's Date (clock_offset) is the only one, not the web server's."""
    fake = FakeMioGram(clock_offset=-3600.0)
    async with fake.serve() as base_url, MioGram(SECRET, base_url=base_url) as client:
        async with httpx.AsyncClient() as http:
            reply = await http.post(base_url, data={"Secret": SECRET, "Func": "APIGetAds"})
        assert len(reply.headers.get_list("date")) == 1
        stamped = email.utils.parsedate_to_datetime(reply.headers["date"]).timestamp()
        assert abs(stamped - (time.time() - 3600.0)) < 5
        await client.api_get_ads()
        bounds = client.service_clock
    assert bounds is not None
    assert bounds[0] <= -3600.0 <= bounds[1]
