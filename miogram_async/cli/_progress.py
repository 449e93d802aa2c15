"""
The live display of a running campaign and the summary table printed when it ends.

The bar is drawn on stderr; rich draws it live on a terminal and prints only its last state
otherwise (a log file, a pipe, a CI job), so the transcript stays readable.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Mapping
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from .._mass.fanout import MassProgress, Outcome
from ..campaign import Waiting

__all__ = ["CampaignDisplay", "summary_table", "waiting_text"]

#: A wait shorter than this is not shown (an ordinary request takes a few seconds).
_SHOW_WAIT_AFTER = 3.0


def waiting_text(waiting: Waiting | None, now: float) -> str:
    """
    What the run waits for, in words (``""`` when it does not, or not for long): the send gate's
    queue and drain, or the service's answer and the front's wait.
    """
    if waiting is None or now - waiting.since < _SHOW_WAIT_AFTER:
        return ""
    seconds = now - waiting.since
    numbers = f"{waiting.numbers:,} number{'s' if waiting.numbers != 1 else ''}"
    if waiting.reason == "gate":
        return (
            f"waiting {seconds:.0f} s at the send gate ({numbers}): one request at a time, and "
            "after an unknown outcome it stays closed while the gateway may still be at work"
        )
    return (
        f"waiting {seconds:.0f} s for the service's answer ({numbers}): its front waits up to "
        "60 s for the gateway, then answers 999 while the gateway goes on"
    )


#: How each outcome is shown, in display order.
OUTCOME_STYLES: Mapping[str, tuple[str, str]] = {
    "delivered": ("delivered", "green"),
    "undelivered": ("undelivered", "yellow"),
    "failed": ("failed", "red"),
    "unknown": ("unknown", "magenta"),
    "not_attempted": ("not attempted", "cyan"),
    "pending": ("pending", "cyan"),
    "sending": ("in doubt", "magenta"),
    "absent": ("absent", "yellow"),
    "invalid": ("invalid", "dim"),
    "duplicate": ("duplicate", "dim"),
}


def _clock(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "-:--:--"
    return str(datetime.timedelta(seconds=round(seconds)))


def _counts_markup(by_outcome: Mapping[Outcome, int] | Mapping[str, int]) -> str:
    parts = []
    for key, (label, style) in OUTCOME_STYLES.items():
        count = next((n for outcome, n in by_outcome.items() if str(outcome) == key), 0)
        if count:
            parts.append(f"[{style}]{label} {count:,}[/]")
    return "  ".join(parts)


class _Progress(Progress):
    """A progress bar with one more line under it: the running counts per outcome."""

    counts: Text = Text("")

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        yield self.counts


def _pace_markup(snapshot: MassProgress) -> str:
    """The gateway's measured pace and the latest chunk's size (E49), once known."""
    if snapshot.pace is None or snapshot.chunk_size is None:
        return ""
    return f"[dim]{snapshot.pace:.3g} s/number, chunks of {snapshot.chunk_size}[/]"


class CampaignDisplay:
    """
    A progress bar with rate, ETA and running counts per outcome, fed with `MassProgress` snapshots;
    the gateway's measured pace and the chunk size chosen from it follow the counts.

    Use as a context manager around the run; `update` is the ``on_progress`` callback.
    """

    def __init__(
        self, console: Console, *, title: str, enabled: bool = True, note: str = ""
    ) -> None:
        self._progress = _Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("ETA {task.fields[eta]}"),
            console=console,
            disable=not enabled,
            refresh_per_second=8,
        )
        self._task: TaskID = self._progress.add_task(
            title, total=None, rate="    -/s", eta=_clock(None)
        )
        self.last: MassProgress | None = None
        # Said after the counts: why the bar's total is smaller than the campaign's.
        self._note = f"[dim]{escape(note)}[/]" if note else ""
        self._counts = ""
        self._waiting = ""
        self._pace = ""
        self._progress.counts = Text.from_markup(self._note)

    def __enter__(self) -> CampaignDisplay:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def set_total(self, total: int | None) -> None:
        """Tell the bar how many numbers there are, once known."""
        self._progress.update(self._task, total=total)

    def update(self, snapshot: MassProgress) -> None:
        """Show *snapshot*; the ``on_progress`` callback of the run."""
        self.last = snapshot
        self._progress.update(
            self._task,
            completed=snapshot.done,
            total=snapshot.total,
            rate=f"{snapshot.rate:7.1f}/s",
            eta=_clock(0.0 if snapshot.total == snapshot.done else snapshot.eta),
        )
        self._pace = _pace_markup(snapshot) or self._pace
        self._show(_counts_markup(snapshot.by_outcome))

    def _show(self, counts: str) -> None:
        self._counts = counts
        lines = ["  ".join(part for part in (counts, self._pace, self._note) if part)]
        if self._waiting:
            lines.append(f"[yellow]{escape(self._waiting)}[/]")
        self._progress.counts = Text.from_markup("\n".join(line for line in lines if line))

    def show_waiting(self, text: str) -> None:
        """Show what the run waits for under the counts (``""``: nothing), between answers."""
        if text != self._waiting:
            self._waiting = text
            self._show(self._counts)

    def settling(self, done: int, total: int) -> None:
        """Show the settle from the agents' histories: *done* of *total* numbers looked up."""
        self._pace = ""  # the sending is over: the pace and chunk size no longer apply
        self._show(f"[magenta]reading the agents' histories: {done:,} of {total:,}[/]")

    def settle_bar(self, done: int, total: int) -> None:
        """`settling`, the bar counting the numbers looked up (a run that only settles)."""
        self._progress.update(self._task, completed=done, total=total)
        self.settling(done, total)

    def show_counts(self, counts: Mapping[str, int]) -> None:
        """Replace the counts line with the run's final counts (named as the summary names them)."""
        self._waiting = ""
        self._show(_counts_markup(counts))
        self._progress.refresh()


def summary_table(
    counts: Mapping[str, int], *, title: str, details: Mapping[str, str] | None = None
) -> RenderableType:
    """
    Build the end-of-run table: one row per outcome or state that occurred, then a total.

    Args:
        counts: numbers per outcome/state name (``"delivered"``, ``"pending"``...).
        title: the table's title.
        details: extra rows shown under the counts (journal path, elapsed time...).
    """
    table = Table(title=title, title_justify="left")
    table.add_column("Outcome")
    table.add_column("Numbers", justify="right")
    table.add_column("Share", justify="right")
    total = sum(counts.values())
    order = list(OUTCOME_STYLES) + [key for key in counts if key not in OUTCOME_STYLES]
    for key in order:
        count = counts.get(key, 0)
        if not count:
            continue
        label, style = OUTCOME_STYLES.get(key, (key, ""))
        share = f"{count / total:.1%}" if total else "-"
        table.add_row(f"[{style}]{label}[/]" if style else label, f"{count:,}", share)
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{total:,}[/]", "")
    if not details:
        return table
    lines = Text("\n").join(
        Text.assemble((f"{name}: ", "bold"), value) for name, value in details.items()
    )
    return Group(table, lines)
