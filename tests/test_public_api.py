"""The package's public surface: every name of the public contract imports from the top package."""

from __future__ import annotations

import os
import subprocess
import sys

import miogram_async
from miogram_async import (
    APIError,
    AuthenticationError,
    CreditError,
    GatewayError,
    InvalidRequestError,
    MioGramError,
    NoDataError,
    PermissionDeniedError,
    ValidationError,
)
from miogram_async._base.errors import ERROR_CLASSES

SURFACE_NAMES = {
    "MioGram",
    "MioGramError",
    "ValidationError",
    "APIConnectionError",
    "APITimeoutError",
    "APIResponseError",
    "APIError",
    "AuthenticationError",
    "CreditError",
    "InvalidRequestError",
    "PermissionDeniedError",
    "GatewayError",
    "NoDataError",
    "MassSendError",
    "MassResult",
    "MassProgress",
    "Outcome",
    "Limits",
    "Credits",
    "ReportRecord",
    "normalize_phone",
    "Campaign",
}

GROUPS: dict[type[APIError], set[int]] = {
    AuthenticationError: {800, 801, 802, 815, 826, 827},
    CreditError: {305, 306},
    InvalidRequestError: {302, 303, 304, 307, 330, 400, 812},
    PermissionDeniedError: {309},
    GatewayError: {813, 814, 301, 999},
    NoDataError: {111},
}


def test_surface_names_are_exported() -> None:
    """Every name the public contract promises is in __all__ and importable from miogram_async."""
    assert set(miogram_async.__all__) >= SURFACE_NAMES
    for name in miogram_async.__all__:
        assert getattr(miogram_async, name) is not None


def test_every_exported_error_is_a_miogram_error() -> None:
    """Every exported error descends from MioGramError; ValidationError is also a ValueError."""
    exported = [getattr(miogram_async, name) for name in miogram_async.__all__]
    errors = [obj for obj in exported if isinstance(obj, type) and issubclass(obj, BaseException)]
    assert len(errors) >= 30
    assert all(issubclass(error, MioGramError) for error in errors)
    assert issubclass(ValidationError, ValueError)


def test_public_error_groups_match_the_surface() -> None:
    """Each code of the contract's error groups maps to a class of that group, exported on top."""
    for group, codes in GROUPS.items():
        for code in codes:
            cls = ERROR_CLASSES[code]
            assert issubclass(cls, group), (code, cls, group)
            assert getattr(miogram_async, cls.__name__) is cls


def test_the_send_gates_are_exported_without_needing_psycopg() -> None:
    """The gates are public names, and importing the package does not import psycopg."""
    assert {"SendGate", "LocalSendGate", "PostgresSendGate", "FileSendGate"} <= set(
        miogram_async.__all__
    )
    probe = "import sys, miogram_async; print('psycopg' in sys.modules)"
    shown = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert shown.stdout.strip() == "False"
