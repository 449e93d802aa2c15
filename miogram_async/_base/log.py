"""
The ``miogram_async`` logger: one record per request, and the ``MIOGRAM_LOG`` switch.

A request record carries ``func``, ``attempt``, ``duration``, ``outcome`` and ``robot`` as
``extra=`` fields, for structured log handlers. It never carries the request body: the body holds
the secret (project rule 3), so `log_request` does not even take it.

``MIOGRAM_LOG=debug`` (every request) or ``MIOGRAM_LOG=info`` (failed requests, retries, secret
changes) adds a stderr handler to the ``miogram_async`` logger when the package is imported, as
``OPENAI_LOG`` does for openai; without it the package leaves logging to the application.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import Final

__all__ = ["LOGGER_NAME", "LOG_ENV", "OK", "configure_from_env", "log_request", "logger"]

LOGGER_NAME: Final = "miogram_async"
LOG_ENV: Final = "MIOGRAM_LOG"
OK: Final = "ok"
"""The outcome of a request that got a usable reply."""

logger: Final = logging.getLogger(LOGGER_NAME)
# A library leaves output to the application: without this, Python's last-resort handler prints
# retry warnings to stderr in programs that never configured logging.
logger.addHandler(logging.NullHandler())

_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO}
_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _EnvHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr handler ``MIOGRAM_LOG`` installs; its class marks it so it is added once."""


def log_request(
    *, func: str, attempt: int, duration: float, outcome: str, robot: str | None
) -> None:
    """
    Log one request: DEBUG when *outcome* is `OK`, INFO otherwise.

    Args:
        func: the action (``Func``).
        attempt: 1 for the first attempt, 2 for the first retry...
        duration: seconds from sending to the reply (or the error).
        outcome: `OK`, or a secret-free description of the error.
        robot: the agent the request named, or ``None`` for the account's first.
    """
    level = logging.DEBUG if outcome == OK else logging.INFO
    if not logger.isEnabledFor(level):
        return
    logger.log(
        level,
        "%s attempt %d via %s: %s in %.3fs",
        func,
        attempt,
        robot or "the first agent",
        outcome,
        duration,
        extra={
            "func": func,
            "attempt": attempt,
            "duration": duration,
            "outcome": outcome,
            "robot": robot,
        },
    )


def configure_from_env() -> logging.Handler | None:
    """
    Honour ``MIOGRAM_LOG``: add a stderr handler at that level to the ``miogram_async`` logger.

    Idempotent: a second call (or a second import) adds no second handler. An unknown value is
    ignored with a warning naming it.

    Returns:
        The handler ``MIOGRAM_LOG`` installed (now or before), or ``None`` when it is unset.
    """
    value = os.environ.get(LOG_ENV, "").strip().lower()
    if not value:
        return None
    level = _LEVELS.get(value)
    if level is None:
        warnings.warn(
            f"{LOG_ENV}={value!r} is ignored: expected one of {', '.join(_LEVELS)}",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    handler = next((h for h in logger.handlers if isinstance(h, _EnvHandler)), None)
    if handler is None:
        handler = _EnvHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)
    handler.setLevel(level)
    logger.setLevel(level)
    return handler
