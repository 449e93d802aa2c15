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

from .._client import MioGram
from .._errors import MassSendError, MioGramError
from .._fanout import MassProgress
from ..campaign import Campaign, CampaignStatus, NumberState
from ._context import Settings, error_document, translate_error
from ._exit import ExitCode
from ._progress import CampaignDisplay, summary_table

__all__ = [
    "CampaignRun",
    "prepare_campaign",
    "report_interrupted",
    "report_run",
    "run_campaign",
    "status_counts",
]

#: States that mean a number still needs attention when a run ends.
_OPEN_STATES = (NumberState.PENDING, NumberState.SENDING, NumberState.FAILED, NumberState.UNKNOWN)


@attrs.define
class CampaignRun:
    """What happened in one run, for the summary and the exit code."""

    status: CampaignStatus
    sent: int = 0
    elapsed: float = 0.0
    interrupted: bool = False
    stopped: MioGramError | None = None
    report_error: str | None = None

    @property
    def exit_code(self) -> ExitCode:
        """130 interrupted, 1 stopped by a service error, 3 numbers left open, else 0."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.stopped is not None:
            return ExitCode.SERVICE_ERROR
        if any(self.status.by_state.get(state, 0) for state in _OPEN_STATES):
            return ExitCode.PARTIAL
        return ExitCode.OK


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
    title: str = "sending",
    grace: float = 10.0,
) -> CampaignRun:
    """
    Run *campaign* with a live display on stderr; Ctrl-C stops it gracefully.

    Raises:
        CampaignError: the journal cannot be run (media changed, already running).
    """
    before = await anyio.to_thread.run_sync(campaign.status)
    to_send = before.pending
    if resend_unknown:
        to_send += before.by_state[NumberState.UNKNOWN] + before.by_state[NumberState.SENDING]
    run = CampaignRun(status=before)
    output = settings.output
    display = CampaignDisplay(
        output.err, title=title, enabled=not output.json_mode or output.err.is_terminal
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
            try:
                with run_scope:
                    summary = await campaign.run(
                        client,
                        concurrency=concurrency,
                        robots=robots,
                        on_progress=on_progress,
                        resend_unknown=resend_unknown,
                    )
                    run.sent = summary.sent
                    run.report_error = summary.report_error
            except MassSendError as exc:
                run.stopped = exc.cause or exc
            except Exception as exc:
                failure = exc
            finally:
                group.cancel_scope.cancel()
    if failure is not None:
        # Raised here rather than inside the group, which would wrap it in an ExceptionGroup.
        raise failure
    run.elapsed = time.monotonic() - started
    if run.sent == 0 and display.last is not None:
        # Interrupted or stopped: no summary came back, the last snapshot has the count.
        run.sent = display.last.done
    run.status = await anyio.to_thread.run_sync(campaign.status)
    return run


def report_run(settings: Settings, run: CampaignRun, *, resume: str | None, title: str) -> ExitCode:
    """Print the summary (table, or the JSON document) and return the exit code."""
    output = settings.output
    status = run.status
    code = run.exit_code
    if output.json_mode:
        document: dict[str, object] = {
            "ok": code == ExitCode.OK,
            "exit_code": int(code),
            "journal": status.path,
            "kind": str(status.kind),
            "total": status.total,
            "counts": {str(state): count for state, count in status.by_state.items()},
            "sent_this_run": run.sent,
            "elapsed_seconds": round(run.elapsed, 3),
            "complete": status.complete,
            "interrupted": run.interrupted,
            "stopped_by": error_document(run.stopped) if run.stopped is not None else None,
            "report_error": run.report_error,
            "resume": resume if code != ExitCode.OK else None,
        }
        output.emit(document)
        if code != ExitCode.OK and resume is not None:
            output.note(f"resume with:  {resume}")
        return code
    rate = run.sent / run.elapsed if run.elapsed > 0 else 0.0
    details = {
        "journal": status.path,
        "sent this run": f"{run.sent:,} in {run.elapsed:.1f} s ({rate:,.0f}/s)",
    }
    output.out.print(summary_table(status_counts(status), title=title, details=details))
    if run.stopped is not None:
        output.note(f"stopped: {translate_error(run.stopped).message}")
    if run.report_error:
        output.note(f"numbers left in doubt could not be checked: {run.report_error}")
    if run.interrupted:
        output.note("interrupted; the journal is consistent.")
    if code != ExitCode.OK and resume is not None:
        output.note(f"resume with:  {resume}")
    return code
