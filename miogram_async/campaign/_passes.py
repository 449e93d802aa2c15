"""
How a run sends a campaign's numbers: one Mass send for a campaign with one message, several for
a message per row, and what the run's progress and live state say meanwhile.

A message per row is sent in passes, one after another, through the same journal hooks (so the
chunks of the whole run are numbered on, `JournalHooks.next_send`): the numbers that get the
campaign's message, then those of each text that several numbers share, as Mass requests of that
text (a chunk never mixes texts); then the numbers whose text is theirs alone, one single send
each (`send_texts_action`). Every pass has the send gate, the outcome rule, the cancellation grace
and the stop of any Mass send: a stop or a cancellation in one ends the run.

`RunProgress` turns each pass's `MassProgress` into the run's: counts added up over the passes,
and in the journal's terms (`JournalHooks.recorded`): a chunk whose request never left is
*not attempted* (pending), never *failed*, so that the live counters say what the end result
will. `RunWatch` knows what the run is waiting for between two answers (the send gate, or the
service's reply), for a live display.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal

import anyio
import anyio.to_thread
import attrs

from .._gates.base import SendGate
from .._mass.options import MAX_CHUNK_SIZE, MassOptions, ProgressCallback
from .._mass.result import Chunk, MassProgress, Outcome
from .._runner import send_mass_action, send_texts_action
from . import _model
from ._hooks import JournalHooks
from ._model import CampaignKind, NumberState
from .storage import OWN_TEXTS, SHARED_TEXT, Storage

if TYPE_CHECKING:
    from .._client import MioGram

__all__ = ["RunProgress", "RunWatch", "SendPlan", "Waiting", "send_passes"]

#: The journal's states as the outcomes a progress snapshot counts.
_AS_OUTCOME: Final[Mapping[NumberState, Outcome]] = {
    NumberState.DELIVERED: Outcome.DELIVERED,
    NumberState.UNDELIVERED: Outcome.UNDELIVERED,
    NumberState.FAILED: Outcome.FAILED,
    NumberState.UNKNOWN: Outcome.UNKNOWN,
    NumberState.PENDING: Outcome.NOT_ATTEMPTED,
    NumberState.INVALID: Outcome.INVALID,
}


@attrs.frozen
class Waiting:
    """
    What a running campaign waits for right now (`Campaign.waiting`).

    Attributes:
        reason: ``"gate"``: a request is queued at the send gate (one state-changing request at a
            time, and after an unknown outcome the gate stays closed while the gateway may still
            be at work, E32, E33); ``"reply"``: a request is at the service, waiting for its
            answer (the front waits up to 60 s for its gateway, E32).
        since: when it began (``time.monotonic()``).
        numbers: how many numbers that request carries.
    """

    reason: Literal["gate", "reply"]
    since: float
    numbers: int


class RunWatch:
    """
    The requests of a run between their going to the send gate and their answer: what it waits
    for now. Each chunk is watched (`MassOptions.watch`) from when its request goes to the gate
    until it is answered or given up, and is at the service once the gate admits it
    (`MassOptions.on_admitted`, after its attempting row is in the journal).
    """

    def __init__(self) -> None:
        self._open: dict[tuple[int, int], Waiting] = {}
        self._send = 0

    def next_send(self) -> None:
        """The run's next send (pass) begins: its chunks are counted apart."""
        self._send += 1

    @contextlib.contextmanager
    def watching(self, chunk: Chunk) -> Iterator[None]:
        """*chunk*'s request goes to the send gate; it is answered (or given up on) on leaving."""
        key = (self._send, chunk.index)
        self._open[key] = Waiting("gate", time.monotonic(), len(chunk.numbers))
        try:
            yield
        finally:
            self._open.pop(key, None)

    async def admitted(self, chunk: Chunk) -> None:
        """The gate let *chunk*'s request through: it is at the service (`Request.on_admitted`)."""
        key = (self._send, chunk.index)
        if key in self._open:
            self._open[key] = Waiting("reply", time.monotonic(), len(chunk.numbers))

    @property
    def waiting(self) -> Waiting | None:
        """The longest wait going on (a request at the service before one at the gate)."""
        if not self._open:
            return None
        return min(self._open.values(), key=lambda wait: (wait.reason != "reply", wait.since))


class RunProgress:
    """
    The run's progress over its passes, counted in the journal's terms.

    Args:
        hooks: the run's journal hooks (their `JournalHooks.recorded` counts).
        total: the numbers the run is to send.
        callback: the caller's ``on_progress``.
    """

    def __init__(self, hooks: JournalHooks, total: int, callback: ProgressCallback | None) -> None:
        self._hooks = hooks
        self.total = total
        self._callback = callback
        self._started = anyio.current_time()
        self._last: MassProgress | None = None
        # What the passes before the current one left: never-started numbers, chunks, gate waits.
        self._not_attempted = 0
        self._chunks = 0
        self._waited = 0.0

    def next_send(self) -> None:
        """The current pass ended: keep what it counted."""
        last, self._last = self._last, None
        if last is not None:
            self._not_attempted += last.by_outcome.get(Outcome.NOT_ATTEMPTED, 0)
            self._chunks += last.chunks_done
            self._waited += last.waiting

    def report(self, snapshot: MassProgress) -> object:
        """A pass's ``on_progress``: the caller is told the run's progress."""
        self._last = snapshot
        if self._callback is None:
            return None
        return self._callback(self.snapshot(snapshot))

    def snapshot(self, current: MassProgress) -> MassProgress:
        """The run's progress, the current pass's snapshot being *current*."""
        by_outcome = dict.fromkeys(Outcome, 0)
        for state, count in self._hooks.recorded.items():
            if state in _AS_OUTCOME:
                by_outcome[_AS_OUTCOME[state]] += count
        not_attempted = self._not_attempted + current.by_outcome.get(Outcome.NOT_ATTEMPTED, 0)
        by_outcome[Outcome.NOT_ATTEMPTED] += not_attempted
        done = sum(by_outcome.values())
        elapsed = anyio.current_time() - self._started
        sent = done - by_outcome[Outcome.NOT_ATTEMPTED]
        rate = sent / elapsed if elapsed > 0 else 0.0
        left = max(self.total - done, 0)
        eta = 0.0 if left == 0 else (left / rate if rate > 0 else None)
        # attrs.evolve: fields this module does not know (the pace...) pass as the pass has them.
        return attrs.evolve(
            current,
            done=done,
            total=self.total,
            by_outcome=MappingProxyType(by_outcome),
            chunks_done=self._chunks + current.chunks_done,
            rate=rate,
            elapsed=elapsed,
            eta=eta,
            waiting=self._waited + current.waiting,
        )


@attrs.frozen(kw_only=True)
class SendPlan:
    """What one run sends and how (see `send_passes`)."""

    kind: CampaignKind
    chunk_size: int
    robots: Sequence[str] | str | None
    concurrency: int | None
    per_row: bool
    file_format: str | None


async def send_passes(  # noqa: PLR0917 - the one caller passes the run's parts in order
    client: MioGram,
    journal: Storage,
    hooks: JournalHooks,
    states: Sequence[NumberState],
    plan: SendPlan,
    payload: str | bytes | None,
    on_progress: ProgressCallback | None,
    watch: RunWatch,
    gate: SendGate | None = None,
) -> None:
    """
    Send the numbers in *states*: one Mass send, or the passes of a message per row.

    *payload* is the campaign's message or media content (``None``: a message per row in which
    no two numbers share a text); *on_progress* is told the run's progress (`RunProgress`).
    Every pass goes through *gate* when the campaign has one (else the client's), and each of
    its chunks, a Mass request or a single send, is journalled as attempting only once that gate
    lets its request through.
    """
    counts = await anyio.to_thread.run_sync(journal.counts)
    # Progress knows its total (and an ETA) from the first chunk.
    progress = RunProgress(hooks, sum(counts[state] for state in states), on_progress)
    options = MassOptions(
        # A journal of an older version may hold more: no chunk is larger than the batch.
        chunk_size=min(plan.chunk_size, MAX_CHUNK_SIZE),
        concurrency=plan.concurrency,
        robots=plan.robots,
        on_progress=progress.report,
        hooks=hooks,
        # The journal records every outcome and holds each number once: the fan-out keeps
        # nothing per number.
        hooks_record_outcomes=True,
        on_admitted=watch.admitted,
        watch=watch.watching,
        # One send: the fan-out's own progress knows the total too (a pass's share is not known).
        total_hint=None if plan.per_row else progress.total,
    )
    mass = _model.mass_row(plan.kind)  # the Mass action of this campaign's kind
    if not plan.per_row:
        numbers = journal.source(hooks.run, states, hooks.seqs)
        assert payload is not None
        await send_mass_action(
            client,
            mass,
            numbers,
            payload,
            file_format=plan.file_format,
            options=options,
            send_gate=gate,
        )
        return
    groups: list[tuple[int, str | None]] = [(SHARED_TEXT, None)]
    groups += await anyio.to_thread.run_sync(journal.text_groups)
    first = True
    for group, text in groups:
        if not await anyio.to_thread.run_sync(journal.page, states, 0, 1, group):
            continue
        if not first:
            _next_send(hooks, progress, watch)
        first = False
        message = text if text is not None else payload
        assert message is not None  # a shared text's numbers, or the campaign's message's
        numbers = journal.source(hooks.run, states, hooks.seqs, group)
        await send_mass_action(client, mass, numbers, message, options=options, send_gate=gate)
    if not await anyio.to_thread.run_sync(journal.page, states, 0, 1, OWN_TEXTS):
        return
    if not first:
        _next_send(hooks, progress, watch)
    texts: dict[str, str] = {}
    numbers = journal.source(hooks.run, states, hooks.seqs, OWN_TEXTS, texts)
    await send_texts_action(
        client, _model.single_row(plan.kind), numbers, texts.pop, options=options, send_gate=gate
    )


def _next_send(hooks: JournalHooks, progress: RunProgress, watch: RunWatch) -> None:
    hooks.next_send()
    progress.next_send()
    watch.next_send()
