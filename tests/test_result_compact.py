"""The compact MassResult against a plain dict, and the flat memory of a journalled campaign run."""

from __future__ import annotations

import array
import collections
import pickle
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miogram_async import (
    Chunk,
    MassProgress,
    MassResult,
    MassSendError,
    MioGram,
    MioGramError,
    NoCreditError,
    Outcome,
    ValidationError,
    normalize_phone,
)
from miogram_async._mass.fanout import FanOut, MassOptions, fan_out
from miogram_async._mass.result import KeyIndex
from miogram_async.campaign import Campaign, NumberState

SECRET = "compact0secret"

# Keys of every shape a result meets: plain E.164 numbers (kept as integers), numbers a custom
# normaliser may shape otherwise (a leading zero, too many digits, non-ASCII digits) and raw
# invalid inputs (kept as strings).
_NUMBERS = st.builds(lambda n: f"+{n}", st.integers(min_value=1, max_value=10**18 - 1))
_ODD_NUMBERS = st.builds(
    lambda digits: "+" + digits,
    st.text(alphabet="0123456789۰۱۲٣", min_size=0, max_size=21),
)
_KEYS = st.one_of(_NUMBERS, _NUMBERS, _ODD_NUMBERS, st.text(max_size=12))
_PAIRS = st.lists(st.tuples(_KEYS, st.sampled_from(Outcome)), max_size=60)


def _model_repr(model: Mapping[str, Outcome]) -> str:
    counts = dict.fromkeys(Outcome, 0)
    for outcome in model.values():
        counts[outcome] += 1
    shown = ", ".join(f"{outcome.value}={count}" for outcome, count in counts.items() if count)
    return f"<MassResult {len(model)} numbers: {shown or 'empty'}>"


@settings(max_examples=300, deadline=None)
@given(pairs=_PAIRS, absent=st.lists(_KEYS, max_size=5), duplicates=st.integers(0, 5))
def test_mass_result_behaves_like_a_dict_of_outcomes(
    pairs: list[tuple[str, Outcome]], absent: list[str], duplicates: int
) -> None:
    """Order, lookups, lists by outcome, counts, equality, repr and pickling match a plain dict."""
    model = dict(pairs)
    errors: dict[str, MioGramError] = {
        key: ValidationError(f"bad {key!r}")
        for key, outcome in model.items()
        if outcome is Outcome.INVALID
    }
    result = MassResult(pairs, errors=errors, duplicates=duplicates)
    assert list(result) == list(model)
    assert len(result) == result.total == len(model)
    assert dict(result.items()) == model
    assert result == model
    assert MassResult(model) == result
    for key, outcome in model.items():
        assert key in result
        assert result[key] is outcome
    for key in absent:
        assert (key in result) == (key in model)
        if key not in model:
            with pytest.raises(KeyError):
                result[key]
    for outcome in Outcome:
        expected = [key for key, value in model.items() if value is outcome]
        assert result.numbers(outcome) == expected
        assert result.counts[outcome] == len(expected)
    assert result.delivered == result.numbers(Outcome.DELIVERED)
    assert result.undelivered == result.numbers(Outcome.UNDELIVERED)
    assert result.failed == result.numbers(Outcome.FAILED)
    assert result.unknown == result.numbers(Outcome.UNKNOWN)
    assert result.not_attempted == result.numbers(Outcome.NOT_ATTEMPTED)
    assert result.invalid == result.numbers(Outcome.INVALID)
    assert repr(result) == _model_repr(model)
    assert dict(result.errors) == errors
    assert result.duplicates == duplicates
    copy = pickle.loads(pickle.dumps(result))
    assert list(copy) == list(model)
    assert copy == result
    assert dict(copy.counts) == dict(result.counts)
    assert copy.duplicates == duplicates
    assert set(copy.errors) == set(errors)
    for key in absent:
        assert (key in copy) == (key in model)


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(_KEYS, max_size=200))
def test_the_key_index_keeps_first_occurrences_in_order(keys: list[str]) -> None:
    """add() refuses a key it holds; find() gives each key's first position; iteration is order."""
    index = KeyIndex()
    first: dict[str, int] = {}
    for key in keys:
        position = index.add(key, Outcome.NOT_ATTEMPTED)
        if key in first:
            assert position == -1
        else:
            assert position == len(first)
            first[key] = position
    assert list(index) == list(first)
    for key, position in first.items():
        assert index.find(key) == position
        assert index.key(position) == key


def test_the_key_index_grows_past_colliding_numbers() -> None:
    """Numbers sharing their low bits (a stride of 2**20) all stay findable as the table grows."""
    index = KeyIndex()
    numbers = [f"+{98_900_000_000 + i * 2**20}" for i in range(20_000)]
    numbers += [f"+{989_120_000_000 + i}" for i in range(20_000)]
    for position, number in enumerate(numbers):
        assert index.add(number, Outcome.DELIVERED) == position
    assert all(index.add(number, Outcome.FAILED) == -1 for number in numbers)
    assert [index.find(number) for number in numbers] == list(range(len(numbers)))
    assert index.find("+1") == -1
    assert index.count(Outcome.DELIVERED) == len(numbers)


def test_a_mass_result_refuses_keys_and_outcomes_it_cannot_hold() -> None:
    """A non-string key or a value that is no outcome is refused, naming it."""
    by_number: Any = {989120000000: Outcome.DELIVERED}
    with pytest.raises(TypeError, match="str key"):
        MassResult(by_number)
    sent: Any = {"+989120000000": "sent"}
    with pytest.raises(ValueError, match="sent"):
        MassResult(sent)
    as_text: Any = {"+989120000000": "delivered"}
    assert MassResult(as_text)["+989120000000"] is Outcome.DELIVERED


def test_a_mass_result_finds_nothing_for_a_key_of_another_type() -> None:
    """Looking up a non-string key is a plain miss, as a dict keyed by strings answers."""
    result = MassResult({"+989120000000": Outcome.DELIVERED, "12": Outcome.INVALID})
    others: list[Any] = [989120000000, 12, None]
    assert not any(other in result for other in others)
    as_text: Any = "delivered"
    assert result.numbers(as_text) == []


async def _deliver(chunk: Chunk) -> Mapping[str, bool]:
    return dict.fromkeys(chunk.numbers, True)


@settings(max_examples=60, deadline=None)
@given(
    raws=st.lists(
        st.one_of(
            st.builds(lambda i: f"+98912{i:07d}", st.integers(0, 40)),
            st.builds(lambda i: f"0912{i:07d}", st.integers(0, 40)),
            st.sampled_from(["junk", "+0", "+98", "12 34"]),
        ),
        max_size=120,
    )
)
def test_fan_out_results_match_a_dict_model(raws: list[str]) -> None:
    """The fan-out's compact result equals the dict an input-order model builds."""
    model: dict[str, Outcome] = {}
    duplicates = 0
    for raw in raws:
        try:
            key, outcome = normalize_phone(raw), Outcome.DELIVERED
        except ValidationError:
            key, outcome = raw, Outcome.INVALID
        if key in model:
            duplicates += 1
        else:
            model[key] = outcome
    options = MassOptions(chunk_size=7, concurrency=3)
    result = anyio.run(lambda: fan_out(raws, _deliver, normalize=normalize_phone, options=options))
    assert list(result) == list(model)
    assert result == model
    assert result.duplicates == duplicates
    assert set(result.errors) == {key for key, value in model.items() if value is Outcome.INVALID}


class _RecordingHooks:
    """Hooks that keep every outcome themselves, as a campaign journal does."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Outcome] = {}

    async def chunk_started(self, chunk: Chunk) -> None:
        """Nothing to write before a chunk."""

    async def chunk_finished(
        self, chunk: Chunk, outcomes: Mapping[str, Outcome], errors: Mapping[str, MioGramError]
    ) -> None:
        self.outcomes.update(outcomes)


def test_hooks_that_record_outcomes_get_them_all_and_the_result_keeps_none() -> None:
    """With recording hooks every outcome reaches them, and the returned result holds no number."""
    numbers = [f"+98912{i:07d}" for i in range(250)]
    hooks = _RecordingHooks()
    options = MassOptions(chunk_size=40, concurrency=2, hooks=hooks, hooks_record_outcomes=True)
    result = anyio.run(
        lambda: fan_out(numbers, _deliver, normalize=normalize_phone, options=options)
    )
    assert hooks.outcomes == dict.fromkeys(numbers, Outcome.DELIVERED)
    assert len(result) == 0
    assert dict(result.counts) == dict.fromkeys(Outcome, 0)


def test_after_a_stop_recording_hooks_leave_the_rest_of_the_input_unread() -> None:
    """A stop with recording hooks reads no more input: the hooks' store keeps the rest pending."""
    read: list[str] = []

    def numbers() -> Iterator[str]:
        for i in range(10_000):
            number = f"+98912{i:07d}"
            read.append(number)
            yield number

    async def refuse_the_second(chunk: Chunk) -> Mapping[str, bool]:
        if chunk.index == 1:
            raise NoCreditError(305, "No Credit", "SendMessageMass")
        return dict.fromkeys(chunk.numbers, True)

    hooks = _RecordingHooks()
    options = MassOptions(chunk_size=10, concurrency=1, hooks=hooks, hooks_record_outcomes=True)
    with pytest.raises(MassSendError, match="not read") as stopped:
        anyio.run(
            lambda: fan_out(
                numbers(), refuse_the_second, normalize=normalize_phone, options=options
            )
        )
    assert len(stopped.value.result) == 0
    assert len(read) < 100
    assert sorted(set(hooks.outcomes.values())) == [Outcome.DELIVERED, Outcome.FAILED]


def _instant_transport() -> httpx.MockTransport:
    """Answer every Mass chunk with every number delivered; one agent; an empty report."""

    def handler(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        if "Phone" in form:
            phones = form["Phone"][0].split(",")
            return httpx.Response(200, json={"Result": dict.fromkeys(phones, True)})
        if form.get("Func") == ["APIGetRobot"]:
            return httpx.Response(200, json={"Result": "agent1", "Status": "success"})
        return httpx.Response(200, json={"Status": "error", "Code": "111", "Message": "No DATA"})

    return httpx.MockTransport(handler)


_COUNT = 200_000
# What the fan-out's state (and the hooks and index it holds) may take once every chunk of a run
# is answered: chunks in flight and bounded buffers, far from a byte per number.
_FLAT_BYTES = 512 * 1024
_LEAVES = (str, bytes, int, float, type(None))
_CONTAINERS = (dict, list, tuple, set, frozenset, array.array, bytearray, collections.deque)


def _footprint(thing: object, seen: set[int], depth: int = 4) -> int:
    """
    Bytes of *thing* and of what its attributes hold, a few levels down.

    A container counts its own size (which grows with its entries), not its entries': any
    per-number dict, list or array under any attribute name shows up, at 8 or more bytes a number.
    """
    if depth == 0 or id(thing) in seen:
        return 0
    seen.add(id(thing))
    size = sys.getsizeof(thing)
    if isinstance(thing, _LEAVES + _CONTAINERS) or callable(thing):
        return size
    values = list(getattr(thing, "__dict__", {}).values())
    for cls in type(thing).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if hasattr(thing, name):
                values.append(getattr(thing, name))
    return size + sum(_footprint(value, seen, depth - 1) for value in values)


def _caller_fan_out() -> FanOut:
    """The fan-out whose progress report is running (``FanOut._report`` calls on_progress)."""
    frame: FrameType | None = sys._getframe(2)
    # A campaign's on_progress is called through the keeper of its pace (campaign/_pace.py).
    while frame is not None and not isinstance(frame.f_locals.get("self"), FanOut):
        frame = frame.f_back
    assert frame is not None, "on_progress is no longer called by a FanOut method"
    state = frame.f_locals["self"]
    assert isinstance(state, FanOut)
    return state


def test_a_journalled_run_holds_no_per_number_state(tmp_path: Path) -> None:
    """
    At the last chunk of a 200,000-number campaign the fan-out holds no per-number memory, where a
    plain Mass send of the same numbers (the same measure) holds its whole result.
    """
    numbers = [f"+98912{i:07d}" for i in range(_COUNT)]
    campaign = Campaign.create(tmp_path / "c.sqlite", numbers, message="Hi")
    held: dict[str, int] = {}

    def at_the_end(name: str) -> Callable[[MassProgress], None]:
        def watch(progress: MassProgress) -> None:
            if progress.done == _COUNT:
                held[name] = _footprint(_caller_fan_out(), set())

        return watch

    async def main() -> None:
        async with MioGram(secret=SECRET, transport=_instant_transport(), concurrency=4) as client:
            with campaign:
                summary = await campaign.run(client, on_progress=at_the_end("campaign"))
            result = await client.send_message_mass(
                numbers, "Hi", concurrency=4, on_progress=at_the_end("mass")
            )
        assert summary.status.by_state[NumberState.DELIVERED] == _COUNT
        assert result.counts[Outcome.DELIVERED] == _COUNT

    anyio.run(main)
    assert held["campaign"] < _FLAT_BYTES
    assert held["mass"] > 8 * _COUNT  # at least its integers: the measure sees per-number state
