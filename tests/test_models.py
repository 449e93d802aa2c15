"""Typed results: lenient numbers, strict booleans, unknown fields kept, bad shapes refused."""

from __future__ import annotations

import contextlib
import json
import pickle
import subprocess
import sys
import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import get_args

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miogram_async import (
    APIResponseError,
    CreditKind,
    Credits,
    Limits,
    NoDataError,
    ReportRecord,
    ValidationError,
)
from miogram_async._base.models import (
    CREDIT_KINDS,
    MEGABYTE,
    as_credits,
    as_limits,
    as_reports,
    converter,
    credits_from_wire,
    limits_from_wire,
    report_from_wire,
)
from miogram_async._base.wire import Reply, decode_reply

LIMITS_WIRE: dict[str, object] = {
    "Message": "1000",
    "Photo": "5",
    "Video": 20 * MEGABYTE,
    "File": 10.0,
    "canGet": "1",
    "isSuper": 0,
}
CREDITS_WIRE: dict[str, object] = {
    "Message": "100",
    "Photo": 0,
    "Video": "-1",
    "File": 3.0,
    "Other": " 7 ",
}
RECORD_WIRE: dict[str, object] = {
    "Username": "miouser",
    "DATE": "2026-01-02",
    "TIME": "10:11:12",
    "IP": "203.0.113.7",
    "DATA": "سلام",
    "Number": "+989100000001,+989100000002",
    "Delivered": "+989100000001, +989100000002",
}


def reply_of(body: object, func: str) -> Reply:
    """Decode *body* (JSON-encoded here) as the reply to *func*."""
    return decode_reply(func, 200, json.dumps(body).encode("utf-8"))


# Limits


def test_limits_from_wire() -> None:
    """Strings and numbers parse; media limits below 1 MiB are megabytes (A15)."""
    limits = limits_from_wire(LIMITS_WIRE)
    assert limits == Limits(
        message=1000,
        photo=5 * MEGABYTE,
        video=20 * MEGABYTE,
        file=10 * MEGABYTE,
        can_get=True,
        is_super=False,
        raw=LIMITS_WIRE,
    )
    assert limits.raw == LIMITS_WIRE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (-1, -1),
        (1, MEGABYTE),
        (MEGABYTE - 1, (MEGABYTE - 1) * MEGABYTE),
        (MEGABYTE, MEGABYTE),
        (MEGABYTE + 1, MEGABYTE + 1),
        ("2097152", 2 * MEGABYTE),
    ],
)
def test_limits_media_units(value: object, expected: int) -> None:
    """Values below 1 MiB are taken as MB, larger ones as bytes, 0 and below kept."""
    assert limits_from_wire({**LIMITS_WIRE, "Photo": value}).photo == expected


def test_limits_keeps_unknown_fields_in_raw() -> None:
    """Fields the model does not know stay in raw, exactly as sent."""
    wire = {**LIMITS_WIRE, "Audio": "3", "Nested": {"a": [1]}}
    limits = limits_from_wire(wire)
    assert limits.raw == wire
    assert limits.raw["Nested"] == {"a": [1]}


def test_limits_flags_default_to_false() -> None:
    """Absent canGet/isSuper read as no permission (the service sends 0 when unset, E10)."""
    wire = {key: value for key, value in LIMITS_WIRE.items() if key not in ("canGet", "isSuper")}
    limits = limits_from_wire(wire)
    assert (limits.can_get, limits.is_super) == (False, False)


def test_limits_keys_match_case_insensitively() -> None:
    """Keys in another case are read."""
    wire = {key.upper(): value for key, value in LIMITS_WIRE.items()}
    limits = limits_from_wire(wire)
    assert (limits.message, limits.can_get) == (1000, True)


@pytest.mark.parametrize(
    ("flag", "expected"),
    [("1", True), ("0", False), (1, True), (0, False), ("true", True), ("false", False)],
)
def test_limits_flags_are_strict(flag: object, expected: bool) -> None:
    """Flags read 1/0/true/false; "false" is False (cattrs alone would say True)."""
    assert limits_from_wire({**LIMITS_WIRE, "canGet": flag}).can_get is expected


@pytest.mark.parametrize(
    ("wire", "text"),
    [
        ({**LIMITS_WIRE, "isSuper": "yes"}, "expected bool @ $.is_super"),
        ({**LIMITS_WIRE, "isSuper": 2}, "expected bool @ $.is_super"),
        ({**LIMITS_WIRE, "Message": "abc"}, "expected int @ $.message"),
        ({**LIMITS_WIRE, "Message": True}, "expected int @ $.message"),
        ({**LIMITS_WIRE, "Message": None}, "expected int @ $.message"),
        ({**LIMITS_WIRE, "Message": 10.5}, "expected int @ $.message"),
        ({**LIMITS_WIRE, "Photo": "abc"}, "expected int @ $.photo"),
        ({"Message": "1000"}, "missing Photo, Video, File"),
    ],
)
def test_limits_refuses_nonsense(wire: dict[str, object], text: str) -> None:
    """Values that are not numbers or flags raise APIResponseError naming the field."""
    with pytest.raises(APIResponseError) as caught:
        limits_from_wire(wire)
    assert caught.value.message.startswith("unexpected Limits in the reply: ")
    assert text in caught.value.message
    assert caught.value.excerpt == json.dumps(wire, ensure_ascii=False)


@pytest.mark.parametrize("obj", [None, "1000", [1, 2], 5, True])
def test_limits_refuses_non_objects(obj: object) -> None:
    """A Result that is not an object raises APIResponseError."""
    with pytest.raises(APIResponseError, match="expected an object"):
        limits_from_wire(obj)


def test_as_limits_reads_the_result() -> None:
    """The APIGetLimits decoder reads Result of a checking reply."""
    reply = reply_of({"Result": LIMITS_WIRE, "Status": "checking"}, "APIGetLimits")
    assert as_limits(reply).message == 1000


def test_as_limits_carries_the_http_status() -> None:
    """A bad Limits object reports the HTTP status of its reply."""
    reply = decode_reply("APIGetLimits", 203, b'{"Result": "nope", "Status": "checking"}')
    with pytest.raises(APIResponseError) as caught:
        as_limits(reply)
    assert caught.value.status_code == 203


# Credits


def test_credits_from_wire() -> None:
    """Credits parse leniently from strings, numbers and padded text."""
    credits = credits_from_wire(CREDITS_WIRE)
    assert credits == Credits(message=100, photo=0, video=-1, file=3, other=7, raw=CREDITS_WIRE)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("message", False), ("photo", True), ("video", True), ("file", False), ("other", False)],
)
def test_credits_exhausted(kind: CreditKind, expected: bool) -> None:
    """Credit 0 or below is exhausted (A16)."""
    assert credits_from_wire(CREDITS_WIRE).exhausted(kind) is expected


def test_credits_exhausted_unknown_kind() -> None:
    """An unknown kind is a ValidationError (a MioGramError and a ValueError) naming it."""
    with pytest.raises(ValidationError, match=r"expected a credit kind in .* got 'audio'"):
        credits_from_wire(CREDITS_WIRE).exhausted("audio")  # type: ignore[arg-type]


def test_credit_kinds_are_the_literal() -> None:
    """The Literal type and the runtime check name the same five kinds, the fields of Credits."""
    assert CREDIT_KINDS == get_args(CreditKind) == ("message", "photo", "video", "file", "other")
    assert set(CREDIT_KINDS) < {field.name for field in attrs.fields(Credits)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(100, 100), ("100", 100), (100.0, 100), ("100.0", 100), (" -1 ", -1), ("+5", 5)],
)
def test_credits_lenient_ints(value: object, expected: int) -> None:
    """ "100", 100 and 100.0 all read as 100 (A6)."""
    assert credits_from_wire({**CREDITS_WIRE, "Message": value}).message == expected


@pytest.mark.parametrize("value", ["abc", "", True, False, None, [1], {"a": 1}, 1.5, "1e400"])
def test_credits_refuse_nonsense(value: object) -> None:
    """Text, booleans, fractions and containers are not credit counts."""
    with pytest.raises(APIResponseError, match="unexpected Credits in the reply"):
        credits_from_wire({**CREDITS_WIRE, "Other": value})


def test_as_credits() -> None:
    """The APIGetCredits decoder reads Result."""
    reply = reply_of({"Result": CREDITS_WIRE, "Status": "checking"}, "APIGetCredits")
    assert as_credits(reply).other == 7


def test_models_equality_ignores_raw() -> None:
    """Two results with the same values are equal whatever their raw form."""
    assert credits_from_wire(CREDITS_WIRE) == credits_from_wire(
        {**CREDITS_WIRE, "Message": 100, "Extra": "x"}
    )


def test_models_are_frozen() -> None:
    """Results cannot be changed after they are built."""
    credits = credits_from_wire(CREDITS_WIRE)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        credits.message = 5  # type: ignore[misc]


def test_models_pickle() -> None:
    """Results pickle and come back equal, raw included."""
    for model in (
        limits_from_wire(LIMITS_WIRE),
        credits_from_wire(CREDITS_WIRE),
        report_from_wire(RECORD_WIRE),
    ):
        copy = pickle.loads(pickle.dumps(model))
        assert copy == model
        assert copy.raw == model.raw


def test_models_are_hashable() -> None:
    """Results can be set members and dict keys despite their dict and list fields."""
    record = report_from_wire(RECORD_WIRE)
    assert len({record, report_from_wire(dict(RECORD_WIRE))}) == 1
    assert len({limits_from_wire(LIMITS_WIRE), credits_from_wire(CREDITS_WIRE)}) == 2


def test_repr_leaves_raw_out() -> None:
    """The repr shows the parsed values, not the raw object."""
    assert repr(credits_from_wire(CREDITS_WIRE)) == (
        "Credits(message=100, photo=0, video=-1, file=3, other=7)"
    )


# ReportRecord


def test_report_from_wire() -> None:
    """A record's fields are read and Delivered is split on commas (E9)."""
    record = report_from_wire(RECORD_WIRE)
    assert record == ReportRecord(
        username="miouser",
        date="2026-01-02",
        time="10:11:12",
        ip="203.0.113.7",
        data="سلام",
        number="+989100000001,+989100000002",
        delivered=["+989100000001", "+989100000002"],
        raw=RECORD_WIRE,
    )


def test_report_sent_at_is_tehran_time() -> None:
    """sent_at joins DATE and TIME as an aware Asia/Tehran datetime (E9): UTC+03:30 in 2026."""
    sent_at = report_from_wire(RECORD_WIRE).sent_at
    assert sent_at == datetime(2026, 1, 2, 10, 11, 12, tzinfo=zoneinfo.ZoneInfo("Asia/Tehran"))
    assert sent_at is not None
    assert sent_at.utcoffset() == timedelta(hours=3, minutes=30)
    assert sent_at.astimezone(UTC) == datetime(2026, 1, 2, 6, 41, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("date", "time"),
    [("", "10:11:12"), ("2026-01-02", ""), ("02/01/2026", "10:11:12"), ("2026-01-02", "25:00:00")],
)
def test_report_sent_at_unreadable(date: str, time: str) -> None:
    """A record whose DATE or TIME is missing or malformed has no sent_at rather than an error."""
    record = report_from_wire({**RECORD_WIRE, "DATE": date, "TIME": time})
    assert record.sent_at is None


def test_report_sent_at_without_system_tzdata() -> None:
    """With no system zone database (Windows, slim images) the tzdata dependency supplies Tehran."""
    program = (
        "import zoneinfo\n"
        "zoneinfo.reset_tzpath(to=[])\n"
        "from miogram_async._base.models import report_from_wire\n"
        "record = report_from_wire({'DATE': '2026-01-02', 'TIME': '10:11:12'})\n"
        "print(record.sent_at.isoformat())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "2026-01-02T10:11:12+03:30"


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [
        ("+989100000001", ["+989100000001"]),
        ("", []),
        (None, []),
        (989100000001, ["989100000001"]),
        (["+989100000001", " +989100000002 "], ["+989100000001", "+989100000002"]),
        ("a,,b,", ["a", "b"]),
    ],
)
def test_report_delivered_shapes(delivered: object, expected: list[str]) -> None:
    """Delivered may be one number, a list, empty or absent."""
    assert report_from_wire({**RECORD_WIRE, "Delivered": delivered}).delivered == expected


def test_report_missing_fields_read_empty() -> None:
    """Fields the service did not send read as empty; raw keeps what it did send."""
    record = report_from_wire({"Number": 989100000001, "Extra": "x"})
    assert (record.number, record.username, record.delivered) == ("989100000001", "", [])
    assert record.raw == {"Number": 989100000001, "Extra": "x"}


@pytest.mark.parametrize(
    "wire",
    [{**RECORD_WIRE, "DATA": {"a": 1}}, {**RECORD_WIRE, "IP": True}, "record", None],
)
def test_report_refuses_nonsense(wire: object) -> None:
    """Containers or booleans where text belongs, and non-objects, raise APIResponseError."""
    with pytest.raises(APIResponseError, match="unexpected ReportRecord in the reply"):
        report_from_wire(wire)


@pytest.mark.parametrize("body", [[RECORD_WIRE, RECORD_WIRE], {"Result": [RECORD_WIRE] * 2}])
def test_as_reports(body: object) -> None:
    """APIGetReport records come from a bare array or from Result."""
    records = as_reports(reply_of(body, "APIGetReport"))
    assert records == [report_from_wire(RECORD_WIRE)] * 2


def test_as_reports_no_data() -> None:
    """No records is error 111, raised while decoding the envelope."""
    with pytest.raises(NoDataError):
        reply_of({"Message": "No DATA", "Status": "error", "Code": "111"}, "APIGetReport")


# The converter itself


def test_converter_bool_hook_is_strict() -> None:
    """The shared converter reads "false" as False and refuses "maybe"."""
    assert converter.structure("false", bool) is False
    assert converter.structure("TRUE", bool) is True
    with pytest.raises(ValueError, match="expected true/false or 1/0"):
        converter.structure("maybe", bool)


def test_converter_int_hook_is_lenient() -> None:
    """The shared converter reads "100" and 100.0 as 100 and refuses booleans."""
    assert converter.structure("100", int) == 100
    assert converter.structure(100.0, int) == 100
    with pytest.raises(TypeError, match="expected a number, got True"):
        converter.structure(True, int)
    with pytest.raises(ValueError, match="expected a whole number, got 'abc'"):
        converter.structure("abc", int)


# Properties: only MioGramError escapes

json_values: st.SearchStrategy[object] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.just([])
    | st.just({}),
    # Non-empty containers: hypothesis warns when `extend` can ignore its argument; the empty
    # ones come from the base strategy instead.
    lambda children: (
        st.lists(children, min_size=1, max_size=3)
        | st.dictionaries(st.text(max_size=8), children, min_size=1, max_size=3)
    ),
    max_leaves=10,
)
LIMIT_KEYS = ["Message", "Photo", "Video", "File", "canGet", "isSuper", "Other"]
wire_objects = st.dictionaries(st.sampled_from(LIMIT_KEYS + list(RECORD_WIRE)), json_values)


@settings(max_examples=200)
@given(wire_objects | json_values)
def test_models_raise_only_miogram_errors(obj: object) -> None:
    """Any decoded JSON builds a model or raises APIResponseError, nothing else."""
    for build in (limits_from_wire, credits_from_wire, report_from_wire):
        with contextlib.suppress(APIResponseError):
            build(obj)
