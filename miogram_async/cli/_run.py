"""
Running a campaign from the command line: live display, graceful Ctrl-C, summary and exit code.

Shared by ``campaign run``, ``campaign resume`` and ``demo``.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Sequence

import anyio
import anyio.abc
import attrs

from .._base.errors import APIConnectionError, MassSendError, MioGramError, SendGateError
from .._base.outcomes import Remedy, never_left, remedy
from .._client import MioGram
from .._mass.fanout import MassProgress
from ..campaign import Campaign, CampaignStatus, NumberState, RunSummary, SettleSummary
from ._context import Settings, error_document, translate_error
from ._exit import ExitCode
from ._next import Commands, NextStep, next_step
from ._progress import CampaignDisplay, summary_table, waiting_text

__all__ = [
    "CampaignRun",
    "prepare_campaign",
    "report_interrupted",
    "report_run",
    "report_unreachable",
    "run_campaign",
    "run_line",
    "settle_document",
    "status_counts",
]

#: States that mean a number still needs attention when a run ends.
_OPEN_STATES = (
    NumberState.PENDING,
    NumberState.SENDING,
    NumberState.FAILED,
    NumberState.UNKNOWN,
    NumberState.ABSENT,
)

#: Stops that the same journal cannot get past, whatever is resumed: what to do instead.
_UNFIXABLE_STOPS = {
    Remedy.SMALLER_FILE: "the file is larger than the account allows; start a new campaign (a "
    "new journal) with a smaller file",
    Remedy.SHORTER_MESSAGE: "the message stored in the journal is longer than the account "
    "allows; start a new campaign (a new journal) with a shorter message",
    Remedy.PERMISSION: "the account lacks the permission this action needs; ask MioGram to grant "
    "it, then resume",
}
#: Stops that a resume fixes once something outside the journal changes: what to change first.
_FIX_FIRST = {
    Remedy.CREDIT: "add credit to the account, then resume",
    Remedy.SECRET: "give the right secret, then resume",
    Remedy.ALLOWED_IP: "allow this machine's IP address on the account (APISetIP), then resume",
}

#: Outcome names of a run, in the order they are reported.
RUN_COUNTS = ("delivered", "undelivered", "unknown", "failed", "pending")


@attrs.define
class CampaignRun:
    """
    What happened in one run, for the summary and the exit code.

    ``counts`` are this run's numbers in the journal's terms: ``delivered``, ``undelivered``,
    ``unknown``, ``failed`` (refused by the service, recorded FAILED) and ``pending`` (their
    request never left, or was never started: a resume sends them). ``attempted`` is how many
    had a request tried.
    """

    status: CampaignStatus
    attempted: int = 0
    counts: dict[str, int] = attrs.field(factory=dict)
    elapsed: float = 0.0
    interrupted: bool = False
    stopped: MioGramError | None = None
    report_error: str | None = None
    settled: SettleSummary | None = None
    #: A settle-only run (``campaign settle``): its exit code also reports a settle the service
    #: stopped (no permission to read histories, unreachable).
    settle_only: bool = False

    @property
    def unreachable(self) -> bool:
        """Whether the service could not be reached: requests were tried and none left."""
        if isinstance(self.stopped, APIConnectionError):
            return never_left(self.stopped)
        reached = sum(self.counts.get(key, 0) for key in RUN_COUNTS if key != "pending")
        return self.stopped is None and self.attempted > 0 and reached == 0

    @property
    def exit_code(self) -> ExitCode:
        """
        130 interrupted, 1 stopped by a service error or unreachable (a settle-only run: also
        its settle stopped by one), 3 left open (pending, in doubt, failed, unknown, absent),
        else 0.
        """
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.stopped is not None or self.unreachable:
            return ExitCode.SERVICE_ERROR
        if self.settle_only and self.settled is not None and self.settled.stopped is not None:
            return ExitCode.SERVICE_ERROR
        if any(self.status.by_state.get(state, 0) for state in _OPEN_STATES):
            return ExitCode.PARTIAL
        return ExitCode.OK

    @property
    def resumable(self) -> bool:
        """Whether resuming the same journal can get past what stopped this run."""
        return remedy(self.stopped) not in _UNFIXABLE_STOPS


def status_counts(status: CampaignStatus) -> dict[str, int]:
    """Numbers per state name, in the journal's terms."""
    return {str(state): count for state, count in status.by_state.items() if count}


async def _watch_sigint(
    scope: anyio.CancelScope, run: CampaignRun, settings: Settings, grace: float
) -> None:
    """Turn Ctrl-C into a cancellation of the run's scope; chunks in flight get the grace period."""
    try:
        receiver = anyio.open_signal_receiver(signal.SIGINT)
    except NotImplementedError:  # pragma: no cover - Windows: KeyboardInterrupt stays the default
        return
    with receiver as signals:
        async for _ in signals:
            if run.interrupted:
                settings.output.note("still recording the chunks in flight; the journal stays safe")
                continue
            run.interrupted = True
            settings.output.note(
                f"stopping: no new chunk starts; waiting up to {grace:.0f} s for chunks in flight"
            )
            scope.cancel()


async def prepare_campaign(
    settings: Settings, opener: Callable[[], Campaign]
) -> tuple[Campaign, bool]:
    """
    Create or open a journal with *opener* in a worker thread, watching for Ctrl-C meanwhile.

    Writing a journal cannot be stopped half-way (it is built under a temporary name and moved into
    place when complete), so a Ctrl-C lets *opener* finish and is reported back as ``True``: the
    caller then sends nothing and reports the run as interrupted.
    """
    interrupted = False

    async def watch(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        nonlocal interrupted
        try:
            receiver = anyio.open_signal_receiver(signal.SIGINT)
        except NotImplementedError:  # pragma: no cover - Windows: KeyboardInterrupt stays
            task_status.started()
            return
        with receiver as signals:
            task_status.started()
            async for _ in signals:
                if not interrupted:
                    settings.output.note("stopping: finishing the journal; nothing will be sent")
                interrupted = True

    opened: Campaign | None = None
    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        await group.start(watch)
        try:
            opened = await anyio.to_thread.run_sync(opener)
        except Exception as exc:
            failure = exc
        finally:
            group.cancel_scope.cancel()
    if failure is not None:
        # Raised here rather than inside the group, which would wrap it in an ExceptionGroup.
        raise failure
    assert opened is not None
    return opened, interrupted


async def report_interrupted(
    settings: Settings, campaign: Campaign, *, resume: str, title: str
) -> ExitCode:
    """Close *campaign*, which was interrupted before anything was sent, and report it (130)."""
    async with campaign:
        status = await anyio.to_thread.run_sync(campaign.status)
    return report_run(
        settings, CampaignRun(status=status, interrupted=True), resume=resume, title=title
    )


async def run_campaign(
    settings: Settings,
    campaign: Campaign,
    client: MioGram,
    *,
    concurrency: int | None = None,
    robots: Sequence[str] | str | None = None,
    resend_unknown: bool = False,
    retry_failed: bool = False,
    resend_absent: bool = False,
    settle: bool = True,
    settle_only: bool = False,
    title: str = "sending",
    grace: float = 10.0,
) -> CampaignRun:
    """
    Run *campaign* with a live display on stderr; Ctrl-C stops it gracefully.

    With *settle* the run ends by settling unknown numbers from the agents' histories (the bar
    then counts those reads); *settle_only* does only that (``campaign settle``).

    Raises:
        CampaignError: the journal cannot be run (media changed, already running).
    """
    before = await anyio.to_thread.run_sync(campaign.status)
    by_state = before.by_state
    if settle_only:
        to_send = by_state[NumberState.UNKNOWN] + by_state[NumberState.SENDING]
    else:
        chosen = {
            NumberState.PENDING: True,
            NumberState.UNKNOWN: resend_unknown,
            NumberState.SENDING: resend_unknown,
            NumberState.FAILED: retry_failed,
            NumberState.ABSENT: resend_absent,
        }
        to_send = sum(by_state[state] for state, sent in chosen.items() if sent)
    run = CampaignRun(status=before, settle_only=settle_only)
    output = settings.output
    display = CampaignDisplay(
        output.err,
        title=title,
        enabled=not output.json_mode or output.err.is_terminal,
        note=_not_sent_note(before),
    )
    display.set_total(to_send)

    def on_progress(snapshot: MassProgress) -> None:
        if snapshot.total is None:
            left = max(to_send - snapshot.done, 0)
            eta = left / snapshot.rate if snapshot.rate > 0 else None
            snapshot = attrs.evolve(snapshot, total=to_send, eta=eta)
        display.update(snapshot)

    started = time.monotonic()
    run_scope = anyio.CancelScope()
    failure: Exception | None = None
    with display:
        async with anyio.create_task_group() as group:
            group.start_soon(_watch_sigint, run_scope, run, settings, grace)
            group.start_soon(_show_waits, campaign, display)
            try:
                with run_scope:
                    summary: RunSummary
                    if settle_only:
                        summary = await campaign.settle(client, on_settle=display.settle_bar)
                    else:
                        summary = await campaign.run(
                            client,
                            concurrency=concurrency,
                            robots=robots,
                            on_progress=on_progress,
                            resend_unknown=resend_unknown,
                            retry_failed=retry_failed,
                            resend_absent=resend_absent,
                            settle=settle,
                            on_settle=display.settling,
                        )
                    run.report_error = summary.report_error
                    run.settled = summary.settled
            except MassSendError as exc:
                run.stopped = exc.cause or exc
            except Exception as exc:
                failure = exc
            finally:
                group.cancel_scope.cancel()
        if failure is None:
            run.elapsed = time.monotonic() - started
            run.status = await anyio.to_thread.run_sync(campaign.status)
            _count_run(run, before, display.last, retry_failed=retry_failed)
            if not settle_only:
                # The bar's last line in the journal's terms, as the summary table has them.
                display.show_counts(run.counts)
    if failure is not None:
        # Raised here rather than inside the group, which would wrap it in an ExceptionGroup.
        raise failure
    return run


#: How often the display asks the run what it waits for.
_WAIT_TICK = 1.0


async def _show_waits(campaign: Campaign, display: CampaignDisplay) -> None:
    """Between two answers, show what the run waits for (the send gate, or the service)."""
    while True:
        await anyio.sleep(_WAIT_TICK)
        display.show_waiting(waiting_text(campaign.waiting, time.monotonic()))


def _not_sent_note(status: CampaignStatus) -> str:
    """Why the bar counts fewer numbers than the file had: invalid and repeated ones."""
    invalid = status.by_state.get(NumberState.INVALID, 0)
    duplicate = status.by_state.get(NumberState.DUPLICATE, 0)
    counts = (("invalid", invalid), ("duplicate", duplicate))
    shown = [f"{count:,} {name}" for name, count in counts if count]
    return f"(not sent: {', '.join(shown)})" if shown else ""


def _count_run(
    run: CampaignRun,
    before: CampaignStatus,
    last: MassProgress | None,
    *,
    retry_failed: bool,
) -> None:
    """This run's counts in the journal's terms, from the fan-out's last snapshot and journal."""
    outcomes = {str(outcome): count for outcome, count in last.by_outcome.items()} if last else {}
    failed_out = outcomes.get("failed", 0)
    # The fan-out says "failed" for a chunk that never left, too; the journal keeps its numbers
    # PENDING. What the journal did record FAILED in this run is what the service refused.
    failed_before = 0 if retry_failed else before.by_state.get(NumberState.FAILED, 0)
    recorded = run.status.by_state.get(NumberState.FAILED, 0) - failed_before
    failed = max(0, min(failed_out, recorded))
    counts = {
        "delivered": outcomes.get("delivered", 0),
        "undelivered": outcomes.get("undelivered", 0),
        "unknown": outcomes.get("unknown", 0),
        "failed": failed,
        "pending": failed_out - failed + outcomes.get("not_attempted", 0),
    }
    run.attempted = sum(
        outcomes.get(key, 0) for key in ("delivered", "undelivered", "unknown", "failed")
    )
    run.counts = counts


def run_line(run: CampaignRun) -> str:
    """This run in one line: what was attempted and what came of it; never "sent" for nothing."""
    if run.attempted == 0:
        return f"nothing was sent ({run.elapsed:.1f} s)"
    parts = [f"{run.counts.get(key, 0):,} {key}" for key in RUN_COUNTS if run.counts.get(key, 0)]
    rate = run.attempted / run.elapsed if run.elapsed > 0 else 0.0
    return (
        f"{run.attempted:,} attempted in {run.elapsed:.1f} s ({rate:,.0f}/s): "
        + ", ".join(parts)
        + (" (pending: never left, a resume sends them)" if run.counts.get("pending") else "")
    )


def _advice(run: CampaignRun, commands: Commands) -> tuple[list[str], NextStep | None]:
    """
    What to do after the run: how to fix what stopped it, then what the numbers left need and
    the one command that does it (`next_step`): never a resume that would send nothing.
    """
    needed = remedy(run.stopped)
    if needed is not None and needed in _UNFIXABLE_STOPS:
        return [f"resuming cannot fix this: {_UNFIXABLE_STOPS[needed]}"], None
    lines: list[str] = []
    if needed is not None and needed in _FIX_FIRST:
        lines.append(f"to continue: {_FIX_FIRST[needed]}")
    if isinstance(run.stopped, SendGateError):
        lines.append("nothing was lost: the numbers stay pending; resume once the send gate works")
    elif run.unreachable:
        lines.append("nothing was lost: the numbers stay pending; resume once the service answers")
    resume_needed = run.interrupted or run.unreachable or run.stopped is not None
    step = next_step(run.status, commands, settled=run.settled, resume_needed=resume_needed)
    return lines, step


def report_run(
    settings: Settings,
    run: CampaignRun,
    *,
    resume: str | None,
    title: str,
    commands: Commands | None = None,
) -> ExitCode:
    """
    Print the summary (table, or the JSON document) and return the exit code.

    *resume* is the command that continues the campaign; *commands* the others on offer (the
    settle, the explicit re-sends), from which the advice names the one that helps next.
    """
    output = settings.output
    status = run.status
    code = run.exit_code
    offered = commands if commands is not None else Commands(resume=resume)
    if offered.resume is None and resume is not None:
        offered = attrs.evolve(offered, resume=resume)
    advice, step = _advice(run, offered)
    advice += step.printed() if step is not None else []
    stop = None
    if run.stopped is not None:
        stop = translate_error(run.stopped, settings.url).message
    elif run.unreachable:
        stop = f"cannot reach {settings.url}: no request left the client"
    if output.json_mode:
        chosen = None if step is None else step.command
        document: dict[str, object] = {
            "ok": code == ExitCode.OK,
            "exit_code": int(code),
            "journal": status.path,
            "kind": str(status.kind),
            "total": status.total,
            "counts": {str(state): count for state, count in status.by_state.items()},
            "this_run": {
                "attempted": run.attempted,
                **{key: run.counts.get(key, 0) for key in RUN_COUNTS},
            },
            "elapsed_seconds": round(run.elapsed, 3),
            "complete": status.complete,
            "interrupted": run.interrupted,
            "stopped_by": error_document(run.stopped) if run.stopped is not None else None,
            "stop_reason": stop,
            "report_error": run.report_error,
            "settled": None if run.settled is None else settle_document(run.settled),
            "resume": chosen if chosen is not None and chosen == offered.resume else None,
            "next": chosen,
        }
        output.emit(document)
        if stop is not None:
            output.note(f"error: {stop}")
        for line in advice:
            output.note(line)
        return code
    details = {"journal": status.path, "this run": run_line(run)}
    output.out.print(summary_table(status_counts(status), title=title, details=details))
    if stop is not None:
        output.note(f"error: {stop}" if run.unreachable else f"stopped: {stop}")
    if run.report_error:
        output.note(f"numbers left in doubt could not be checked: {run.report_error}")
    if run.interrupted:
        output.note("interrupted; the journal is consistent.")
    for line in advice:
        output.note(line)
    return code


def settle_document(summary: SettleSummary) -> dict[str, object]:
    """A settle's summary for ``--json``."""
    return {
        "looked_at": summary.looked_at,
        "delivered": summary.delivered,
        "absent": summary.absent,
        "unknown": summary.unknown,
        "reasons": dict(summary.reasons),
        "stopped": summary.stopped,
    }


def report_unreachable(
    settings: Settings, status: CampaignStatus, error: APIConnectionError, *, resume: str
) -> ExitCode:
    """Report a campaign that did not start because the service could not be reached (exit 1)."""
    run = CampaignRun(status=status, stopped=error)
    return report_run(settings, run, resume=resume, title="Campaign summary: nothing sent")
