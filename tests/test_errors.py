"""The error tree: every service code maps to its class and group, in every wire form."""

from __future__ import annotations

import json
import pickle

import pytest

from miogram_async import (
    AccountNotActivatedError,
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CreditError,
    EmptySecretError,
    FileTooLargeError,
    GatewayBlockedError,
    GatewayError,
    GatewayIPError,
    InvalidFileError,
    InvalidRequestError,
    InvalidSecretError,
    InvalidTokenError,
    IPNotAllowedError,
    LowCreditError,
    MassResult,
    MassSendError,
    MessageTooLongError,
    MioGramError,
    NoCreditError,
    NoDataError,
    NoInputError,
    NoResponseError,
    NoRobotError,
    NoUserIDError,
    NumberNotFoundError,
    Outcome,
    PermissionDeniedError,
    SessionBlockedError,
    UnknownFuncError,
    ValidationError,
    WhatsAppNotSupportedError,
)
from miogram_async._base.errors import ERROR_CLASSES
from miogram_async._base.outcomes import STOP_CODES, error_for_code
from miogram_async._base.wire import Reply, decode_reply

# docs/service.md section 7 (plus the undocumented 101, E6): code, the document's text, class, group
# (the public contract), and whether the text alone names the code (814 shares 802's text, D12).
SECTION_7: list[tuple[int, str, type[APIError], type[APIError], bool]] = [
    (800, "Empty Secret*", EmptySecretError, AuthenticationError, True),
    (801, "Invalid Secret*", InvalidSecretError, AuthenticationError, True),
    (802, "Invalid IP Address*", IPNotAllowedError, AuthenticationError, True),
    (812, "Bad Request*", BadRequestError, InvalidRequestError, True),
    (813, "Invalid Token", InvalidTokenError, GatewayError, True),
    (814, "Invalid IP Address", GatewayIPError, GatewayError, False),
    (815, "Session Blocked*", SessionBlockedError, AuthenticationError, True),
    (826, "Account Not Activated*", AccountNotActivatedError, AuthenticationError, True),
    (827, "No Robot Has Been Set Yet*", NoRobotError, AuthenticationError, True),
    (301, "No UserID", NoUserIDError, GatewayError, True),
    (302, "Bad Request of Func*", UnknownFuncError, InvalidRequestError, True),
    (303, "File Size is Too High", FileTooLargeError, InvalidRequestError, True),
    (304, "Message Length is Too High", MessageTooLongError, InvalidRequestError, True),
    (305, "No Credit", NoCreditError, CreditError, True),
    (306, "Low Credit", LowCreditError, CreditError, True),
    (307, "Number Not Exist or Wrong", NumberNotFoundError, InvalidRequestError, True),
    (309, "Permission Denied", PermissionDeniedError, PermissionDeniedError, True),
    (330, "No Input", NoInputError, InvalidRequestError, True),
    (400, "No Valid File", InvalidFileError, InvalidRequestError, True),
    (111, "No DATA", NoDataError, NoDataError, True),
    (999, "No Response From Server*", NoResponseError, GatewayError, True),
    (101, "WhatsApp Not Supported", WhatsAppNotSupportedError, InvalidRequestError, True),
]
SUCCESS_CODES = [(407, "Secret Changed", "APIChangeSecret"), (409, "Allow IP Sets", "APISetIP")]


def raised_by(body: object, func: str = "SendMessage") -> APIError:
    """Decode *body* and return the APIError it raises."""
    with pytest.raises(APIError) as caught:
        decode_reply(func, 200, json.dumps(body).encode("utf-8"))
    return caught.value


def test_every_section_7_code_has_a_class() -> None:
    """The code table covers section 7 (407/409 excepted: they are successes) and 101."""
    assert set(ERROR_CLASSES) == {code for code, *_ in SECTION_7}


@pytest.mark.parametrize(("code", "text", "cls", "group", "unique"), SECTION_7)
def test_front_script_form_code_as_string(
    code: int, text: str, cls: type[APIError], group: type[APIError], unique: bool
) -> None:
    """{"Status":"error","Code":"NNN","Message":...} maps to the class and group (E4)."""
    error = raised_by({"Message": text.rstrip("*"), "Status": "error", "Code": str(code)})
    assert type(error) is cls
    assert isinstance(error, group)
    assert (error.code, error.message, error.func) == (code, text.rstrip("*"), "SendMessage")


@pytest.mark.parametrize(("code", "text", "cls", "group", "unique"), SECTION_7)
def test_front_script_form_code_as_int(
    code: int, text: str, cls: type[APIError], group: type[APIError], unique: bool
) -> None:
    """A Code sent as a JSON number maps the same way."""
    error = raised_by({"Message": text, "Status": "error", "Code": code})
    assert type(error) is cls
    assert isinstance(error, group)
    assert error.code == code


@pytest.mark.parametrize(("code", "text", "cls", "group", "unique"), SECTION_7)
def test_gateway_form_error_prefix(
    code: int, text: str, cls: type[APIError], group: type[APIError], unique: bool
) -> None:
    """{"Status":"error","Message":"Error NNN : text"} without Code maps by the prefix (E4)."""
    error = raised_by({"Status": "error", "Message": f"Error {code} : {text.rstrip('*')} "})
    if code == 815:  # the gateway's 815 blocks the whole service, not the caller (E41)
        cls, group = GatewayBlockedError, GatewayError
    assert type(error) is cls
    assert isinstance(error, group)
    assert (error.code, error.message) == (code, text.rstrip("*"))


@pytest.mark.parametrize(
    ("code", "text", "cls", "group"),
    [(code, text, cls, group) for code, text, cls, group, unique in SECTION_7 if unique],
)
def test_text_only_form(code: int, text: str, cls: type[APIError], group: type[APIError]) -> None:
    """A bare Message matching a section 7 text maps by the text, '*' or not, any case."""
    for variant in (text, text.rstrip("*"), f"  {text.upper()}  ", text.lower()):
        error = raised_by({"Status": "error", "Message": variant})
        assert type(error) is cls
        assert isinstance(error, group)
        assert error.code == code


def test_text_only_invalid_ip_address_is_802() -> None:
    """The text shared by 802 and 814 means 802 when no code comes with it (A1, D12)."""
    error = raised_by({"Status": "error", "Message": "Invalid IP Address"})
    assert type(error) is IPNotAllowedError
    assert error.code == 802


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("Bad Request of Functions", UnknownFuncError),
        ("Bad Request of Func ", UnknownFuncError),
        ("Message Length is High", MessageTooLongError),
        ("Photo Size is High", FileTooLargeError),
        ("Video Size is High", FileTooLargeError),
        ("Audio Size is High", FileTooLargeError),
        ("Text Size is High", FileTooLargeError),
        ("File Size is High", FileTooLargeError),
        ("Document Size is High", FileTooLargeError),
        ("Not Valid File", InvalidFileError),
        ("Number   Not Exist or Wrong", NumberNotFoundError),
    ],
)
def test_text_only_variants_of_e5_e6(text: str, cls: type[APIError]) -> None:
    """The wordings public server code uses (E5, E6) map like the document's."""
    assert type(raised_by({"Status": "error", "Message": text})) is cls


def test_code_field_wins_over_prefix_and_text() -> None:
    """Code decides when it disagrees with the prefix or text (the front script's own field)."""
    error = raised_by({"Status": "error", "Code": "305", "Message": "Error 801 : Invalid Secret"})
    assert type(error) is NoCreditError
    assert error.message == "Invalid Secret"


def test_prefix_wins_over_text() -> None:
    """A gateway 814 with the 802 text stays 814."""
    error = raised_by({"Status": "error", "Message": "Error 814 : Invalid IP Address"})
    assert type(error) is GatewayIPError


@pytest.mark.parametrize(
    "body",
    [
        {"Status": "error", "Code": "555", "Message": "Mystery"},
        {"Status": "error", "Message": "Error 123 : Something new"},
        {"Status": "error", "Message": "Something new"},
    ],
)
def test_unknown_code_is_plain_api_error(body: dict[str, object]) -> None:
    """Codes and texts the table does not know give a plain APIError."""
    error = raised_by(body)
    assert type(error) is APIError


@pytest.mark.parametrize(("code", "text", "func"), SUCCESS_CODES)
def test_407_409_never_errors(code: int, text: str, func: str) -> None:
    """407 and 409 with Status success are successes in every wire form (D11)."""
    bodies = [
        {"Result": "x", "Status": "success", "Code": str(code), "Message": text},
        {"Result": "x", "Status": "Success", "Code": code, "Message": text},
        {"Result": "x", "Status": "success", "Message": f"Error {code} : {text}"},
        {"Result": "x", "Status": "success", "Message": text},
    ]
    for body in bodies:
        reply = decode_reply(func, 200, json.dumps(body).encode())
        assert isinstance(reply, Reply)
        assert reply.code == code


def test_407_409_are_not_in_the_error_table() -> None:
    """error_for_code gives no typed class for the success codes."""
    assert 407 not in ERROR_CLASSES
    assert 409 not in ERROR_CLASSES
    assert type(error_for_code(407, "Secret Changed", "APIChangeSecret")) is APIError


def test_error_for_code_without_code() -> None:
    """A missing code gives a plain APIError with code None."""
    error = error_for_code(None, "odd", "SendMessage")
    assert (type(error), error.code) == (APIError, None)


def test_stop_codes_are_all_mapped() -> None:
    """Every stop code is a code the table knows."""
    assert set(STOP_CODES) <= set(ERROR_CLASSES)


def test_stop_codes_cover_every_code_the_contract_names() -> None:
    """The contract stops a fan-out on 800-827 (gateway 813/814 included), 305, 309, 304, 303."""
    named = {code for code in ERROR_CLASSES if 800 <= code <= 827} | {303, 304, 305, 309}
    assert named <= STOP_CODES


def test_every_error_is_a_miogram_error() -> None:
    """All service errors share the one root, and ValidationError is also a ValueError."""
    assert all(issubclass(cls, MioGramError) for cls in ERROR_CLASSES.values())
    assert issubclass(ValidationError, ValueError)
    assert issubclass(APITimeoutError, APIConnectionError)


def _attributes(error: BaseException) -> dict[str, object]:
    return {
        name: getattr(error, name)
        for name in ("args", "code", "message", "func", "sent", "status_code", "excerpt", "cause")
        if hasattr(error, name)
    }


PICKLE_CASES: list[MioGramError] = [
    *(cls(code, f"text of {code}", "SendMessage") for code, cls in ERROR_CLASSES.items()),
    APIError(None, "no code here", "ChatInfo"),
    MioGramError("root"),
    ValidationError("expected a phone like +989100000000, got '0912 12'"),
    APIConnectionError("connection refused", False),
    APIConnectionError("connection reset", None),
    APITimeoutError("read timeout", True),
    APIResponseError("the reply is not JSON", 502, "<html>"),
    error_for_code(305, "No Credit", "SendMessage"),
    error_for_code(999, "No Response From Server", "SendMessage"),
    error_for_code(815, "Session Blocked", "SendMessage", gateway_form=True),
    error_for_code(304, "Photo Size is High", "SendPhoto"),
]


@pytest.mark.parametrize("error", PICKLE_CASES, ids=lambda error: type(error).__name__)
def test_errors_pickle(error: MioGramError) -> None:
    """Every error survives pickle with equal attributes and the same str()."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert _attributes(copy) == _attributes(error)
    assert str(copy) == str(error)


def test_mass_send_error_pickles() -> None:
    """MassSendError pickles with its partial result and cause."""
    cause = NoCreditError(305, "No Credit", "SendMessageMass")
    result = MassResult(
        {"+989100000001": Outcome.DELIVERED, "+989100000002": Outcome.FAILED},
        errors={"+989100000002": cause},
    )
    error = MassSendError("stopped after 1 of 2 numbers", result, cause)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, dict(copy.result), str(copy)) == (
        error.message,
        dict(result),
        "stopped after 1 of 2 numbers",
    )
    assert copy.cause is not None
    assert _attributes(copy.cause) == _attributes(cause)


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (
            NoCreditError(305, "No Credit", "SendMessage"),
            "SendMessage failed: No Credit (code 305)",
        ),
        (APIError(None, "Something odd", "ChatInfo"), "ChatInfo failed: Something odd (no code)"),
        (
            APIConnectionError("connection refused", False),
            "connection refused (the request was not sent)",
        ),
        (
            APITimeoutError("read timed out", True),
            "read timed out (the request may have reached the service)",
        ),
        (
            APIResponseError("the reply is not JSON", 502, "<html>"),
            "the reply is not JSON (HTTP 502): '<html>'",
        ),
        (APIResponseError("the reply is empty", 200), "the reply is empty (HTTP 200)"),
    ],
)
def test_str_reads_well(error: MioGramError, text: str) -> None:
    """str() of an error is one readable sentence with the code or HTTP status."""
    assert str(error) == text


def test_str_of_decoded_gateway_error() -> None:
    """A decoded gateway error reads without the 'Error NNN :' prefix repeated."""
    error = raised_by({"Status": "error", "Message": "Error 302 : Bad Request of Func "}, "Foo")
    assert str(error) == "Foo failed: Bad Request of Func (code 302)"
