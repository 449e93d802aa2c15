"""The package logger: one record per request with extra= fields, and the MIOGRAM_LOG switch."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from miogram_async._base import log as _logging
from miogram_async._base.log import LOG_ENV, OK, configure_from_env, log_request, logger

SECRET = "s3cr3t-never-logged"


@pytest.fixture
def clean_logger() -> Iterator[None]:
    """Leave the package logger's level and handlers as they were."""
    level, handlers = logger.level, list(logger.handlers)
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers


def test_request_record_has_the_extra_fields(caplog: pytest.LogCaptureFixture) -> None:
    """A request is logged with func, attempt, duration, outcome and robot as record attributes."""
    with caplog.at_level(logging.DEBUG, logger="miogram_async"):
        log_request(func="SendMessage", attempt=2, duration=0.25, outcome=OK, robot="Agent1")
    (record,) = caplog.records
    assert record.levelno == logging.DEBUG
    assert (record.func, record.attempt, record.duration, record.outcome, record.robot) == (  # type: ignore[attr-defined]
        "SendMessage",
        2,
        0.25,
        OK,
        "Agent1",
    )
    assert record.getMessage() == "SendMessage attempt 2 via Agent1: ok in 0.250s"


def test_failed_request_is_info(caplog: pytest.LogCaptureFixture) -> None:
    """A request that failed is logged at INFO, so MIOGRAM_LOG=info shows failures only."""
    with caplog.at_level(logging.INFO, logger="miogram_async"):
        log_request(func="GetHistory", attempt=1, duration=1.5, outcome="ok", robot=None)
        log_request(
            func="GetHistory", attempt=1, duration=1.5, outcome="APITimeoutError", robot=None
        )
    (record,) = caplog.records
    assert record.levelno == logging.INFO
    assert (
        record.getMessage() == "GetHistory attempt 1 via the first agent: APITimeoutError in 1.500s"
    )


def test_request_record_has_no_body() -> None:
    """log_request takes no body or secret at all: nothing it logs can hold the secret."""
    import inspect  # noqa: PLC0415

    assert list(inspect.signature(log_request).parameters) == [
        "func",
        "attempt",
        "duration",
        "outcome",
        "robot",
    ]


def test_miogram_log_adds_one_stderr_handler(
    monkeypatch: pytest.MonkeyPatch, clean_logger: None
) -> None:
    """MIOGRAM_LOG=debug adds a stderr handler once, however often it is applied."""
    monkeypatch.setenv(LOG_ENV, " DEBUG ")
    first = configure_from_env()
    second = configure_from_env()
    assert first is not None
    assert first is second
    assert [h for h in logger.handlers if isinstance(h, _logging._EnvHandler)] == [first]
    assert logger.level == logging.DEBUG
    monkeypatch.setenv(LOG_ENV, "info")
    assert configure_from_env() is first
    assert (first.level, logger.level) == (logging.INFO, logging.INFO)


def test_miogram_log_unset_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, clean_logger: None
) -> None:
    """Without MIOGRAM_LOG the package leaves logging to the application."""
    monkeypatch.delenv(LOG_ENV, raising=False)
    handlers = list(logger.handlers)
    assert configure_from_env() is None
    assert logger.handlers == handlers


def test_miogram_log_unknown_value_warns(
    monkeypatch: pytest.MonkeyPatch, clean_logger: None
) -> None:
    """An unknown MIOGRAM_LOG value is ignored with a warning that names it."""
    monkeypatch.setenv(LOG_ENV, "verbose")
    with pytest.warns(
        RuntimeWarning, match="MIOGRAM_LOG='verbose' is ignored: expected one of debug, info"
    ):
        assert configure_from_env() is None


def test_miogram_log_on_import_writes_requests_to_stderr() -> None:
    """Importing the package with MIOGRAM_LOG=debug prints request lines on stderr, no secret."""
    program = (
        "import miogram_async, miogram_async\n"
        "from miogram_async._base.log import log_request\n"
        "log_request(func='SendMessage', attempt=1, duration=0.5, outcome='ok', robot='Agent1')\n"
    )
    env = {**os.environ, LOG_ENV: "debug", "MIOGRAM_SECRET": SECRET}
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("DEBUG miogram_async: SendMessage attempt 1 via Agent1: ok in 0.500s")
    assert SECRET not in done.stderr
