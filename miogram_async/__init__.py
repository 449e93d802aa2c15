"""miogram-async: the asyncio-native (and trio-friendly) SDK for the MioGram.net web service."""

from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    MassSendError,
    MioGramError,
    ValidationError,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APITimeoutError",
    "MassSendError",
    "MioGramError",
    "ValidationError",
]
