"""
The input side of a Mass send: the numbers checked once, then streamed into batches.

`mass_input` checks the numbers are many, not one string. `Producer` reads them one at a time
(stripped; blank lines and ``#`` comments skipped), normalises each (``INVALID`` when it does not
normalise), drops duplicates in the `Tally`'s index, and sends batches of ``chunk_size`` numbers
into the small memory stream the fan-out's workers cut their chunks from.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Iterator

import anyio
import anyio.lowlevel
import attrs
from anyio.streams.memory import MemoryObjectSendStream

from .._base.errors import ValidationError
from .chunks import Batch
from .result import Outcome
from .tally import Tally

__all__ = ["MassInput", "Producer", "mass_input"]

# How many inputs the producer handles between two checkpoints, so that a long run of invalid or
# duplicate numbers (or the drain after a stop) never starves the event loop.
_CHECKPOINT_EVERY = 1024


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


class Producer:
    """The one task of a `fan_out` call that reads the input into batches."""

    def __init__(self, tally: Tally, *, normalize: Callable[[str], str], chunk_size: int) -> None:
        self._tally = tally
        self._normalize = normalize
        self._chunk_size = chunk_size
        self._pending: list[str] = []
        self._pending_positions: list[int] = []
        self._seen_inputs = 0
        #: The input was read to its end: the tally's distinct numbers are the total.
        self.exhausted = False

    async def produce(
        self, phones: Iterable[str] | AsyncIterable[str], chunks: MemoryObjectSendStream[Batch]
    ) -> None:
        """Read *phones* into batches on *chunks*; an error of the input stops the fan-out."""
        tally = self._tally
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
                        if self.admit(raw):
                            await self._emit(chunks)
                        elif tally.records and tally.stop_reason is not None:
                            return  # the hooks keep the rest as it is: no need to read it
                else:
                    await self._produce_from(iter(phones), chunks)
            except Exception as exc:  # the input or the normaliser broke: stop, keep what we have
                tally.halt(exc)
                return
            if tally.records and tally.stop_reason is not None:
                return
            self.exhausted = True
            if self._pending and tally.stop_reason is None:
                await self._emit(chunks)

    async def _produce_from(
        self, phones: Iterator[str], chunks: MemoryObjectSendStream[Batch]
    ) -> None:
        """The loop of `produce` for a plain iterable: `admit` inlined, the hot loop of a run."""
        normalize = self._normalize
        tally = self._tally
        index = tally.index
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
                tally.add_invalid(raw, exc)
                continue
            if add is None:
                if tally.stop_reason is not None:
                    return  # the hooks keep the rest as it is: no need to read it
                position = -2
            else:
                position = add(number, not_attempted)
                if position < 0:
                    tally.duplicates += 1
                    continue
            tally.distinct += 1
            if tally.stop_reason is not None:
                continue  # draining after a stop: the number stays NOT_ATTEMPTED
            pending = self._pending
            pending.append(number)
            self._pending_positions.append(position)
            if len(pending) >= self._chunk_size:
                await self._emit(chunks)

    def admit(self, raw: str) -> bool:
        """
        Normalise and record one input (stripped, not blank nor a ``#`` comment); whether the
        pending chunk is now full.

        `_produce_from` repeats this inline for plain iterables: keep the two alike.
        """
        tally = self._tally
        try:
            number = self._normalize(raw)
        except ValidationError as exc:
            tally.add_invalid(raw, exc)
            return False
        if tally.index is None:
            if tally.stop_reason is not None:
                return False  # the caller stops reading
            position = -2
        else:
            position = tally.index.add(number, Outcome.NOT_ATTEMPTED)
            if position < 0:
                tally.duplicates += 1
                return False
        tally.distinct += 1
        if tally.stop_reason is not None:
            return False  # draining after a stop: the number stays NOT_ATTEMPTED
        pending = self._pending
        pending.append(number)
        self._pending_positions.append(position)
        return len(pending) >= self._chunk_size

    async def _emit(self, batches: MemoryObjectSendStream[Batch]) -> None:
        batch = Batch(self._pending, self._pending_positions)
        self._pending = []
        self._pending_positions = []
        await batches.send(batch)
