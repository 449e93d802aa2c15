"""
Small checks of names, URLs and numbers shared by the client's options and its request path.
"""

from __future__ import annotations

import math
import os
from typing import Final

import httpx

from .errors import ValidationError

__all__ = [
    "DEFAULT_BASE_URL",
    "check_base_url",
    "check_robot",
    "encodable",
    "env",
    "has_space_or_control",
    "is_count",
    "is_finite_seconds",
    "is_seconds",
]

DEFAULT_BASE_URL: Final = "https://miogram.net/dojob.php"


def encodable(text: str) -> bool:
    """Whether *text* can go on the wire (UTF-8): no lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def env(name: str) -> str | None:
    """The environment variable *name*, stripped, or ``None`` when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None


def has_space_or_control(text: str) -> bool:
    """Whether *text* has whitespace or a control character (NUL...): not in a name."""
    return any(char.isspace() or not char.isprintable() for char in text)


def is_seconds(value: object) -> bool:
    """Whether *value* is a positive number (not a bool, not NaN)."""
    return not isinstance(value, bool) and isinstance(value, int | float) and value > 0


def is_count(value: object, least: int) -> bool:
    """Whether *value* is an int (not a bool) of at least *least*."""
    return not isinstance(value, bool) and isinstance(value, int) and value >= least


def is_finite_seconds(value: object) -> bool:
    """Whether *value* is a finite number >= 0 (not a bool, not NaN)."""
    return not isinstance(value, bool) and isinstance(value, int | float) and 0 <= value < math.inf


def check_robot(robot: str | None) -> str | None:
    """
    An agent name as the service wants it: no spaces, commas or control characters (docs/service.md
    section 2).
    """
    if robot is None:
        return None
    if not isinstance(robot, str):
        raise ValidationError(f"expected an agent name as a str, got {type(robot).__name__}")
    if has_space_or_control(robot) or "," in robot or not encodable(robot):
        raise ValidationError(
            f"expected an agent name without spaces or commas, as valid Unicode, got {robot!r}"
        )
    return robot


def check_base_url(url: str) -> str:
    """An http(s) URL with a host, or ValidationError (httpx's InvalidURL is no HTTPError)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValidationError(
            f"base_url must be an http(s) URL like {DEFAULT_BASE_URL}, got {url!r}"
        )
    return url
