"""miogram-async: the asyncio-native (and trio-friendly) SDK for the MioGram.net web service."""

from ._base.errors import (
    AccountNotActivatedError,
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
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
    PermissionDeniedError,
    SendGateError,
    SessionBlockedError,
    UnknownFuncError,
    ValidationError,
    WhatsAppNotSupportedError,
)
from ._base.evidence import (
    Expected,
)
from ._base.log import (
    configure_from_env as _configure_logging_from_env,
)
from ._base.models import (
    CreditKind,
    Credits,
    Limits,
    ReportRecord,
)
from ._base.peers import (
    Chat,
    Message,
    User,
)
from ._base.validation import (
    normalize_phone,
)
from ._base.version import (
    __version__,
)
from ._client import (
    MioGram,
)
from ._gates.base import (
    LocalSendGate,
    SendGate,
)
from ._gates.file import (
    FileSendGate,
)
from ._gates.postgres import (
    PostgresSendGate,
)
from ._http.retry import (
    RetryPolicy,
)
from ._http.transport import (
    HttpBackend,
)
from ._mass.fanout import (
    Chunk,
    FanoutHooks,
    FanoutOptions,
    MassProgress,
    MassResult,
    Outcome,
)
from ._mass.result import (
    Dispatch,
)
from ._settle import (
    Settlement,
    SettleResult,
)
from .campaign import (
    Campaign,
    CampaignError,
    CampaignKind,
    CampaignStatus,
    MediaRef,
    NumberState,
    RunSummary,
    SettleSummary,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APITimeoutError",
    "AccountNotActivatedError",
    "AuthenticationError",
    "BadRequestError",
    "Campaign",
    "CampaignError",
    "CampaignKind",
    "CampaignStatus",
    "Chat",
    "Chunk",
    "ClientClosedError",
    "CreditError",
    "CreditKind",
    "Credits",
    "Dispatch",
    "EmptySecretError",
    "Expected",
    "FanoutHooks",
    "FanoutOptions",
    "FileSendGate",
    "FileTooLargeError",
    "GatewayBlockedError",
    "GatewayError",
    "GatewayIPError",
    "HttpBackend",
    "IPNotAllowedError",
    "InvalidFileError",
    "InvalidRequestError",
    "InvalidSecretError",
    "InvalidTokenError",
    "Limits",
    "LocalSendGate",
    "LowCreditError",
    "MassProgress",
    "MassResult",
    "MassSendError",
    "MediaRef",
    "Message",
    "MessageTooLongError",
    "MioGram",
    "MioGramError",
    "NoCreditError",
    "NoDataError",
    "NoInputError",
    "NoResponseError",
    "NoRobotError",
    "NoUserIDError",
    "NumberNotFoundError",
    "NumberState",
    "Outcome",
    "PermissionDeniedError",
    "PostgresSendGate",
    "ReportRecord",
    "RetryPolicy",
    "RunSummary",
    "SendGate",
    "SendGateError",
    "SessionBlockedError",
    "SettleResult",
    "SettleSummary",
    "Settlement",
    "UnknownFuncError",
    "User",
    "ValidationError",
    "WhatsAppNotSupportedError",
    "__version__",
    "normalize_phone",
]

# MIOGRAM_LOG=debug|info: a stderr handler for the package's logger (idempotent).
_configure_logging_from_env()
