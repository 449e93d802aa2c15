"""
The settle step: unknown numbers settled from the histories of the agents that sent them (E50).

For each number in doubt the caller gives its `InDoubt`: the number, the `Dispatch` of the chunk
that sent it (its agent, and when on the service's clock) and what was sent to it (`Expected`, a
text or a kind of file: one per number, so a campaign may send each row its own text). The step
reads that agent's history with the number (``GetHistory`` with ``Robot`` the agent) and judges it
(`miogram_async._base.evidence.judge`):

- **One request at a time, after the drain.** ``GetHistory`` re-adds the number as a contact of the
  agent (the gateway's number lookup, E49), so each read passes the client's send gate like a
  send, and waits until the gateway can no longer be at work on the chunk (the drain of E32).
- **Found**: ``DELIVERED``, with the message's id and date as evidence.
- **Absent**: ``ABSENT``: the history was read and holds no outgoing message since the send.
- **An empty answer** (``false``) is what the server code gives for an empty history, for a number
  it cannot look up and for a failed read alike (E46, E51; a service that answers 307 instead is
  read the same way). It counts as absent only when the next read on the same agent, right after
  it, returned messages: the agent's messenger was answering then. If no later read of that agent
  in the pass did, one control read of a number known to have messages there (one found in this
  pass, or one the send delivered to) decides; without one, the number stays ``UNKNOWN``.
- Everything else stays ``UNKNOWN``, with the reason: no permission (309), a failed read, an
  ambiguous match, a clock the replies did not show.

The window, the tolerance and the look-back are explained in `miogram_async._base.evidence`.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Final

import anyio

from ._base import actions
from ._base.errors import MioGramError, NumberNotFoundError, ValidationError
from ._base.evidence import (
    DEFAULT_LOOKBACK,
    DEFAULT_TOLERANCE,
    Expected,
    Finding,
    Judgement,
    Window,
    judge,
)
from ._base.outcomes import never_left, stops_fan_out
from ._base.peers import Message
from ._http.request import Request
from ._http.session import Session, describe
from ._mass.result import Dispatch, MassResult, Outcome
from ._runner import ActionRunner
from ._settlement import InDoubt, Settlement, SettleResult

__all__ = [
    "ASK",
    "HISTORY_LIMIT",
    "InDoubt",
    "SettleResult",
    "Settlement",
    "dispatch_at",
    "settle_doubts",
    "settle_mass_result",
]

#: Messages asked of each history: a conversation of one agent with one number is short.
HISTORY_LIMIT: Final = 100
#: The longest the step waits for a chunk's drain to end (a clock stepped far ahead aside).
_MAX_DRAIN_WAIT: Final = 900.0


class _Ask(enum.Enum):
    ASK = "ask"


#: `settle_doubts(ads=ASK)`: ask the service whether the account appends an ad.
ASK: Final = _Ask.ASK

OnSettled = Callable[[Sequence[tuple[str, "Settlement"]]], Awaitable[object]]


async def settle_mass_result(
    client: ActionRunner,
    result: MassResult,
    sent: str | Expected | Mapping[str, Expected] | None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    lookback: float = DEFAULT_LOOKBACK,
) -> SettleResult:
    """The body of `MioGram.settle_unknown` (see there)."""
    doubts: list[InDoubt] = []
    for dispatch, numbers in result.in_doubt():
        for number in numbers:
            expected = _expected(sent, number, dispatch)
            doubts.append(InDoubt(number=number, dispatch=dispatch, expected=expected))
    return await settle_doubts(
        client,
        doubts,
        witness=result.delivered_through,
        tolerance=tolerance,
        lookback=lookback,
    )


def _expected(
    sent: str | Expected | Mapping[str, Expected] | None, number: str, dispatch: Dispatch
) -> Expected:
    """What was sent to *number*: as *sent* says, or for a file send, the kind its row names."""
    if isinstance(sent, str):
        return Expected.text_of(sent)
    if isinstance(sent, Expected):
        return sent
    if sent is not None:
        try:
            return sent[number]
        except KeyError:
            raise ValidationError(f"expected what was sent to {number} in sent") from None
    kind = _history_of(dispatch)
    if kind is None or kind == "text":
        raise ValidationError(
            f"expected the message sent with {dispatch.func} (sent=...): the history is searched "
            "for it"
        )
    return Expected.media_of(kind)


def _history_of(dispatch: Dispatch) -> str | None:
    """What a delivery of *dispatch*'s action leaves in the agent's history (its row's)."""
    row = actions.BY_FUNC.get(dispatch.func)
    return None if row is None else row.history


def dispatch_at(  # noqa: PLR0917 - the columns of a journal's chunk row
    client: ActionRunner,
    func: str,
    robot: str | None,
    started: float,
    finished: float | None,
    numbers: int,
) -> Dispatch:
    """
    The `Dispatch` of a chunk a journal recorded with this machine's clock: sent through
    *robot* (``None``: the client's default agent) no earlier than *started*, answered at
    *finished* (``None``: never), carrying *numbers* numbers.

    Its times go to the service's clock with what the client's replies proved so far, and the
    gateway is taken to be done with it once the drain the send gate allows has passed (E32).
    """
    session = client._session
    done = max(finished or started, started + session.drain_seconds(numbers))
    return Dispatch(
        func=func,
        robot=robot or session.robot or None,
        sent_after=session.clock.earliest(started),
        done_by=session.clock.latest(done),
        numbers=numbers,
    )


async def settle_doubts(
    client: ActionRunner,
    doubts: Iterable[InDoubt],
    *,
    ads: bool | _Ask | None = ASK,
    witness: Callable[[str | None], str | None] = lambda robot: None,
    tolerance: float = DEFAULT_TOLERANCE,
    lookback: float = DEFAULT_LOOKBACK,
    limit: int = HISTORY_LIMIT,
    on_settled: OnSettled | None = None,
) -> SettleResult:
    """
    Settle *doubts* from their agents' histories (see the module notes).

    The package's entry point for the step: `MioGram.settle_unknown` gives it a `MassResult`'s
    numbers, a campaign its journal's, each with what was sent to it.

    Args:
        client: the client to read with; its send gate and clock are used.
        doubts: the numbers, each once.
        ads: whether the account appends an ad to its messages; `ASK`: ask the service
            (``APIGetAds``, which also gives the clock a first ``Date``).
        witness: a number known to have messages in the history of an agent (by name), for the
            control read; ``None`` when none is known.
        tolerance: seconds each window is widened on both ends.
        lookback: seconds before a window during which any outgoing message keeps a number from
            being settled absent.
        limit: messages asked of each history.
        on_settled: awaited with the numbers each read settled, as they are settled.
    """
    pending = list(doubts)
    session = client._session
    step = _Step(session, witness, tolerance, lookback, limit, on_settled)
    if pending and ads is ASK:
        try:
            step.ads = await client._run(actions.API_GET_ADS)  # also a Date: the clock
        except MioGramError as error:
            if never_left(error) or stops_fan_out(error):
                step.stopped = error
            step.ads = None  # not known: an ad may follow the text
    elif not isinstance(ads, _Ask):
        step.ads = ads
    groups: dict[str | None, list[InDoubt]] = {}
    for doubt in pending:
        groups.setdefault(doubt.dispatch.robot, []).append(doubt)
    for robot, group in groups.items():
        await step.agent(robot, group)
    return SettleResult(step.settled, step.stopped)


class _Step:
    """The state of one settle pass."""

    def __init__(  # noqa: PLR0917 - one call site
        self,
        session: Session,
        witness: Callable[[str | None], str | None],
        tolerance: float,
        lookback: float,
        limit: int,
        on_settled: OnSettled | None,
    ) -> None:
        self.session = session
        self.witness = witness
        self.tolerance = tolerance
        self.lookback = lookback
        self.limit = limit
        self.on_settled = on_settled
        self.ads: bool | None = None
        self.stopped: MioGramError | None = None
        self.settled: dict[str, Settlement] = {}
        self._batch: list[tuple[str, Settlement]] = []

    async def agent(self, robot: str | None, doubts: Sequence[InDoubt]) -> None:
        """Settle the numbers one agent sent, in order; empty answers wait for a vouching read."""
        empties: list[tuple[InDoubt, Judgement]] = []
        answering: list[str] = []  # numbers whose history on this agent had messages
        for doubt in doubts:
            if self.stopped is not None:
                self._unknown(doubt, f"not read: {_stop_reason(self.stopped)}")
                continue
            if _history_of(doubt.dispatch) is None:
                self._unknown(
                    doubt,
                    f"sent with {doubt.dispatch.func}, which leaves no history the service can "
                    "read (WhatsApp goes through another messenger)",
                )
                continue
            window = self._window(doubt.dispatch)
            if window is None:
                self._unknown(
                    doubt,
                    "the service's clock is not known (its replies carried no Date header), so "
                    "its messages cannot be dated against the send",
                )
                continue
            await self._drained(doubt.dispatch)
            messages, failure = await self._read(robot, doubt.number)
            if failure is not None:
                self._unknown(doubt, failure)
                for empty, _ in empties:
                    self._unknown(empty, _UNCONFIRMED)
                empties.clear()
            elif not messages:
                # A 307 (some services answer it, E39) says no more than the code's false (E51).
                empties.append((doubt, _empty(_CANNOT_LOOK_UP if messages is None else "")))
            else:
                answering.append(doubt.number)
                self._vouch(empties, doubt.number)
                self._judged(
                    doubt,
                    judge(
                        messages,
                        expected=doubt.expected,
                        window=window,
                        ads=self.ads,
                        limit=self.limit,
                        lookback=self.lookback,
                    ),
                )
            await self._flush()
        if empties:
            await self._control(robot, empties, answering)
        await self._flush()

    async def _control(
        self, robot: str | None, empties: list[tuple[InDoubt, Judgement]], answering: list[str]
    ) -> None:
        """One read of a number known to have messages on *robot*, to vouch for *empties*."""
        control = answering[-1] if answering else self.witness(robot)
        if control is None or self.stopped is not None:
            why = _UNCONFIRMED if self.stopped is None else _stop_reason(self.stopped)
            for empty, _ in empties:
                self._unknown(empty, why)
            return
        messages, _ = await self._read(robot, control)
        if messages:
            self._vouch(empties, control)
        else:
            for empty, _ in empties:
                self._unknown(empty, _UNCONFIRMED)

    def _window(self, dispatch: Dispatch) -> Window | None:
        if dispatch.sent_after is None or dispatch.done_by is None:
            return None
        if not self.session.clock.known:
            return None
        return Window(
            start=dispatch.sent_after - self.tolerance, end=dispatch.done_by + self.tolerance
        )

    async def _drained(self, dispatch: Dispatch) -> None:
        """Wait until the gateway can no longer be at work on *dispatch*'s chunk (E32)."""
        assert dispatch.done_by is not None
        now = self.session.clock.earliest(time.time())
        if now is not None and dispatch.done_by > now:
            await anyio.sleep(min(dispatch.done_by - now, _MAX_DRAIN_WAIT))

    async def _read(
        self, robot: str | None, number: str
    ) -> tuple[list[Message] | None, str | None]:
        """
        The history of *number* on *robot*: (messages, None); ``(None, None)`` for a 307 (the
        number cannot be looked up); ``([], reason)`` for a failed read, stopping the pass on an
        error that dooms every read.
        """
        session = self.session
        decode = actions.GET_HISTORY.decode
        assert decode is not None
        request = Request(
            action=actions.GET_HISTORY,
            decode=decode,
            elements={"phone": number, "misc": f"{self.limit},0"},  # limit first (E34)
            robot=robot,
            timeouts=session.timeout,
            gated=True,  # it re-adds a contact on the agent: one request at a time (E33)
        )
        try:
            return list(await session.send(request)), None
        except NumberNotFoundError:
            return None, None
        except MioGramError as error:
            if never_left(error) or stops_fan_out(error):
                self.stopped = error
                return [], f"not read: {_stop_reason(error)}"
            return [], f"the history could not be read ({describe(error)})"

    def _vouch(self, empties: list[tuple[InDoubt, Judgement]], number: str) -> None:
        """Settle *empties* as absent: the read of *number* on the same agent right after worked."""
        for doubt, judgement in empties:
            self._record(
                doubt,
                Settlement(
                    outcome=Outcome.ABSENT,
                    robot=doubt.dispatch.robot,
                    reason=(judgement.reason or "an empty history")
                    + f"; the agent's next read ({number}) returned messages",
                ),
            )
        empties.clear()

    def _judged(self, doubt: InDoubt, judgement: Judgement) -> None:
        robot = doubt.dispatch.robot
        if judgement.finding is Finding.FOUND and judgement.message is not None:
            found = judgement.message
            settlement = Settlement(
                outcome=Outcome.DELIVERED,
                robot=robot,
                reason=judgement.reason,
                message_id=found.id,
                message_date=found.date,
            )
        elif judgement.finding is Finding.ABSENT:
            settlement = Settlement(outcome=Outcome.ABSENT, robot=robot, reason=judgement.reason)
        else:
            settlement = Settlement(outcome=Outcome.UNKNOWN, robot=robot, reason=judgement.reason)
        self._record(doubt, settlement)

    def _unknown(self, doubt: InDoubt, reason: str) -> None:
        self._record(
            doubt, Settlement(outcome=Outcome.UNKNOWN, robot=doubt.dispatch.robot, reason=reason)
        )

    def _record(self, doubt: InDoubt, settlement: Settlement) -> None:
        self.settled[doubt.number] = settlement
        self._batch.append((doubt.number, settlement))

    async def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if batch and self.on_settled is not None:
            await self.on_settled(batch)


_CANNOT_LOOK_UP: Final = "the agent cannot look this number up now (307)"
_UNCONFIRMED: Final = (
    "an empty answer (no message, or the number could not be looked up: the service answers "
    "both alike, E46), and no read of this agent right after it showed its messenger answering"
)


def _empty(reason: str) -> Judgement:
    return Judgement(Finding.EMPTY, reason or "an empty history")


def _stop_reason(error: MioGramError) -> str:
    if never_left(error):
        return f"the service could not be reached ({describe(error)})"
    return f"{type(error).__name__}: {error}"
