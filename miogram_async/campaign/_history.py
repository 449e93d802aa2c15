"""
A campaign's unknown numbers settled from the agents' histories (the settle step, E50).

The journal knows, for every number in doubt or ``UNKNOWN``, the chunk that sent it: its agent,
when it was started and answered (this machine's clock) and its size. `settle_from_history`
turns those into the SDK's settle step (`miogram_async._settle`), with what the campaign sent to
each number, and writes what it finds back: ``DELIVERED`` and ``ABSENT`` with the evidence in the
number's ``error`` column; numbers it cannot settle keep their state (and so their error). The
summary of the latest settle is kept in the journal, for ``status``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

import anyio.to_thread

from .._base.errors import MioGramError
from .._base.evidence import Expected
from .._base.outcomes import never_left, stops_fan_out
from .._mass.result import Outcome
from .._settle import InDoubt, Settlement, dispatch_at, settle_doubts
from ._model import CampaignKind, NumberState, SettleSummary, mass_row
from .storage import SETTLE_KEY, NumberUpdate, Storage

if TYPE_CHECKING:
    from .._client import MioGram

__all__ = ["expected_for_kind", "settle_from_history"]

#: Settled numbers are written to the journal this many at a time (and at the end).
_WRITE_EVERY: Final = 200

_STATES: Final[Mapping[Outcome, NumberState]] = {
    Outcome.DELIVERED: NumberState.DELIVERED,
    Outcome.ABSENT: NumberState.ABSENT,
}

_NO_HISTORY: Final = (
    "a WhatsApp send leaves no history the service can read (it goes through another messenger)"
)
_NO_CHUNK: Final = "no chunk of the journal records when or through which agent it was sent"


def expected_for_kind(kind: CampaignKind, message: str | None) -> Expected | None:
    """What a campaign of *kind* sends every number; ``None``: nothing a history shows."""
    history = mass_row(kind).history
    if history is None:
        return None
    if history == "text":
        assert message is not None
        return Expected.text_of(message)
    return Expected.media_of(history)


async def settle_from_history(
    client: MioGram,
    journal: Storage,
    *,
    kind: CampaignKind,
    expected: Callable[[Sequence[str]], Mapping[str, Expected | None]],
    on_settled: Callable[[int, int], object] | None = None,
) -> SettleSummary | None:
    """
    Settle the journal's in-doubt and ``UNKNOWN`` numbers from the agents' histories.

    Args:
        client: the client to read with (its send gate, clock and default agent).
        journal: the campaign's storage.
        kind: the campaign's kind (its Mass row says what a delivery leaves in a history).
        expected: what was sent to each of the numbers given (``None``: nothing a history can
            show), asked once for all of them in a worker thread (it may read the journal: a
            campaign that sends each row its own text).
        on_settled: told (numbers settled so far, numbers taken up) as the step goes.

    Returns:
        The summary (also kept in the journal), or ``None`` when nothing was in doubt.
    """
    candidates = await anyio.to_thread.run_sync(
        journal.numbers_in, [NumberState.SENDING, NumberState.UNKNOWN]
    )
    if not candidates:
        return None
    reasons: dict[str, int] = {}

    def stays(reason: str, count: int = 1) -> None:
        reasons[reason] = reasons.get(reason, 0) + count

    try:
        ads: bool | None = await client.api_get_ads()  # also the clock's first Date
    except MioGramError as error:
        if never_left(error) or stops_fan_out(error):
            return await _keep(
                journal,
                SettleSummary(
                    looked_at=len(candidates),
                    unknown=len(candidates),
                    reasons={f"not read: {type(error).__name__}: {error}": len(candidates)},
                    stopped=f"{type(error).__name__}: {error}",
                    at=time.time(),
                ),
            )
        ads = None
    info = await anyio.to_thread.run_sync(
        journal.chunk_info, {chunk for chunk, _ in candidates if chunk >= 0}
    )
    func = mass_row(kind).func
    payloads = await anyio.to_thread.run_sync(expected, [number for _, number in candidates])
    doubts: list[InDoubt] = []
    chunk_of: dict[str, int] = {}
    robots: dict[str | None, str | None] = {}  # the agent on the wire -> the journal's name
    for chunk, number in candidates:
        row = info.get(chunk)
        payload = payloads.get(number)
        if row is None or payload is None:
            stays(_NO_CHUNK if row is None else _NO_HISTORY)
            continue
        robot, started, finished, size = row
        dispatch = dispatch_at(client, func, robot, started, finished, size)
        robots[dispatch.robot] = robot
        chunk_of[number] = chunk
        doubts.append(InDoubt(number=number, dispatch=dispatch, expected=payload))
    witnesses = {
        wire: await anyio.to_thread.run_sync(journal.witness, named)
        for wire, named in robots.items()
    }
    writer = _Writer(journal, chunk_of, len(doubts), on_settled)
    if on_settled is not None:
        on_settled(0, len(doubts))
    try:
        result = await settle_doubts(
            client, doubts, ads=ads, witness=witnesses.get, on_settled=writer.add
        )
    finally:
        await writer.flush()
    for settlement in result.values():
        if settlement.outcome is Outcome.UNKNOWN:
            stays(settlement.reason)
    summary = SettleSummary(
        looked_at=len(candidates),
        delivered=len(result.delivered),
        absent=len(result.absent),
        unknown=len(candidates) - len(result.delivered) - len(result.absent),
        reasons=dict(sorted(reasons.items(), key=lambda item: -item[1])),
        stopped=None if result.stopped is None else _described(result.stopped),
        at=time.time(),
    )
    return await _keep(journal, summary)


def _described(error: MioGramError) -> str:
    return f"{type(error).__name__}: {error}"


async def _keep(journal: Storage, summary: SettleSummary) -> SettleSummary:
    await anyio.to_thread.run_sync(journal.set_note, SETTLE_KEY, summary.to_json())
    return summary


class _Writer:
    """Writes settled numbers to the journal in batches, as the step finds them."""

    def __init__(
        self,
        journal: Storage,
        chunk_of: Mapping[str, int],
        total: int,
        on_settled: Callable[[int, int], object] | None,
    ) -> None:
        self.journal = journal
        self.chunk_of = chunk_of
        self.total = total
        self.on_settled = on_settled
        self.done = 0
        self.updates: list[NumberUpdate] = []
        self.chunks: set[int] = set()

    async def add(self, batch: Sequence[tuple[str, Settlement]]) -> None:
        for number, settlement in batch:
            state = _STATES.get(settlement.outcome)
            if state is not None:  # an unsettled number keeps its state and its error
                self.updates.append((number, state, None, settlement.evidence))
                self.chunks.add(self.chunk_of[number])
        self.done += len(batch)
        if self.on_settled is not None:
            self.on_settled(self.done, self.total)
        if len(self.updates) >= _WRITE_EVERY:
            await self.flush()

    async def flush(self) -> None:
        updates, self.updates = self.updates, []
        chunks, self.chunks = self.chunks, set()
        if updates:
            with anyio.CancelScope(shield=True):  # what was found is not lost to a Ctrl-C
                await anyio.to_thread.run_sync(self.journal.settle, updates, chunks)
