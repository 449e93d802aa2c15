"""
The one judgement of outcomes: what an error proves about the request that raised it.

The package's first rule (anything that may have been sent is unknown, never failed, never sent
again without the caller asking) is decided here, and only here:

- `proves_refusal`: the request was refused before anything was sent (``sent=False``, Mass
  ``FAILED``); anything else after a state-changing request may have been sent.
- `never_left`: the request provably never left the client (a connection never made).
- `gateway_may_be_busy`: the service's gateway may still be working on the request (the send
  gate's drain, E32).
- `stops_fan_out`: the error dooms every later chunk of a Mass send; `shrinks_chunks`: a 999 so
  late in the front's wait that it proves the chunk too big for the gateway's pace (E32, E49);
  `refused_as_a_whole`: a refusal that says nothing about the numbers (a campaign puts them back
  to pending).
- `verdict` and `remedy`: how a program reports an error (the CLI's exit codes and advice), as
  neutral values.

Everything is asked by error class, never by a literal code: a typed error is judged by its
class; a plain `APIError` carrying a code is judged by the class the error table
(`ERROR_CLASSES`) gives that code. `error_for_code` builds the typed error of a reply with the
``sent`` this module judges.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from .errors import (
    ERROR_CLASSES,
    AccountNotActivatedError,
    APIConnectionError,
    APIError,
    APIResponseError,
    BadRequestError,
    ClientClosedError,
    EmptySecretError,
    FileTooLargeError,
    GatewayBlockedError,
    GatewayIPError,
    InvalidFileError,
    InvalidSecretError,
    InvalidTokenError,
    IPNotAllowedError,
    LowCreditError,
    MessageTooLongError,
    NoCreditError,
    NoInputError,
    NoResponseError,
    NoRobotError,
    PermissionDeniedError,
    SendGateError,
    SessionBlockedError,
    UnknownFuncError,
    ValidationError,
    WhatsAppNotSupportedError,
)

__all__ = [
    "NEAR_FRONT_WAIT",
    "REFUSAL_CODES",
    "STOP_CODES",
    "Remedy",
    "Verdict",
    "error_for_code",
    "gateway_may_be_busy",
    "kind_of",
    "never_left",
    "proves_refusal",
    "refused_as_a_whole",
    "remedy",
    "shrinks_chunks",
    "stops_fan_out",
    "verdict",
]

_REFUSALS: Final[tuple[type[APIError], ...]] = (
    # The front script's own checks, made before it calls the gateway (E22).
    EmptySecretError,  # 800
    InvalidSecretError,  # 801
    IPNotAllowedError,  # 802
    BadRequestError,  # 812
    SessionBlockedError,  # 815, the caller's IP
    AccountNotActivatedError,  # 826
    NoRobotError,  # 827
    UnknownFuncError,  # 302
    FileTooLargeError,  # 303, and the gateway's size 304 (E40)
    MessageTooLongError,  # 304
    NoCreditError,  # 305
    LowCreditError,  # 306
    PermissionDeniedError,  # 309
    NoInputError,  # 330
    # The gateway's refusals that come before any delivery: token, IP, file, its block (E6, E40,
    # E41).
    InvalidTokenError,  # 813
    GatewayIPError,  # 814
    InvalidFileError,  # 400
    GatewayBlockedError,  # the gateway's 815
)
"""Errors that prove a state-changing request was refused before anything was sent. Every other
error (999, 301, 101, 307, 111, an unknown code, no code) may follow a delivery."""

_STOPS: Final[tuple[type[APIError], ...]] = (
    # The caller's secret, IP, account or agents are not usable: every later chunk gets the same.
    EmptySecretError,
    InvalidSecretError,
    IPNotAllowedError,
    SessionBlockedError,
    AccountNotActivatedError,
    NoRobotError,
    BadRequestError,
    # The account cannot pay, may not do it, or the content is too large for it.
    NoCreditError,
    LowCreditError,
    PermissionDeniedError,
    FileTooLargeError,
    MessageTooLongError,
    # The service's own gateway refuses it (token, IP, its block): every later chunk goes through
    # the same gateway.
    InvalidTokenError,
    GatewayIPError,
    GatewayBlockedError,
    WhatsAppNotSupportedError,
)
"""Errors that doom every later chunk of a Mass send: the fan-out stops when one comes back."""


def _codes_of(classes: tuple[type[APIError], ...]) -> frozenset[int]:
    return frozenset(code for code, cls in ERROR_CLASSES.items() if issubclass(cls, classes))


REFUSAL_CODES: Final[frozenset[int]] = _codes_of(_REFUSALS)
"""The codes whose error proves a refusal (`proves_refusal`), read from the error table. 304
counts in both of its forms (a message too long for the front, a file too large for the gateway),
815 in both too (the front blocks the caller's IP, the gateway blocks the front)."""

STOP_CODES: Final[frozenset[int]] = _codes_of(_STOPS)
"""The codes whose error stops a Mass send (`stops_fan_out`), read from the error table."""

NEAR_FRONT_WAIT: Final = 0.9
"""A 999 after this share of the front's wait says the gateway was still at work when the front
gave up (E32)."""


def kind_of(error: APIError) -> type[APIError]:
    """
    The class *error* is judged as: its own, or the error table's class of its code when that is
    more specific (a plain ``APIError(305, ...)`` is judged a `NoCreditError`).
    """
    own = type(error)
    listed = ERROR_CLASSES.get(error.code) if error.code is not None else None
    return listed if listed is not None and issubclass(listed, own) else own


def proves_refusal(error: BaseException) -> bool:
    """
    Whether *error*, raised for a state-changing request, proves nothing was sent.

    The one rule for "may have been sent" (issue 10): a service refusal made before sending
    (`REFUSAL_CODES`), a connection error with ``sent is False`` (the request never left), and an
    error raised before sending (`ValidationError`, `ClientClosedError`). Everything else, 999,
    an HTTP 5xx, an empty, HTML, truncated or unreadable body, a read timeout, a connection dropped
    after the body was written, an unknown code, means the request may have been acted upon: its
    outcome is unknown, it is never retried and never re-sent without the user asking.
    """
    if isinstance(error, APIError):
        return issubclass(kind_of(error), _REFUSALS)
    if isinstance(error, APIConnectionError):
        return error.sent is False
    return isinstance(error, ValidationError | ClientClosedError)


def never_left(error: BaseException) -> bool:
    """Whether *error* proves its request never left the client (no connection was made)."""
    return isinstance(error, APIConnectionError) and error.sent is False


def gateway_may_be_busy(error: BaseException) -> bool:
    """
    Whether the gateway may still be working on a request that ended in *error*.

    Only an answer (an error code of the front or of the gateway) or a failure that proves the
    request never left says it is not; a 999 (the front gave up waiting, E32), a reply with no
    readable code, a 5xx, a timeout after sending, a cancellation or anything unexpected may
    leave it at work.
    """
    if isinstance(error, ValidationError | ClientClosedError):
        return False
    if isinstance(error, APIConnectionError):
        return error.sent is not False
    if isinstance(error, APIError):
        return error.code is None or issubclass(kind_of(error), NoResponseError)
    return True


def stops_fan_out(error: BaseException) -> bool:
    """
    Whether *error* dooms every later chunk of a Mass send (credit, access, size, gateway, or a
    send gate that cannot be used: every chunk passes it).
    """
    if isinstance(error, SendGateError):
        return True
    return isinstance(error, APIError) and issubclass(kind_of(error), _STOPS)


def shrinks_chunks(error: BaseException, took: float, front_wait: float) -> bool:
    """
    Whether a chunk that ended in *error* after *took* seconds needed more than the front waits.

    A 999 that arrives after `NEAR_FRONT_WAIT` of *front_wait* says the gateway was still at work
    when the front gave up (E32): the chunk's agent takes more than about *took* over its numbers
    per number, a lower bound its later chunks are sized from (E49). An earlier 999 says nothing
    about the gateway's speed.
    """
    return (
        isinstance(error, APIError)
        and issubclass(kind_of(error), NoResponseError)
        and took >= NEAR_FRONT_WAIT * front_wait
    )


def refused_as_a_whole(error: BaseException | None) -> bool:
    """
    Whether *error* proves its request was refused as a whole, saying nothing of its numbers.

    A stop that proves a refusal (credit, access, permission, size: `stops_fan_out` and
    `proves_refusal`) or a request that never left: nothing was sent, and sending the same
    numbers again once the cause is fixed is safe, so a campaign keeps them pending. A refusal of
    the request's own content (302, 330, 400) is a failure of those numbers.
    """
    if error is None:
        return False
    if isinstance(error, APIError):
        return stops_fan_out(error) and proves_refusal(error)
    return never_left(error)


def error_for_code(
    code: int | None,
    message: str,
    func: str,
    *,
    changes_state: bool = True,
    gateway_form: bool = False,
) -> APIError:
    """
    Build the typed error for a service *code*; an unknown or missing one gives `APIError`.

    Args:
        code: the service code, or ``None``.
        message: the message text without its ``Error NNN :`` prefix.
        func: the action.
        changes_state: the action's row says it changes state: ``sent`` is ``False`` when the
            error proves a refusal (`proves_refusal`), else ``None``; a read gets ``None`` always.
        gateway_form: the code came from an ``Error NNN :`` prefix with no ``Code`` field: the
            gateway's form, which tells its 815 (the whole service blocked) from the front's.
    """
    cls = ERROR_CLASSES.get(code, APIError) if code is not None else APIError
    if cls is MessageTooLongError and " ".join(message.split()).lower() in _SIZE_TEXTS:
        cls = FileTooLargeError
    elif cls is SessionBlockedError and gateway_form:
        cls = GatewayBlockedError
    sent = False if changes_state and issubclass(cls, _REFUSALS) else None
    return cls(code, message, func, sent)


# The gateway's size errors, "Error 304 : Photo Size is High" and the like (E40), lower-cased.
_SIZE_TEXTS: Final = frozenset(
    f"{kind} size is high" for kind in ("photo", "video", "audio", "text", "file", "document")
)


class Verdict(enum.Enum):
    """
    What an error says about a call, in the terms a program reports it: the CLI turns each into
    its exit code and message in one place.
    """

    #: Refused by the SDK before anything was sent: the caller's input or configuration.
    INVALID = "invalid"
    #: The service answered with a refusal (after a read: any error it answered).
    REFUSED = "refused"
    #: A state-changing request with no answer proving a refusal: it may have been sent.
    MAY_HAVE_BEEN_SENT = "may_have_been_sent"
    #: The service could not be reached: the request never left.
    UNREACHABLE = "unreachable"
    #: The connection failed after the request may have left: no reply.
    NO_REPLY = "no_reply"
    #: A reply came that is not the service's envelope (HTML, empty, truncated).
    UNREADABLE = "unreadable"
    #: Anything else the package raises (a closed client, a stopped Mass send...).
    OTHER = "other"


def verdict(error: BaseException, *, changes_state: bool) -> Verdict:
    """
    The `Verdict` on *error*, raised by an action whose row says *changes_state*.

    After a read, an answered error is a refusal (nothing can have been sent); after a
    state-changing action, only one that `proves_refusal` is.
    """
    if isinstance(error, ValidationError):
        return Verdict.INVALID
    if isinstance(error, APIError):
        if changes_state and not proves_refusal(error):
            return Verdict.MAY_HAVE_BEEN_SENT
        return Verdict.REFUSED
    if isinstance(error, APIConnectionError):
        return Verdict.UNREACHABLE if never_left(error) else Verdict.NO_REPLY
    if isinstance(error, APIResponseError):
        return Verdict.UNREADABLE
    return Verdict.OTHER


class Remedy(enum.Enum):
    """What a refusal that stopped a Mass send asks for before the numbers can go."""

    #: The file is larger than the account allows (303, the gateway's size 304).
    SMALLER_FILE = "smaller_file"
    #: The message is longer than the account allows (304).
    SHORTER_MESSAGE = "shorter_message"
    #: The account lacks the permission the action needs (309).
    PERMISSION = "permission"
    #: The account is out of credit (305, 306).
    CREDIT = "credit"
    #: The secret is missing or wrong (800, 801).
    SECRET = "secret"
    #: This machine's IP address is not allowed on the account (802).
    ALLOWED_IP = "allowed_ip"


_REMEDIES: Final[Mapping[type[APIError], Remedy]] = {
    FileTooLargeError: Remedy.SMALLER_FILE,
    MessageTooLongError: Remedy.SHORTER_MESSAGE,
    PermissionDeniedError: Remedy.PERMISSION,
    NoCreditError: Remedy.CREDIT,
    LowCreditError: Remedy.CREDIT,
    EmptySecretError: Remedy.SECRET,
    InvalidSecretError: Remedy.SECRET,
    IPNotAllowedError: Remedy.ALLOWED_IP,
}


def remedy(error: BaseException | None) -> Remedy | None:
    """The `Remedy` *error* asks for, or ``None`` when it names none."""
    if not isinstance(error, APIError):
        return None
    return _REMEDIES.get(kind_of(error))
