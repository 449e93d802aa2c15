"""
Which actions may be retried, and how long to wait between attempts.

The rule (the README's "Retries", docs/service.md A26) is each action's `Retry` class, read from its
row: actions that change nothing retry on transport errors and on 999 ``No Response From Server``;
everything else retries only when the request provably never left the client (``sent is False``:
connect error, connect timeout, pool timeout); the secret-changing action is never retried. A
state-changing action is never retried after a reply, 999 included: a refusal would be refused
again, and anything else may have been sent (`_base.outcomes.proves_refusal`, docs/service.md E32).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Final

import attrs

from .._base.actions import ACTIONS, Retry, row_for
from .._base.errors import APIConnectionError, MioGramError, NoResponseError
from .._base.outcomes import never_left

__all__ = ["NEVER_RETRIED", "READ_ONLY_FUNCS", "RetryPolicy", "may_retry"]

READ_ONLY_FUNCS: Final[frozenset[str]] = frozenset(
    action.func for action in ACTIONS if action.retry is Retry.READ_ONLY
)
"""Actions that change nothing on the service: safe to repeat after any transport failure."""

NEVER_RETRIED: Final[frozenset[str]] = frozenset(
    action.func for action in ACTIONS if action.retry is Retry.NEVER
)
"""Actions that are never repeated, not even after a failure to connect."""


def may_retry(func: str, error: MioGramError) -> bool:
    """
    Whether *error* from action *func* may be followed by another attempt.

    Any action without a row (an undocumented one sent through ``call()``) is treated as changing
    state.
    """
    retry = row_for(func).retry
    if retry is Retry.NEVER:
        return False
    if never_left(error):
        return True
    if retry is Retry.READ_ONLY:
        return isinstance(error, APIConnectionError | NoResponseError)
    return False


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """
    How many times to retry and how long to wait in between.

    Attributes:
        max_retries: attempts after the first one (0 disables retries).
        base_delay: the backoff cap of the first retry, in seconds; it doubles per retry.
        max_delay: the largest backoff cap, in seconds.
        deadline: seconds from the first attempt after which no new attempt starts (``None``: no
            deadline). An attempt already running is never cut short by it.
    """

    max_retries: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    base_delay: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    max_delay: float = attrs.field(default=8.0, validator=attrs.validators.ge(0))
    # Longer than one default read timeout (120 s), so a read that timed out once can still be
    # retried; short enough that a caller is not kept waiting for many minutes.
    deadline: float | None = 300.0

    def backoff(
        self, retry: int, uniform: Callable[[float, float], float] = random.uniform
    ) -> float:
        """
        The wait before retry number *retry* (1-based): exponential backoff with full jitter.

        A value drawn uniformly from ``[0, min(max_delay, base_delay * 2 ** (retry - 1))]``, so that
        many clients failing at once do not come back in step.
        """
        # The exponent is capped: 2 ** 1024 and beyond cannot be made a float (OverflowError), and
        # 2 ** 64 times any useful base_delay is past any useful max_delay already.
        cap = min(self.max_delay, self.base_delay * 2 ** min(max(retry - 1, 0), 64))
        return uniform(0.0, cap)

    def should_retry(
        self, func: str, error: MioGramError, retry: int, elapsed: float, delay: float
    ) -> bool:
        """
        Whether to make retry number *retry* after *error*, waiting *delay* seconds.

        Args:
            func: the action.
            error: what the last attempt raised.
            retry: the number of the retry being considered (1 for the second attempt).
            elapsed: seconds since the first attempt started.
            delay: the backoff that would be waited before it.
        """
        if retry > self.max_retries or not may_retry(func, error):
            return False
        return self.deadline is None or elapsed + delay < self.deadline
