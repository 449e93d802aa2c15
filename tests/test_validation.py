"""Input validation: every check accepts what the service takes and names what it refuses."""

from __future__ import annotations

import base64
import functools
import io
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miogram_async import ValidationError, normalize_phone
from miogram_async._base.validation import (
    Media,
    check_file_format,
    check_forward_count,
    check_history,
    check_ips,
    check_location,
    check_media_size,
    check_message,
    check_misc_piece,
    check_online,
    check_report_count,
    check_username,
    clean_phone,
    load_media,
)

PHONE = re.compile(r"^\+[1-9]\d{7,14}$")

# normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+989100000000", "+989100000000"),
        ("+98 910 000 0000", "+989100000000"),
        ("+98-910-000-0000", "+989100000000"),
        ("+98.910.000.0000", "+989100000000"),
        ("+98 (910) 000-0000", "+989100000000"),
        ("  +989100000000\n", "+989100000000"),
        ("00989100000000", "+989100000000"),
        ("0098 910 000 0000", "+989100000000"),
        ("+۹۸۹۱۰۰۰۰۰۰۰۰", "+989100000000"),
        ("۰۰۹۸۹۱۰۰۰۰۰۰۰۰", "+989100000000"),
        ("+٩٨٩١٠٠٠٠٠٠٠٠", "+989100000000"),
        ("+98\u200f910\u00a0000\u20130000", "+989100000000"),
        ("+12025550123", "+12025550123"),
        ("+12345678", "+12345678"),
        ("+123456789012345", "+123456789012345"),
        ("09121234567", "+989121234567"),
        ("0912 765 4321", "+989127654321"),
        ("۰۹۱۲۱۲۳۴۵۶۷", "+989121234567"),
        ("٠٩١٢١٢٣٤٥٦٧", "+989121234567"),
        ("9121234567", "+989121234567"),
        ("912-123-4567", "+989121234567"),
        ("989121234568", "+989121234568"),
        ("98 912 123 4568", "+989121234568"),
        ("00989121234569", "+989121234569"),
        ("+989121234560", "+989121234560"),
        ("\ufeff09121234567\r\n", "+989121234567"),
    ],
)
def test_normalize_phone_accepts(raw: str, expected: str) -> None:
    """Separators go, digits become ASCII, 00 becomes +, Iranian mobiles get +98 (region IR)."""
    assert normalize_phone(raw) == expected
    assert normalize_phone(raw, default_region="IR") == expected


@pytest.mark.parametrize(
    "raw",
    [
        "0912 12",
        "091212345678",
        "0812345678",
        "08121234567",
        "912123456",
        "91212345678",
        "98912123456",
        "9891212345678",
        "982112345678",
        "02112345678",
        "+0989100000000",
        "1234567890",
        "0098 912",
        "０９１２３４５６７８９",
        "09121234567x",
    ],
)
def test_normalize_phone_iran_rejects_what_is_not_a_mobile(raw: str) -> None:
    """Under IR only a 9 and nine digits after 0, 98 or nothing is read as an Iranian mobile."""
    with pytest.raises(ValidationError) as caught:
        normalize_phone(raw)
    assert str(caught.value) == f"expected a phone like +989100000000, got {raw!r}"


@pytest.mark.parametrize("raw", ["09121234567", "9121234567", "989121234567"])
def test_normalize_phone_without_region_takes_international_forms_only(raw: str) -> None:
    """default_region=None turns the Iranian reading off: national forms are refused."""
    with pytest.raises(ValidationError, match="expected a phone like"):
        normalize_phone(raw, default_region=None)
    assert normalize_phone("+98" + raw[-10:], default_region=None) == "+98" + raw[-10:]
    assert normalize_phone("0098" + raw[-10:], default_region=None) == "+98" + raw[-10:]


def test_normalize_phone_iran_needs_no_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Region IR (the default) works without phonenumbers installed."""
    monkeypatch.setitem(sys.modules, "phonenumbers", None)
    assert normalize_phone("09121234567") == "+989121234567"
    assert normalize_phone("9121234567", default_region="ir") == "+989121234567"


@pytest.mark.parametrize(
    "raw",
    [
        "0912 12",
        "+0989100000000",
        "+1234567",
        "+1234567890123456",
        "+98910000000a",
        "",
        "+",
        "++989100000000",
        "+98 910 000 0000, +98 910 000 0001",
        "+98/910/000/0000",
        "+²³⁴⁵⁶⁷⁸⁹⁰",
    ],
)
def test_normalize_phone_rejects(raw: str) -> None:
    """Anything that is not + and 8-15 digits after normalising is refused with the input shown."""
    for region in ("IR", None):
        with pytest.raises(ValidationError) as caught:
            normalize_phone(raw, default_region=region)
        assert str(caught.value) == f"expected a phone like +989100000000, got {raw!r}"


def test_normalize_phone_message_example() -> None:
    """The message reads as the house style's example."""
    with pytest.raises(
        ValidationError, match=r"^expected a phone like \+989100000000, got '0912 12'$"
    ):
        normalize_phone("0912 12")


def test_normalize_phone_long_input_is_shortened_in_the_message() -> None:
    """A huge bad input is not copied whole into the message."""
    with pytest.raises(ValidationError) as caught:
        normalize_phone("x" * 10_000)
    assert len(str(caught.value)) < 100


@pytest.mark.parametrize("raw", [989100000000, None, b"+989100000000", ["+989100000000"]])
def test_normalize_phone_rejects_non_str(raw: object) -> None:
    """Only strings are phones."""
    with pytest.raises(ValidationError, match="as a str, got"):
        normalize_phone(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("0912 345 6789", "IR", "+989123456789"),
        ("۰۹۱۲۳۴۵۶۷۸۹", "IR", "+989123456789"),
        ("9123456789", "ir", "+989123456789"),
        ("(202) 555-0123", "US", "+12025550123"),
        ("+989123456789", "US", "+989123456789"),
    ],
)
def test_normalize_phone_default_region(raw: str, region: str, expected: str) -> None:
    """With default_region, national forms are read (IR built in, others by phonenumbers)."""
    assert normalize_phone(raw, default_region=region) == expected


@pytest.mark.parametrize("raw", ["0912 12", "０９１２３４５６７８９", "call me", "+98 912"])
def test_normalize_phone_default_region_still_rejects_nonsense(raw: str) -> None:
    """A region does not make nonsense (or full-width digits) a phone."""
    with pytest.raises(ValidationError) as caught:
        normalize_phone(raw, default_region="IR")
    assert str(caught.value) == f"expected a phone like +989100000000, got {raw!r}"


@pytest.mark.parametrize("phone", ["0912 345 6789", "+989123456789"])
@pytest.mark.parametrize(("region", "shown"), [("XX", "'XX'"), ("", "''"), (98, "98")])
def test_normalize_phone_unknown_region(phone: str, region: object, shown: str) -> None:
    """An unknown region code is refused, whatever the number."""
    with pytest.raises(ValidationError) as caught:
        normalize_phone(phone, default_region=region)  # type: ignore[arg-type]
    assert str(caught.value) == f"expected a region code like 'IR', got {shown}"


def test_normalize_phone_region_needs_the_phone_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without phonenumbers, a region other than IR says which extra to install."""
    monkeypatch.setitem(sys.modules, "phonenumbers", None)
    for phone in ("(202) 555-0123", "+12025550123"):
        with pytest.raises(ValidationError, match=r"pip install 'miogram-async\[phone\]'"):
            normalize_phone(phone, default_region="US")
    assert normalize_phone("+989123456789") == "+989123456789"


@settings(max_examples=200)
@given(st.text(max_size=30))
def test_normalize_phone_property(raw: str) -> None:
    """Any text either becomes a valid phone or raises ValidationError."""
    try:
        result = normalize_phone(raw)
    except ValidationError:
        return
    assert PHONE.match(result)


@settings(max_examples=200)
@given(st.text(alphabet="0123456789+ -()۰۱۲۹٠٩", max_size=20))
def test_normalize_phone_property_with_region(raw: str) -> None:
    """Phone-like text with a region either becomes a valid phone or raises ValidationError."""
    try:
        result = normalize_phone(raw, default_region="IR")
    except ValidationError:
        return
    assert PHONE.match(result)


def _phone_or_error(clean: Callable[[], str]) -> str | tuple[type[BaseException], str]:
    try:
        return clean()
    except ValidationError as error:
        return (type(error), str(error))


# Wire-form numbers, near misses of it (a length off by one, a leading 0, a trailing newline,
# Unicode digits) and arbitrary text.
_PHONE_LIKE = st.one_of(
    st.from_regex(r"\A\+[1-9][0-9]{7,14}\Z"),
    st.from_regex(r"\A\+?[0-9]{6,17}\n?\Z"),
    st.text(alphabet="+0123456789 \n-۰۱۲۹٠٩", max_size=20),
    st.text(max_size=20),
)


@settings(max_examples=500)
@given(_PHONE_LIKE)
def test_normalize_phone_fast_path_matches_the_full_clean_up(raw: str) -> None:
    """The wire-form shortcut gives exactly what the full clean-up gives, errors included."""
    for region in ("IR", None):
        fast = _phone_or_error(functools.partial(normalize_phone, raw, default_region=region))
        assert fast == _phone_or_error(functools.partial(clean_phone, raw, region))


def test_normalize_phone_fast_path_returns_a_plain_str() -> None:
    """A str subclass in the wire form still comes back as a plain str, as before."""

    class Phone(str):
        __slots__ = ()

    result = normalize_phone(Phone("+989100000000"))
    assert (type(result), result) == (str, "+989100000000")


def test_normalize_phone_fast_path_keeps_the_region_check() -> None:
    """A wire-form number with an unknown region still fails on the region."""
    with pytest.raises(ValidationError, match="region code"):
        normalize_phone("+989100000000", default_region="XX")


# check_message


def test_check_message_returns_text_unchanged() -> None:
    """Messages keep spaces and new lines."""
    assert check_message("  سلام\nworld  ") == "  سلام\nworld  "


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ("", "expected a non-empty message, got ''"),
        ("  \n\t", r"expected a non-empty message, got '  \n\t'"),
        (None, "expected a message as a str, got NoneType"),
        (b"hi", "expected a message as a str, got bytes"),
        ("a\ud800b", "expected a message as valid Unicode text, got a lone surrogate"),
    ],
)
def test_check_message_rejects(message: object, text: str) -> None:
    """Empty, blank, non-str and non-encodable messages are refused."""
    with pytest.raises(ValidationError) as caught:
        check_message(message)  # type: ignore[arg-type]
    assert str(caught.value).startswith(text)


def test_check_message_counts_utf8_bytes() -> None:
    """max_bytes compares UTF-8 bytes, not characters (E12)."""
    assert check_message("سلام", max_bytes=8) == "سلام"
    with pytest.raises(ValidationError, match="at most 7 UTF-8 bytes, got 8 bytes"):
        check_message("سلام", max_bytes=7)


def test_check_message_with_ads_checks_only_its_own_bytes() -> None:
    """With ads, only the message's own bytes count: the ad text is unknown (issue 10)."""
    assert check_message("x" * 15, max_bytes=15, ads=True) == "x" * 15
    assert check_message("x" * 69, max_bytes=100, ads=True) == "x" * 69
    with pytest.raises(ValidationError) as caught:
        check_message("x" * 16, max_bytes=15, ads=True)
    assert str(caught.value) == (
        "expected a message of at most 15 UTF-8 bytes (and the service appends its "
        "advertisement to it), got 16 bytes"
    )


def test_check_message_never_states_a_negative_budget() -> None:
    """A limit smaller than any ad headroom never gives 'at most -N bytes'; 0 means unchecked."""
    assert check_message("x" * 99, max_bytes=100, ads=True) == "x" * 99
    assert check_message("hello", max_bytes=0, ads=True) == "hello"
    with pytest.raises(ValidationError) as caught:
        check_message("x" * 101, max_bytes=100, ads=True)
    assert "at most 100 UTF-8 bytes" in str(caught.value)


# check_misc_piece


@pytest.mark.parametrize("value", ["My Group", "گروه من", "a_b-c.d", "x"])
def test_check_misc_piece_accepts(value: str) -> None:
    """Names pass unchanged (spaces included: the service turns them into '_')."""
    assert check_misc_piece(value, "a chat name") == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("a,b", "expected a chat name without a comma, got 'a,b'"),
        ("", "expected a chat name, got the blank value ''"),
        ("   ", "expected a chat name, got the blank value '   '"),
        ("a\nb", r"expected a chat name on one line, got 'a\nb'"),
        ("a\rb", r"expected a chat name on one line, got 'a\rb'"),
        (5, "expected a chat name as a str, got int"),
        ("\udc80", "expected a chat name as valid Unicode text"),
        # Control characters and Unicode line breaks split or cut the gateway's command line.
        ("a\x00b", r"expected a chat name on one line, got 'a\x00b'"),
        ("a\tb", r"expected a chat name on one line, got 'a\tb'"),
        ("a\u2028b", r"expected a chat name on one line, got 'a\u2028b'"),
    ],
)
def test_check_misc_piece_rejects(value: object, text: str) -> None:
    """Commas, line breaks, blanks and non-str pieces are refused (A10)."""
    with pytest.raises(ValidationError) as caught:
        check_misc_piece(value, "a chat name")  # type: ignore[arg-type]
    assert str(caught.value).startswith(text)


@settings(max_examples=200)
@given(st.text(max_size=20))
def test_check_misc_piece_property(value: str) -> None:
    """Any text either passes unchanged and without a comma, or raises ValidationError."""
    try:
        result = check_misc_piece(value, "a name")
    except ValidationError:
        return
    assert result == value
    assert "," not in result
    assert "\n" not in result


# check_online, counts, history


def test_check_online() -> None:
    """True and False become exactly Online and Offline."""
    assert (check_online(True), check_online(False)) == ("Online", "Offline")


@pytest.mark.parametrize("value", [1, 0, "Online", None])
def test_check_online_rejects_non_bool(value: object) -> None:
    """Only a real bool picks the state."""
    with pytest.raises(ValidationError, match="expected online as True or False"):
        check_online(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("count", "expected"), [(1, "1"), (500, "500"), (999, "999")])
def test_check_report_count_accepts(count: int, expected: str) -> None:
    """1..999 go out as decimal strings (A20)."""
    assert check_report_count(count) == expected


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "expected a report count between 1 and 999, got 0"),
        (1000, "expected a report count between 1 and 999, got 1000"),
        (-5, "expected a report count between 1 and 999, got -5"),
        (True, "expected a report count as an int, got True"),
        ("10", "expected a report count as an int, got '10'"),
        (10.0, "expected a report count as an int, got 10.0"),
    ],
)
def test_check_report_count_rejects(count: object, text: str) -> None:
    """Out-of-range counts, bools, strings and floats are refused."""
    with pytest.raises(ValidationError) as caught:
        check_report_count(count)  # type: ignore[arg-type]
    assert str(caught.value) == text


def test_check_forward_count() -> None:
    """Forward counts are non-negative ints (A19)."""
    assert (check_forward_count(0), check_forward_count(25)) == ("0", "25")
    with pytest.raises(ValidationError, match="expected a forward count >= 0, got -1"):
        check_forward_count(-1)
    with pytest.raises(ValidationError, match="as an int, got False"):
        check_forward_count(False)


def test_check_history() -> None:
    """History goes out as "offset,limit" (A17)."""
    assert check_history(0, 100) == "0,100"
    assert check_history(20, 1) == "20,1"


@pytest.mark.parametrize(
    ("offset", "limit", "text"),
    [
        (-1, 10, "expected offset >= 0, got -1"),
        (0, 0, "expected limit >= 1, got 0"),
        (0, True, "expected limit as an int, got True"),
        (None, 10, "expected offset as an int, got None"),
    ],
)
def test_check_history_rejects(offset: object, limit: object, text: str) -> None:
    """Negative offsets, limits below 1 and non-ints are refused."""
    with pytest.raises(ValidationError) as caught:
        check_history(offset, limit)  # type: ignore[arg-type]
    assert str(caught.value) == text


# check_location


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        (35.6892, 51.389, "35.6892,51.389"),
        (0, 0, "0,0"),
        (-90, 180, "-90,180"),
        (90.0, -180.0, "90,-180"),
        (1e-05, -1.5e-07, "0.00001,-0.00000015"),
        (-0.0, 12.3456789012, "0,12.3456789012"),
        (35, 51.0, "35,51"),
    ],
)
def test_check_location_formats_without_exponent(
    latitude: float, longitude: float, expected: str
) -> None:
    """Coordinates are written in plain decimal, never with an exponent (A21)."""
    assert check_location(latitude, longitude) == expected


@pytest.mark.parametrize(
    ("latitude", "longitude", "text"),
    [
        (90.5, 0, "expected latitude between -90 and 90, got 90.5"),
        (0, -180.01, "expected longitude between -180 and 180, got -180.01"),
        (float("nan"), 0, "expected latitude between -90 and 90, got nan"),
        (0, float("inf"), "expected longitude between -180 and 180, got inf"),
        (True, 0, "expected latitude as a number, got True"),
        ("35.7", 0, "expected latitude as a number, got '35.7'"),
    ],
)
def test_check_location_rejects(latitude: object, longitude: object, text: str) -> None:
    """Out-of-range, non-finite and non-numeric coordinates are refused."""
    with pytest.raises(ValidationError) as caught:
        check_location(latitude, longitude)  # type: ignore[arg-type]
    assert str(caught.value) == text


@settings(max_examples=200)
@given(
    st.floats(min_value=-90, max_value=90, allow_nan=False),
    st.floats(min_value=-180, max_value=180, allow_nan=False),
)
def test_check_location_property(latitude: float, longitude: float) -> None:
    """Any valid coordinate prints as plain decimal that reads back as the same float."""
    text = check_location(latitude, longitude)
    assert re.fullmatch(r"-?\d+(\.\d+)?,-?\d+(\.\d+)?", text)
    lat_text, lon_text = text.split(",")
    assert (float(lat_text), float(lon_text)) == (latitude, longitude)


# check_ips


@pytest.mark.parametrize(
    ("ips", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("203.0.113.7, 198.51.100.1", "203.0.113.7,198.51.100.1"),
        (["203.0.113.7", "2001:db8::1"], "203.0.113.7,2001:db8::1"),
        (("2001:0db8:0000::0001",), "2001:db8::1"),
        ("*", "*"),
        ([" * "], "*"),
        (iter(["10.0.0.1"]), "10.0.0.1"),
    ],
)
def test_check_ips_accepts(ips: str | Iterable[str], expected: str) -> None:
    """IPv4/IPv6 lists or '*' alone are joined by commas."""
    assert check_ips(ips) == expected


@pytest.mark.parametrize(
    ("ips", "text"),
    [
        ("", "expected an IP address like 203.0.113.7 or '*', got ''"),
        ([], "expected at least one IP address or '*', got []"),
        ("1.2.3.4,*", "expected '*' alone (it allows every IP), got '1.2.3.4,*'"),
        ("1.2.3", "expected an IP address like 203.0.113.7 or '*', got '1.2.3'"),
        ("10.0.0.0/8", "expected an IP address like 203.0.113.7 or '*', got '10.0.0.0/8'"),
        ("1.2.3.4,,5.6.7.8", "expected an IP address like 203.0.113.7 or '*', got ''"),
        ([1234], "expected an IP address as a str, got 1234"),
        (b"1.2.3.4", "expected IP addresses as a str or a list of str, got bytes"),
        (42, "expected IP addresses as a str or a list of str, got int"),
    ],
)
def test_check_ips_rejects(ips: object, text: str) -> None:
    """Malformed addresses, empty lists, '*' with others and non-str items are refused."""
    with pytest.raises(ValidationError) as caught:
        check_ips(ips)  # type: ignore[arg-type]
    assert str(caught.value) == text


# check_username, check_file_format


def test_check_username() -> None:
    """Usernames without spaces or commas pass unchanged."""
    assert check_username("mio_user1") == "mio_user1"


@pytest.mark.parametrize("username", ["", "mio user", "a,b", "tab\there", "x\n", "nul\x00"])
def test_check_username_rejects(username: str) -> None:
    """Empty usernames and ones with spaces or commas are refused."""
    with pytest.raises(ValidationError) as caught:
        check_username(username)
    assert str(caught.value) == (f"expected a username without spaces or commas, got {username!r}")


def test_check_username_rejects_non_str() -> None:
    """A username must be a str."""
    with pytest.raises(ValidationError, match="expected a username as a str, got int"):
        check_username(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("file_format", "expected"),
    [("jpg", "jpg"), (".JPG", "jpg"), ("Mp4", "mp4"), ("tar.gz", "tar.gz"), (".x", "x")],
)
def test_check_file_format_accepts(file_format: str, expected: str) -> None:
    """Extensions are lower-cased and lose one leading dot (A22)."""
    assert check_file_format(file_format) == expected


@pytest.mark.parametrize(
    "file_format", ["", ".", "..jpg", "jpg.", "j pg", "jpg,png", "a/b", "a\\b", "x" * 17, "a\x00"]
)
def test_check_file_format_rejects(file_format: str) -> None:
    """Empty, spaced, comma'd, slashed, over-long or control-character extensions are refused."""
    with pytest.raises(ValidationError) as caught:
        check_file_format(file_format)
    assert str(caught.value).startswith("expected a file format like 'jpg', got ")


def test_check_file_format_rejects_non_str() -> None:
    """A file format must be a str."""
    with pytest.raises(ValidationError, match="got NoneType"):
        check_file_format(None)  # type: ignore[arg-type]


# load_media

CONTENT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3


def expected_media(file_format: str, content: bytes = CONTENT) -> Media:
    """The Media load_media should make of *content*."""
    return Media(
        data_b64=base64.b64encode(content).decode("ascii"),
        size=len(content),
        file_format=file_format,
    )


@pytest.mark.parametrize("data", [CONTENT, bytearray(CONTENT), memoryview(CONTENT)])
def test_load_media_from_bytes(data: bytes | bytearray | memoryview) -> None:
    """Bytes-like data is encoded once, with the default format."""
    assert load_media(data, None, "jpg") == expected_media("jpg")


def test_load_media_base64_is_standard_without_line_breaks() -> None:
    """The encoding is standard base64 with padding and no line breaks (A23)."""
    media = load_media(b"\xfb\xff" * 100, None, "bin")
    assert "\n" not in media.data_b64
    assert media.data_b64.endswith("=")
    assert set(media.data_b64) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    )
    assert base64.b64decode(media.data_b64, validate=True) == b"\xfb\xff" * 100
    assert media.size == 200


def test_load_media_explicit_format_wins() -> None:
    """An explicit file_format is checked and used."""
    assert load_media(CONTENT, ".PNG", "jpg") == expected_media("png")


def test_load_media_from_path(tmp_path: Path) -> None:
    """A path (str or PathLike) is read; its suffix gives the format."""
    path = tmp_path / "photo.PNG"
    path.write_bytes(CONTENT)
    assert load_media(path, None, "jpg") == expected_media("png")
    assert load_media(str(path), None, "jpg") == expected_media("png")
    assert load_media(path, "gif", "jpg") == expected_media("gif")


def test_load_media_path_without_suffix_uses_default(tmp_path: Path) -> None:
    """A file name without a usable suffix falls back to the default format."""
    plain = tmp_path / "photo"
    plain.write_bytes(CONTENT)
    odd = tmp_path / "photo.j p g"
    odd.write_bytes(CONTENT)
    assert load_media(plain, None, "jpg") == expected_media("jpg")
    assert load_media(odd, None, "jpg") == expected_media("jpg")


def test_load_media_missing_file(tmp_path: Path) -> None:
    """A missing file is a ValidationError naming the path."""
    missing = tmp_path / "nope.jpg"
    with pytest.raises(ValidationError, match=r"expected a readable file, got '.*nope\.jpg': "):
        load_media(missing, None, "jpg")


def test_load_media_bad_paths(tmp_path: Path) -> None:
    """A NUL in a path or a bytes path is refused as a ValidationError."""
    with pytest.raises(ValidationError, match=r"expected a readable file, got 'a\\x00b': embedded"):
        load_media("a\x00b", None, "jpg")

    class BytesPath:
        def __fspath__(self) -> bytes:
            return b"/tmp/x.jpg"

    with pytest.raises(ValidationError, match="expected a path as str, got bytes"):
        load_media(BytesPath(), None, "jpg")  # type: ignore[arg-type]


def test_load_media_closed_file(tmp_path: Path) -> None:
    """A closed file object is refused as a ValidationError."""
    handle = io.BytesIO(CONTENT)
    handle.close()
    with pytest.raises(
        ValidationError, match="expected a readable file object, got one that failed"
    ):
        load_media(handle, None, "jpg")


def test_load_media_directory(tmp_path: Path) -> None:
    """A directory is not a file."""
    with pytest.raises(ValidationError, match="expected a readable file"):
        load_media(tmp_path, None, "jpg")


def test_load_media_from_binary_file(tmp_path: Path) -> None:
    """A binary file object is read to its end; its name gives the format."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(CONTENT)
    with path.open("rb") as handle:
        assert load_media(handle, None, "bin") == expected_media("mp4")
    assert load_media(io.BytesIO(CONTENT), None, "bin") == expected_media("bin")


def test_load_media_refuses_text_files(tmp_path: Path) -> None:
    """A text-mode file object is refused."""
    path = tmp_path / "note.txt"
    path.write_text("hello", encoding="utf-8")
    with (
        path.open(encoding="utf-8") as handle,
        pytest.raises(ValidationError, match=r"open it with 'rb'\), got a text file"),
    ):
        load_media(handle, None, "txt")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="got a text file"):
        load_media(io.StringIO("hello"), None, "txt")  # type: ignore[arg-type]


def test_load_media_refuses_reader_returning_text() -> None:
    """A file-like object whose read() returns str is refused."""

    class TextReader:
        def read(self) -> str:
            return "hello"

    with pytest.raises(ValidationError, match="whose read\\(\\) returns str"):
        load_media(TextReader(), None, "txt")  # type: ignore[arg-type]


@pytest.mark.parametrize("data", [b"", bytearray(), io.BytesIO(b"")])
def test_load_media_refuses_empty_data(data: bytes | bytearray | io.BytesIO) -> None:
    """Empty file data is refused."""
    with pytest.raises(ValidationError, match="expected file data, got an empty file"):
        load_media(data, None, "jpg")


@pytest.mark.parametrize("data", [123, None, ["a"]])
def test_load_media_refuses_other_types(data: object) -> None:
    """Other types are refused with their type named."""
    with pytest.raises(ValidationError, match="expected bytes, a path or a binary file object"):
        load_media(data, None, "jpg")  # type: ignore[arg-type]


def test_media_repr_hides_the_data() -> None:
    """The repr of Media does not dump the base64 data."""
    media = load_media(CONTENT, None, "png")
    assert media.data_b64 not in repr(media)
    assert repr(media) == f"Media(size={len(CONTENT)}, file_format='png')"


def test_check_media_size() -> None:
    """Media larger than the limit is refused; None means no limit."""
    media = load_media(b"x" * 10, None, "bin")
    assert check_media_size(media, 10) is media
    assert check_media_size(media, None) is media
    with pytest.raises(ValidationError) as caught:
        check_media_size(media, 9)
    assert str(caught.value) == "expected a file of at most 9 bytes, got 10 bytes"


def test_misc_pieces_keep_persian_joiners() -> None:
    """The zero-width non-joiner of Persian names is not a control character: it passes."""
    assert check_misc_piece("می\u200cخواهم", "a chat name") == "می\u200cخواهم"


def test_check_message_rejects_nul() -> None:
    """A NUL byte would end the text early on the gateway's side: refused."""
    with pytest.raises(ValidationError, match="NUL"):
        check_message("hi\x00there")


@pytest.mark.parametrize(
    "check",
    [
        lambda: check_forward_count(10**5000),
        lambda: check_history(10**5000, 1),
        lambda: check_history(0, 2**63),
        lambda: check_location(10**400, 0.0),
        lambda: check_location(0.0, -(10**400)),
        lambda: check_location(10**5000, 0.0),
        lambda: check_report_count(10**5000),
    ],
)
def test_huge_numbers_are_validation_errors(check: Callable[[], str]) -> None:
    """Numbers too big for the service (or for float/str) are ValidationError, not Overflow."""
    with pytest.raises(ValidationError):
        check()


@pytest.mark.parametrize("ips", ["fe80::1%eth0", ["203.0.113.7", "fe80::1%1"]])
def test_check_ips_rejects_ipv6_zone_ids(ips: str | list[str]) -> None:
    """A zone id is local to the caller's host: the service would never match it."""
    with pytest.raises(ValidationError, match="IP address"):
        check_ips(ips)
