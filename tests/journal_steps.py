"""Helpers for the storage tests: one chunk started or finished through `Storage.record`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from miogram_async.campaign import NumberState
from miogram_async.campaign.storage import NumberUpdate, OutcomeGroup, Storage


def start_chunk(
    journal: Storage, run: int, index: int, robot: str | None, numbers: Sequence[str]
) -> None:
    """Record one chunk of *run* as attempting, alone in its transaction, as before its request."""
    journal.record(run, [(index, robot, numbers)], [])


def finish_chunk(journal: Storage, run: int, index: int, updates: Iterable[NumberUpdate]) -> None:
    """Record one chunk of *run* as done, each number with its outcome (grouped by outcome)."""
    found: dict[tuple[NumberState, int | None, str | None], list[str]] = {}
    for number, state, code, text in updates:
        found.setdefault((state, code, text), []).append(number)
    groups: list[OutcomeGroup] = [
        (state, code, text, numbers, None) for (state, code, text), numbers in found.items()
    ]
    journal.record(run, [], [(index, groups)])
