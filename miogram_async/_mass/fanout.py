"""
The Mass fan-out: chunking, bounded workers, merging per-number outcomes.

One producer task streams the input (normalising and de-duplicating it one number at a time) into a
small memory object stream of batches of at most ``chunk_size`` numbers; a fixed set of workers
pulls from it, each borrowing a free agent slot and cutting its chunk there, sized from the
gateway's pace measured on that agent (`GatewayPace.chunk_size`, E49), for the duration of its
request. Every input number ends with exactly one `Outcome`.

A chunk *starts* (its hooks' ``chunk_started``, its numbers' doubt) when the client's send gate
lets its request through, just before it leaves (`Admissions`): a chunk still queued at the gate
has sent nothing, so a cancellation or a crash then leaves its numbers ``NOT_ATTEMPTED``.
"""

from __future__ import annotations

import collections
import contextlib
import inspect
import logging
from array import array
from collections.abc import (
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from types import MappingProxyType

import anyio
import anyio.lowlevel
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._base.errors import MassSendError, MioGramError, ValidationError
from .._base.log import logger
from .._base.outcomes import never_left, proves_refusal, refused_as_a_whole, stops_fan_out
from .._http.options import DEFAULT_FRONT_WAIT
from .._http.pace import GatewayPace
from .._http.request import GateWaits
from .options import (
    DEFAULT_CONCURRENCY,
    FanoutHooks,
    FanoutOptions,
    MassOptions,
    ProgressCallback,
)
from .result import Chunk, Dispatch, Doubt, KeyIndex, MassProgress, MassResult, Outcome

__all__ = [
    "Admissions",
    "AgentSlots",
    "Chunk",
    "FanOut",
    "FanoutHooks",
    "FanoutOptions",
    "MassInput",
    "MassOptions",
    "MassProgress",
    "MassResult",
    "Outcome",
    "ProgressCallback",
    "SendChunk",
    "fan_out",
    "mass_input",
]

# How many inputs the producer handles between two checkpoints, so that a long run of invalid or
# duplicate numbers (or the drain after a stop) never starves the event loop.
_CHECKPOINT_EVERY = 1024

# The least time a cancelled fan-out leaves for journalling a chunk's known outcome (a thread hop
# and an fsync), whatever the caller's cancel_grace: losing the record would leave it in doubt.
_RECORD_GRACE = 1.0

SendChunk = Callable[[Chunk], Awaitable[Mapping[str, bool]]]

_DEFAULT_OPTIONS = MassOptions()

# Chunks in a row whose request provably never left (connect errors) after which the fan-out stops:
# the service is unreachable, and going on would only mark every later number FAILED (issue 13).
_UNSENT_STREAK_STOP = 3


class Admissions:
    """
    Where a Mass send's chunks are let through the send gate: the fan-out listens here.

    `send_mass` and `send_singles` give each chunk's request an ``on_admitted`` that awaits
    ``admissions.admit(chunk)`` and hand this object to `fan_out`, which starts the chunk there
    (every attempt of a request is admitted; the chunk starts at the first).
    """

    __slots__ = ("_listener",)

    def __init__(self) -> None:
        self._listener: Callable[[Chunk], Awaitable[None]] | None = None

    def listen(self, listener: Callable[[Chunk], Awaitable[None]]) -> None:
        """Have *listener* awaited with each chunk the gate admits."""
        self._listener = listener

    async def admit(self, chunk: Chunk) -> None:
        """The gate let *chunk*'s request through (a `Request.on_admitted`)."""
        if self._listener is not None:
            await self._listener(chunk)


class _Flight:
    """A chunk a worker handles: its shielded scope, and whether it started (may have left)."""

    __slots__ = ("hook_error", "scope", "started")

    def __init__(self, scope: anyio.CancelScope) -> None:
        self.scope = scope
        self.started = False
        #: What a hook raised as the chunk started (nothing was sent): it stops the fan-out.
        self.hook_error: Exception | None = None


@attrs.frozen
class MassInput:
    """The numbers of one Mass send, checked (`mass_input`) to be many numbers, not one string."""

    phones: Iterable[str] | AsyncIterable[str]


def mass_input(phones: Iterable[str] | AsyncIterable[str] | MassInput) -> MassInput:
    """
    *phones* checked once as the input of a Mass send (a `MassInput` passes as it is).

    Raises:
        ValidationError: *phones* is a single string (or bytes), not an iterable of numbers.
    """
    if isinstance(phones, MassInput):
        return phones
    if isinstance(phones, str | bytes):
        raise ValidationError(
            "expected an iterable of phone numbers, got a single "
            f"{type(phones).__name__}: wrap one number in a list"
        )
    return MassInput(phones)


class AgentSlots:
    """Agent slots: ``per_robot`` requests per named agent; the default agent ``None`` unbounded."""

    def __init__(self, robots: Sequence[str | None], per_robot: int, concurrency: int) -> None:
        self.names = list(dict.fromkeys(robots))
        self.capacity = [concurrency if name is None else per_robot for name in self.names]
        self.busy = [0] * len(self.names)
        self._next = 0

    def acquire(self) -> int:
        """Take a slot on the least busy agent, round-robin among equals."""
        best: int | None = None
        for step in range(len(self.names)):
            slot = (self._next + step) % len(self.names)
            free = self.busy[slot] < self.capacity[slot]
            if free and (best is None or self.busy[slot] < self.busy[best]):
                best = slot
        # There are never more workers than slots, so a worker always finds a free one.
        assert best is not None
        self.busy[best] += 1
        self._next = (best + 1) % len(self.names)
        return best

    def release(self, slot: int) -> None:
        self.busy[slot] -= 1


class _Batch:
    """Numbers the producer read, in input order, with their index positions; cut into chunks."""

    __slots__ = ("numbers", "positions", "start")

    def __init__(self, numbers: list[str], positions: list[int]) -> None:
        self.numbers = numbers
        self.positions = positions
        self.start = 0  # how many were cut off already


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
        self._flights: dict[int, _Flight] = {}
        self._normalize = normalize
        # The largest chunk (the caller's chunk_size), and the size of the producer's batches.
        self._chunk_size = chunk_size
        self._pace = pace
        self._leftover: collections.deque[_Batch] = collections.deque()
        # The size each chunk was given (it carries fewer numbers only at the input's end).
        self._sizes: dict[int, int] = {}
        self._last_size: int | None = None
        self._last_pace: float | None = None
        self._agents = agents
        self._on_progress = on_progress
        self._hooks = hooks
        self._cancel_grace = cancel_grace
        self._front_wait = front_wait
        self._total_hint = total_hint
        self._gate_waits = gate_waits
        # Hooks that record every outcome themselves (a campaign's journal) and promise distinct
        # input: then nothing is kept per number, so memory stays flat whatever the input's size.
        self.records = hooks is not None and hooks_record_outcomes
        # Keys double as the set of numbers seen; pending numbers hold NOT_ATTEMPTED until sent.
        self.index: KeyIndex | None = None if self.records else KeyIndex()
        self.errors: dict[str, MioGramError] = {}
        # What settling unknown numbers needs (E50): each sent chunk's `Dispatch`, by chunk index,
        # as *send_chunk* records it; kept for the chunks that end with unknown numbers, with
        # their positions; and per agent, one number it delivered to.
        self._dispatches = dispatches
        self.doubts: list[Doubt] = []
        self.witnesses: dict[str | None, str] = {}
        # The index positions of each chunk's numbers, from its making until it is settled.
        self._positions: dict[int, list[int]] = {}
        self._pending_positions: list[int] = []
        self._distinct = 0
        self.duplicates = 0
        self.stop_reason: BaseException | None = None
        self._unsent_streak = 0  # chunks in a row whose request could not leave (issue 13)
        self._done_by_outcome = dict.fromkeys(Outcome, 0)
        self._done = 0
        self._sent_done = 0
        self._chunks_done = 0
        self._in_flight = 0
        self._exhausted = False
        self._pending: list[str] = []
        self._next_index = 0
        self._seen_inputs = 0
        self._started_at = anyio.current_time()
        self._guarded: dict[anyio.CancelScope, float] = {}

        self._grace_deadline: float | None = None
        self._reported_total = False
        self.workers_left = 0
        self.finished = anyio.Event()

    # -- the producer -------------------------------------------------------------------------

    async def produce(
        self, phones: Iterable[str] | AsyncIterable[str], chunks: MemoryObjectSendStream[_Batch]
    ) -> None:
        async with chunks:
            try:
                # Per input: count it, checkpoint now and then, admit it; send a full chunk.
                if isinstance(phones, AsyncIterable):
                    async for raw in phones:
                        self._seen_inputs += 1
                        if self._seen_inputs % _CHECKPOINT_EVERY == 0:
                            await anyio.lowlevel.checkpoint()
                        if isinstance(raw, str):
                            raw = raw.strip()  # noqa: PLW2901 - the line end is no part of it
                            if not raw or raw[0] == "#":
                                continue  # a blank line or a comment of an input file
                        if self._admit(raw):
                            await self._emit(chunks)
                        elif self.records and self.stop_reason is not None:
                            return  # the hooks keep the rest as it is: no need to read it
                else:
                    await self._produce_from(iter(phones), chunks)
            except Exception as exc:  # the input or the normaliser broke: stop, keep what we have
                self._halt(exc)
                return
            if self.records and self.stop_reason is not None:
                return
            self._exhausted = True
            if self._pending and self.stop_reason is None:
                await self._emit(chunks)

    async def _produce_from(
        self, phones: Iterator[str], chunks: MemoryObjectSendStream[_Batch]
    ) -> None:
        """The loop of `produce` for a plain iterable: `_admit` inlined, the hot loop of a run."""
        normalize = self._normalize
        index = self.index
        add = None if index is None else index.add
        not_attempted = Outcome.NOT_ATTEMPTED
        for raw in phones:
            self._seen_inputs += 1
            if self._seen_inputs % _CHECKPOINT_EVERY == 0:
                await anyio.lowlevel.checkpoint()
            if isinstance(raw, str):
                raw = raw.strip()  # noqa: PLW2901 - the line end is no part of it
                if not raw or raw[0] == "#":
                    continue  # a blank line or a comment of an input file
            try:
                number = normalize(raw)
            except ValidationError as exc:
                self._admit_invalid(raw, exc)
                continue
            if add is None:
                if self.stop_reason is not None:
                    return  # the hooks keep the rest as it is: no need to read it
                position = -2
            else:
                position = add(number, not_attempted)
                if position < 0:
                    self.duplicates += 1
                    continue
            self._distinct += 1
            if self.stop_reason is not None:
                continue  # draining after a stop: the number stays NOT_ATTEMPTED
            pending = self._pending
            pending.append(number)
            self._pending_positions.append(position)
            if len(pending) >= self._chunk_size:
                await self._emit(chunks)

    def _admit(self, raw: str) -> bool:
        """
        Normalise and record one input (stripped, not blank nor a ``#`` comment); whether the
        pending chunk is now full.

        `_produce_from` repeats this inline for plain iterables: keep the two alike.
        """
        try:
            number = self._normalize(raw)
        except ValidationError as exc:
            self._admit_invalid(raw, exc)
            return False
        if self.index is None:
            if self.stop_reason is not None:
                return False  # the caller stops reading
            position = -2
        else:
            position = self.index.add(number, Outcome.NOT_ATTEMPTED)
            if position < 0:
                self.duplicates += 1
                return False
        self._distinct += 1
        if self.stop_reason is not None:
            return False  # draining after a stop: the number stays NOT_ATTEMPTED
        pending = self._pending
        pending.append(number)
        self._pending_positions.append(position)
        return len(pending) >= self._chunk_size

    def _admit_invalid(self, raw: str, error: ValidationError) -> None:
        if self.index is not None:
            if self.index.add(raw, Outcome.INVALID) < 0:
                self.duplicates += 1
                return
            self.errors[raw] = error
        # Else the hooks' input holds no invalid number (a journal keeps those apart): count it.
        self._distinct += 1
        self._done_by_outcome[Outcome.INVALID] += 1
        self._done += 1

    async def _emit(self, batches: MemoryObjectSendStream[_Batch]) -> None:
        batch = _Batch(self._pending, self._pending_positions)
        self._pending = []
        self._pending_positions = []
        await batches.send(batch)

    # -- the workers --------------------------------------------------------------------------

    async def work(self, batches: MemoryObjectReceiveStream[_Batch]) -> None:
        try:
            async with batches:
                while True:
                    if self.stop_reason is not None:
                        # Keep draining the stream so the producer never blocks; the numbers
                        # stay NOT_ATTEMPTED.
                        self._leftover.clear()
                        async for _ in batches:
                            pass
                        return
                    if not self._leftover:
                        try:
                            self._leftover.append(await batches.receive())
                        except anyio.EndOfStream:
                            return
                        continue
                    # Nothing may start once the caller has cancelled; past here it is shielded.
                    await anyio.lowlevel.checkpoint_if_cancelled()
                    slot = self._agents.acquire()
                    try:
                        robot = self._agents.names[slot]
                        size = self._size_for(robot)
                        numbers, positions = await self._cut(batches, size)
                        if not numbers or self.stop_reason is not None:
                            continue  # the input ended, or a stop came while cutting
                        await anyio.lowlevel.checkpoint_if_cancelled()
                        chunk = self._chunk(numbers, positions, robot)
                        self._sizes[chunk.index] = size
                        await self._run(chunk)
                    finally:
                        self._agents.release(slot)
        finally:
            self.workers_left -= 1
            if self.workers_left == 0:
                self.finished.set()

    def _size_for(self, robot: str | None) -> int:
        """How many numbers the next chunk on *robot* carries (E49)."""
        if self._pace is None:
            return self._chunk_size
        size = self._pace.chunk_size(robot, self._chunk_size, self._front_wait)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "chunk %d: %d numbers for agent %s (planned at %.3fs per number, front_wait %gs; "
                "E32, E49)",
                self._next_index,
                size,
                self._pace.key(robot) or "(first)",
                self._pace.planned(robot, self._front_wait),
                self._front_wait,
            )
        return size

    async def _cut(
        self, batches: MemoryObjectReceiveStream[_Batch], size: int
    ) -> tuple[list[str], list[int]]:
        """The next *size* numbers (fewer at the input's end) and their index positions."""
        numbers: list[str] = []
        positions: list[int] = []
        leftover = self._leftover
        while len(numbers) < size:
            if not leftover:
                try:
                    leftover.append(await batches.receive())
                except anyio.EndOfStream:
                    break
                continue
            batch = leftover[0]
            begin = batch.start
            end = min(len(batch.numbers), begin + size - len(numbers))
            numbers += batch.numbers[begin:end]
            positions += batch.positions[begin:end]
            batch.start = end
            if end == len(batch.numbers):
                leftover.popleft()
        return numbers, positions

    def _chunk(self, numbers: list[str], positions: list[int], robot: str | None) -> Chunk:
        """The next chunk: *numbers* for *robot*, under the next index."""
        chunk = Chunk(index=self._next_index, numbers=tuple(numbers), robot=robot)
        self._next_index += 1
        if self.index is not None:
            self._positions[chunk.index] = positions
        return chunk

    async def _run(self, chunk: Chunk) -> None:
        self._in_flight += 1
        if self.index is not None:
            self.index.set_many(self._positions[chunk.index], Outcome.UNKNOWN)
        outcomes: dict[str, Outcome] | None = None
        counts: dict[Outcome, int] = {}
        errors: dict[str, MioGramError] = {}
        # Refused before it started, by an error proving its own numbers were refused (a single
        # send's text over the account's limit): the hooks hear it although nothing was sent.
        refused_alone = False
        watching = contextlib.nullcontext() if self._watch is None else self._watch(chunk)
        with watching, self._guard() as scope:
            flight = self._flights[chunk.index] = _Flight(scope)
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
                    outcomes, errors, counts = self._judge_error(chunk, exc)
                else:
                    outcomes, counts = self._judge_reply(chunk, reply)
            except Exception as exc:  # a hook or send_chunk itself broke: stop the fan-out
                self._halt(exc)
            finally:
                del self._flights[chunk.index]
        started = flight.started
        if outcomes is None:
            # Never started (still queued at the gate when cancelled, or a hook failed), or no
            # answer came within the grace after a cancellation.
            outcome = Outcome.UNKNOWN if started else Outcome.NOT_ATTEMPTED
            outcomes = dict.fromkeys(chunk.numbers, outcome)
            counts = {outcome: len(outcomes)}
        self._settle(chunk, outcomes, errors, counts, sent=started)
        size = self._sizes.pop(chunk.index, len(chunk.numbers))
        if started:
            self._last_size = size
            if self._pace is not None:
                self._last_pace = self._pace.pace(chunk.robot)
        if not (started or refused_alone) or (self._hooks is None and self._on_progress is None):
            return  # nothing to record or report
        with self._guard(minimum=_RECORD_GRACE):
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
        flight = self._flights.get(chunk.index)
        if flight is None or flight.started:
            return
        if flight.scope.cancel_called or self._grace_deadline is not None:
            # The caller cancelled while the chunk was queued: it does not leave.
            flight.scope.cancel()
            await anyio.lowlevel.checkpoint()
        await self._start(chunk, flight)

    async def _start(self, chunk: Chunk, flight: _Flight) -> None:
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

    def _judge_reply(
        self, chunk: Chunk, reply: Mapping[str, bool]
    ) -> tuple[dict[str, Outcome], dict[Outcome, int]]:
        """Each number's outcome from the reply, and how many numbers got each outcome."""
        self._unsent_streak = 0
        outcomes: dict[str, Outcome] = {}
        delivered = undelivered = unknown = 0
        get = reply.get
        for number in chunk.numbers:
            said = get(number)
            if said is None:
                # The request was handled, but the reply says nothing certain about this number
                # (left out after "success", or answered both ways, `as_mass_map`): it may have
                # been sent, so it is UNKNOWN, never UNDELIVERED (docs/service.md A4).
                outcomes[number] = Outcome.UNKNOWN
                unknown += 1
            elif said:
                outcomes[number] = Outcome.DELIVERED
                delivered += 1
            else:
                outcomes[number] = Outcome.UNDELIVERED
                undelivered += 1
        counts = {
            Outcome.DELIVERED: delivered,
            Outcome.UNDELIVERED: undelivered,
            Outcome.UNKNOWN: unknown,
        }
        return outcomes, counts

    def _judge_error(
        self, chunk: Chunk, error: MioGramError
    ) -> tuple[dict[str, Outcome], dict[str, MioGramError], dict[Outcome, int]]:
        # The one rule (issue 10): FAILED only when the error proves the request was refused
        # before anything was sent; 999, a 5xx, an unreadable reply, a timeout... may follow a
        # delivery (docs/service.md E32, E45), so those numbers are UNKNOWN, never retried here.
        outcome = Outcome.FAILED if proves_refusal(error) else Outcome.UNKNOWN
        if stops_fan_out(error):
            self._halt(error)
        if never_left(error):
            # The service cannot be reached: stop before every chunk fails the same way.
            self._unsent_streak += 1
            if self._unsent_streak >= _UNSENT_STREAK_STOP:
                self._halt(error)
        else:
            self._unsent_streak = 0
        outcomes = dict.fromkeys(chunk.numbers, outcome)
        return outcomes, dict.fromkeys(chunk.numbers, error), {outcome: len(outcomes)}

    def _settle(
        self,
        chunk: Chunk,
        outcomes: Mapping[str, Outcome],
        errors: Mapping[str, MioGramError],
        counts: Mapping[Outcome, int],
        *,
        sent: bool,
    ) -> None:
        """Record a finished chunk; *counts* is how many of *outcomes* have each outcome."""
        self._in_flight -= 1
        dispatch = None if self._dispatches is None else self._dispatches.pop(chunk.index, None)
        if self.index is not None:
            positions = self._positions.pop(chunk.index)
            kinds = [outcome for outcome, count in counts.items() if count]
            if len(kinds) == 1:
                # The usual case: one outcome for the whole chunk.
                self.index.set_many(positions, kinds[0])
            else:
                for position, number in zip(positions, chunk.numbers, strict=True):
                    self.index.set(position, outcomes[number])
            self.errors.update(errors)
            if dispatch is not None:
                self._keep_dispatch(dispatch, chunk, positions, outcomes, counts)
        for outcome, count in counts.items():
            self._done_by_outcome[outcome] += count
        self._done += len(chunk.numbers)
        if sent:
            self._sent_done += len(chunk.numbers)
            self._chunks_done += 1

    def _keep_dispatch(
        self,
        dispatch: Dispatch,
        chunk: Chunk,
        positions: list[int],
        outcomes: Mapping[str, Outcome],
        counts: Mapping[Outcome, int],
    ) -> None:
        """Keep *dispatch* for the chunk's unknown numbers, and a number it delivered to."""
        if counts.get(Outcome.UNKNOWN):
            if counts[Outcome.UNKNOWN] == len(positions):
                unknown = array("i", positions)
            else:
                unknown = array(
                    "i",
                    (
                        position
                        for position, number in zip(positions, chunk.numbers, strict=True)
                        if outcomes[number] is Outcome.UNKNOWN
                    ),
                )
            self.doubts.append((dispatch, unknown))
        if counts.get(Outcome.DELIVERED):
            delivered = Outcome.DELIVERED
            self.witnesses[dispatch.robot] = next(
                number for number in chunk.numbers if outcomes[number] is delivered
            )

    @property
    def sent_numbers(self) -> int:
        """Numbers of the chunks that were sent, whatever their outcome."""
        return self._sent_done

    def _halt(self, reason: BaseException) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason

    # -- progress -----------------------------------------------------------------------------

    def snapshot(self) -> MassProgress:
        """The current progress."""
        elapsed = anyio.current_time() - self._started_at
        rate = self._sent_done / elapsed if elapsed > 0 else 0.0
        total = self._distinct if self._exhausted else self._total_hint
        eta: float | None = None
        if total is not None and self.stop_reason is None:
            remaining = total - self._done
            if remaining == 0:
                eta = 0.0
            elif rate > 0:
                eta = remaining / rate
        return MassProgress(
            done=self._done,
            total=total,
            by_outcome=MappingProxyType(dict(self._done_by_outcome)),
            chunks_done=self._chunks_done,
            chunks_in_flight=self._in_flight,
            rate=rate,
            elapsed=elapsed,
            eta=eta,
            waiting=0.0 if self._gate_waits is None else self._gate_waits.total,
            chunk_size=self._last_size,
            pace=self._last_pace,
        )

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
        if self._reported_total or self.stop_reason is not None:
            return
        try:
            await self._report()
        except Exception as exc:
            self._halt(exc)

    # -- cancellation -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self, minimum: float = 0.0) -> Iterator[anyio.CancelScope]:
        """
        A shielded scope that a caller's cancellation turns into a bounded grace period.

        The period is *cancel_grace*, but at least *minimum* seconds: recording an outcome that is
        already known must not be cut off by a zero grace.
        """
        grace = max(self._cancel_grace, minimum)
        with anyio.CancelScope(shield=True) as scope:
            if self._grace_deadline is not None:
                scope.deadline = anyio.current_time() + grace
            self._guarded[scope] = grace
            try:
                yield scope
            finally:
                del self._guarded[scope]

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
                now = anyio.current_time()
                self._grace_deadline = now + self._cancel_grace
                for scope, grace in self._guarded.items():
                    scope.deadline = min(scope.deadline, now + grace)
                for flight in self._flights.values():
                    if not flight.started:
                        flight.scope.cancel()  # still queued at the gate: nothing has left


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
    send, receive = anyio.create_memory_object_stream[_Batch](
        max_buffer_size=workers if buffer is None else buffer
    )
    state.workers_left = workers
    async with anyio.create_task_group() as crew:
        crew.start_soon(state.watch_cancel)
        crew.start_soon(state.produce, source, send)
        with receive:
            for _ in range(workers):
                crew.start_soon(state.work, receive.clone())
    await state.report_end()
    if state.index is None:
        result = MassResult(duplicates=state.duplicates)
    else:
        result = MassResult._of(
            state.index, state.errors, state.duplicates, state.doubts, state.witnesses
        )
    reason = state.stop_reason
    if reason is None:
        return result
    cause = reason if isinstance(reason, MioGramError) else None
    if state.index is None:
        message = (
            f"the mass send stopped early ({reason!s}) after {state.sent_numbers} numbers were "
            "sent; the hooks hold every outcome, and the rest of the input was not read"
        )
    else:
        counts = result.counts
        message = (
            f"the mass send stopped early ({reason!s}): {counts[Outcome.NOT_ATTEMPTED]} of "
            f"{len(result)} numbers not attempted"
        )
    raise MassSendError(message, result, cause) from reason
