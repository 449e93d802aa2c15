"""
The Mass fan-out: chunking, bounded workers, merging per-number outcomes.

One producer task streams the input (normalising and de-duplicating it one number at a time) into a
small memory object stream of batches of at most ``chunk_size`` numbers (`inputs.Producer`); a
fixed set of workers pulls from it, each borrowing a free agent slot (`agents.AgentSlots`) and
cutting its chunk there, sized from the gateway's pace measured on that agent
(`GatewayPace.chunk_size`, E49), for the duration of its request. Every input number ends with
exactly one `Outcome` (`tally.Tally` judges and records them).

A chunk *starts* (its hooks' ``chunk_started``, its numbers' doubt) when the client's send gate
lets its request through, just before it leaves (`flights.Admissions`): a chunk still queued at the
gate has sent nothing, so a cancellation or a crash then leaves its numbers ``NOT_ATTEMPTED``.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from types import MappingProxyType

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream

from .._base.errors import MassSendError, MioGramError, ValidationError
from .._base.outcomes import proves_refusal, refused_as_a_whole
from .._http.options import DEFAULT_FRONT_WAIT
from .._http.pace import GatewayPace
from .._http.request import GateWaits
from .agents import AgentSlots
from .chunks import Batch, Cutter
from .flights import Admissions, Flight, Grace
from .inputs import MassInput, Producer, mass_input
from .options import (
    DEFAULT_CONCURRENCY,
    FanoutHooks,
    FanoutOptions,
    MassOptions,
    ProgressCallback,
)
from .result import Chunk, Dispatch, MassProgress, MassResult, Outcome
from .tally import Tally

__all__ = [
    "Chunk",
    "FanOut",
    "FanoutHooks",
    "FanoutOptions",
    "MassOptions",
    "MassProgress",
    "MassResult",
    "Outcome",
    "ProgressCallback",
    "SendChunk",
    "fan_out",
]

# The least time a cancelled fan-out leaves for journalling a chunk's known outcome (a thread hop
# and an fsync), whatever the caller's cancel_grace: losing the record would leave it in doubt.
_RECORD_GRACE = 1.0

SendChunk = Callable[[Chunk], Awaitable[Mapping[str, bool]]]

_DEFAULT_OPTIONS = MassOptions()


class FanOut:
    """The state of one `fan_out` call."""

    def __init__(
        self,
        send_chunk: SendChunk,
        *,
        normalize: Callable[[str], str],
        chunk_size: int,
        agents: AgentSlots,
        on_progress: ProgressCallback | None,
        hooks: FanoutHooks | None,
        cancel_grace: float,
        front_wait: float = DEFAULT_FRONT_WAIT,
        total_hint: int | None = None,
        gate_waits: GateWaits | None = None,
        hooks_record_outcomes: bool = False,
        dispatches: dict[int, Dispatch] | None = None,
        admissions: Admissions | None = None,
        on_admitted: Callable[[Chunk], Awaitable[object]] | None = None,
        watch: Callable[[Chunk], contextlib.AbstractContextManager[object]] | None = None,
        pace: GatewayPace | None = None,
    ) -> None:
        self._send_chunk = send_chunk
        # Told by the send gate when each chunk's request is let through: the chunk starts then.
        # Without it (a bare send_chunk), a chunk starts just before send_chunk is called.
        self._admissions = admissions is not None
        if admissions is not None:
            admissions.listen(self._admitted)
        self._on_admitted = on_admitted
        self._watch = watch
        self._pace = pace
        self._agents = agents
        self._on_progress = on_progress
        self._hooks = hooks
        self._total_hint = total_hint
        self._gate_waits = gate_waits
        #: Every number's outcome and the counts (merged as the chunks finish).
        self.tally = Tally(
            records=hooks is not None and hooks_record_outcomes, dispatches=dispatches
        )
        #: The producer task's reader of the input.
        self.producer = Producer(self.tally, normalize=normalize, chunk_size=chunk_size)
        self._cutter = Cutter(self.tally, chunk_size=chunk_size, pace=pace, front_wait=front_wait)
        self._grace = Grace(cancel_grace)
        self._reported_total = False
        self.workers_left = 0
        self.finished = anyio.Event()

    # -- the workers --------------------------------------------------------------------------

    async def work(self, batches: MemoryObjectReceiveStream[Batch]) -> None:
        try:
            async with batches:
                while True:
                    if self.tally.stop_reason is not None:
                        # Keep draining the stream so the producer never blocks; the numbers
                        # stay NOT_ATTEMPTED.
                        self._cutter.leftover.clear()
                        async for _ in batches:
                            pass
                        return
                    if not self._cutter.leftover:
                        try:
                            self._cutter.leftover.append(await batches.receive())
                        except anyio.EndOfStream:
                            return
                        continue
                    # Nothing may start once the caller has cancelled; past here it is shielded.
                    await anyio.lowlevel.checkpoint_if_cancelled()
                    slot = self._agents.acquire()
                    try:
                        robot = self._agents.names[slot]
                        size = self._cutter.size_for(robot)
                        numbers, positions = await self._cutter.cut(batches, size)
                        if not numbers or self.tally.stop_reason is not None:
                            continue  # the input ended, or a stop came while cutting
                        await anyio.lowlevel.checkpoint_if_cancelled()
                        chunk = self._cutter.chunk(numbers, positions, robot, size)
                        await self._run(chunk)
                    finally:
                        self._agents.release(slot)
        finally:
            self.workers_left -= 1
            if self.workers_left == 0:
                self.finished.set()

    async def _run(self, chunk: Chunk) -> None:
        self.tally.in_flight += 1
        if self.tally.index is not None:
            self.tally.index.set_many(self.tally.positions[chunk.index], Outcome.UNKNOWN)
        outcomes: dict[str, Outcome] | None = None
        counts: dict[Outcome, int] = {}
        errors: dict[str, MioGramError] = {}
        # Refused before it started, by an error proving its own numbers were refused (a single
        # send's text over the account's limit): the hooks hear it although nothing was sent.
        refused_alone = False
        watching = contextlib.nullcontext() if self._watch is None else self._watch(chunk)
        with watching, self._grace.guard() as scope:
            flight = self._grace.flights[chunk.index] = Flight(scope)
            try:
                if not self._admissions:
                    await self._start(chunk, flight)
                try:
                    reply = await self._send_chunk(chunk)
                except MioGramError as exc:
                    if exc is flight.hook_error:
                        raise  # the chunk could not start: nothing was sent
                    refused_alone = (
                        not flight.started and proves_refusal(exc) and not refused_as_a_whole(exc)
                    )
                    outcomes, errors, counts = self.tally.judge_error(chunk, exc)
                else:
                    outcomes, counts = self.tally.judge_reply(chunk, reply)
            except Exception as exc:  # a hook or send_chunk itself broke: stop the fan-out
                self._halt(exc)
            finally:
                del self._grace.flights[chunk.index]
        started = flight.started
        if outcomes is None:
            # Never started (still queued at the gate when cancelled, or a hook failed), or no
            # answer came within the grace after a cancellation.
            outcome = Outcome.UNKNOWN if started else Outcome.NOT_ATTEMPTED
            outcomes = dict.fromkeys(chunk.numbers, outcome)
            counts = {outcome: len(outcomes)}
        self.tally.settle(chunk, outcomes, errors, counts, sent=started)
        size = self._cutter.size_of(chunk)
        if started:
            self.tally.last_size = size
            if self._pace is not None:
                self.tally.last_pace = self._pace.pace(chunk.robot)
        if not (started or refused_alone) or (self._hooks is None and self._on_progress is None):
            return  # nothing to record or report
        with self._grace.guard(minimum=_RECORD_GRACE):
            try:
                if self._hooks is not None:
                    await self._hooks.chunk_finished(
                        chunk, MappingProxyType(outcomes), MappingProxyType(errors)
                    )
                if self._on_progress is not None:
                    await self._report()
            except Exception as exc:
                self._halt(exc)

    async def _admitted(self, chunk: Chunk) -> None:
        """The send gate let *chunk*'s request through: it starts now (once, whatever retries)."""
        flight = self._grace.flights.get(chunk.index)
        if flight is None or flight.started:
            return
        if flight.scope.cancel_called or self._grace.deadline is not None:
            # The caller cancelled while the chunk was queued: it does not leave.
            flight.scope.cancel()
            await anyio.lowlevel.checkpoint()
        await self._start(chunk, flight)

    async def _start(self, chunk: Chunk, flight: Flight) -> None:
        """Start *chunk*: from here it may have been sent; the hooks hear it first."""
        # Set before the hooks' first await: a cancellation from here on gives it the grace.
        flight.started = True
        try:
            if self._hooks is not None:
                await self._hooks.chunk_started(chunk)
            if self._on_admitted is not None:
                await self._on_admitted(chunk)
        except BaseException as exc:
            flight.started = False  # not recorded, not sent
            if isinstance(exc, Exception):
                flight.hook_error = exc
            raise

    def _halt(self, reason: BaseException) -> None:
        self.tally.halt(reason)

    # -- progress -----------------------------------------------------------------------------

    def snapshot(self) -> MassProgress:
        """The current progress."""
        tally = self.tally
        total = tally.distinct if self.producer.exhausted else self._total_hint
        waiting = 0.0 if self._gate_waits is None else self._gate_waits.total
        return tally.snapshot(total, waiting)

    async def _report(self) -> None:
        if self._on_progress is None:
            return
        progress = self.snapshot()
        self._reported_total = progress.total is not None
        returned = self._on_progress(progress)
        if inspect.isawaitable(returned):
            await returned

    async def report_end(self) -> None:
        """Report once more if no snapshot so far knew the total (e.g. no chunk at all)."""
        if self._reported_total or self.tally.stop_reason is not None:
            return
        try:
            await self._report()
        except Exception as exc:
            self._halt(exc)

    # -- cancellation -------------------------------------------------------------------------

    async def watch_cancel(self) -> None:
        """
        Wait for the last worker; a cancellation before it is the caller's: start the grace period.

        It runs beside the workers, so it sees both an anyio cancellation of an enclosing scope and
        a native asyncio ``Task.cancel()``, which only cancels the task group the caller waits in.
        """
        try:
            await self.finished.wait()
        finally:
            if not self.finished.is_set():
                self._grace.begin()


async def fan_out(
    phones: Iterable[str] | AsyncIterable[str] | MassInput,
    send_chunk: SendChunk,
    *,
    normalize: Callable[[str], str],
    options: MassOptions = _DEFAULT_OPTIONS,
    robots: Sequence[str | None] = (None,),
    buffer: int | None = None,
    gate_waits: GateWaits | None = None,
    dispatches: dict[int, Dispatch] | None = None,
    admissions: Admissions | None = None,
    pace: GatewayPace | None = None,
) -> MassResult:
    """
    Send *phones* in chunks through *send_chunk* and merge every number's outcome.

    The input is streamed: each phone is normalised with *normalize* (a `ValidationError` makes it
    ``INVALID``, never sent), de-duplicated, and packed into chunks of at most
    ``options.chunk_size``: with *pace* (the client's `GatewayPace`) each chunk is sized when an
    agent takes it, from the pace measured on that agent, to finish well inside
    ``options.front_wait`` (small while nothing is measured, E49); without, every chunk is full. A
    fixed set of ``min(concurrency, agent slots)`` workers sends them; a named agent in *robots*
    (the agents resolved from ``options.robots``) takes at most ``options.per_robot`` requests at a
    time (a repeated name counts once), the default agent ``None`` only the overall concurrency
    (``options.concurrency``, else `DEFAULT_CONCURRENCY`).

    A reply maps ``true`` to ``DELIVERED`` and ``false`` to ``UNDELIVERED``; a number missing from
    it is ``UNKNOWN``. A chunk error gives ``FAILED`` only when it proves the request was refused
    before anything was sent (`proves_refusal`: a refusal code, a connection that never left, a
    `ValidationError`) and ``UNKNOWN`` otherwise (999, HTTP 5xx, an unreadable reply, a timeout:
    the numbers may have been delivered); either way the error is kept in `MassResult.errors`.
    Nothing is ever retried here. Three chunks in a row whose connection could not be made stop
    the fan-out with that error.

    ``on_progress`` is called after each chunk (awaited if it returns an awaitable), and once more
    at the end if no call so far knew the total; ``hooks`` are awaited around each chunk: a
    chunk starts (``chunk_started``, then ``options.on_admitted``) when *admissions* hears that
    the send gate let its request through, just before it leaves, or without *admissions* just
    before *send_chunk* is called. ``chunk_finished`` follows every chunk that started, and a
    chunk refused before it started by an error proving its own numbers were refused (a single
    send's text over the account's limit); a chunk refused as a whole before it started (its gate
    failed, no connection) is not recorded: its numbers were never attempted. If the caller
    cancels, chunks still queued at the gate stop at once (``NOT_ATTEMPTED``), chunks that
    started get ``cancel_grace`` seconds to finish (what is still open then is ``UNKNOWN``),
    ``chunk_finished`` still runs, then the cancellation propagates. ``options.watch`` is
    entered by each chunk as it goes to the send gate and left once it is answered or given up.
    *buffer* is how many batches of ``chunk_size`` numbers the producer may prepare ahead
    (default: one per worker).
    *gate_waits* adds up the seconds the chunks spent queued at the client's send gate, for
    `MassProgress.waiting`. *dispatches* is where *send_chunk* records each chunk's `Dispatch`
    (by chunk index): the result keeps those of chunks left with unknown numbers
    (`MassResult.in_doubt`), for settling them from history. Inputs are stripped; blank ones and
    ``#`` comments are skipped.

    The result is compact (an integer and a byte per number, see `MassResult`). With
    ``options.hooks_record_outcomes`` (a campaign's journal, which opts in explicitly) the hooks
    take every outcome over and promise distinct input: the fan-out then keeps nothing per number
    (its memory stays flat, no de-duplication, no draining after a stop: the rest of the input is
    not read) and returns an empty result; the hooks' store is the record.

    Returns:
        Every distinct input with its outcome (none when the hooks record the outcomes).

    Raises:
        MassSendError: an error doomed every later chunk (`stops_fan_out`, or the third chunk in
            a row that could not connect), or a hook, the
            progress callback, *send_chunk* or the input itself raised something unexpected
            (chained as ``__cause__``). No chunk started after it, chunks in flight finished, the
            rest of the input was drained as ``NOT_ATTEMPTED`` or ``INVALID``: ``.result`` has all.
        ValidationError: *phones* is a single string, or *robots* is empty (the options were
            checked when *options* was built).
    """
    source = mass_input(phones).phones
    if not robots:
        raise ValidationError("expected at least one agent in robots, got none")
    concurrency = options.concurrency or DEFAULT_CONCURRENCY
    per_robot = options.per_robot
    agents = AgentSlots(robots, per_robot, concurrency)
    workers = min(concurrency, sum(agents.capacity))
    state = FanOut(
        send_chunk,
        normalize=normalize,
        chunk_size=options.chunk_size,
        agents=agents,
        on_progress=options.on_progress,
        hooks=options.hooks,
        cancel_grace=options.cancel_grace,
        front_wait=options.front_wait or DEFAULT_FRONT_WAIT,
        total_hint=options.total_hint,
        gate_waits=gate_waits,
        hooks_record_outcomes=options.hooks_record_outcomes,
        dispatches=dispatches,
        admissions=admissions,
        on_admitted=options.on_admitted,
        watch=options.watch,
        pace=pace,
    )
    send, receive = anyio.create_memory_object_stream[Batch](
        max_buffer_size=workers if buffer is None else buffer
    )
    state.workers_left = workers
    async with anyio.create_task_group() as crew:
        crew.start_soon(state.watch_cancel)
        crew.start_soon(state.producer.produce, source, send)
        with receive:
            for _ in range(workers):
                crew.start_soon(state.work, receive.clone())
    await state.report_end()
    tally = state.tally
    if tally.index is None:
        result = MassResult(duplicates=tally.duplicates)
    else:
        result = MassResult._of(
            tally.index, tally.errors, tally.duplicates, tally.doubts, tally.witnesses
        )
    reason = tally.stop_reason
    if reason is None:
        return result
    cause = reason if isinstance(reason, MioGramError) else None
    if tally.index is None:
        message = (
            f"the mass send stopped early ({reason!s}) after {tally.sent_numbers} numbers were "
            "sent; the hooks hold every outcome, and the rest of the input was not read"
        )
    else:
        counts = result.counts
        message = (
            f"the mass send stopped early ({reason!s}): {counts[Outcome.NOT_ATTEMPTED]} of "
            f"{len(result)} numbers not attempted"
        )
    raise MassSendError(message, result, cause) from reason
