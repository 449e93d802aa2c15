"""
What a campaign's numbers still need, in words, and the one command that does it next.

A run, a settle and ``campaign status`` end with the same advice: how many numbers are unknown
and why, how many are absent and what re-sending them risks, and then one command that does
something (never a resume that would send nothing). Unknown numbers are settled from the agents'
histories first (``campaign settle``); what a settle left unknown, or found absent, is sent again
only on the user's explicit word.
"""

from __future__ import annotations

import shlex

import anyio.to_thread
import attrs

from ..campaign import Campaign, CampaignStatus, NumberState, SettleSummary
from ._context import Settings
from ._exit import ExitCode

__all__ = [
    "Commands",
    "NextStep",
    "commands_for",
    "next_step",
    "report_idle_resume",
    "resume_command",
]

#: What re-sending absent numbers risks, in the words the CLI prints.
ABSENT_RISK = (
    "their agent's history, read after the gateway finished, held no message since the send; "
    "a read that answered wrongly (the service answers a number its agent could not look up "
    "like an empty history) would make that number get the message twice"
)
UNKNOWN_RISK = "they may have been delivered already: some may get the message twice"


@attrs.frozen(kw_only=True)
class Commands:
    """The command lines that continue one campaign (``None``: not offered here)."""

    resume: str | None = None
    settle: str | None = None
    resend_absent: str | None = None
    resend_unknown: str | None = None
    retry_failed: str | None = None


@attrs.frozen(kw_only=True)
class NextStep:
    """
    What to tell the user after a run, a settle or a status.

    Attributes:
        lines: what is left and why, one line each.
        command: the one command to run next, or ``None`` (nothing helps, or nothing is left).
        label: how the command is introduced (``resume with``, ``settle them with``...).
        risk: what running it risks, or ``""``.
    """

    lines: tuple[str, ...] = ()
    command: str | None = None
    label: str = ""
    risk: str = ""

    def printed(self) -> list[str]:
        """The advice as the CLI prints it: the lines, then the command and its risk."""
        out = list(self.lines)
        if self.command is not None:
            out.append(f"{self.label}:  {self.command}")
            if self.risk:
                out.append(f"  (risk: {self.risk})")
        return out


def _covered(status: CampaignStatus) -> bool:
    """Whether the latest settle already took up every number unknown now (and was not cut)."""
    settle = status.settle
    unknown = status.by_state[NumberState.UNKNOWN]
    return settle is not None and settle.stopped is None and settle.unknown >= unknown


def explain(status: CampaignStatus, settled: SettleSummary | None = None) -> list[str]:
    """Lines saying how many numbers are unknown and absent, and why."""
    by_state = status.by_state
    lines: list[str] = []
    if settled is not None:
        lines.append(
            f"settled from the agents' histories: {settled.looked_at:,} looked up, "
            f"{settled.delivered:,} delivered, {settled.absent:,} absent, "
            f"{settled.unknown:,} still unknown"
        )
        if settled.stopped:
            lines.append(f"the settle stopped early: {settled.stopped}")
    unknown = by_state[NumberState.UNKNOWN]
    if unknown:
        lines.append(
            f"{unknown:,} unknown: their request may have reached the service, but no answer "
            "said what happened to them (a 999 after its 60 s wait, a lost or unreadable reply); "
            "they are never sent again by themselves"
        )
        last = status.settle
        if last is not None and last.reasons and _covered(status):
            for reason, count in list(last.reasons.items())[:3]:
                lines.append(f"  {count:,}: {reason}")
        elif last is not None and last.stopped and settled is None:
            lines.append(f"the latest settle stopped early: {last.stopped}")
    absent = by_state[NumberState.ABSENT]
    if absent:
        lines.append(
            f"{absent:,} absent: the history of the agent that sent them holds no message since "
            "the send; not delivered, as far as the service shows"
        )
    in_doubt = by_state[NumberState.SENDING]
    if in_doubt:
        lines.append(
            f"{in_doubt:,} in doubt: a run stopped while their request was in flight; the next "
            "run or settle looks them up before anything is sent"
        )
    return lines


def next_step(
    status: CampaignStatus,
    commands: Commands,
    *,
    settled: SettleSummary | None = None,
    resume_needed: bool = False,
) -> NextStep:
    """
    The advice for *status*: the lines of `explain`, and the one command that does something.

    Args:
        status: the campaign as it stands.
        commands: the command lines on offer.
        settled: what a settle just did (printed first).
        resume_needed: a plain resume is what helps (a stop it gets past, an interruption).
    """
    lines = tuple(explain(status, settled))
    by_state = status.by_state
    resumable = resume_needed or by_state[NumberState.PENDING] or by_state[NumberState.SENDING]
    if resumable and commands.resume is not None:
        return NextStep(lines=lines, command=commands.resume, label="resume with")
    unknown = by_state[NumberState.UNKNOWN]
    if unknown and not _covered(status) and commands.settle is not None:
        return NextStep(
            lines=lines,
            command=commands.settle,
            label="settle them from the agents' histories (sends nothing)",
        )
    if by_state[NumberState.ABSENT] and commands.resend_absent is not None:
        return NextStep(
            lines=lines,
            command=commands.resend_absent,
            label=f"send the {by_state[NumberState.ABSENT]:,} absent numbers again",
            risk=ABSENT_RISK,
        )
    if unknown and commands.resend_unknown is not None:
        return NextStep(
            lines=lines,
            command=commands.resend_unknown,
            label=f"send the {unknown:,} unknown numbers again anyway",
            risk=UNKNOWN_RISK,
        )
    if by_state[NumberState.FAILED] and commands.retry_failed is not None:
        return NextStep(
            lines=(*lines, f"{by_state[NumberState.FAILED]:,} failed: the service refused them"),
            command=commands.retry_failed,
            label="once the cause is fixed, send them again",
        )
    return NextStep(lines=lines)


def resume_command(
    settings: Settings, journal: str, options: list[str], *, command: str = "resume"
) -> str:
    """The exact command line that continues the campaign in *journal* (or *command*s it)."""
    words = ["miogram"]
    if settings.base_url_from_option and settings.base_url:
        words += ["--base-url", settings.base_url]
    if settings.secret_file is not None:
        words += ["--secret-file", str(settings.secret_file)]
    words += ["campaign", command, journal, *options]
    return shlex.join(words)


def commands_for(
    settings: Settings, journal: str, options: list[str], *, resume: str | None = None
) -> Commands:
    """
    The commands that continue the campaign in *journal*, with the connection *options* of this
    one (*resume*: the plain resume, when it carries more than those).
    """
    return Commands(
        resume=resume or resume_command(settings, journal, options),
        settle=resume_command(settings, journal, [], command="settle"),
        resend_absent=resume_command(settings, journal, [*options, "--resend-absent"]),
        resend_unknown=resume_command(settings, journal, [*options, "--resend-unknown"]),
        retry_failed=resume_command(settings, journal, [*options, "--retry-failed"]),
    )


async def report_idle_resume(
    settings: Settings,
    opened: Campaign,
    commands: Commands,
    *,
    chosen: tuple[bool, bool, bool],
    settle: bool,
) -> ExitCode | None:
    """
    Report a resume that would neither send nor settle anything, without running it: a finished
    campaign says it is complete (exit 0); one whose numbers need something else names it (3).
    ``None``: the resume has work to do.
    """
    status = await anyio.to_thread.run_sync(opened.status)
    by_state = status.by_state
    resend_unknown, retry_failed, resend_absent = chosen
    to_send = by_state[NumberState.PENDING] + by_state[NumberState.SENDING]
    to_send += by_state[NumberState.UNKNOWN] if resend_unknown else 0
    to_send += by_state[NumberState.FAILED] if retry_failed else 0
    to_send += by_state[NumberState.ABSENT] if resend_absent else 0
    to_settle = by_state[NumberState.UNKNOWN] if settle else 0
    if to_send or to_settle:
        return None
    step = next_step(status, commands)
    open_states = (NumberState.UNKNOWN, NumberState.ABSENT, NumberState.FAILED)
    left = sum(by_state[state] for state in open_states)
    out = settings.output
    if out.json_mode:
        out.emit(
            {
                "ok": left == 0,
                "exit_code": int(ExitCode.PARTIAL if left else ExitCode.OK),
                "journal": status.path,
                "complete": left == 0,
                "counts": {str(state): count for state, count in by_state.items()},
                "next": step.command,
            }
        )
    if left == 0:
        out.note(
            f"the campaign is complete: every number has its answer; nothing to send "
            f"({status.path})"
        )
        return ExitCode.OK
    out.note("nothing to send with these options:")
    for line in step.printed():
        out.note(line)
    return ExitCode.PARTIAL
