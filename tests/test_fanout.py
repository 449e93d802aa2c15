"""The Mass fan-out against a scripted ``send_chunk``: chunks, bounds, outcomes, stops, cancels."""

from __future__ import annotations

import asyncio
import math
import pickle
import re
from collections import Counter
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, cast

import anyio
import anyio.lowlevel
import anyio.to_thread
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from miogram_async import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    Chunk,
    InvalidFileError,
    InvalidSecretError,
    MassProgress,
    MassResult,
    MassSendError,
    MioGramError,
    NoCreditError,
    NoResponseError,
    NumberNotFoundError,
    Outcome,
    UnknownFuncError,
    ValidationError,
)
from miogram_async._base.errors import MassOutcomes
from miogram_async._mass import fanout as _fanout
from miogram_async._mass.agents import AgentSlots
from miogram_async._mass.fanout import FanOut, MassOptions, SendChunk

_PHONE = re.compile(r"^\+[1-9]\d{7,14}$")

Behaviour = Callable[[Chunk], Awaitable[Mapping[str, bool]]]


async def fan_out(
    phones: Iterable[str] | AsyncIterable[str],
    send_chunk: SendChunk,
    *,
    normalize: Callable[[str], str],
    robots: Sequence[str | None] = (None,),
    buffer: int | None = None,
    **options: Any,
) -> MassResult:
    """
    `_fanout.fan_out` with its `MassOptions` given as keywords, as these tests write them.

    These tests were written for chunks of 100 and 8 workers, and count on them unless they say
    otherwise; the defaults themselves (40 and 1, docs/service.md E32, E33) are proven by
    ``test_session.test_mass_options_have_one_set_of_defaults``.
    """
    options.setdefault("chunk_size", 100)
    options.setdefault("concurrency", 8)
    return await _fanout.fan_out(
        phones,
        send_chunk,
        normalize=normalize,
        options=MassOptions(**options),
        robots=robots,
        buffer=buffer,
    )


def normalize(raw: str) -> str:
    """A small stand-in for the SDK's normaliser: strip spaces, require +E.164."""
    number = raw.replace(" ", "")
    if not _PHONE.match(number):
        raise ValidationError(f"expected a phone like +989100000000, got {raw!r}")
    return number


def phone(i: int) -> str:
    """The i-th test number."""
    return f"+98910{i:07d}"


def delivers(number: str) -> bool:
    """The default script: numbers ending in an even digit are delivered."""
    return int(number[-1]) % 2 == 0


class Sender:
    """A scripted ``send_chunk`` that records calls and concurrency."""

    def __init__(self, *, checkpoints: int = 3) -> None:
        self.calls: list[Chunk] = []
        self.checkpoints = checkpoints
        self.behaviours: dict[int, Behaviour] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.robot_in_flight: Counter[str | None] = Counter()
        self.max_robot_in_flight: Counter[str | None] = Counter()
        self.started: dict[int, anyio.Event] = {}
        #: The index of every chunk whose call returned or raised, in that order.
        self.finished: list[int] = []

    def started_event(self, index: int) -> anyio.Event:
        """An event set when chunk *index* has been sent."""
        return self.started.setdefault(index, anyio.Event())

    async def __call__(self, chunk: Chunk) -> Mapping[str, bool]:
        self.calls.append(chunk)
        self.started_event(chunk.index).set()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.robot_in_flight[chunk.robot] += 1
        self.max_robot_in_flight[chunk.robot] = max(
            self.max_robot_in_flight[chunk.robot], self.robot_in_flight[chunk.robot]
        )
        try:
            for _ in range(self.checkpoints):
                await anyio.lowlevel.checkpoint()
            behaviour = self.behaviours.get(chunk.index)
            if behaviour is not None:
                return await behaviour(chunk)
            return {number: delivers(number) for number in chunk.numbers}
        finally:
            self.in_flight -= 1
            self.robot_in_flight[chunk.robot] -= 1
            self.finished.append(chunk.index)

    @property
    def sent(self) -> list[str]:
        """Every number sent, in order of the calls."""
        return [number for chunk in self.calls for number in chunk.numbers]


class Journal:
    """Hooks that record what a journal would."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.finished: dict[int, dict[str, Outcome]] = {}
        self.errors: dict[int, dict[str, MioGramError]] = {}

    async def chunk_started(self, chunk: Chunk) -> None:
        self.started.append(chunk.index)

    async def chunk_finished(
        self, chunk: Chunk, outcomes: Mapping[str, Outcome], errors: Mapping[str, MioGramError]
    ) -> None:
        await anyio.lowlevel.checkpoint()
        self.finished[chunk.index] = dict(outcomes)
        self.errors[chunk.index] = dict(errors)


def raising(error: MioGramError) -> Behaviour:
    """A behaviour that fails the chunk with *error*."""

    async def behaviour(chunk: Chunk) -> Mapping[str, bool]:
        raise error

    return behaviour


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 250, 10_000])
async def test_sizes_give_the_right_requests_and_exact_outcomes(size: int) -> None:
    """N numbers make ceil(N/100) requests of at most 100; each number gets its scripted outcome."""
    sender = Sender(checkpoints=0)
    numbers = [phone(i) for i in range(size)]
    result = await fan_out(numbers, sender, normalize=normalize)
    assert len(sender.calls) == math.ceil(size / 100)
    assert all(1 <= len(chunk.numbers) <= 100 for chunk in sender.calls)
    assert sorted(sender.sent) == sorted(numbers)
    assert dict(result) == {
        n: Outcome.DELIVERED if delivers(n) else Outcome.UNDELIVERED for n in numbers
    }
    assert list(result) == numbers
    assert result.undelivered == [n for n in numbers if not delivers(n)]
    assert result.total == size
    assert sum(result.counts.values()) == size


async def test_chunk_size_option_is_honoured() -> None:
    """chunk_size=7 packs 50 numbers into 7 requests of 7 and one of 1, indexed in order."""
    sender = Sender(checkpoints=0)
    await fan_out([phone(i) for i in range(50)], sender, normalize=normalize, chunk_size=7)
    assert sorted(len(chunk.numbers) for chunk in sender.calls) == [1] + [7] * 7
    assert sorted(chunk.index for chunk in sender.calls) == list(range(8))


async def test_duplicates_are_sent_once_and_counted() -> None:
    """Inputs normalising to the same number are sent once; the extra inputs are only counted."""
    sender = Sender()
    raw = [phone(1), phone(2), phone(1), "+98 910 0000001", phone(3), phone(2)]
    result = await fan_out(raw, sender, normalize=normalize)
    assert sender.sent == [phone(1), phone(2), phone(3)]
    assert list(result) == [phone(1), phone(2), phone(3)]
    assert result.duplicates == 3
    assert result.total == 3


async def test_invalid_inputs_are_never_sent_and_keep_their_error() -> None:
    """A malformed input is INVALID under its raw text, never sent, its ValidationError kept."""
    sender = Sender()
    raw = [phone(1), "0912 12", phone(2), "", "0912 12"]
    result = await fan_out(raw, sender, normalize=normalize)
    assert sender.sent == [phone(1), phone(2)]
    assert result.invalid == ["0912 12"]  # the blank input is skipped, not INVALID
    assert result["0912 12"] is Outcome.INVALID
    assert isinstance(result.errors["0912 12"], ValidationError)
    assert result.duplicates == 1
    assert result.counts[Outcome.INVALID] == 1


async def test_all_invalid_input_sends_nothing() -> None:
    """An input with no valid number makes no request at all."""
    sender = Sender()
    result = await fan_out(["x", "y"], sender, normalize=normalize)
    assert sender.calls == []
    assert dict(result) == {"x": Outcome.INVALID, "y": Outcome.INVALID}


async def test_in_flight_never_exceeds_concurrency() -> None:
    """With concurrency=3 exactly three requests are in flight at the peak, never more."""
    sender = Sender(checkpoints=5)
    await fan_out([phone(i) for i in range(2_000)], sender, normalize=normalize, concurrency=3)
    assert sender.max_in_flight == 3
    assert len(sender.calls) == 20


async def test_per_robot_bounds_each_agent() -> None:
    """Two agents with per_robot=1 give at most one request per agent and two in all."""
    sender = Sender(checkpoints=5)
    await fan_out(
        [phone(i) for i in range(2_000)],
        sender,
        normalize=normalize,
        concurrency=8,
        robots=["a", "b"],
    )
    assert sender.max_in_flight == 2
    assert dict(sender.max_robot_in_flight) == {"a": 1, "b": 1}
    assert Counter(chunk.robot for chunk in sender.calls) == {"a": 10, "b": 10}


async def test_per_robot_above_one_and_concurrency_both_bound() -> None:
    """Three agents with per_robot=2 under concurrency=4: four in flight, at most two per agent."""
    sender = Sender(checkpoints=5)
    await fan_out(
        [phone(i) for i in range(3_000)],
        sender,
        normalize=normalize,
        concurrency=4,
        robots=["a", "b", "c"],
        per_robot=2,
    )
    assert sender.max_in_flight == 4
    assert max(sender.max_robot_in_flight.values()) == 2
    assert set(sender.max_robot_in_flight) == {"a", "b", "c"}


async def test_default_agent_is_bounded_by_concurrency_only() -> None:
    """Without named agents, per_robot does not apply: concurrency alone bounds the requests."""
    sender = Sender(checkpoints=5)
    await fan_out([phone(i) for i in range(1_000)], sender, normalize=normalize, concurrency=5)
    assert sender.max_in_flight == 5
    assert {chunk.robot for chunk in sender.calls} == {None}


async def test_stop_error_finishes_in_flight_and_reports_the_rest_not_attempted() -> None:
    """A 305 stops the fan-out: finished and in-flight chunks keep outcomes, the rest not sent."""
    sender = Sender(checkpoints=0)
    stopped = anyio.Event()
    cause = NoCreditError(305, "No Credit", "SendMessageMass")

    async def fail_after_others_started(chunk: Chunk) -> Mapping[str, bool]:
        await sender.started_event(3).wait()
        await sender.started_event(4).wait()
        stopped.set()
        raise cause

    async def finish_after_stop(chunk: Chunk) -> Mapping[str, bool]:
        await stopped.wait()
        return dict.fromkeys(chunk.numbers, True)

    sender.behaviours = {2: fail_after_others_started, 3: finish_after_stop, 4: finish_after_stop}
    numbers = [phone(i) for i in range(1_000)]
    raw = [*numbers, "bad", numbers[0]]
    with pytest.raises(MassSendError) as caught:
        await fan_out(raw, sender, normalize=normalize, concurrency=3)
    result = caught.value.result
    assert caught.value.cause is cause
    assert caught.value.__cause__ is cause
    assert sorted(chunk.index for chunk in sender.calls) == [0, 1, 2, 3, 4]
    in_flight = {n for chunk in sender.calls if chunk.index in (3, 4) for n in chunk.numbers}
    assert all(result[n] is Outcome.DELIVERED for n in in_flight)
    assert result.failed == list(sender.calls[2].numbers)
    assert all(result.errors[n] is cause for n in result.failed)
    sent = set(sender.sent)
    assert result.not_attempted == [n for n in numbers if n not in sent]
    assert result.counts[Outcome.NOT_ATTEMPTED] == 500
    assert result.invalid == ["bad"]
    assert result.duplicates == 1
    assert sum(result.counts.values()) == len(result) == 1_001


async def test_non_stop_errors_leave_only_their_chunk_unknown() -> None:
    """A 307 or a 999 leaves its own chunk UNKNOWN (error kept) and the others still go out."""
    sender = Sender()
    not_found = NumberNotFoundError(307, "Number Not Exist or Wrong", "SendMessageMass")
    no_response = NoResponseError(999, "No Response From Server", "SendMessageMass")
    sender.behaviours = {1: raising(not_found), 3: raising(no_response)}
    result = await fan_out([phone(i) for i in range(500)], sender, normalize=normalize)
    assert len(sender.calls) == 5
    by_index = {chunk.index: chunk for chunk in sender.calls}
    assert result.unknown == [*by_index[1].numbers, *by_index[3].numbers]
    assert result.failed == []
    assert result.errors[by_index[1].numbers[0]] is not_found
    assert result.errors[by_index[3].numbers[-1]] is no_response
    assert result.counts[Outcome.UNKNOWN] == 200
    assert result.counts[Outcome.DELIVERED] + result.counts[Outcome.UNDELIVERED] == 300


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (APIConnectionError("connect failed", sent=False), Outcome.FAILED),
        (APITimeoutError("connect timed out", sent=False), Outcome.FAILED),
        (APIConnectionError("connection reset", sent=True), Outcome.UNKNOWN),
        (APITimeoutError("read timed out", sent=None), Outcome.UNKNOWN),
        (APIResponseError("not the envelope", 502, "<html>"), Outcome.UNKNOWN),
        (ValidationError("message too long"), Outcome.FAILED),
        (APIError(None, "odd", "SendMessageMass"), Outcome.UNKNOWN),
        (APIError(1234, "unknown code", "SendMessageMass"), Outcome.UNKNOWN),
        (NoResponseError(999, "No Response From Server", "SendMessageMass"), Outcome.UNKNOWN),
        (InvalidFileError(400, "Not Valid File", "SendPhotoMass"), Outcome.FAILED),
        (UnknownFuncError(302, "Bad Request of Func", "SendMessageMass"), Outcome.FAILED),
    ],
)
async def test_chunk_errors_map_to_honest_outcomes(error: MioGramError, expected: Outcome) -> None:
    """Errors proving nothing left give FAILED; what may have reached the service gives UNKNOWN."""
    sender = Sender()
    sender.behaviours = {0: raising(error)}
    result = await fan_out([phone(i) for i in range(150)], sender, normalize=normalize)
    first = sender.calls[0] if sender.calls[0].index == 0 else sender.calls[1]
    assert {result[n] for n in first.numbers} == {expected}
    assert {result.errors[n] for n in first.numbers} == {error}
    assert len(result.errors) == 100
    assert len(sender.calls) == 2


async def test_number_missing_from_reply_is_unknown() -> None:
    """A number the reply does not mention is UNKNOWN, not UNDELIVERED."""
    sender = Sender()

    async def partial(chunk: Chunk) -> Mapping[str, bool]:
        return {chunk.numbers[0]: True, chunk.numbers[1]: False, "+999": True}

    sender.behaviours = {0: partial}
    result = await fan_out([phone(i) for i in range(3)], sender, normalize=normalize)
    assert dict(result) == {
        phone(0): Outcome.DELIVERED,
        phone(1): Outcome.UNDELIVERED,
        phone(2): Outcome.UNKNOWN,
    }
    assert result.errors == {}


async def test_progress_reports_after_each_chunk() -> None:
    """on_progress sees done, chunks and outcomes grow per chunk, and ends with the total known."""
    sender = Sender()
    seen: list[MassProgress] = []
    raw = [*(phone(i) for i in range(250)), "bad"]
    await fan_out(raw, sender, normalize=normalize, concurrency=1, on_progress=seen.append)
    assert [p.chunks_done for p in seen] == [1, 2, 3]
    assert [p.done - p.by_outcome[Outcome.INVALID] for p in seen] == [100, 200, 250]
    assert [p.chunks_in_flight for p in seen] == [0, 0, 0]
    last = seen[-1]
    assert last.total == 251
    assert last.done == 251
    assert last.eta == 0.0
    assert sum(last.by_outcome.values()) == last.done
    assert last.by_outcome[Outcome.DELIVERED] == 125
    assert set(last.by_outcome) == set(Outcome)
    assert all(p.rate >= 0 and p.elapsed >= 0 for p in seen)


async def test_async_progress_callback_is_awaited() -> None:
    """A progress callback returning an awaitable is awaited before the worker goes on."""
    sender = Sender()
    seen: list[int] = []

    async def record(progress: MassProgress) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(progress.chunks_done)

    await fan_out([phone(i) for i in range(300)], sender, normalize=normalize, on_progress=record)
    assert sorted(seen) == [1, 2, 3]


async def test_progress_on_empty_input_reports_once() -> None:
    """With nothing to send, on_progress still gets one final snapshot with total 0."""
    seen: list[MassProgress] = []
    await fan_out([], Sender(), normalize=normalize, on_progress=seen.append)
    assert [(p.done, p.total, p.chunks_done, p.eta) for p in seen] == [(0, 0, 0, 0.0)]


async def test_async_iterable_input_is_streamed() -> None:
    """An async generator feeds the fan-out; its numbers are chunked, sent and reported."""
    sender = Sender()

    async def numbers() -> AsyncIterator[str]:
        for i in range(230):
            await anyio.lowlevel.checkpoint()
            yield phone(i % 200)

    result = await fan_out(numbers(), sender, normalize=normalize)
    assert len(sender.calls) == 2
    assert len(result) == 200
    assert result.duplicates == 30


async def test_input_is_pulled_lazily() -> None:
    """The producer stays a small buffer ahead of the workers instead of reading the whole input."""
    sender = Sender()
    gate = anyio.Event()
    pulled = 0

    async def hold(chunk: Chunk) -> Mapping[str, bool]:
        await gate.wait()
        return dict.fromkeys(chunk.numbers, True)

    sender.behaviours = {0: hold}

    def numbers() -> Iterator[str]:
        nonlocal pulled
        for i in range(100_000):
            pulled += 1
            yield phone(i)

    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: fan_out(numbers(), sender, normalize=normalize, concurrency=1))
        await sender.started_event(0).wait()
        for _ in range(50):
            await anyio.lowlevel.checkpoint()
        held = pulled
        gate.set()
    assert held <= 400
    assert pulled == 100_000


async def test_buffer_option_bounds_the_read_ahead() -> None:
    """With buffer=0 the producer hands chunks over one by one and reads at most two ahead."""
    sender = Sender()
    gate = anyio.Event()
    pulled = 0

    async def hold(chunk: Chunk) -> Mapping[str, bool]:
        await gate.wait()
        return dict.fromkeys(chunk.numbers, True)

    sender.behaviours = {0: hold}

    def numbers() -> Iterator[str]:
        nonlocal pulled
        for i in range(10_000):
            pulled += 1
            yield phone(i)

    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: fan_out(numbers(), sender, normalize=normalize, concurrency=1, buffer=0)
        )
        await sender.started_event(0).wait()
        for _ in range(50):
            await anyio.lowlevel.checkpoint()
        held = pulled
        gate.set()
    assert held == 200


async def test_hooks_bracket_every_chunk() -> None:
    """chunk_started runs before each send; chunk_finished gets the chunk's outcomes and errors."""
    sender = Sender()
    journal = Journal()
    error = NumberNotFoundError(307, "Number Not Exist or Wrong", "SendMessageMass")
    sender.behaviours = {1: raising(error)}
    result = await fan_out(
        [phone(i) for i in range(300)], sender, normalize=normalize, hooks=journal
    )
    assert sorted(journal.started) == [0, 1, 2]
    assert {n: o for outcomes in journal.finished.values() for n, o in outcomes.items()} == dict(
        result
    )
    assert set(journal.errors[1].values()) == {error}
    assert journal.errors[0] == {}


async def test_caller_cancellation_gives_in_flight_chunks_their_grace() -> None:
    """On cancel, a chunk answering within the grace is recorded; one that does not is UNKNOWN."""
    sender = Sender(checkpoints=0)
    journal = Journal()
    release = anyio.Event()
    cancelled_late: list[bool] = []

    async def answers_in_grace(chunk: Chunk) -> Mapping[str, bool]:
        await release.wait()
        return dict.fromkeys(chunk.numbers, True)

    async def never_answers(chunk: Chunk) -> Mapping[str, bool]:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled_late.append(release.is_set())
        raise AssertionError("unreachable")

    sender.behaviours = {0: answers_in_grace, 1: never_answers}
    scope = anyio.CancelScope()

    async def campaign() -> None:
        with scope:
            await fan_out(
                [phone(i) for i in range(1_000)],
                sender,
                normalize=normalize,
                concurrency=2,
                hooks=journal,
                cancel_grace=0.2,
            )

    async with anyio.create_task_group() as tg:
        tg.start_soon(campaign)
        await sender.started_event(0).wait()
        await sender.started_event(1).wait()
        scope.cancel()
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        assert cancelled_late == []
        assert journal.finished == {}
        release.set()
    assert scope.cancelled_caught
    assert sorted(journal.started) == [0, 1]
    assert set(journal.finished[0].values()) == {Outcome.DELIVERED}
    assert set(journal.finished[1].values()) == {Outcome.UNKNOWN}
    assert cancelled_late == [True]
    assert len(sender.calls) == 2


async def test_zero_grace_still_records_the_outcome_of_chunks_in_flight() -> None:
    """With cancel_grace=0 a cancelled send is cut at once, but its UNKNOWN is still journalled."""
    sender = Sender(checkpoints=0)
    recorded: dict[int, set[Outcome]] = {}

    class ThreadJournal(Journal):
        async def chunk_finished(
            self,
            chunk: Chunk,
            outcomes: Mapping[str, Outcome],
            errors: Mapping[str, MioGramError],
        ) -> None:
            # A real journal writes in a worker thread: that needs more than an instant.
            await anyio.to_thread.run_sync(lambda: None)
            recorded[chunk.index] = set(outcomes.values())

    async def never_answers(chunk: Chunk) -> Mapping[str, bool]:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    sender.behaviours = {0: never_answers}
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: fan_out(
                    [phone(0)], sender, normalize=normalize, hooks=ThreadJournal(), cancel_grace=0
                )
            )
            await sender.started_event(0).wait()
            scope.cancel()
    assert recorded == {0: {Outcome.UNKNOWN}}


async def test_native_asyncio_cancellation_also_bounds_the_grace() -> None:
    """An asyncio task.cancel() (asyncio.run's Ctrl-C) gives chunks in flight only the grace."""
    journal = Journal()
    started = anyio.Event()
    release = anyio.Event()
    send_cancelled: list[bool] = []

    async def answers_when_released(chunk: Chunk) -> Mapping[str, bool]:
        started.set()
        try:
            await release.wait()
        except BaseException:
            send_cancelled.append(True)
            raise
        return dict.fromkeys(chunk.numbers, True)

    task = asyncio.ensure_future(
        fan_out(
            [phone(0)], answers_when_released, normalize=normalize, hooks=journal, cancel_grace=0.05
        )
    )
    await started.wait()
    task.cancel()
    # A guard, not a timing claim: without the grace the send would only end when released.
    done, _ = await asyncio.wait({task}, timeout=10)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task in done
    assert send_cancelled == [True]
    assert journal.finished == {0: {phone(0): Outcome.UNKNOWN}}


async def test_unexpected_error_stops_with_the_partial_result() -> None:
    """A send_chunk bug stops the fan-out: its chunk is UNKNOWN and the cause is chained."""
    sender = Sender()
    bug = RuntimeError("boom")

    async def broken(chunk: Chunk) -> Mapping[str, bool]:
        raise bug

    sender.behaviours = {0: broken}
    with pytest.raises(MassSendError) as caught:
        await fan_out([phone(i) for i in range(500)], sender, normalize=normalize, concurrency=1)
    assert caught.value.__cause__ is bug
    assert caught.value.cause is None
    result = caught.value.result
    assert result.unknown == list(sender.calls[0].numbers)
    assert result.counts[Outcome.NOT_ATTEMPTED] == 400


async def test_failing_start_hook_leaves_the_chunk_not_attempted() -> None:
    """If chunk_started raises, that chunk is never sent and the fan-out stops."""
    sender = Sender()
    problem = OSError("disk full")

    class BrokenJournal(Journal):
        async def chunk_started(self, chunk: Chunk) -> None:
            raise problem

    with pytest.raises(MassSendError) as caught:
        await fan_out(
            [phone(i) for i in range(300)], sender, normalize=normalize, hooks=BrokenJournal()
        )
    assert sender.calls == []
    assert caught.value.__cause__ is problem
    assert caught.value.result.counts[Outcome.NOT_ATTEMPTED] == 300


async def test_stop_error_with_in_flight_stop_codes_keeps_the_first_cause() -> None:
    """When several chunks hit stop errors, the first one is the cause."""
    sender = Sender()
    first = InvalidSecretError(801, "Invalid Secret", "SendMessageMass")
    sender.behaviours = dict.fromkeys(range(10), raising(first))
    with pytest.raises(MassSendError) as caught:
        await fan_out([phone(i) for i in range(1_000)], sender, normalize=normalize)
    assert caught.value.cause is first
    counts = caught.value.result.counts
    assert counts[Outcome.FAILED] == 100 * len(sender.calls)
    assert counts[Outcome.FAILED] + counts[Outcome.NOT_ATTEMPTED] == 1_000


async def test_broken_input_stops_with_what_was_read() -> None:
    """An input that raises stops the fan-out; numbers read but not yet sent are NOT_ATTEMPTED."""
    sender = Sender()
    problem = OSError("file vanished")

    def numbers() -> Iterator[str]:
        for i in range(150):
            yield phone(i)
        raise problem

    with pytest.raises(MassSendError) as caught:
        await fan_out(numbers(), sender, normalize=normalize)
    assert caught.value.__cause__ is problem
    assert sender.calls == []
    assert caught.value.result.not_attempted == [phone(i) for i in range(150)]


async def test_failing_progress_callback_stops_but_keeps_outcomes() -> None:
    """A progress callback that raises stops the fan-out; the finished chunk keeps its outcomes."""
    sender = Sender()
    problem = ValueError("bad display")

    def explode(progress: MassProgress) -> None:
        raise problem

    with pytest.raises(MassSendError) as caught:
        await fan_out(
            [phone(i) for i in range(300)],
            sender,
            normalize=normalize,
            concurrency=1,
            on_progress=explode,
        )
    assert caught.value.__cause__ is problem
    counts = caught.value.result.counts
    assert counts[Outcome.DELIVERED] + counts[Outcome.UNDELIVERED] == 100 * len(sender.calls)
    assert counts[Outcome.NOT_ATTEMPTED] == 300 - 100 * len(sender.calls)


async def test_failing_final_progress_is_reported() -> None:
    """An error from the final progress call (no chunk at all) is raised as MassSendError."""
    problem = ValueError("bad display")

    def explode(progress: MassProgress) -> None:
        raise problem

    with pytest.raises(MassSendError) as caught:
        await fan_out(["bad"], Sender(), normalize=normalize, on_progress=explode)
    assert caught.value.__cause__ is problem
    assert dict(caught.value.result) == {"bad": Outcome.INVALID}


async def test_failing_finish_hook_stops_the_fan_out() -> None:
    """If chunk_finished raises, the chunk keeps its outcome and no further chunk starts."""
    sender = Sender()
    problem = OSError("disk full")

    class BrokenJournal(Journal):
        async def chunk_finished(
            self,
            chunk: Chunk,
            outcomes: Mapping[str, Outcome],
            errors: Mapping[str, MioGramError],
        ) -> None:
            raise problem

    with pytest.raises(MassSendError) as caught:
        await fan_out(
            [phone(i) for i in range(300)],
            sender,
            normalize=normalize,
            concurrency=1,
            hooks=BrokenJournal(),
        )
    assert caught.value.__cause__ is problem
    assert len(sender.calls) == 1
    assert caught.value.result.counts[Outcome.NOT_ATTEMPTED] == 200


def test_progress_eta_is_unknown_without_rate_or_after_stop() -> None:
    """eta is None while nothing was sent yet, after a stop, and known once both are there."""

    async def main() -> None:
        state = FanOut(
            Sender(),
            normalize=normalize,
            chunk_size=100,
            agents=AgentSlots([None], 1, 1),
            on_progress=None,
            hooks=None,
            cancel_grace=1.0,
        )
        assert not state.producer.admit(phone(1))  # one number read, not sent yet
        assert state.snapshot().total is None
        state.producer.exhausted = True
        assert (state.snapshot().total, state.snapshot().eta) == (1, None)
        state._halt(NoCreditError(305, "No Credit", "SendMessageMass"))
        assert state.snapshot().eta is None

    anyio.run(main)


def test_options_are_checked() -> None:
    """Out-of-range options and a bare string input are refused before anything runs."""

    async def main() -> None:
        with pytest.raises(ValueError, match=">= 1"):
            await fan_out([], Sender(), normalize=normalize, chunk_size=0)
        with pytest.raises(ValueError, match=">= 1"):
            await fan_out([], Sender(), normalize=normalize, concurrency=0)
        with pytest.raises(ValueError, match=">= 1"):
            await fan_out([], Sender(), normalize=normalize, per_robot=0)
        with pytest.raises(ValueError, match="agent"):
            await fan_out([], Sender(), normalize=normalize, robots=())
        with pytest.raises(ValueError, match="cancel_grace"):
            await fan_out([], Sender(), normalize=normalize, cancel_grace=-1)
        with pytest.raises(ValidationError, match="single str"):
            await fan_out(phone(1), Sender(), normalize=normalize)

    anyio.run(main)


def test_fan_out_runs_under_trio() -> None:
    """The fan-out, its workers, agents and hooks work on the trio backend."""
    sender = Sender()
    journal = Journal()

    async def main() -> MassResult:
        return await fan_out(
            [phone(i) for i in range(250)],
            sender,
            normalize=normalize,
            robots=["a", "b"],
            hooks=journal,
        )

    result = trio.run(main)
    assert len(sender.calls) == 3
    assert sender.max_robot_in_flight["a"] <= 1
    assert result.counts[Outcome.DELIVERED] == 125
    assert sorted(journal.finished) == [0, 1, 2]


def test_mass_result_is_a_read_only_picklable_mapping() -> None:
    """MassResult compares as a mapping, lists by outcome, counts zeros, pickles, hides numbers."""
    error = NumberNotFoundError(307, "Number Not Exist or Wrong", "SendMessageMass")
    result = MassResult(
        {"+1": Outcome.DELIVERED, "+2": Outcome.FAILED, "x": Outcome.INVALID},
        errors={"+2": error},
        duplicates=2,
    )
    assert result == {"+1": Outcome.DELIVERED, "+2": Outcome.FAILED, "x": Outcome.INVALID}
    assert result.delivered == ["+1"]
    assert result.failed == ["+2"]
    assert result.counts[Outcome.UNKNOWN] == 0
    assert len(result.counts) == len(Outcome)
    copy = pickle.loads(pickle.dumps(result))
    assert copy == result
    assert copy.duplicates == 2
    assert isinstance(copy.errors["+2"], NumberNotFoundError)
    assert repr(result) == "<MassResult 3 numbers: delivered=1, failed=1, invalid=1>"
    assert not hasattr(result, "__setitem__")
    with pytest.raises(TypeError):
        result.errors["+3"] = error  # type: ignore[index]


def test_mass_result_and_mass_send_error_pickle_after_repr_and_counts() -> None:
    """Reading repr() and counts (which caches them) never stops a result or its error pickling."""
    error = NoCreditError(305, "No Credit", "SendMessageMass")
    result = MassResult(
        {"+1": Outcome.DELIVERED, "+2": Outcome.FAILED, "+3": Outcome.NOT_ATTEMPTED},
        errors={"+2": error},
    )
    stop = MassSendError("stopped", result, error)
    shown = repr(result)
    counts = dict(result.counts)
    assert str(stop) == "stopped"
    copy = pickle.loads(pickle.dumps(result))
    stop_copy = pickle.loads(pickle.dumps(stop))
    assert repr(copy) == shown
    assert dict(copy.counts) == counts
    assert stop_copy.result == result
    assert dict(stop_copy.result.counts) == counts
    assert isinstance(stop_copy.cause, NoCreditError)
    assert str(stop_copy) == "stopped"


_BEHAVIOURS: dict[str, MioGramError | None] = {
    "ok": None,
    "not_found": NumberNotFoundError(307, "Number Not Exist or Wrong", "SendMessageMass"),
    "no_credit": NoCreditError(305, "No Credit", "SendMessageMass"),
    "unsent": APIConnectionError("connect failed", sent=False),
    "maybe_sent": APITimeoutError("read timed out", sent=None),
}


@settings(max_examples=60, deadline=None)
@given(
    inputs=st.lists(
        st.one_of(st.integers(0, 60).map(phone), st.sampled_from(["bad", "x", ""])), max_size=80
    ),
    scripts=st.lists(st.sampled_from(sorted(_BEHAVIOURS)), max_size=12),
    chunk_size=st.integers(1, 9),
    concurrency=st.integers(1, 4),
    agents=st.integers(0, 3),
)
def test_every_input_gets_exactly_one_honest_outcome(
    inputs: list[str], scripts: list[str], chunk_size: int, concurrency: int, agents: int
) -> None:
    """Whatever the input and the chunk errors, each distinct input has one consistent outcome."""
    sender = Sender(checkpoints=1)
    for index, name in enumerate(scripts):
        error = _BEHAVIOURS[name]
        if error is not None:
            sender.behaviours[index] = raising(error)
    robots: list[str | None] = [f"agent{i}" for i in range(agents)] or [None]

    async def main() -> tuple[Mapping[str, Outcome] | MassOutcomes, MassSendError | None]:
        try:
            result = await fan_out(
                inputs,
                sender,
                normalize=normalize,
                chunk_size=chunk_size,
                concurrency=concurrency,
                robots=robots,
            )
        except MassSendError as stop:
            return stop.result, stop
        return result, None

    outcomes, stop = anyio.run(main)
    stopped = stop is not None
    assert isinstance(outcomes, MassResult)  # what MassSendError.result always holds
    result = outcomes
    sent = sender.sent
    assert len(sent) == len(set(sent))
    kept = [raw for raw in inputs if raw.strip()]  # blank inputs are skipped
    assert list(result) == list(dict.fromkeys(kept))
    assert result.duplicates == len(kept) - len(result)
    assert all(len(chunk.numbers) <= chunk_size for chunk in sender.calls)
    assert sender.max_in_flight <= min(concurrency, len(robots) if agents else concurrency)
    for number, outcome in result.items():
        assert (number in sent) == (outcome not in (Outcome.NOT_ATTEMPTED, Outcome.INVALID))
        assert (outcome is Outcome.INVALID) == (not _PHONE.match(number))
    stop_sent = any(
        chunk.index < len(scripts) and scripts[chunk.index] == "no_credit" for chunk in sender.calls
    )
    # Three chunks in a row (as they end) whose request never left stop it too (issue 13).
    streak = 0
    for index in sender.finished:
        streak = streak + 1 if index < len(scripts) and scripts[index] == "unsent" else 0
        stop_sent = stop_sent or streak >= 3
    assert stopped == stop_sent
    if not stopped:
        assert result.counts[Outcome.NOT_ATTEMPTED] == 0


@settings(max_examples=60, deadline=None)
@given(
    inputs=st.lists(
        st.one_of(st.integers(0, 40).map(phone), st.sampled_from(["bad", "x", " +98910"])),
        max_size=60,
    ),
    scripts=st.lists(st.sampled_from(["ok", "not_found", "unsent", "maybe_sent"]), max_size=10),
    chunk_size=st.integers(1, 7),
)
def test_plain_and_async_iterables_give_the_same_result(
    inputs: list[str], scripts: list[str], chunk_size: int
) -> None:
    """A list and an async generator of the same inputs give the same chunks and outcomes."""

    async def run(source: str) -> tuple[list[tuple[int, tuple[str, ...]]], list[object]]:
        sender = Sender(checkpoints=1)
        for index, name in enumerate(scripts):
            error = _BEHAVIOURS[name]
            if error is not None:
                sender.behaviours[index] = raising(error)

        async def numbers() -> AsyncIterator[str]:
            for raw in inputs:
                yield raw

        phones = inputs if source == "list" else numbers()
        try:
            result = await fan_out(phones, sender, normalize=normalize, chunk_size=chunk_size)
        except MassSendError as stop:  # e.g. three unsent chunks in a row: the same either way
            result = cast("MassResult", stop.result)
        chunks = sorted((chunk.index, chunk.numbers) for chunk in sender.calls)
        errors = sorted((number, str(error)) for number, error in result.errors.items())
        return chunks, [list(result.items()), result.duplicates, errors]

    assert anyio.run(run, "list") == anyio.run(run, "async")


async def test_three_unsent_chunks_in_a_row_halt_the_fan_out() -> None:
    """A third connect error in a row stops the run with it; the rest stays NOT_ATTEMPTED."""
    sender = Sender()
    unreachable = APIConnectionError("could not connect", sent=False)
    sender.behaviours = {index: raising(unreachable) for index in range(3)}
    with pytest.raises(MassSendError) as caught:
        await fan_out([phone(i) for i in range(1000)], sender, normalize=normalize, concurrency=1)
    assert caught.value.__cause__ is unreachable
    assert caught.value.cause is unreachable
    assert len(sender.calls) == 3
    counts = caught.value.result.counts
    assert (counts[Outcome.FAILED], counts[Outcome.NOT_ATTEMPTED]) == (300, 700)


async def test_any_other_result_resets_the_unsent_count() -> None:
    """Two connect errors, a reply, two more, a 999: the count restarts and the run finishes."""
    sender = Sender()
    unreachable = APIConnectionError("could not connect", sent=False)
    no_response = NoResponseError(999, "No Response From Server", "SendMessageMass")
    sender.behaviours = {
        0: raising(unreachable),
        1: raising(unreachable),
        3: raising(unreachable),
        4: raising(unreachable),
        5: raising(no_response),
        6: raising(unreachable),
        7: raising(unreachable),
    }
    result = await fan_out(
        [phone(i) for i in range(1000)], sender, normalize=normalize, concurrency=1
    )
    assert len(sender.calls) == 10
    assert result.counts[Outcome.FAILED] == 600
    assert result.counts[Outcome.UNKNOWN] == 100
    assert result.counts[Outcome.NOT_ATTEMPTED] == 0


@pytest.mark.parametrize("streamed", [False, True])
async def test_file_lines_are_stripped_and_blank_or_comment_lines_skipped(streamed: bool) -> None:
    """Lines of a file: line ends stripped, blanks and # comments skipped, invalid keys stripped."""
    lines = [f"{phone(1)}\n", "\n", "# the list of March\n", f"  {phone(2)}\r\n", "0912 12\n"]

    async def stream() -> AsyncIterator[str]:
        for line in lines:
            yield line

    sender = Sender()
    result = await fan_out(stream() if streamed else iter(lines), sender, normalize=normalize)
    assert sender.sent == [phone(1), phone(2)]
    assert list(result) == [phone(1), phone(2), "0912 12"]
    assert result["0912 12"] is Outcome.INVALID
    assert result.duplicates == 0
