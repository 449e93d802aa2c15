"""
The chunks of a Mass send, cut from the producer's batches as the workers take them.

The producer (`inputs.Producer`) sends batches of ``chunk_size`` numbers; a worker that has
taken an agent's slot cuts its chunk from them (`Cutter`), sized from the gateway's pace measured
on that agent (`GatewayPace.chunk_size`, E49) so that it finishes well inside ``front_wait``, or
full without a pace.
"""

from __future__ import annotations

import collections
import logging

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from .._base.log import logger
from .._http.pace import GatewayPace
from .result import Chunk
from .tally import Tally

__all__ = ["Batch", "Cutter"]


class Batch:
    """Numbers the producer read, in input order, with their index positions; cut into chunks."""

    __slots__ = ("numbers", "positions", "start")

    def __init__(self, numbers: list[str], positions: list[int]) -> None:
        self.numbers = numbers
        self.positions = positions
        self.start = 0  # how many were cut off already


class Cutter:
    """The workers' side of the batches: each chunk cut to the size its agent's pace allows."""

    def __init__(
        self, tally: Tally, *, chunk_size: int, pace: GatewayPace | None, front_wait: float
    ) -> None:
        self._tally = tally
        # The largest chunk (the caller's chunk_size), and the size of the producer's batches.
        self._chunk_size = chunk_size
        self._pace = pace
        self._front_wait = front_wait
        #: Batches received and not cut up yet, oldest first.
        self.leftover: collections.deque[Batch] = collections.deque()
        # The size each chunk was given (it carries fewer numbers only at the input's end).
        self._sizes: dict[int, int] = {}
        self._next_index = 0

    def size_for(self, robot: str | None) -> int:
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

    async def cut(
        self, batches: MemoryObjectReceiveStream[Batch], size: int
    ) -> tuple[list[str], list[int]]:
        """The next *size* numbers (fewer at the input's end) and their index positions."""
        numbers: list[str] = []
        positions: list[int] = []
        leftover = self.leftover
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

    def chunk(
        self, numbers: list[str], positions: list[int], robot: str | None, size: int
    ) -> Chunk:
        """The next chunk: *numbers* for *robot*, under the next index, given *size*."""
        chunk = Chunk(index=self._next_index, numbers=tuple(numbers), robot=robot)
        self._next_index += 1
        if self._tally.index is not None:
            self._tally.positions[chunk.index] = positions
        self._sizes[chunk.index] = size
        return chunk

    def size_of(self, chunk: Chunk) -> int:
        """The size *chunk* was given (it carries fewer numbers only at the input's end)."""
        return self._sizes.pop(chunk.index, len(chunk.numbers))
