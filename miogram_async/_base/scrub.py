"""
Keeping the secret out of what the SDK raises: its echoes blanked from error texts, and the frames
(whose locals hold the request body) dropped from chained transport errors. Also out of what it
sends: `contains_secret` finds the secret, in any form an echo may take, in a message's text.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Final
from urllib.parse import quote, quote_plus

from .errors import APIError, APIResponseError

__all__ = [
    "MIN_FOUND_SECRET",
    "blank",
    "contains_secret",
    "scrub",
    "secret_forms",
    "without_frames",
]

# A shorter piece of the secret left at the end of a cut excerpt gives too little away to blank.
_MIN_SECRET_PREFIX: Final = 4

MIN_FOUND_SECRET: Final = 8
"""The shortest secret `contains_secret` looks for: the service's are 10 characters (E20), and a
shorter one (a test's ``"s"``) would be found in every other word."""


def secret_forms(secret: str) -> list[str]:
    """
    The forms an echo of *secret* may take, longest first.

    As given; percent-encoded (``%2F``, or ``+`` for a space, as in a form body); and as a JSON
    string would write it: Python's or PHP's ``json_encode``, which escapes ``/`` as ``\\/`` and
    non-ASCII as ``\\u00e9`` unless told not to.
    """
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    for ensure_ascii in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ensure_ascii)[1:-1]
        forms.update((escaped, escaped.replace("/", "\\/")))
    return sorted(forms, key=len, reverse=True)


def _pattern(forms: list[str]) -> re.Pattern[str]:
    # Hex digits of escapes come in either case (%2f, \u00E9): match every form ignoring case.
    return re.compile("|".join(re.escape(form) for form in forms), re.IGNORECASE)


def contains_secret(text: str, secret: str) -> bool:
    """
    Whether *text* holds *secret* in any form of `secret_forms` (letter case aside).

    A secret shorter than `MIN_FOUND_SECRET` is not looked for.
    """
    if len(secret) < MIN_FOUND_SECRET or len(text) < len(secret):
        return False
    return _secret_pattern(secret).search(text) is not None


@functools.lru_cache(maxsize=4)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    # Asked for every state-changing request: made once per secret.
    return _pattern(secret_forms(secret))


def blank(text: str, secret: str) -> str:
    """*text* with *secret*, in any form of `secret_forms`, replaced by ``***``."""
    forms = secret_forms(secret)
    text = _pattern(forms).sub("***", text)
    # An excerpt cut to length may end inside the secret: "...Sup3rS…".
    if text.endswith("…"):
        head = text[:-1]
        for form in forms:
            for size in range(min(len(form) - 1, len(head)), _MIN_SECRET_PREFIX - 1, -1):
                if head[-size:].lower() == form[:size].lower():
                    return head[:-size] + "***…"
    return text


def scrub(error: APIResponseError | APIError, secret: str) -> APIResponseError | APIError:
    """
    *error* with *secret* blanked out of the reply text it quotes.

    The service never echoes the request, but a misbehaving proxy or server might: keep the secret
    out of exception text anyway, also when it is percent-encoded (a quoted form body) or cut off
    by the excerpt. Returns *error* itself when there is nothing to blank.
    """
    if isinstance(error, APIResponseError):
        message, excerpt = blank(error.message, secret), blank(error.excerpt, secret)
        if (message, excerpt) == (error.message, error.excerpt):
            return error
        return APIResponseError(message, error.status_code, excerpt, error.sent)
    message = blank(error.message, secret)
    if message == error.message:
        return error
    return type(error)(error.code, message, error.func, error.sent)


def without_frames(error: BaseException) -> BaseException:
    """*error* and the exceptions it chains, stripped of their tracebacks."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__
    return error
