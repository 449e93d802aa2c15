"""The wire format: form bodies out, JSON envelopes in, and the result decoders."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miogram_async import (
    APIError,
    APIResponseError,
    InvalidSecretError,
    MioGramError,
    NoCreditError,
    NoDataError,
    NumberNotFoundError,
    PermissionDeniedError,
)
from miogram_async._base.actions import BY_FUNC
from miogram_async._base.wire import (
    FORM_HEADERS,
    Reply,
    as_bool,
    as_flag,
    as_json,
    as_mass_map,
    as_report_list,
    as_str,
    as_str_list,
    decode_reply,
    encode_form,
    excerpt,
    matched_mass_map,
    parse_bool,
    percent_quote,
)


def reply_of(body: object, func: str = "SendMessage", http_status: int = 200) -> Reply:
    """Decode *body* (JSON-encoded here) as the service's reply to *func*, flagged by its row."""
    secret_bearing = BY_FUNC[func].secret_bearing if func in BY_FUNC else False
    return decode_reply(
        func, http_status, json.dumps(body).encode("utf-8"), secret_bearing=secret_bearing
    )


# encode_form


def test_encode_form_exact_bytes_with_persian_text_and_plus() -> None:
    """The body is Secret, Func, elements, Robot, percent-encoded UTF-8 with '+' as %2B."""
    body = encode_form(
        "x32nv86ss5z",
        "SendMessage",
        {"phone": "+989100000000", "message": "سلام"},
        "Miogram",
    )
    assert body == (
        b"Secret=x32nv86ss5z&Func=SendMessage&Phone=%2B989100000000"
        b"&Message=%D8%B3%D9%84%D8%A7%D9%85&Robot=Miogram"
    )


def test_encode_form_orders_elements_canonically() -> None:
    """Elements go out as Phone, Message, Misc, Data whatever order they are given in."""
    body = encode_form(
        "s", "SendPhoto", {"data": "QUJD", "misc": "jpg", "phone": "+989100000000"}, None
    )
    assert [name for name, _ in parse_qsl(body.decode())] == [
        "Secret",
        "Func",
        "Phone",
        "Misc",
        "Data",
    ]


def test_encode_form_round_trips_special_characters() -> None:
    """Spaces, newlines, commas, '&', '=' and base64 padding survive the encoding."""
    message = "a b\nc,d&e=f+g/h"
    body = encode_form("s", "SendMessage", {"message": message, "data": "QQ=="}, None)
    assert dict(parse_qsl(body.decode())) == {
        "Secret": "s",
        "Func": "SendMessage",
        "Message": message,
        "Data": "QQ==",
    }
    assert b"+" not in body
    assert b" " not in body


def test_encode_form_omits_none_elements_and_empty_robot() -> None:
    """None elements and an empty Robot are left out of the body."""
    body = encode_form("s", "APIGetReport", {"misc": None, "phone": None}, "")
    assert body == b"Secret=s&Func=APIGetReport"


def test_encode_form_accepts_wire_names() -> None:
    """The raw escape hatch may name elements as the service does."""
    body = encode_form("s", "ChatInfo", {"Misc": "group"}, None)
    assert body == b"Secret=s&Func=ChatInfo&Misc=group"


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (("s", "SendMessage", {"message": ""}, None), ValueError, "'message' is empty"),
        (("s", "SendMessage", {"subject": "x"}, None), ValueError, "unknown form element"),
        (("", "SendMessage", {}, None), ValueError, "secret must be a non-empty"),
        (("s", "", {}, None), ValueError, "Func must be"),
        (("s", "SendMessage", {"phone": 989}, None), TypeError, "must be a str"),
        (("s", "SendMessage", {}, 7), TypeError, "Robot must be a str"),
    ],
)
def test_encode_form_refuses_programming_errors(
    call: tuple[object, object, object, object], error: type[Exception], text: str
) -> None:
    """Empty elements, unknown names and non-strings are programming errors, never sent."""
    with pytest.raises(error) as caught:
        encode_form(*call)  # type: ignore[arg-type]
    assert text in str(caught.value)


def test_encode_form_error_never_quotes_the_secret() -> None:
    """A refused body says what is wrong without repeating the secret."""
    with pytest.raises(ValueError, match="empty") as caught:
        encode_form("topsecret123", "SendMessage", {"message": ""}, None)
    assert "topsecret123" not in str(caught.value)


def test_form_headers() -> None:
    """Every request is form-urlencoded and asks for UTF-8."""
    assert dict(FORM_HEADERS) == {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept-Charset": "UTF-8",
    }


# decode_reply: statuses


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("success", "success"),
        ("Success", "success"),
        ("SUCCESS", "success"),
        ("checking", "checking"),
        ("sent", "sent"),
        ("fail", "fail"),
        (" Fail ", "fail"),
        ("NULL", None),
        ("null", None),
        (None, None),
        ("", None),
    ],
)
def test_decode_reply_status_variants(status: str | None, expected: str | None) -> None:
    """Status is compared case-insensitively; NULL, null and "" read as no status."""
    reply = reply_of({"Result": True, "Status": status})
    assert reply.status == expected
    assert reply.result is True


def test_decode_reply_absent_status() -> None:
    """The API* reads carry only Result (E7): no status, still a success."""
    reply = reply_of({"Result": "1"}, func="APIGetActive")
    assert (reply.status, reply.result, reply.message, reply.code) == (None, "1", None, None)


def test_decode_reply_keeps_raw_and_http_status() -> None:
    """The reply keeps the decoded body as it came and the HTTP status."""
    body = {"Result": False, "Status": "fail", "Extra": [1]}
    reply = reply_of(body, http_status=500)
    assert reply.raw == body
    assert reply.http_status == 500
    assert reply.func == "SendMessage"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {
                "Result": "ab12cd34ef",
                "Status": "success",
                "Code": "407",
                "Message": "Secret Changed",
            },
            407,
        ),
        ({"Result": "1.2.3.4", "Status": "Success", "Code": 409, "Message": "Allow IP Sets"}, 409),
        ({"Result": "1.2.3.4", "Status": "success", "Message": "Allow IP Sets"}, 409),
    ],
)
def test_decode_reply_407_409_are_success(body: dict[str, object], code: int) -> None:
    """407 Secret Changed and 409 Allow IP Sets with Status success are successes (D11)."""
    reply = reply_of(body, func="APISetIP")
    assert reply.code == code
    assert reply.status == "success"


@pytest.mark.parametrize(
    ("func", "body", "code"),
    [
        (
            "APIChangeSecret",
            {"Result": "ab12cd34ef", "Status": "error", "Code": "407", "Message": "Secret Changed"},
            407,
        ),
        ("APISetIP", {"Result": "1.2.3.4", "Status": "error", "Message": "Allow IP Sets"}, 409),
    ],
)
def test_decode_reply_407_409_with_status_error_are_still_success(
    func: str, body: dict[str, object], code: int
) -> None:
    """The document lists 407/409 under Status error (D11): they stay successes, never raise."""
    reply = reply_of(body, func=func)
    assert (reply.code, reply.result) == (code, body["Result"])


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"Result": False, "Status": "fail", "Code": "305", "Message": "No Credit"}, NoCreditError),
        ({"Status": "fail", "Message": "Error 309 : Permission Denied"}, PermissionDeniedError),
    ],
)
def test_decode_reply_fail_that_names_an_error_code_raises_it(
    body: dict[str, object], error: type[APIError]
) -> None:
    """Status fail carrying a documented error code is that error, not a quiet 'undelivered'."""
    with pytest.raises(error):
        reply_of(body)


def test_decode_reply_fail_with_a_plain_message_is_still_false() -> None:
    """Status fail with no recognisable error code stays a plain false (A2)."""
    reply = reply_of({"Result": False, "Status": "fail", "Message": "not delivered"})
    assert as_bool(reply) is False


def test_decode_reply_unknown_status_with_message_and_no_result_is_an_error() -> None:
    """An unknown Status with a Message and no Result raises (A2)."""
    with pytest.raises(InvalidSecretError) as caught:
        reply_of({"Status": "denied", "Message": "Invalid Secret"})
    assert caught.value.code == 801


def test_decode_reply_absent_status_with_message_and_no_result_is_an_error() -> None:
    """A bare {"Message": "Error NNN : ..."} is the error it names, not an empty success."""
    with pytest.raises(InvalidSecretError):
        reply_of({"Message": "Error 801 : Invalid Secret"})
    with pytest.raises(APIError) as caught:
        reply_of({"Status": "NULL", "Message": "odd"})
    assert (type(caught.value), caught.value.message) == (APIError, "odd")


def test_decode_reply_absent_status_success_texts_are_not_errors() -> None:
    """Allow IP Sets or Secret Changed alone are still successes (D11)."""
    reply = reply_of({"Message": "Allow IP Sets"}, func="APISetIP")
    assert (reply.code, reply.result) == (409, None)


def test_decode_reply_skips_a_byte_order_mark() -> None:
    """A UTF-8 byte-order mark before the JSON is ignored."""
    reply = decode_reply("SendMessage", 200, b'\xef\xbb\xbf{"Result":true,"Status":"success"}')
    assert reply.result is True


def test_decode_reply_unknown_status_with_result_is_success() -> None:
    """An unknown Status with a Result is a success (A2)."""
    reply = reply_of({"Status": "queued", "Result": True, "Message": "later"})
    assert (reply.status, reply.result, reply.message) == ("queued", True, "later")


def test_decode_reply_unknown_status_without_message_is_success() -> None:
    """An unknown Status with neither Message nor Result is a success with no result."""
    reply = reply_of({"Status": "done"})
    assert (reply.status, reply.result) == ("done", None)


def test_decode_reply_matches_keys_case_insensitively() -> None:
    """Envelope keys in another case are still read."""
    reply = reply_of({"result": True, "STATUS": "Success"})
    assert (reply.status, reply.result) == ("success", True)


def test_decode_reply_error_without_message() -> None:
    """Status error with a Code but no Message still raises the typed error."""
    with pytest.raises(InvalidSecretError) as caught:
        reply_of({"Status": "error", "Code": 801})
    assert (caught.value.code, caught.value.message) == (801, "")


def test_decode_reply_error_with_unknown_text_keeps_it() -> None:
    """An error with no readable code is a plain APIError keeping the service's text."""
    with pytest.raises(APIError) as caught:
        reply_of({"Status": "error", "Message": "Something odd happened"}, func="ChatInfo")
    assert type(caught.value) is APIError
    assert (caught.value.code, caught.value.message, caught.value.func) == (
        None,
        "Something odd happened",
        "ChatInfo",
    )


def test_decode_reply_number_not_exist_carries_result_false() -> None:
    """The gateway's unresolvable number (Result false, no prefix) is 307 (E6)."""
    with pytest.raises(NumberNotFoundError) as caught:
        reply_of({"Result": False, "Status": "error", "Message": "Number Not Exist or Wrong"})
    assert caught.value.code == 307


def test_decode_reply_non_numeric_code_falls_back_to_message() -> None:
    """A Code that is not a number is ignored in favour of the Message."""
    with pytest.raises(InvalidSecretError):
        reply_of({"Status": "error", "Code": "x", "Message": "Error 801 : Invalid Secret"})


def test_decode_reply_bare_array_is_a_result() -> None:
    """A top-level JSON array (APIGetReport, E9) is the result itself."""
    records = [{"Username": "u", "Number": "+989100000000"}]
    reply = reply_of(records, func="APIGetReport")
    assert (reply.status, reply.result, reply.raw) == (None, records, records)


def test_decode_reply_no_data_is_an_error() -> None:
    """111 No DATA from APIGetReport raises NoDataError."""
    with pytest.raises(NoDataError):
        reply_of({"Message": "No DATA", "Status": "error", "Code": "111"}, func="APIGetReport")


# decode_reply: bodies that are not the envelope


@pytest.mark.parametrize(
    ("body", "status", "message", "expected_excerpt"),
    [
        (
            b"<html>\n  <body>502 Bad   Gateway</body>\n</html>",
            502,
            "the reply is not JSON",
            "<html> <body>502 Bad Gateway</body> </html>",
        ),
        (b"", 200, "the reply is empty", ""),
        (b"  \n ", 200, "the reply is empty", ""),
        (b'{"Result": tr', 200, "the reply is not JSON", '{"Result": tr'),
        (b'"just a string"', 200, "the reply is not a JSON object or array", '"just a string"'),
        (b"42", 200, "the reply is not a JSON object or array", "42"),
        (b"null", 200, "the reply is not a JSON object or array", "null"),
        (b"{}", 200, "the reply is not the service's envelope", "{}"),
        (b"Connection failed: x", 200, "the reply is not JSON", "Connection failed: x"),
        (b"\xff\xfe{", 200, "the reply is not JSON", "\ufffd\ufffd{"),
    ],
)
def test_decode_reply_non_envelope_bodies(
    body: bytes, status: int, message: str, expected_excerpt: str
) -> None:
    """Bodies that are not the JSON envelope raise APIResponseError with status and excerpt."""
    with pytest.raises(APIResponseError) as caught:
        decode_reply("SendMessage", status, body)
    error = caught.value
    assert (error.message, error.status_code, error.excerpt) == (message, status, expected_excerpt)


def test_decode_reply_parses_json_whatever_the_http_status() -> None:
    """A JSON error body with HTTP 500 is still the service's typed error (A24)."""
    with pytest.raises(InvalidSecretError):
        decode_reply("SendMessage", 500, b'{"Status":"error","Code":"801","Message":"x"}')


def test_decode_reply_long_body_excerpt_is_short() -> None:
    """The excerpt of a long HTML page is at most 200 characters."""
    page = b"<html>" + b"x" * 5000 + b"</html>"
    with pytest.raises(APIResponseError) as caught:
        decode_reply("SendMessage", 200, page)
    assert len(caught.value.excerpt) == 200
    assert caught.value.excerpt.startswith("<html>xxx")


def test_decode_reply_hides_change_secret_bodies() -> None:
    """A broken APIChangeSecret reply (which carries the new secret) is not quoted."""
    with pytest.raises(APIResponseError) as caught:
        decode_reply("APIChangeSecret", 200, b'{"Result":"ab12cd34ef","Sta', secret_bearing=True)
    assert caught.value.excerpt == ""
    assert "ab12cd34ef" not in str(caught.value)


def test_reply_repr_hides_change_secret_result() -> None:
    """The repr of an APIChangeSecret reply does not show the new secret."""
    reply = reply_of({"Result": "ab12cd34ef", "Status": "success"}, func="APIChangeSecret")
    assert "ab12cd34ef" not in repr(reply)
    assert "ab12cd34ef" in repr(reply_of({"Result": "ab12cd34ef"}, func="APIGetUsername"))


def test_excerpt_collapses_whitespace() -> None:
    """Whitespace runs become one space and the ends are trimmed."""
    assert excerpt("  a \n\t b  ") == "a b"


# parse_bool / as_bool / as_flag


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (1.0, True),
        (0.0, False),
        ("true", True),
        ("TRUE", True),
        (" True ", True),
        ("false", False),
        ("False", False),
        ("1", True),
        ("0", False),
        (2, None),
        ("yes", None),
        ("", None),
        (None, None),
        ([], None),
        ({}, None),
        (0.5, None),
    ],
)
def test_parse_bool(value: object, expected: bool | None) -> None:
    """Booleans, 1/0 and their strings are read (A5); anything else is not."""
    assert parse_bool(value) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Result": True, "Status": "success"}, True),
        ({"Result": "false", "Status": "success"}, False),
        ({"Result": "1", "Status": "success"}, True),
        ({"Result": False, "Status": "fail"}, False),
        ({"Result": True, "Status": "fail"}, False),
        ({"Status": "fail"}, False),
        ({"Result": True, "Status": "sent"}, True),
    ],
)
def test_as_bool(body: dict[str, object], expected: bool) -> None:
    """Send results read as booleans; Status fail is always False."""
    assert as_bool(reply_of(body)) is expected


@pytest.mark.parametrize("result", ["yes", None, 2, [True], {"a": 1}])
def test_as_bool_unexpected_result(result: object) -> None:
    """A result that is not a boolean raises APIResponseError "unexpected result"."""
    with pytest.raises(APIResponseError, match="unexpected result for SendMessage") as caught:
        as_bool(reply_of({"Result": result, "Status": "success"}, http_status=201))
    assert caught.value.status_code == 201
    assert caught.value.excerpt == json.dumps(result)


@pytest.mark.parametrize(
    ("result", "expected"), [("1", True), ("0", False), (1, True), (False, False)]
)
def test_as_flag(result: object, expected: bool) -> None:
    """The API* 1/0 flags read as booleans."""
    assert as_flag(reply_of({"Result": result}, func="APIisSuper")) is expected


def test_as_flag_unexpected() -> None:
    """A flag that is neither 1 nor 0 raises APIResponseError."""
    with pytest.raises(APIResponseError, match="expected 1 or 0"):
        as_flag(reply_of({"Result": "maybe"}, func="APIcanGet"))


# as_json / as_str / as_str_list


def test_as_json_returns_result_unchanged() -> None:
    """Object results are returned as decoded JSON (A8)."""
    result = {"peer_id": 5, "members": [{"id": 1}], "name": "گروه"}
    assert as_json(reply_of({"Result": result, "Status": "success"}, func="ChatInfo")) == result
    assert as_json(reply_of({"Result": False, "Status": "fail"}, func="ChatInfo")) is False


@pytest.mark.parametrize(("result", "expected"), [("miouser", "miouser"), (12345, "12345")])
def test_as_str(result: object, expected: str) -> None:
    """String results, and numbers, read as text."""
    assert as_str(reply_of({"Result": result}, func="APIGetUsername")) == expected


@pytest.mark.parametrize("result", [None, True, ["a"], {"a": "b"}, 1.5])
def test_as_str_unexpected(result: object) -> None:
    """Anything but a string or an integer raises APIResponseError."""
    with pytest.raises(APIResponseError, match="expected a string"):
        as_str(reply_of({"Result": result}, func="APIGetUsername"))


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ("1.2.3.4,5.6.7.8", ["1.2.3.4", "5.6.7.8"]),
        ("*", ["*"]),
        ("Agent1, Agent2 ,", ["Agent1", "Agent2"]),
        ("", []),
        (["a", " b"], ["a", "b"]),
    ],
)
def test_as_str_list(result: object, expected: list[str]) -> None:
    """Comma-separated results split into trimmed, non-empty pieces."""
    assert as_str_list(reply_of({"Result": result}, func="APIGetRobot")) == expected


@pytest.mark.parametrize("result", [None, 5, [1], {"a": "b"}])
def test_as_str_list_unexpected(result: object) -> None:
    """Non-text results raise APIResponseError."""
    with pytest.raises(APIResponseError):
        as_str_list(reply_of({"Result": result}, func="APIGetIP"))


# as_mass_map

NUMBERS = ["+989100000001", "+989100000002", "+989100000003"]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            {"+989100000001": True, "+989100000002": False, "+989100000003": True},
            [True, False, True],
        ),
        (
            {"989100000001": "true", "989100000002": "false", "989100000003": 1},
            [True, False, True],
        ),
        ({"00989100000001": True, "00989100000003": "1"}, [True, False, True]),
        ({"+989100000002": True}, [False, True, False]),
        ({" +989100000001": True}, [True, False, False]),
        ({}, [False, False, False]),
        ([], [False, False, False]),
        (True, [True, True, True]),
        ("false", [False, False, False]),
    ],
)
def test_as_mass_map(result: object, expected: list[bool]) -> None:
    """Mass keys map back to the numbers sent; a single boolean covers them all."""
    decode = as_mass_map(NUMBERS)
    reply = reply_of({"Result": result, "Status": "checking"}, func="SendMessageMass")
    assert decode(reply) == dict(zip(NUMBERS, expected, strict=True))


def test_as_mass_map_fail_means_all_false() -> None:
    """Status fail marks every number undelivered."""
    decode = as_mass_map(NUMBERS)
    reply = reply_of({"Result": {"+989100000001": True}, "Status": "fail"})
    assert decode(reply) == dict.fromkeys(NUMBERS, False)


def test_as_mass_map_whatsapp_sent_single_true() -> None:
    """WhatsApp Mass answers a single true with Status sent (E7, E8)."""
    decode = as_mass_map(NUMBERS[:2])
    reply = reply_of({"Result": True, "Status": "sent"}, func="SendMessageWhatsAppMass")
    assert decode(reply) == dict.fromkeys(NUMBERS[:2], True)


@pytest.mark.parametrize("result", [None, "later", [True, False], {"+989100000001": "maybe"}, 7])
def test_as_mass_map_unexpected(result: object) -> None:
    """Shapes that cannot be read raise APIResponseError."""
    with pytest.raises(APIResponseError):
        as_mass_map(NUMBERS)(reply_of({"Result": result, "Status": "checking"}))


@pytest.mark.parametrize(
    "result",
    [
        {"09100000001": True, "09100000002": False, "09100000003": True},
        {"+989100000001": True, "+1999": True},
    ],
)
def test_as_mass_map_keys_that_match_no_number_sent_are_not_read_as_false(
    result: dict[str, bool],
) -> None:
    """A number missing from a map whose other keys match nothing sent is unknown, not false."""
    with pytest.raises(APIResponseError, match="keys"):
        as_mass_map(NUMBERS)(reply_of({"Result": result, "Status": "checking"}))


@settings(max_examples=100)
@given(
    picks=st.lists(
        st.tuples(st.sampled_from(["+", "00", "", " +"]), st.booleans()),
        min_size=len(NUMBERS),
        max_size=len(NUMBERS),
    ),
    keep=st.lists(st.booleans(), min_size=len(NUMBERS), max_size=len(NUMBERS)),
)
def test_as_mass_map_reads_any_mix_of_key_forms(
    picks: list[tuple[str, bool]], keep: list[bool]
) -> None:
    """Keys as sent, or with '+'/'00' in any mix, map back; a number left out reads false."""
    result = {
        prefix + number[1:]: value
        for number, (prefix, value), kept in zip(NUMBERS, picks, keep, strict=True)
        if kept
    }
    decoded = as_mass_map(NUMBERS)(reply_of({"Result": result, "Status": "checking"}))
    expected = {
        number: value and kept
        for number, (_, value), kept in zip(NUMBERS, picks, keep, strict=True)
    }
    assert decoded == expected


# as_report_list

RECORD = {
    "Username": "miouser",
    "DATE": "2026-01-02",
    "TIME": "10:11:12",
    "IP": "203.0.113.7",
    "DATA": "سلام",
    "Number": "+989100000001",
    "Delivered": "+989100000001",
}


@pytest.mark.parametrize(
    "body", [[RECORD, RECORD], {"Result": [RECORD, RECORD]}, {"Result": {"0": RECORD, "3": RECORD}}]
)
def test_as_report_list_shapes(body: object) -> None:
    """Reports come as a bare array, inside Result, or as an index-keyed object."""
    assert as_report_list(reply_of(body, func="APIGetReport")) == [RECORD, RECORD]


def test_as_report_list_empty() -> None:
    """An empty array is no records."""
    assert as_report_list(reply_of([], func="APIGetReport")) == []


@pytest.mark.parametrize(
    "body", [{"Result": "x"}, [1, 2], {"Result": [RECORD, "x"]}, {"Result": None}]
)
def test_as_report_list_unexpected(body: object) -> None:
    """Records that are not objects raise APIResponseError."""
    with pytest.raises(APIResponseError, match="report records"):
        as_report_list(reply_of(body, func="APIGetReport"))


# Properties: nothing but MioGramError escapes

json_values: st.SearchStrategy[object] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.just([])
    | st.just({}),
    # Non-empty containers: hypothesis warns when `extend` can ignore its argument; the empty
    # ones come from the base strategy instead.
    lambda children: (
        st.lists(children, min_size=1, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, min_size=1, max_size=4)
    ),
    max_leaves=12,
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "Result": json_values,
        "Status": st.sampled_from(["success", "error", "fail", "checking", "sent", "NULL", "odd"])
        | json_values,
        "Message": st.sampled_from(["Error 305 : No Credit", "No DATA", "Invalid IP Address*"])
        | json_values,
        "Code": st.sampled_from(["801", 302, "x"]) | json_values,
    },
)

DECODERS: list[Callable[[Reply], object]] = [
    as_bool,
    as_flag,
    as_json,
    as_str,
    as_str_list,
    as_report_list,
    as_mass_map(NUMBERS),
]


def _decode_everything(body: bytes) -> None:
    try:
        reply = decode_reply("SendMessage", 200, body)
    except MioGramError:
        return
    for decode in DECODERS:
        with contextlib.suppress(MioGramError):
            decode(reply)


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_miogram_errors(body: bytes) -> None:
    """Any byte string decodes or raises a MioGramError, through every decoder."""
    _decode_everything(body)


@settings(max_examples=200)
@given(envelopes | json_values)
def test_arbitrary_json_raises_only_miogram_errors(body: object) -> None:
    """Any JSON body decodes or raises a MioGramError, through every decoder."""
    _decode_everything(json.dumps(body).encode("utf-8"))


@settings(max_examples=100)
@given(
    st.dictionaries(
        st.sampled_from(["phone", "message", "misc", "data"]),
        st.text(min_size=1, max_size=30),
        max_size=4,
    )
)
def test_encode_form_round_trips(elements: dict[str, str]) -> None:
    """Whatever text goes in comes back out of a form parser unchanged."""
    body = encode_form("s3cret", "Func", elements, "Agent1")
    wire = {"phone": "Phone", "message": "Message", "misc": "Misc", "data": "Data"}
    decoded = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True))
    assert decoded == {
        "Secret": "s3cret",
        "Func": "Func",
        **{wire[name]: value for name, value in elements.items()},
        "Robot": "Agent1",
    }


def test_decode_reply_code_as_whole_float() -> None:
    """A Code written as a JSON float such as 801.0 is still read."""
    with pytest.raises(InvalidSecretError):
        reply_of({"Status": "error", "Code": 801.0, "Message": "x"})


def test_unexpected_result_excerpt_of_deeply_nested_result() -> None:
    """A result too deep to write back as JSON still gives a short excerpt."""
    nested: list[object] = []
    for _ in range(100_000):
        nested = [nested]
    reply = Reply(
        func="APIGetUsername",
        http_status=200,
        status=None,
        result=nested,
        message=None,
        code=None,
        raw=None,
    )
    with pytest.raises(APIResponseError) as caught:
        as_str(reply)
    assert caught.value.excerpt == "<list nested too deep to show>"


def test_unexpected_result_of_change_secret_is_not_quoted() -> None:
    """A misread APIChangeSecret result (the new secret) stays out of the error."""
    reply = reply_of({"Result": ["ab12cd34ef"], "Status": "success"}, func="APIChangeSecret")
    with pytest.raises(APIResponseError) as caught:
        as_str(reply)
    assert caught.value.excerpt == ""
    assert "ab12cd34ef" not in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        {"Status": "error", "Code": "9" * 5000, "Message": "x"},
        {"Status": "error", "Message": "Error " + "9" * 5000 + " : x"},
    ],
)
def test_decode_reply_absurd_codes_are_plain_api_errors(body: dict[str, object]) -> None:
    """A code thousands of digits long is not read as a code (and does not crash int())."""
    with pytest.raises(APIError) as caught:
        reply_of(body)
    assert (type(caught.value), caught.value.code) == (APIError, None)


def test_decode_reply_non_text_status_and_message() -> None:
    """A Status or Message that is not a string is read as its JSON text."""
    with pytest.raises(APIError) as caught:
        reply_of({"Status": 5, "Message": {"why": "odd"}})
    assert caught.value.message == '{"why": "odd"}'


# The fast paths: the same bytes and maps as the general code.


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_quote_matches_urllib(text: str) -> None:
    """The translation-table quoting writes exactly what urllib's quote with safe='' writes."""
    try:
        expected: str | type[BaseException] = quote(text, safe="", encoding="utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate
        expected = type(error)
    try:
        actual: str | type[BaseException] = percent_quote(text)
    except UnicodeEncodeError as error:
        actual = type(error)
    assert actual == expected


_FORM_TEXT = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30)


@settings(max_examples=200)
@given(
    _FORM_TEXT,
    st.dictionaries(st.sampled_from(["phone", "message", "misc", "data"]), _FORM_TEXT),
    st.one_of(st.none(), st.text(max_size=10)),
)
def test_encode_form_matches_urlencode(
    secret: str, elements: dict[str, str], robot: str | None
) -> None:
    """The body is byte for byte what urlencode with quote and safe='' wrote for the same pairs."""
    wire = {"phone": "Phone", "message": "Message", "misc": "Misc", "data": "Data"}
    pairs = [("Secret", secret), ("Func", "SendMessage")]
    pairs += [(wire[name], elements[name]) for name in wire if name in elements]
    if robot:
        pairs.append(("Robot", robot))
    expected = urlencode(pairs, quote_via=quote, safe="", encoding="utf-8").encode("ascii")
    assert encode_form(secret, "SendMessage", elements, robot) == expected


_WIRE_NUMBERS = st.lists(st.from_regex(r"\A\+[1-9][0-9]{7,9}\Z"), min_size=1, max_size=6)
_WIRE_VALUES = st.one_of(st.booleans(), st.sampled_from(["true", "0", 1, "maybe", None]))


@st.composite
def _mass_results(draw: st.DrawFn) -> tuple[list[str], dict[str, object]]:
    """Numbers as sent and a reply map: exact keys, '+'-less or '00' keys, gaps, strangers."""
    sent = draw(_WIRE_NUMBERS)
    result: dict[str, object] = {}
    for number in sent:
        form = draw(st.sampled_from(["exact", "exact", "bare", "00", "missing"]))
        key = {"exact": number, "bare": number[1:], "00": "00" + number[1:]}.get(form)
        if key is not None:
            result[key] = draw(_WIRE_VALUES)
    if draw(st.booleans()):
        result[draw(st.from_regex(r"\A\+?[0-9]{8,10}\Z"))] = draw(st.booleans())
    return sent, result


def _map_or_error(decode: Callable[[], dict[str, bool]]) -> dict[str, bool] | tuple[str, str]:
    try:
        return decode()
    except APIResponseError as error:
        return (type(error).__name__, str(error))


@settings(max_examples=500)
@given(_mass_results())
def test_as_mass_map_fast_path_matches_the_general_matching(
    case: tuple[list[str], dict[str, object]],
) -> None:
    """For wire-form numbers, as_mass_map gives exactly what the key-by-key matching gives."""
    sent, result = case
    reply = reply_of({"Status": "success", "Result": result}, func="SendMessageMass")
    keyed: dict[object, object] = dict(result.items())
    expected = _map_or_error(lambda: matched_mass_map(reply, tuple(sent), keyed))
    assert _map_or_error(lambda: as_mass_map(sent)(reply)) == expected


def test_as_mass_map_exact_keys_with_strings() -> None:
    """A map keyed exactly by the numbers sent reads wire booleans in any of their forms."""
    reply = reply_of(
        {"Status": "success", "Result": {"+989100000001": "true", "+989100000002": 0}},
        func="SendMessageMass",
    )
    assert as_mass_map(["+989100000001", "+989100000002"])(reply) == {
        "+989100000001": True,
        "+989100000002": False,
    }


def test_as_mass_map_exact_keys_with_a_bad_value_raises() -> None:
    """A map keyed exactly by the numbers sent still refuses a value that is not a boolean."""
    reply = reply_of(
        {"Status": "success", "Result": {"+989100000001": "maybe"}}, func="SendMessageMass"
    )
    with pytest.raises(APIResponseError, match="true or false for every number"):
        as_mass_map(["+989100000001"])(reply)
