"""The fake service's sends: credits, limits in bytes, ads, Mass maps, WhatsApp, reports."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from miogram_async.testing import (
    AccountConfig,
    CreditsConfig,
    FakeMioGram,
    LimitsConfig,
    NumberBook,
    UndeliveredReply,
)

SECRET = "test-secret"
ALICE = "+989100000001"
BOB = "+989100000002"
NOBODY = "+989100000009"

Poster = Callable[..., Awaitable[Any]]


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake where Alice and Bob exist, with small credits and limits."""
    return FakeMioGram(
        AccountConfig(
            numbers=NumberBook.only([ALICE, BOB]),
            credits=CreditsConfig(message=5, photo=2, video=2, file=2, other=2),
            limits=LimitsConfig(message=20, photo_mb=1, video_mb=2, file_mb=3),
        ),
        # documented profile: these tests hold the document's shapes; the server's are in
        # test_fake_server_code.py
        profile="documented",
    )


@pytest.fixture
async def post(fake: FakeMioGram) -> AsyncIterator[Poster]:
    """A function posting one form to the fake served on loopback."""
    async with fake.serve() as url, httpx.AsyncClient(timeout=10) as http:

        async def send(**form: str) -> Any:
            response = await http.post(url, data={"Secret": SECRET, **form})
            return response.json()

        yield send


def front(code: int, text: str) -> dict[str, str]:
    """The front script's error form."""
    return {"Message": text, "Status": "error", "Code": str(code)}


def gateway(code: int, text: str) -> dict[str, object]:
    """The gateway's error form."""
    return {"Result": False, "Status": "error", "Message": f"Error {code} : {text}"}


async def test_delivered_is_charged_undelivered_is_not(fake: FakeMioGram, post: Poster) -> None:
    """A delivered send costs one credit, one to a missing number costs nothing (Status fail)."""
    assert await post(Func="SendMessage", Phone=ALICE, Message="hi") == {
        "Result": True,
        "Status": "success",
    }
    assert await post(Func="SendMessage", Phone=NOBODY, Message="hi") == {
        "Result": False,
        "Status": "fail",
    }
    assert fake.credits()["Message"] == 4
    assert [d.number for d in fake.deliveries] == [ALICE]
    assert [d.number for d in fake.undelivered] == [NOBODY]
    assert await post(Func="APIGetCredits") == {
        "Result": {"Message": "4", "Photo": "2", "Video": "2", "File": "2", "Other": "2"},
        "Status": "checking",
    }


async def test_mass_result_is_keyed_as_sent_and_charged_per_delivery(
    fake: FakeMioGram, post: Poster
) -> None:
    """Mass keys are the numbers exactly as sent; only the true ones are charged."""
    reply = await post(Func="SendMessageMass", Phone=f"{ALICE},{NOBODY}, {BOB}", Message="hey")
    assert reply == {
        "Result": {ALICE: True, NOBODY: False, f" {BOB}": True},
        "Status": "checking",
    }
    assert fake.credits()["Message"] == 3


async def test_mass_credit_refusals(fake: FakeMioGram, post: Poster) -> None:
    """A Mass larger than the credit gets gateway 306; with no credit at all, front 305."""
    assert await post(Func="SendLocation", Phone=ALICE, Misc="35.7,51.4") == {
        "Result": True,
        "Status": "success",
    }
    photo = base64.b64encode(b"\xff\xd8 jpeg").decode()
    too_many = ",".join([ALICE, BOB, NOBODY])
    assert await post(Func="SendPhotoMass", Phone=too_many, Data=photo) == gateway(
        306, "Low Credit"
    )
    assert await post(Func="SendPhotoMass", Phone=f"{ALICE},{BOB}", Data=photo) == {
        "Result": {ALICE: True, BOB: True},
        "Status": "checking",
    }
    assert await post(Func="SendPhotoMass", Phone=ALICE, Data=photo) == front(305, "No Credit")
    assert fake.credits() == {"Message": 5, "Photo": 0, "Video": 2, "File": 2, "Other": 1}


async def test_single_send_refused_only_below_zero_credit() -> None:
    """
    A single send goes out at zero credit (docs/service.md E12) and is front 305 only below zero.
    """
    fake = FakeMioGram(AccountConfig(credits=CreditsConfig(other=0)))
    async with fake.serve() as url, httpx.AsyncClient() as http:
        form = {"Secret": SECRET, "Func": "SendContact", "Phone": ALICE, "Misc": "Ali,Rezaei"}
        first = (await http.post(url, data=form)).json()
        second = (await http.post(url, data=form)).json()
    assert first == {"Result": True, "Status": "success"}
    assert second == front(305, "No Credit")
    assert [d.number for d in fake.deliveries] == [ALICE]
    assert fake.credits()["Other"] == -1


async def test_limits_are_reported_in_bytes(post: Poster) -> None:
    """APIGetLimits gives the message limit as stored and media limits in bytes."""
    assert await post(Func="APIGetLimits") == {
        "Result": {
            "Message": "20",
            "Photo": 1048576,
            "Video": 2097152,
            "File": 3145728,
            "canGet": "1",
            "isSuper": "1",
        },
        "Status": "checking",
    }


async def test_message_length_counts_utf8_bytes(post: Poster) -> None:
    """Ten Persian letters are 20 bytes (allowed); eleven are 22 bytes (front 304)."""
    assert await post(Func="SendMessage", Phone=ALICE, Message="س" * 10) == {
        "Result": True,
        "Status": "success",
    }
    assert await post(Func="SendMessage", Phone=ALICE, Message="س" * 11) == front(
        304, "Message Length is Too High"
    )


async def test_ads_count_in_the_length() -> None:
    """The ad (newline + text) is appended before the byte check, and is what gets delivered."""
    fake = FakeMioGram(AccountConfig(ads="AD", limits=LimitsConfig(message=10)))
    async with fake.serve() as url, httpx.AsyncClient() as http:
        form = {"Secret": SECRET, "Func": "SendMessage", "Phone": ALICE}
        fits = (await http.post(url, data={**form, "Message": "1234567"})).json()
        too_long = (await http.post(url, data={**form, "Message": "12345678"})).json()
        ads = (await http.post(url, data={"Secret": SECRET, "Func": "APIGetAds"})).json()
    assert fits == {"Result": True, "Status": "success"}
    assert too_long == front(304, "Message Length is Too High")
    assert ads == {"Result": True}
    assert [d.text for d in fake.deliveries] == ["1234567\nAD"]


async def test_file_size_is_checked_on_decoded_bytes(fake: FakeMioGram, post: Poster) -> None:
    """A photo of exactly 1 MiB passes; one byte more is front 303."""
    exact = base64.b64encode(b"\0" * 1048576).decode()
    over = base64.b64encode(b"\0" * 1048577).decode()
    assert await post(Func="SendPhoto", Phone=ALICE, Data=exact) == {
        "Result": True,
        "Status": "success",
    }
    assert await post(Func="SendPhoto", Phone=ALICE, Data=over) == front(
        303, "File Size is Too High"
    )
    assert fake.deliveries[0].data_sha256 == hashlib.sha256(b"\0" * 1048576).hexdigest()


async def test_base64_must_be_strict(post: Poster) -> None:
    """Base64 with line breaks is refused by the gateway with 400."""
    wrapped = base64.encodebytes(b"x" * 100).decode()
    assert await post(Func="SendFile", Phone=ALICE, Data=wrapped) == gateway(400, "Not Valid File")


async def test_whatsapp_always_true_with_status_sent(fake: FakeMioGram, post: Poster) -> None:
    """WhatsApp single and Mass return true with Status sent, charging every number."""
    assert await post(Func="SendMessageWhatsApp", Phone=NOBODY, Message="w") == {
        "Result": True,
        "Status": "sent",
    }
    assert await post(Func="SendMessageWhatsAppMass", Phone=f"{ALICE},{NOBODY}", Message="w") == {
        "Result": True,
        "Status": "sent",
    }
    assert fake.credits()["Message"] == 2


async def test_whatsapp_unsupported_is_gateway_101() -> None:
    """An account without WhatsApp gets the gateway's 101."""
    fake = FakeMioGram(
        AccountConfig(whatsapp=False), profile="documented"
    )  # documented profile: Result key
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        form = {"Secret": SECRET, "Func": "SendMessageWhatsApp", "Phone": ALICE, "Message": "w"}
        reply = (await http.post("http://fake/dojob.php", data=form)).json()
    assert reply == gateway(101, "WhatsApp Not Supported")


async def test_undelivered_can_be_answered_as_307() -> None:
    """With UndeliveredReply.ERROR_307 a missing number is 'Number Not Exist or Wrong'."""
    fake = FakeMioGram(
        AccountConfig(
            numbers=NumberBook.only([ALICE]), undelivered_reply=UndeliveredReply.ERROR_307
        )
    )
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        form = {"Secret": SECRET, "Func": "SendMessage", "Phone": BOB, "Message": "w"}
        reply = (await http.post("http://fake/dojob.php", data=form)).json()
    assert reply == {"Result": False, "Message": "Number Not Exist or Wrong", "Status": "error"}


async def test_reports_are_a_top_level_array_newest_first(post: Poster) -> None:
    """APIGetReport is 111 with no sends, then records newest first, limited by Misc."""
    assert await post(Func="APIGetReport") == front(111, "No DATA")
    await post(Func="SendMessageMass", Phone=f"{ALICE},{NOBODY}", Message="one")
    await post(Func="SendContact", Phone=BOB, Misc="Ali,Rezaei")
    records = await post(Func="APIGetReport", Misc="")
    assert isinstance(records, list)
    assert [(r["DATA"], r["Number"], r["Delivered"]) for r in records] == [
        ("Ali,Rezaei", BOB, BOB),
        ("one", f"{ALICE},{NOBODY}", ALICE),
    ]
    assert set(records[0]) == {"Username", "DATE", "TIME", "IP", "DATA", "Number", "Delivered"}
    assert records[0]["IP"] == "127.0.0.1"
    assert await post(Func="APIGetReport", Misc="1") == records[:1]


async def test_report_count_is_capped_at_1000() -> None:
    """More than 1000 records are never returned, whatever Misc asks for."""
    fake = FakeMioGram(profile="documented")  # documented profile: the newest 1000 (E44 differs)
    fake.account().reports.extend({"DATA": str(i)} for i in range(1200))
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        form = {"Secret": SECRET, "Func": "APIGetReport", "Misc": "5000"}
        records = (await http.post("http://fake/dojob.php", data=form)).json()
    assert len(records) == 1000
    assert records[0] == {"DATA": "1199"}


def test_number_book_ratio_is_stable_per_number() -> None:
    """A seeded ratio gives each number the same answer every time, near the share overall."""
    book = NumberBook.ratio(0.5, seed=7)
    numbers = [f"+98910{i:07d}" for i in range(2000)]
    first = [book.exists(n) for n in numbers]
    assert first == [book.exists(n) for n in numbers]
    assert 900 < sum(first) < 1100
    assert not book.exists("not-a-number")
