"""
The one judgement of outcomes (`_outcomes`, issue 17): every question about what an error proves
is asked by class, and the fan-out, the gate, the journal and the CLI all get their answers here.
"""

from __future__ import annotations

import pytest

from miogram_async import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    ClientClosedError,
    FileTooLargeError,
    GatewayBlockedError,
    GatewayError,
    InvalidFileError,
    LowCreditError,
    MassResult,
    MassSendError,
    MessageTooLongError,
    MioGramError,
    NoCreditError,
    NoResponseError,
    NumberNotFoundError,
    PermissionDeniedError,
    SessionBlockedError,
    UnknownFuncError,
    ValidationError,
    WhatsAppNotSupportedError,
)
from miogram_async._base.errors import ERROR_CLASSES
from miogram_async._base.outcomes import (
    NEAR_FRONT_WAIT,
    REFUSAL_CODES,
    STOP_CODES,
    Remedy,
    Verdict,
    error_for_code,
    gateway_may_be_busy,
    kind_of,
    never_left,
    proves_refusal,
    refused_as_a_whole,
    remedy,
    shrinks_chunks,
    stops_fan_out,
    verdict,
)
from miogram_async.cli._context import EXITS, translate_error
from miogram_async.cli._exit import ExitCode

NO_RESPONSE = NoResponseError(999, "No Response From Server", "SendMessageMass")


def test_a_plain_api_error_is_judged_as_the_class_its_code_has() -> None:
    """APIError(305) is judged a NoCreditError; a typed error keeps its more specific class."""
    assert kind_of(APIError(305, "No Credit", "SendMessage")) is NoCreditError
    assert kind_of(GatewayError(999, "No Response From Server", "SendMessage")) is NoResponseError
    assert kind_of(APIError(None, "odd", "SendMessage")) is APIError
    assert kind_of(APIError(777, "new", "SendMessage")) is APIError
    size = error_for_code(304, "Photo Size is High", "SendPhoto")
    assert kind_of(size) is FileTooLargeError  # not the table's MessageTooLongError for 304
    gateway = error_for_code(815, "Session Blocked", "SendMessage", gateway_form=True)
    assert kind_of(gateway) is GatewayBlockedError


def test_every_code_of_the_table_is_judged_the_same_plain_or_typed() -> None:
    """For every code, a plain APIError and its typed error get the same answers."""
    for code, cls in ERROR_CLASSES.items():
        plain, typed = APIError(code, "x", "SendMessage"), cls(code, "x", "SendMessage")
        for question in (proves_refusal, gateway_may_be_busy, stops_fan_out, refused_as_a_whole):
            assert question(plain) is question(typed), (code, question.__name__)


def test_the_code_sets_are_read_from_the_class_tables() -> None:
    """REFUSAL_CODES and STOP_CODES are exactly the codes whose class proves a refusal / stops."""
    assert {code for code in ERROR_CLASSES if proves_refusal(APIError(code, "x", "F"))} == (
        REFUSAL_CODES
    )
    assert {code for code in ERROR_CLASSES if stops_fan_out(APIError(code, "x", "F"))} == (
        STOP_CODES
    )


def test_only_a_reply_with_a_readable_answer_frees_the_gateway() -> None:
    """999, no code, a timeout after sending or anything unexpected may leave the gateway busy."""
    busy = [
        NO_RESPONSE,
        APIError(999, "No Response From Server", "SendMessage"),
        APIError(None, "garbled", "SendMessage"),
        APITimeoutError("read timeout", None),
        APIConnectionError("reset after the body", True),
        APIResponseError("not JSON", 502),
        RuntimeError("anything else"),
    ]
    idle = [
        NoCreditError(305, "No Credit", "SendMessage"),
        NumberNotFoundError(307, "Number Not Exist or Wrong", "SendMessage"),
        APIConnectionError("connection refused", False),
        ValidationError("bad input"),
        ClientClosedError("closed"),
    ]
    assert all(gateway_may_be_busy(error) for error in busy)
    assert not any(gateway_may_be_busy(error) for error in idle)


def test_never_left_is_a_connection_that_was_never_made() -> None:
    """Only a transport error with sent False proves the request never left."""
    assert never_left(APIConnectionError("refused", False))
    assert never_left(APITimeoutError("connect timeout", False))
    assert not never_left(APIConnectionError("reset", None))
    assert not never_left(NoCreditError(305, "No Credit", "SendMessage"))
    assert not never_left(ValidationError("bad"))


def test_only_a_late_999_shrinks_the_chunks() -> None:
    """A 999 after 90% of the front's wait shrinks later chunks; an early one or another doesn't."""
    assert NEAR_FRONT_WAIT == 0.9
    assert shrinks_chunks(NO_RESPONSE, 54.0, 60.0)
    assert shrinks_chunks(APIError(999, "No Response From Server", "F"), 59.0, 60.0)
    assert not shrinks_chunks(NO_RESPONSE, 53.9, 60.0)
    assert not shrinks_chunks(APITimeoutError("read timeout", None), 120.0, 60.0)
    assert not shrinks_chunks(NoCreditError(305, "No Credit", "F"), 60.0, 60.0)


def test_a_refusal_as_a_whole_keeps_the_numbers_pending() -> None:
    """Stops that prove a refusal and unsent requests say nothing of the numbers; 302/330/400 do."""
    whole = [
        NoCreditError(305, "No Credit", "F"),
        PermissionDeniedError(309, "Permission Denied", "F"),
        SessionBlockedError(815, "Session Blocked", "F"),
        APIConnectionError("refused", False),
    ]
    own = [
        UnknownFuncError(302, "Bad Request of Func", "F"),
        InvalidFileError(400, "No Valid File", "F"),
        ValidationError("bad"),
        None,
    ]
    assert all(refused_as_a_whole(error) for error in whole)
    assert not any(refused_as_a_whole(error) for error in own)
    # 101 stops a Mass send but proves no refusal: it is never a refusal as a whole.
    whatsapp = WhatsAppNotSupportedError(101, "WhatsApp Not Supported", "F")
    assert stops_fan_out(whatsapp)
    assert not refused_as_a_whole(whatsapp)


def test_the_verdicts_after_reads_and_sends() -> None:
    """An answered error is a refusal after a read; after a send only a proven refusal is."""
    assert verdict(NO_RESPONSE, changes_state=True) is Verdict.MAY_HAVE_BEEN_SENT
    assert verdict(NO_RESPONSE, changes_state=False) is Verdict.REFUSED
    assert verdict(NoCreditError(305, "No Credit", "F"), changes_state=True) is Verdict.REFUSED
    assert verdict(ValidationError("bad"), changes_state=True) is Verdict.INVALID
    assert verdict(APIConnectionError("x", False), changes_state=True) is Verdict.UNREACHABLE
    assert verdict(APIConnectionError("x", None), changes_state=True) is Verdict.NO_REPLY
    assert verdict(APIResponseError("not JSON", 502), changes_state=True) is Verdict.UNREADABLE
    assert verdict(ClientClosedError("closed"), changes_state=False) is Verdict.OTHER


@pytest.mark.parametrize("judged", list(Verdict), ids=lambda judged: judged.name)
def test_the_cli_has_one_exit_code_for_every_verdict(judged: Verdict) -> None:
    """Every verdict has its exit code in the CLI's one table; only invalid input is usage (2)."""
    code, _kind = EXITS[judged]
    assert code is (ExitCode.USAGE if judged is Verdict.INVALID else ExitCode.SERVICE_ERROR)


def test_translate_error_reports_each_verdict_as_its_table_says() -> None:
    """The message and kind of each kind of error follow its verdict."""
    cases: list[tuple[MioGramError, str, str]] = [
        (ValidationError("bad phone"), "validation", "bad phone"),
        (NoCreditError(305, "No Credit", "SendMessage"), "api_error", "the service refused"),
        (NO_RESPONSE, "api_error", "may have been sent"),
        (APIConnectionError("SendMessage: refused", False), "connection", "cannot reach"),
        (APIConnectionError("SendMessage: reset", None), "connection", "no reply from"),
        (APIResponseError("the reply is not JSON", 502), "bad_reply", "unexpected reply"),
        (ClientClosedError("closed"), "ClientClosedError", "closed"),
    ]
    for error, kind, text in cases:
        translated = translate_error(error, "http://127.0.0.1:9/dojob.php")
        assert (translated.kind, text in translated.message) == (kind, True), error
        assert translated.exit_code is EXITS[verdict(error, changes_state=True)][0]
    stopped = MassSendError("stopped", MassResult())
    assert translate_error(stopped).kind == "MassSendError"


def test_remedies_are_named_by_class() -> None:
    """What a stop asks for: the gateway's size 304 asks for a smaller file, not a shorter text."""
    assert remedy(FileTooLargeError(303, "File Size is Too High", "F")) is Remedy.SMALLER_FILE
    assert remedy(error_for_code(304, "Video Size is High", "F")) is Remedy.SMALLER_FILE
    assert remedy(MessageTooLongError(304, "Message Length is Too High", "F")) is (
        Remedy.SHORTER_MESSAGE
    )
    assert remedy(APIError(304, "Message Length is Too High", "F")) is Remedy.SHORTER_MESSAGE
    assert remedy(LowCreditError(306, "Low Credit", "F")) is Remedy.CREDIT
    assert remedy(APIError(802, "Invalid IP Address", "F")) is Remedy.ALLOWED_IP
    assert remedy(APIError(801, "Invalid Secret", "F")) is Remedy.SECRET
    assert remedy(PermissionDeniedError(309, "Permission Denied", "F")) is Remedy.PERMISSION
    assert remedy(NO_RESPONSE) is None
    assert remedy(APIConnectionError("refused", False)) is None
    assert remedy(None) is None
