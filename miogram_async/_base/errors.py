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
    "GatewayBlockedError",
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
    "SendGateError",
    "SessionBlockedError",
    "UnknownFuncError",
    "ValidationError",
    "WhatsAppNotSupportedError",
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


class SendGateError(APIConnectionError):
    """
    The send gate could not be used (its folder, its database): the request never left.

    An `APIConnectionError` whose ``sent`` is always ``False``: the request waits at the gate
    before anything goes to the service, so nothing was sent. Its message names the gate and
    where it is kept, never the service.

    Attributes:
        gate: the gate's name.
        location: where the gate is kept: its folder, or its database without the password.
    """

    def __init__(self, message: str, gate: str = "", location: str = "") -> None:
        MioGramError.__init__(self, message, gate, location)
        self.message = message
        self.sent = False
        self.gate = gate
        self.location = location

    def __str__(self) -> str:
        return f"{self.message} (nothing was sent)"


class APIResponseError(MioGramError):
    """
    The reply is not the service's documented JSON envelope (an HTML page, empty, truncated JSON).

    Attributes:
        status_code: the HTTP status of the reply.
        excerpt: a short, secret-free excerpt of the body.
        sent: always ``None``: a reply that cannot be read proves nothing, so after a
            state-changing request its effect (a message sent, a credit charged) is unknown
            (docs/service.md E32, E45). Present so that every error of a request can be asked the
            same question.
    """

    def __init__(
        self, message: str, status_code: int, excerpt: str = "", sent: bool | None = None
    ) -> None:
        super().__init__(message, status_code, excerpt, sent)
        self.message = message
        self.status_code = status_code
        self.excerpt = excerpt
        self.sent = sent

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
        sent: ``False`` when the action changes state and the code proves the request was refused
            before anything was sent (`outcomes.proves_refusal`); ``None`` otherwise: after a
            state-changing action the message may have been sent anyway (999 above all,
            docs/service.md E32). Always ``None`` for read-only actions, where nothing can have been
            sent.
    """

    def __init__(self, code: int | None, message: str, func: str, sent: bool | None = None) -> None:
        super().__init__(code, message, func, sent)
        self.code = code
        self.message = message
        self.func = func
        self.sent = sent

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
    """The service's gateway to its messaging backend failed (813, 814, 301, 999, gateway 815)."""


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
    """
    303 ``File Size is Too High`` (front), or the gateway's size 304 ``Photo Size is High`` (also
    Video, Audio, Text, File, Document; docs/service.md E40).
    """


class MessageTooLongError(InvalidRequestError):
    """304 ``Message Length is Too High`` (a 304 about a file's size is `FileTooLargeError`)."""


class NumberNotFoundError(InvalidRequestError):
    """307 ``Number Not Exist or Wrong``."""


class NoInputError(InvalidRequestError):
    """330 ``No Input``."""


class InvalidFileError(InvalidRequestError):
    """400 ``No Valid File``: the file data was not strict base64 or not a valid file."""


class BadRequestError(InvalidRequestError):
    """812 ``Bad Request`` (a non-POST request)."""


class WhatsAppNotSupportedError(InvalidRequestError):
    """
    101 ``WhatsApp Not Supported`` (undocumented; seen in the gateway's code, docs/service.md E6).
    """


class InvalidTokenError(GatewayError):
    """813 ``Invalid Token`` (gateway)."""


class GatewayIPError(GatewayError):
    """814 ``Invalid IP Address`` (gateway; same text as 802, told apart by code only)."""


class NoUserIDError(GatewayError):
    """301 ``No UserID`` (gateway)."""


class NoResponseError(GatewayError):
    """
    999 ``No Response From Server``: the front stopped waiting for its gateway (60 s).

    The gateway goes on: after a send its message may well be delivered (docs/service.md E32), so
    the request is never retried or counted as failed (``sent`` is ``None``).
    """


class GatewayBlockedError(GatewayError):
    """
    815 ``Session Blocked`` in the gateway's form (``Error 815 :``, no ``Code``; docs/service.md
    E41).

    The service's gateway has blocked the service's own front after repeated token/IP errors
    (813/814) from any account: every account gets this until the operators lift it. It is not
    the caller's IP (that is the front's 815, `SessionBlockedError`); retry later.
    """

    def __str__(self) -> str:
        return (
            f"{self.func} failed: {self.message} (code 815): the service's gateway has blocked the "
            "whole service, for every account (not your IP); retry later"
        )


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
"""Every error code of docs/service.md section 7 (and the undocumented 101), mapped to its class:
the error table. What an error proves (a refusal, a stop, a busy gateway) is judged in `outcomes`.

407 ``Secret Changed`` and 409 ``Allow IP Sets`` are success messages (docs/service.md D11) and
never errors.
"""


class MassOutcomes(Protocol):
    """
    What `MassSendError.result` holds: a `MassResult`, described here by its reading surface.

    Declared as a protocol so that this module imports nothing from the package (`MassResult`
    lives in `_mass.result`, which imports this module). The keys of ``counts`` and the argument of
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
