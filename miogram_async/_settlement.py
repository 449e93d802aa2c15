"""
What the settle step answers (`miogram_async._settle`): one `Settlement` per number, and the
`SettleResult` of a pass; and what it is given: one `InDoubt` per number.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from types import MappingProxyType

import attrs

from ._base.errors import MioGramError
from ._base.evidence import Expected
from ._mass.result import Dispatch, MassResult, Outcome

__all__ = ["InDoubt", "SettleResult", "Settlement"]


@attrs.frozen(kw_only=True)
class InDoubt:
    """
    One number to settle: where and when it was sent, and what.

    Attributes:
        number: the number, normalised.
        dispatch: the chunk that sent it.
        expected: what was sent to it.
    """

    number: str
    dispatch: Dispatch
    expected: Expected


@attrs.frozen(kw_only=True)
class Settlement:
    """
    What the settle step found for one number.

    Attributes:
        outcome: ``DELIVERED``, ``ABSENT`` or ``UNKNOWN``.
        robot: the agent whose history was read (``None``: the account's first agent).
        reason: why, for a human.
        message_id: the id of the message that proves a delivery (``DELIVERED`` only).
        message_date: its date, in UTC (``DELIVERED`` only).
    """

    outcome: Outcome
    robot: str | None
    reason: str
    message_id: str | None = None
    message_date: datetime | None = None

    @property
    def evidence(self) -> str:
        """One line for a journal or a log: the outcome's evidence or reason."""
        agent = self.robot or "the first agent"
        if self.outcome is Outcome.DELIVERED and self.message_date is not None:
            when = self.message_date.strftime("%Y-%m-%dT%H:%M:%SZ")
            return f"history of {agent}: message {self.message_id or '?'} at {when}"
        return f"history of {agent}: {self.reason}"


class SettleResult(Mapping[str, Settlement]):
    """
    The settle step's answer for every number it was given, in the order given.

    Attributes:
        stopped: the error that stopped the step early (no permission to read histories, the
            service unreachable...), or ``None``; the numbers it did not read are ``UNKNOWN``.
    """

    __slots__ = ("_settlements", "stopped")

    def __init__(
        self, settlements: Mapping[str, Settlement], stopped: MioGramError | None = None
    ) -> None:
        self._settlements = dict(settlements)
        self.stopped = stopped

    def __getitem__(self, number: str) -> Settlement:
        return self._settlements[number]

    def __iter__(self) -> Iterator[str]:
        return iter(self._settlements)

    def __len__(self) -> int:
        return len(self._settlements)

    def __repr__(self) -> str:
        shown = ", ".join(f"{outcome.value}={count}" for outcome, count in self.counts.items())
        return f"<SettleResult {len(self)} numbers: {shown or 'empty'}>"

    def numbers(self, outcome: Outcome) -> list[str]:
        """The numbers settled as *outcome*."""
        return [number for number, found in self._settlements.items() if found.outcome is outcome]

    @property
    def delivered(self) -> list[str]:
        """Numbers whose agent's history holds the message."""
        return self.numbers(Outcome.DELIVERED)

    @property
    def absent(self) -> list[str]:
        """Numbers whose agent's history, read, holds no message since the send."""
        return self.numbers(Outcome.ABSENT)

    @property
    def unknown(self) -> list[str]:
        """Numbers the histories could not settle (see each one's ``reason``)."""
        return self.numbers(Outcome.UNKNOWN)

    @property
    def counts(self) -> Mapping[Outcome, int]:
        """How many numbers got each outcome (only those present)."""
        counts: dict[Outcome, int] = {}
        for found in self._settlements.values():
            counts[found.outcome] = counts.get(found.outcome, 0) + 1
        return MappingProxyType(counts)

    def outcomes(self) -> dict[str, Outcome]:
        """Each number's new outcome (for `MassResult.updated`)."""
        return {number: found.outcome for number, found in self._settlements.items()}

    def applied_to(self, result: MassResult) -> MassResult:
        """*result* with these numbers' outcomes replaced by what was found."""
        return result.updated(self.outcomes())
