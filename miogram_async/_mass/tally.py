"""
The merging of a Mass send's outcomes: each chunk judged, every number recorded, the counts kept.

`Tally` holds what one fan-out knows of its numbers: the `KeyIndex` of every number's outcome
(none when the hooks record the outcomes themselves), the errors, the chunks' dispatches kept for
settling unknown numbers (E50), the counts its progress reports, and why it stopped, if it did.
A reply or a chunk error is judged here by the one rule (`proves_refusal`).
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from types import MappingProxyType

import anyio

from .._base.errors import MioGramError, ValidationError
from .._base.outcomes import never_left, proves_refusal, stops_fan_out
from .result import Chunk, Dispatch, Doubt, KeyIndex, MassProgress, Outcome

__all__ = ["Tally"]

# Chunks in a row whose request provably never left (connect errors) after which the fan-out stops:
# the service is unreachable, and going on would only mark every later number FAILED (issue 13).
_UNSENT_STREAK_STOP = 3


class Tally:
    """Every number's outcome and the counts of one `fan_out` call."""

    def __init__(self, *, records: bool, dispatches: dict[int, Dispatch] | None) -> None:
        # Hooks that record every outcome themselves (a campaign's journal) and promise distinct
        # input: then nothing is kept per number, so memory stays flat whatever the input's size.
        self.records = records
        # Keys double as the set of numbers seen; pending numbers hold NOT_ATTEMPTED until sent.
        self.index: KeyIndex | None = None if records else KeyIndex()
        self.errors: dict[str, MioGramError] = {}
        # What settling unknown numbers needs (E50): each sent chunk's `Dispatch`, by chunk index,
        # as *send_chunk* records it; kept for the chunks that end with unknown numbers, with
        # their positions; and per agent, one number it delivered to.
        self._dispatches = dispatches
        self.doubts: list[Doubt] = []
        self.witnesses: dict[str | None, str] = {}
        # The index positions of each chunk's numbers, from its making until it is settled.
        self.positions: dict[int, list[int]] = {}
        self.distinct = 0
        self.duplicates = 0
        self.stop_reason: BaseException | None = None
        self._unsent_streak = 0  # chunks in a row whose request could not leave (issue 13)
        self._done_by_outcome = dict.fromkeys(Outcome, 0)
        self._done = 0
        self._sent_done = 0
        self._chunks_done = 0
        self.in_flight = 0
        self._started_at = anyio.current_time()
        #: The size of the last chunk that started, and its agent's pace then (for progress).
        self.last_size: int | None = None
        self.last_pace: float | None = None

    def halt(self, reason: BaseException) -> None:
        """Stop the fan-out for *reason*, unless it stopped already."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def add_invalid(self, raw: str, error: ValidationError) -> None:
        """Record an input that does not normalise: ``INVALID``, never sent."""
        if self.index is not None:
            if self.index.add(raw, Outcome.INVALID) < 0:
                self.duplicates += 1
                return
            self.errors[raw] = error
        # Else the hooks' input holds no invalid number (a journal keeps those apart): count it.
        self.distinct += 1
        self._done_by_outcome[Outcome.INVALID] += 1
        self._done += 1

    # -- judging ------------------------------------------------------------------------------

    def judge_reply(
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

    def judge_error(
        self, chunk: Chunk, error: MioGramError
    ) -> tuple[dict[str, Outcome], dict[str, MioGramError], dict[Outcome, int]]:
        """Each number's outcome after a chunk error, the error per number, and the counts."""
        # The one rule (issue 10): FAILED only when the error proves the request was refused
        # before anything was sent; 999, a 5xx, an unreadable reply, a timeout... may follow a
        # delivery (docs/service.md E32, E45), so those numbers are UNKNOWN, never retried here.
        outcome = Outcome.FAILED if proves_refusal(error) else Outcome.UNKNOWN
        if stops_fan_out(error):
            self.halt(error)
        if never_left(error):
            # The service cannot be reached: stop before every chunk fails the same way.
            self._unsent_streak += 1
            if self._unsent_streak >= _UNSENT_STREAK_STOP:
                self.halt(error)
        else:
            self._unsent_streak = 0
        outcomes = dict.fromkeys(chunk.numbers, outcome)
        return outcomes, dict.fromkeys(chunk.numbers, error), {outcome: len(outcomes)}

    # -- merging ------------------------------------------------------------------------------

    def settle(
        self,
        chunk: Chunk,
        outcomes: Mapping[str, Outcome],
        errors: Mapping[str, MioGramError],
        counts: Mapping[Outcome, int],
        *,
        sent: bool,
    ) -> None:
        """Record a finished chunk; *counts* is how many of *outcomes* have each outcome."""
        self.in_flight -= 1
        dispatch = None if self._dispatches is None else self._dispatches.pop(chunk.index, None)
        if self.index is not None:
            positions = self.positions.pop(chunk.index)
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

    # -- progress -----------------------------------------------------------------------------

    def snapshot(self, total: int | None, waiting: float) -> MassProgress:
        """The current progress, out of *total* numbers (if known), *waiting* at the gate."""
        elapsed = anyio.current_time() - self._started_at
        rate = self._sent_done / elapsed if elapsed > 0 else 0.0
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
            chunks_in_flight=self.in_flight,
            rate=rate,
            elapsed=elapsed,
            eta=eta,
            waiting=waiting,
            chunk_size=self.last_size,
            pace=self.last_pace,
        )
