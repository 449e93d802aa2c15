"""
A run's dealings with the service's report (``APIGetReport``): the anchor it keeps before sending
(`keep_anchor`), and the numbers in doubt or unknown that it settles from the report
(`settle_from_report`). What a record proves is decided in `_reconcile`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

import anyio.to_thread

from .._base.errors import MioGramError, NoDataError
from .._base.validation import REPORT_MAX
from ._model import MediaRef, NumberState
from ._reconcile import Anchor, media_matcher, reconcile, text_matcher
from .storage import NumberUpdate, Storage

if TYPE_CHECKING:
    from .._base.models import ReportRecord
    from .._client import MioGram

__all__ = ["keep_anchor", "settle_from_report"]

_UNCONFIRMED: Final = "sent, but the service's report does not confirm a delivery"
_ADS: Final = (
    "the account appends an ad to every message (APIGetAds), so the report "
    "cannot tell this campaign's records from another's: nothing was confirmed"
)


async def keep_anchor(client: MioGram, journal: Storage, run: int) -> None:
    """
    Keep where the service's report stands before *run* sends anything (its `Anchor`).

    Records newer than it (on the service's clock) may be this run's; older ones never are. If
    the report cannot be read, the run goes on without one and its chunks, should they fall
    in doubt, stay unknown.
    """
    try:
        anchor = Anchor.of(await client.api_get_report(REPORT_MAX))
    except NoDataError:
        anchor = Anchor(newest=None)
    except MioGramError:
        return
    if anchor is not None:
        await anyio.to_thread.run_sync(journal.set_anchor, run, anchor.to_json())


async def settle_from_report(
    client: MioGram, journal: Storage, *, media: MediaRef | None, message: str | None
) -> tuple[dict[NumberState, int], str | None]:
    """
    Resolve in-doubt and unknown numbers through the report; returns counts and the error.

    *media* or *message* is the campaign's payload, which a record must carry to count.
    """
    candidates = await anyio.to_thread.run_sync(
        journal.numbers_in, [NumberState.SENDING, NumberState.UNKNOWN]
    )
    if not candidates:
        return {}, None
    chunk_runs = await anyio.to_thread.run_sync(
        journal.chunk_runs, [chunk for chunk, _ in candidates]
    )
    anchors: dict[int, Anchor | None] = {}
    for run in set(chunk_runs.values()):
        kept = await anyio.to_thread.run_sync(journal.anchor, run)
        anchors[run] = None if kept is None else Anchor.from_json(kept)
    in_doubt = {number: anchors.get(chunk_runs.get(chunk, -1)) for chunk, number in candidates}
    report_error: str | None = None
    records: list[ReportRecord] = []
    matcher: Callable[[str], bool] | None = None
    per_row = journal.meta.per_row and media is None
    if any(anchor is not None for anchor in in_doubt.values()):
        try:
            try:
                records = await client.api_get_report(REPORT_MAX)
            except NoDataError:
                records = []
            if per_row:
                ads = await client.api_get_ads()
                matcher = text_matcher("", ads=ads)  # None when ads make every text uncertain
            else:
                matcher = await _matcher(client, media, message)
        except MioGramError as exc:
            return {}, f"{type(exc).__name__}: {exc}"
        if matcher is None:
            report_error = _ADS
    if per_row and matcher is not None:
        texts = await anyio.to_thread.run_sync(journal.texts, list(in_doubt))
        decided = _reconcile_per_text(in_doubt, records, texts)
    else:
        decided = reconcile(in_doubt, records, payload_matches=matcher)
    updates: list[NumberUpdate] = [
        (number, state, None, None if state is not NumberState.UNKNOWN else _UNCONFIRMED)
        for number, state in decided.items()
    ]
    await anyio.to_thread.run_sync(journal.settle, updates, {chunk for chunk, _ in candidates})
    counts: dict[NumberState, int] = {}
    for state in decided.values():
        counts[state] = counts.get(state, 0) + 1
    return counts, report_error


def _reconcile_per_text(
    in_doubt: Mapping[str, Anchor | None],
    records: Sequence[ReportRecord],
    texts: Mapping[str, str],
) -> dict[str, NumberState]:
    """
    `reconcile` for a message per row: a number counts only a record of exactly its own text
    (the account has no ads: see `text_matcher`); a number without a known text stays unknown.
    """
    by_data: dict[str, list[ReportRecord]] = {}
    for record in records:
        by_data.setdefault(record.data, []).append(record)
    by_text: dict[str, dict[str, Anchor | None]] = {}
    decided: dict[str, NumberState] = {}
    for number, anchor in in_doubt.items():
        text = texts.get(number)
        if text is None:
            decided[number] = NumberState.UNKNOWN
        else:
            by_text.setdefault(text, {})[number] = anchor
    for text, numbers in by_text.items():
        matches = text_matcher(text, ads=False)
        decided |= reconcile(numbers, by_data.get(text, []), payload_matches=matches)
    return decided


async def _matcher(
    client: MioGram, media: MediaRef | None, message: str | None
) -> Callable[[str], bool] | None:
    """What certainly is this campaign's payload in a report record (see `reconcile`)."""
    if media is not None:
        return media_matcher(media.sha256)
    assert message is not None
    return text_matcher(message, ads=await client.api_get_ads())
