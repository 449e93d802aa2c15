"""
The client's configuration: every ``MioGram(...)`` option checked, and the `Session` built from
them.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from typing import Final, Literal

import attrs
import httpx

from ._errors import ValidationError
from ._gate import LocalSendGate, SendGate
from ._ratelimit import TokenBucket
from ._retry import RetryPolicy
from ._session import (
    DEFAULT_BASE_URL,
    DEFAULT_GATEWAY_DRAIN,
    DEFAULT_MAX_REPLY_BYTES,
    SECRET_NOT_UNICODE,
    SecretCallback,
    SecretSource,
    Session,
    check_base_url,
    check_robot,
    encodable,
    env,
    has_space_or_control,
    is_seconds,
)
from ._transport import HttpBackend, aiohttp_available
from ._validation import normalize_phone

__all__ = ["UNSET", "Unset", "build_session", "check_call", "derive_session", "phone_normalizer"]


class Unset(enum.Enum):
    """The type of `UNSET`: an option of `MioGram.with_options` left as the client has it."""

    UNSET = enum.auto()


UNSET: Final = Unset.UNSET

# Element names `call()` accepts: the Python names and the wire names.
_CALL_ELEMENTS: Final = frozenset({"phone", "message", "misc", "data"}) | frozenset(
    {"Phone", "Message", "Misc", "Data"}
)


def build_session(
    secret: SecretSource | None,
    *,
    robot: str | None,
    base_url: str | None,
    timeout: float | httpx.Timeout,
    max_retries: int,
    concurrency: int,
    rate_limit: float | None,
    rate_burst: float | None,
    http_client: httpx.AsyncClient | None,
    transport: httpx.AsyncBaseTransport | None,
    http_backend: HttpBackend,
    retry_policy: RetryPolicy | None,
    on_secret_change: SecretCallback | None,
    send_gate: SendGate | None = None,
    gateway_drain: float | None = None,
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
) -> Session:
    """
    Check the options of ``MioGram(...)`` (see its docstring) and build its `Session`.

    Raises:
        ValidationError: (a `MioGramError` and a `ValueError`) no secret was given and
            ``MIOGRAM_SECRET`` is not set, the secret is neither a str nor a callable or is not
            valid Unicode, or an option is of the wrong type or out of range.
    """
    if (
        isinstance(max_reply_bytes, bool)
        or not isinstance(max_reply_bytes, int)
        or max_reply_bytes < 1
    ):
        raise ValidationError(f"max_reply_bytes must be an int >= 1, got {max_reply_bytes!r}")
    if secret is None:
        secret = env("MIOGRAM_SECRET")
    if secret is None or (isinstance(secret, str) and not secret.strip()):
        raise ValidationError(
            "no secret: pass MioGram(secret=...) or set the MIOGRAM_SECRET environment variable"
        )
    if not isinstance(secret, str) and not callable(secret):
        raise ValidationError(f"secret must be a str or a callable, got {type(secret).__name__}")
    if isinstance(secret, str) and not encodable(secret):
        raise ValidationError(SECRET_NOT_UNICODE)
    if robot is not None and not isinstance(robot, str):
        raise ValidationError(f"robot must be a str, got {type(robot).__name__}")
    check_robot(robot)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError(f"concurrency must be an int >= 1, got {concurrency!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValidationError(f"max_retries must be an int >= 0, got {max_retries!r}")
    if not isinstance(timeout, httpx.Timeout) and not is_seconds(timeout):
        raise ValidationError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if rate_limit is not None and not is_seconds(rate_limit):
        raise ValidationError(
            f"rate_limit must be a positive number per second, got {rate_limit!r}"
        )
    if rate_burst is not None and rate_limit is None:
        raise ValidationError("rate_burst needs rate_limit")
    bucket = None
    if rate_limit is not None:
        try:
            bucket = TokenBucket(rate_limit, burst=rate_burst)
        except (TypeError, ValueError) as error:
            raise ValidationError(str(error)) from None
    if http_client is not None and transport is not None:
        raise ValidationError("pass http_client or transport, not both")
    if http_backend not in ("auto", "httpx", "aiohttp"):
        raise ValidationError(f"http_backend must be auto, httpx or aiohttp, got {http_backend!r}")
    if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
        raise ValidationError(
            f"retry_policy must be a RetryPolicy, got {type(retry_policy).__name__}"
        )
    if on_secret_change is not None and not callable(on_secret_change):
        raise ValidationError(
            f"on_secret_change must be a callable, got {type(on_secret_change).__name__}"
        )
    if send_gate is not None and not isinstance(send_gate, SendGate):
        raise ValidationError(
            "send_gate must have async acquire() and release(busy_for) methods (a SendGate), "
            f"got {type(send_gate).__name__}"
        )
    drain = _gateway_drain(gateway_drain)
    if http_backend == "aiohttp" and not aiohttp_available():
        raise ValidationError(
            "http_backend='aiohttp' needs the aiohttp extra: pip install 'miogram-async[aiohttp]'"
        )
    session = Session(
        secret=secret.strip() if isinstance(secret, str) else secret,
        robot=robot or None,
        base_url=check_base_url(base_url or env("MIOGRAM_BASE_URL") or DEFAULT_BASE_URL),
        timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
        concurrency=concurrency,
        retry=attrs.evolve(retry_policy or RetryPolicy(), max_retries=max_retries),
        bucket=bucket,
        http_client=http_client,
        transport=transport,
        http_backend=http_backend,
        on_secret_change=on_secret_change,
        gate=send_gate if send_gate is not None else LocalSendGate(concurrency),
        gateway_drain=drain,
    )
    session.max_reply_bytes = max_reply_bytes
    return session


def _gateway_drain(gateway_drain: float | None) -> float:
    """The ``gateway_drain`` option checked, or ``MIOGRAM_GATEWAY_DRAIN``, or the default."""
    if gateway_drain is None:
        from_env = env("MIOGRAM_GATEWAY_DRAIN")
        try:
            gateway_drain = DEFAULT_GATEWAY_DRAIN if from_env is None else float(from_env)
        except ValueError:
            raise ValidationError(
                f"MIOGRAM_GATEWAY_DRAIN must be a number of seconds, got {from_env!r}"
            ) from None
    if (
        isinstance(gateway_drain, bool)
        or not isinstance(gateway_drain, int | float)
        or not 0 <= gateway_drain < float("inf")
    ):
        raise ValidationError(
            f"gateway_drain must be a finite number of seconds >= 0, got {gateway_drain!r}"
        )
    return float(gateway_drain)


def derive_session(
    session: Session,
    *,
    robot: str | Literal[Unset.UNSET] | None,
    timeout: float | httpx.Timeout | Literal[Unset.UNSET],
    max_retries: int | Literal[Unset.UNSET],
) -> Session:
    """
    Check the options of `MioGram.with_options` and derive its view of *session*.

    Raises:
        ValidationError: an option is of the wrong type or out of range.
    """
    if robot is UNSET:
        robot = session.robot
    elif robot is not None and not isinstance(robot, str):
        raise ValidationError(f"robot must be a str, got {type(robot).__name__}")
    else:
        robot = check_robot(robot) or None
    timeouts = session.timeout
    if timeout is not UNSET:
        if isinstance(timeout, httpx.Timeout):
            timeouts = timeout
        elif is_seconds(timeout):
            timeouts = httpx.Timeout(timeout)
        else:
            raise ValidationError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if max_retries is UNSET:
        max_retries = session.max_retries
    elif isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValidationError(f"max_retries must be an int >= 0, got {max_retries!r}")
    return session.derive(robot=robot, timeout=timeouts, max_retries=max_retries)


def check_call(func: object, elements: Mapping[str, object]) -> None:
    """
    Check the action name and elements given to ``call()``.

    Raises:
        ValidationError: *func* is empty or has spaces or control characters, an element name is
            unknown, or a value is not a non-empty str of valid Unicode.
    """
    if not isinstance(func, str) or not func or has_space_or_control(func) or not encodable(func):
        raise ValidationError(f"expected an action name like 'SendMessage', got {func!r}")
    for name, value in elements.items():
        if name not in _CALL_ELEMENTS:
            raise ValidationError(
                f"expected elements among phone, message, misc, data, got {name!r}"
            )
        if value is not None and (not isinstance(value, str) or not value):
            raise ValidationError(f"expected {name} as a non-empty str, got {type(value)!r}")
        if value is not None and not encodable(value):
            raise ValidationError(
                f"expected {name} as valid Unicode text, got a lone surrogate in it"
            )


def phone_normalizer(default_region: str | None) -> Callable[[str], str]:
    """
    `normalize_phone` under *default_region* (checked here).

    The plain function for Iran, its own default: a partial costs a call per Mass number.
    """
    if isinstance(default_region, str) and default_region.upper() == "IR":
        return normalize_phone
    if default_region is not None:
        normalize_phone("+989100000000", default_region=default_region)  # checks the region
    return functools.partial(normalize_phone, default_region=default_region)
