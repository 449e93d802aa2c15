"""
The client's options: `ClientOptions`, every ``MioGram(...)`` option checked once; the client,
its `Session` and every ``with_options`` view (``attrs.evolve``) are built from it. Also
``call()``'s checks and the phone normaliser of the default region.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, cast

import attrs
import httpx

from .._base.checks import (
    DEFAULT_BASE_URL,
    check_base_url,
    check_robot,
    encodable,
    env,
    has_space_or_control,
    is_count,
    is_finite_seconds,
    is_seconds,
)
from .._base.errors import ValidationError
from .._base.validation import normalize_phone
from .._gates.base import SendGate
from .._gates.default import gate_from_text
from .ratelimit import TokenBucket
from .retry import RetryPolicy
from .transport import HttpBackend, aiohttp_available

__all__ = [
    "DEFAULT_FRONT_WAIT",
    "DEFAULT_GATEWAY_DRAIN",
    "DEFAULT_MAX_REPLY_BYTES",
    "SECRET_NOT_UNICODE",
    "UNSET",
    "ClientOptions",
    "SecretCallback",
    "SecretSource",
    "Unset",
    "check_call",
    "drain_from_env",
    "front_wait_from_env",
    "phone_normalizer",
]

DEFAULT_MAX_REPLY_BYTES: Final = 8 * 1024 * 1024
"""The largest reply body read (after content decoding): the service's biggest replies (reports,
histories) are far smaller, and an endless or huge body must not take the client's memory."""

DEFAULT_GATEWAY_DRAIN: Final = 0.0
"""No lower bound of the client's own: after an unknown outcome the send gate stays closed for
the gateway's measured pace with a margin (`GatewayPace.drain`, E32, E49)."""

DEFAULT_FRONT_WAIT: Final = 60.0
"""Seconds the service's front waits for its gateway before it answers 999 (E32)."""

SecretSource = str | Callable[[], str] | Callable[[], Awaitable[str]]
"""A secret, or a callable (sync or async) returning it, asked before every request."""

SecretCallback = Callable[[str], object]
"""Called (sync or async) with the new secret after the secret-changing action succeeds."""

# Said instead of letting UnicodeEncodeError escape: that error carries the whole string.
SECRET_NOT_UNICODE: Final = (
    "expected the secret as valid Unicode text, got one with a character UTF-8 cannot encode "
    "(an undecodable byte in MIOGRAM_SECRET?)"
)


class Unset(enum.Enum):
    """The type of `UNSET`: an option of `MioGram.with_options` left as the client has it."""

    UNSET = enum.auto()


UNSET: Final = Unset.UNSET

# Element names `call()` accepts: the Python names and the wire names.
_CALL_ELEMENTS: Final = frozenset({"phone", "message", "misc", "data"}) | frozenset(
    {"Phone", "Message", "Misc", "Data"}
)


# -- converters: the environment's and the defaults' values; what is wrong is left to a validator


def _secret_or_env(secret: SecretSource | None) -> SecretSource:
    if secret is None:
        secret = env("MIOGRAM_SECRET")
    if isinstance(secret, str):
        return secret.strip()
    return cast("SecretSource", secret)  # None or another type: `_check_secret` says so


def _to_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    if is_seconds(timeout):
        return httpx.Timeout(timeout)
    return cast("httpx.Timeout", timeout)  # a Timeout, or what `_check_timeout` refuses


def _base_url_or_env(base_url: str | None) -> str:
    return base_url or env("MIOGRAM_BASE_URL") or DEFAULT_BASE_URL


def drain_from_env() -> float:
    """The gateway drain a client gets when it names none: ``MIOGRAM_GATEWAY_DRAIN`` or 0."""
    return _drain_or_env(None)


def front_wait_from_env() -> float:
    """The front's wait a client gets when it names none: ``MIOGRAM_FRONT_WAIT`` or 60 s."""
    return _front_wait_or_env(None)


def _front_wait_or_env(front_wait: float | None) -> float:
    """The ``front_wait`` option, or ``MIOGRAM_FRONT_WAIT``, or the service's 60 s."""
    if front_wait is None:
        from_env = env("MIOGRAM_FRONT_WAIT")
        try:
            return DEFAULT_FRONT_WAIT if from_env is None else float(from_env)
        except ValueError:
            raise ValidationError(
                f"MIOGRAM_FRONT_WAIT must be a number of seconds, got {from_env!r}"
            ) from None
    if isinstance(front_wait, int) and not isinstance(front_wait, bool):
        return float(front_wait)
    return front_wait


def _drain_or_env(gateway_drain: float | None) -> float:
    """The ``gateway_drain`` option, or ``MIOGRAM_GATEWAY_DRAIN``, or the default."""
    if gateway_drain is None:
        from_env = env("MIOGRAM_GATEWAY_DRAIN")
        try:
            return DEFAULT_GATEWAY_DRAIN if from_env is None else float(from_env)
        except ValueError:
            raise ValidationError(
                f"MIOGRAM_GATEWAY_DRAIN must be a number of seconds, got {from_env!r}"
            ) from None
    if isinstance(gateway_drain, int) and not isinstance(gateway_drain, bool):
        return float(gateway_drain)
    return gateway_drain


# -- validators: each raises ValidationError naming its option


def _count(least: int) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not is_count(value, least):
            raise ValidationError(f"{attribute.name} must be an int >= {least}, got {value!r}")

    return check


def _check_secret(_: object, __: attrs.Attribute[Any], secret: object) -> None:
    if secret is None or secret == "":
        raise ValidationError(
            "no secret: pass MioGram(secret=...) or set the MIOGRAM_SECRET environment variable"
        )
    if not isinstance(secret, str) and not callable(secret):
        raise ValidationError(f"secret must be a str or a callable, got {type(secret).__name__}")
    if isinstance(secret, str) and not encodable(secret):
        raise ValidationError(SECRET_NOT_UNICODE)


def _check_robot(_: object, __: attrs.Attribute[Any], robot: object) -> None:
    if robot is not None and not isinstance(robot, str):
        raise ValidationError(f"robot must be a str, got {type(robot).__name__}")
    check_robot(robot)


def _check_timeout(_: object, __: attrs.Attribute[Any], timeout: object) -> None:
    if not isinstance(timeout, httpx.Timeout):
        raise ValidationError(f"timeout must be a positive number of seconds, got {timeout!r}")


def _check_rate_limit(_: object, __: attrs.Attribute[Any], rate_limit: object) -> None:
    if rate_limit is not None and not is_seconds(rate_limit):
        raise ValidationError(
            f"rate_limit must be a positive number per second, got {rate_limit!r}"
        )


def _check_rate_burst(
    options: ClientOptions, _: attrs.Attribute[Any], rate_burst: float | None
) -> None:
    if rate_burst is None:
        return
    if options.rate_limit is None:
        raise ValidationError("rate_burst needs rate_limit")
    try:
        TokenBucket(options.rate_limit, burst=rate_burst)
    except (TypeError, ValueError) as error:
        raise ValidationError(str(error)) from None


def _check_transport(options: ClientOptions, _: attrs.Attribute[Any], transport: object) -> None:
    if transport is not None and options.http_client is not None:
        raise ValidationError("pass http_client or transport, not both")


def _check_backend(_: object, __: attrs.Attribute[Any], backend: object) -> None:
    if backend not in ("auto", "httpx", "aiohttp"):
        raise ValidationError(f"http_backend must be auto, httpx or aiohttp, got {backend!r}")
    if backend == "aiohttp" and not aiohttp_available():
        raise ValidationError(
            "http_backend='aiohttp' needs the aiohttp extra: pip install 'miogram-async[aiohttp]'"
        )


def _check_retry_policy(_: object, __: attrs.Attribute[Any], policy: object) -> None:
    if policy is not None and not isinstance(policy, RetryPolicy):
        raise ValidationError(f"retry_policy must be a RetryPolicy, got {type(policy).__name__}")


def _check_callback(_: object, __: attrs.Attribute[Any], callback: object) -> None:
    if callback is not None and not callable(callback):
        raise ValidationError(f"on_secret_change must be a callable, got {type(callback).__name__}")


def _check_gate(_: object, __: attrs.Attribute[Any], gate: object) -> None:
    if isinstance(gate, str):
        gate_from_text(gate)  # "local", a postgresql:// URL or a directory; built by the session
        return
    if gate is not None and not isinstance(gate, SendGate):
        raise ValidationError(
            "send_gate must have async acquire() and release(busy_for) methods (a SendGate), "
            f"or be 'local', a directory or a postgresql:// URL; got {type(gate).__name__}"
        )


def _check_drain(_: object, __: attrs.Attribute[Any], drain: object) -> None:
    if not is_finite_seconds(drain):
        raise ValidationError(
            f"gateway_drain must be a finite number of seconds >= 0, got {drain!r}"
        )


def _check_front_wait(_: object, __: attrs.Attribute[Any], front_wait: object) -> None:
    if not is_seconds(front_wait) or not is_finite_seconds(front_wait):
        raise ValidationError(
            f"front_wait must be a finite positive number of seconds, got {front_wait!r}"
        )


def _check_base_url(_: object, __: attrs.Attribute[Any], base_url: str) -> None:
    check_base_url(base_url)


def _check_region(_: object, __: attrs.Attribute[Any], region: object) -> None:
    if region is not None and not (isinstance(region, str) and region.upper() == "IR"):
        # Reading a number under the region checks it (and that phonenumbers is installed).
        normalize_phone("+989100000000", default_region=region)  # type: ignore[arg-type]


@attrs.frozen(kw_only=True)
class ClientOptions:
    """
    Every option of ``MioGram(...)`` (see its docstring for their meaning), checked when built.

    The fields are checked in the order they are written, each failure a `ValidationError` naming
    the option. The environment and the defaults are read once, here: ``secret`` is the given
    one (stripped) or ``MIOGRAM_SECRET``; ``base_url`` the given one, ``MIOGRAM_BASE_URL`` or the
    public service; ``timeout`` an `httpx.Timeout`; ``gateway_drain`` the given seconds,
    ``MIOGRAM_GATEWAY_DRAIN`` or `DEFAULT_GATEWAY_DRAIN`; ``front_wait`` the given seconds,
    ``MIOGRAM_FRONT_WAIT`` or `DEFAULT_FRONT_WAIT`. `MioGram.with_options` is
    ``attrs.evolve`` of these, checked the same way.
    """

    max_reply_bytes: int = attrs.field(validator=_count(1))
    # repr=False: the secret never appears in a repr.
    secret: SecretSource = attrs.field(
        converter=_secret_or_env, validator=_check_secret, repr=False
    )
    robot: str | None = attrs.field(validator=_check_robot)
    concurrency: int = attrs.field(validator=_count(1))
    max_retries: int = attrs.field(validator=_count(0))
    timeout: httpx.Timeout = attrs.field(converter=_to_timeout, validator=_check_timeout)
    rate_limit: float | None = attrs.field(validator=_check_rate_limit)
    rate_burst: float | None = attrs.field(validator=_check_rate_burst)
    http_client: httpx.AsyncClient | None
    transport: httpx.AsyncBaseTransport | None = attrs.field(validator=_check_transport)
    http_backend: HttpBackend = attrs.field(validator=_check_backend)
    retry_policy: RetryPolicy | None = attrs.field(validator=_check_retry_policy)
    on_secret_change: SecretCallback | None = attrs.field(validator=_check_callback)
    send_gate: SendGate | str | None = attrs.field(validator=_check_gate)
    gateway_drain: float = attrs.field(converter=_drain_or_env, validator=_check_drain)
    front_wait: float = attrs.field(converter=_front_wait_or_env, validator=_check_front_wait)
    base_url: str = attrs.field(converter=_base_url_or_env, validator=_check_base_url)
    default_region: str | None = attrs.field(validator=_check_region)
    check_limits: bool

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy, with ``max_retries`` as this client has it."""
        return attrs.evolve(self.retry_policy or RetryPolicy(), max_retries=self.max_retries)

    @property
    def default_robot(self) -> str | None:
        """The default agent: ``None`` (and ``""``) for the account's first."""
        return self.robot or None


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
    `normalize_phone` under *default_region* (checked by `ClientOptions`).

    The plain function for Iran, its own default: a partial costs a call per Mass number.
    """
    if isinstance(default_region, str) and default_region.upper() == "IR":
        return normalize_phone
    return functools.partial(normalize_phone, default_region=default_region)
