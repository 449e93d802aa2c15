"""
The error tree and the one table that maps service codes to classes.

Every constructor passes its arguments to ``super().__init__()`` positionally, in the order of its
own signature, so that every error survives ``pickle`` (``BaseException.__reduce__`` replays
``self.args``). No message built here ever contains the secret: callers pass only codes, service
texts and Func names.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any, Final, Protocol

__all__ = [
    "ERROR_CLASSES",
    "STOP_CODES",
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APITimeoutError",
    "AccountNotActivatedError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "CreditError",
    "EmptySecretError",
    "FileTooLargeError",
    "GatewayError",
    "GatewayIPError",
    "IPNotAllowedError",
    "InvalidFileError",
    "InvalidRequestError",
    "InvalidSecretError",
    "InvalidTokenError",
    "LowCreditError",
    "MassOutcomes",
    "MassSendError",
    "MessageTooLongError",
    "MioGramError",
    "NoCreditError",
    "NoDataError",
    "NoInputError",
    "NoResponseError",
    "NoRobotError",
    "NoUserIDError",
    "NumberNotFoundError",
    "PermissionDeniedError",
    "SessionBlockedError",
    "UnknownFuncError",
    "ValidationError",
    "WhatsAppNotSupportedError",
    "error_for_code",
]


class MioGramError(Exception):
    """The root of everything this SDK raises."""


class ValidationError(MioGramError, ValueError):
    """Input was malformed; it was refused before anything was sent."""


class ClientClosedError(MioGramError, RuntimeError):
    """The client was used after ``aclose()``; nothing was sent."""


class APIConnectionError(MioGramError):
    """
    The request could not be completed at the transport level.

    Attributes:
        sent: ``False`` when the request provably never left the client (connect error, connect or
            pool timeout), ``True`` or ``None`` when it may have reached the service, so that its
            effect (a message sent, a credit charged) is unknown.
    """

    def __init__(self, message: str, sent: bool | None = None) -> None:
        super().__init__(message, sent)
        self.message = message
        self.sent = sent

    def __str__(self) -> str:
        if self.sent is False:
            return f"{self.message} (the request was not sent)"
        return f"{self.message} (the request may have reached the service)"


class APITimeoutError(APIConnectionError):
    """The request timed out; ``sent`` says whether it may have reached the service."""


class APIResponseError(MioGramError):
    """
    The reply is not the service's documented JSON envelope (an HTML page, empty, truncated JSON).

    Attributes:
        status_code: the HTTP status of the reply.
        excerpt: a short, secret-free excerpt of the body.
    """

    def __init__(self, message: str, status_code: int, excerpt: str = "") -> None:
        super().__init__(message, status_code, excerpt)
        self.message = message
        self.status_code = status_code
        self.excerpt = excerpt

    def __str__(self) -> str:
        tail = f": {self.excerpt!r}" if self.excerpt else ""
        return f"{self.message} (HTTP {self.status_code}){tail}"


class APIError(MioGramError):
    """
    The service answered ``Status: error``.

    Attributes:
        code: the service's error code, or ``None`` when the reply carried none that could be read.
        message: the service's message text as it came (secret-free: the service never echoes it).
        func: the action (``Func``) that failed.
    """

    def __init__(self, code: int | None, message: str, func: str) -> None:
        super().__init__(code, message, func)
        self.code = code
        self.message = message
        self.func = func

    def __str__(self) -> str:
        code = "no code" if self.code is None else f"code {self.code}"
        return f"{self.func} failed: {self.message} ({code})"


# Grouped by what the caller can do about it.


class AuthenticationError(APIError):
    """The secret, the caller's IP, the account or its agents are not usable (800-827)."""


class CreditError(APIError):
    """The account cannot pay for the request (305, 306)."""


class InvalidRequestError(APIError):
    """The request itself was refused (bad Func, too long, too large, bad number or file)."""


class PermissionDeniedError(APIError):
    """The account lacks the permission level (isSuper / canGet) the action needs (309)."""


class GatewayError(APIError):
    """The service's gateway to its messaging backend failed (813, 814, 301, 999)."""


class NoDataError(APIError):
    """The service has no data to return (111)."""


class EmptySecretError(AuthenticationError):
    """800 ``Empty Secret``."""


class InvalidSecretError(AuthenticationError):
    """801 ``Invalid Secret`` (also what an old secret gets after ``APIChangeSecret``)."""


class IPNotAllowedError(AuthenticationError):
    """802 ``Invalid IP Address``: the caller's IP is not in the account's allowed list."""


class SessionBlockedError(AuthenticationError):
    """815 ``Session Blocked``: the caller's IP was blocked by the service's intrusion counter."""


class AccountNotActivatedError(AuthenticationError):
    """826 ``Account Not Activated``."""


class NoRobotError(AuthenticationError):
    """827 ``No Robot Has Been Set Yet``: the account has no agent."""


class NoCreditError(CreditError):
    """305 ``No Credit``."""


class LowCreditError(CreditError):
    """306 ``Low Credit``: a Mass send needs more credit than is left."""


class UnknownFuncError(InvalidRequestError):
    """302 ``Bad Request of Func``: unknown action, or an element it needs is missing or empty."""


class FileTooLargeError(InvalidRequestError):
    """303 ``File Size is Too High``."""


class MessageTooLongError(InvalidRequestError):
    """304 ``Message Length is Too High`` (the gateway also uses 304 for over-size files)."""


class NumberNotFoundError(InvalidRequestError):
    """307 ``Number Not Exist or Wrong``."""


class NoInputError(InvalidRequestError):
    """330 ``No Input``."""


class InvalidFileError(InvalidRequestError):
    """400 ``No Valid File``: the file data was not strict base64 or not a valid file."""


class BadRequestError(InvalidRequestError):
    """812 ``Bad Request`` (a non-POST request)."""


class WhatsAppNotSupportedError(InvalidRequestError):
    """101 ``WhatsApp Not Supported`` (undocumented; seen in the gateway's code, API.md E6)."""


class InvalidTokenError(GatewayError):
    """813 ``Invalid Token`` (gateway)."""


class GatewayIPError(GatewayError):
    """814 ``Invalid IP Address`` (gateway; same text as 802, told apart by code only)."""


class NoUserIDError(GatewayError):
    """301 ``No UserID`` (gateway)."""


class NoResponseError(GatewayError):
    """999 ``No Response From Server``: the service could not reach its gateway."""


ERROR_CLASSES: Final[Mapping[int, type[APIError]]] = {
    101: WhatsAppNotSupportedError,
    111: NoDataError,
    301: NoUserIDError,
    302: UnknownFuncError,
    303: FileTooLargeError,
    304: MessageTooLongError,
    305: NoCreditError,
    306: LowCreditError,
    307: NumberNotFoundError,
    309: PermissionDeniedError,
    330: NoInputError,
    400: InvalidFileError,
    800: EmptySecretError,
    801: InvalidSecretError,
    802: IPNotAllowedError,
    812: BadRequestError,
    813: InvalidTokenError,
    814: GatewayIPError,
    815: SessionBlockedError,
    826: AccountNotActivatedError,
    827: NoRobotError,
    999: NoResponseError,
}
"""Every error code of API.md section 7 (and the undocumented 101), mapped to its class.

407 ``Secret Changed`` and 409 ``Allow IP Sets`` are success messages (API.md D11) and never errors.
"""

STOP_CODES: Final[frozenset[int]] = frozenset(
    {101, 303, 304, 305, 306, 309, 800, 801, 802, 812, 813, 814, 815, 826, 827}
)
"""Codes that doom every later chunk of a Mass send: the fan-out stops when one comes back.

813 and 814 are the service's own gateway refusing it (token, IP): every later chunk goes through
the same gateway.
"""


def error_for_code(code: int | None, message: str, func: str) -> APIError:
    """Build the typed error for a service *code*; an unknown or missing one gives `APIError`."""
    cls = ERROR_CLASSES.get(code, APIError) if code is not None else APIError
    return cls(code, message, func)


class MassOutcomes(Protocol):
    """
    What `MassSendError.result` holds: a `MassResult`, described here by its reading surface.

    Declared as a protocol so that this module imports nothing from the package (`MassResult`
    lives in `_result`, which imports this module). The keys of ``counts`` and the argument of
    ``numbers`` are `Outcome` members, which this module cannot name.
    """

    def __getitem__(self, number: str, /) -> str: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def keys(self) -> KeysView[str]: ...
    def values(self) -> ValuesView[str]: ...
    def items(self) -> ItemsView[str, str]: ...
    def numbers(self, outcome: Any, /) -> list[str]: ...  # an Outcome
    @property
    def delivered(self) -> list[str]: ...
    @property
    def undelivered(self) -> list[str]: ...
    @property
    def failed(self) -> list[str]: ...
    @property
    def unknown(self) -> list[str]: ...
    @property
    def not_attempted(self) -> list[str]: ...
    @property
    def invalid(self) -> list[str]: ...
    @property
    def counts(self) -> Mapping[Any, int]: ...
    @property
    def errors(self) -> Mapping[str, MioGramError]: ...
    @property
    def total(self) -> int: ...
    @property
    def duplicates(self) -> int: ...


class MassSendError(MioGramError):
    """
    A Mass send stopped early because an error doomed every later chunk.

    Attributes:
        result: the complete partial `MassResult`: every input number with its outcome.
        cause: the service error that stopped the fan-out.
    """

    def __init__(
        self, message: str, result: MassOutcomes, cause: MioGramError | None = None
    ) -> None:
        super().__init__(message, result, cause)
        self.message = message
        self.result = result
        self.cause = cause

    def __str__(self) -> str:
        return self.message
