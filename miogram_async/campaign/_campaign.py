"""
`Campaign`: a Mass send recorded in a journal, so that it survives crashes and resumes exactly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self, TextIO

import anyio
import anyio.to_thread
import attrs

from .._base.checks import env
from .._base.errors import MassSendError
from .._base.evidence import Expected
from .._base.scrub import contains_secret
from .._gates.base import SendGate
from .._mass.options import DEFAULT_CHUNK_SIZE, ProgressCallback
from .._runner import gateway_pace, holds_the_secret, through_gate
from . import _model
from ._export import ExportFormat, write_export
from ._gate import run_gate
from ._history import expected_for_kind, settle_from_history
from ._hooks import JournalHooks
from ._model import (
    CampaignError,
    CampaignKind,
    CampaignStatus,
    MediaRef,
    NumberState,
    RunSummary,
    SettleSummary,
)
from ._pace import PaceKeeper
from ._passes import RunWatch, SendPlan, Waiting, send_passes
from ._rows import campaign_inputs
from ._settings import new_settings, number_readers, read_media
from ._settle import keep_anchor, settle_from_report
from ._sheet import NumbersFile
from .storage import SETTLE_KEY, Storage, create_storage, open_storage

if TYPE_CHECKING:
    from .._client import MioGram

__all__ = ["Campaign"]

_SECRET_IN_MESSAGE = (
    "the campaign's message (or a text its rows share) holds the account's secret: it would be "
    "sent to its numbers (and kept in the journal). Nothing was sent; write the message without it"
)


@attrs.frozen(kw_only=True)
class _RunPlan:
    """What one run does: the states it sends (none: it only settles), and how."""

    states: Sequence[NumberState]
    concurrency: int | None = None
    robots: Sequence[str] | str | None = None
    on_progress: ProgressCallback | None = None
    settle: bool = True
    on_settle: Callable[[int, int], object] | None = None


class Campaign:
    """
    A durable Mass send: every number, chunk and outcome is journalled in one SQLite file, or in
    a PostgreSQL database where several workers run it together (a ``postgresql://`` URL).

    Make one with `Campaign.create`, reopen it with `Campaign.open`, send with `run` (again after
    a crash, Ctrl-C or an error: it continues where it stopped and never sends a number twice), and
    read it with `status` and `export`. The journal holds the numbers, the message text or the media
    file's path and digest, and the settings; never a secret nor the service's address.

    `create`, `open`, `status`, `export` and `close` do blocking file I/O: in async code run them in
    a worker thread (``anyio.to_thread.run_sync``) when the journal is large.
    """

    def __init__(self, journal: Storage) -> None:
        """Wrap an open journal (use `create` or `open`)."""
        self._journal = journal
        meta = journal.meta
        self.kind: CampaignKind = meta.kind
        self.chunk_size: int = meta.chunk_size
        self.robots: Sequence[str] | str | None = (
            list(meta.robots) if isinstance(meta.robots, tuple) else meta.robots
        )
        self.message: str | None = meta.message
        self.media: MediaRef | None = meta.media
        #: A message per row: the template the texts were made from, or ``None``.
        self.template: str | None = meta.template
        #: A message per row: the column the texts were taken from, or ``None``.
        self.message_column: str | None = meta.message_column
        #: The numbers file's other columns, kept beside each number (exported with it).
        self.columns: tuple[str, ...] = meta.columns or ()
        self._running = False
        self._watch: RunWatch | None = None

    @property
    def path(self) -> Path:
        """
        The journal file.

        Raises:
            CampaignError: the campaign is kept in PostgreSQL (see `location`).
        """
        file = self._journal.file
        if file is None:
            raise CampaignError(
                f"campaign {self.location} is kept in PostgreSQL: it has no file (see location)"
            )
        return file

    @property
    def location(self) -> str:
        """The journal file's path, or the PostgreSQL URL (without its password)."""
        return self._journal.location

    def __repr__(self) -> str:
        return f"<Campaign {self.kind.value} {self.location!r}>"

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        numbers: Iterable[str] | NumbersFile,
        *,
        kind: CampaignKind | str = CampaignKind.MESSAGE,
        message: str | None = None,
        message_column: str | int | None = None,
        media: str | os.PathLike[str] | None = None,
        file_format: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        robots: Sequence[str] | str | None = None,
        default_region: str | None = "IR",
        overwrite: bool = False,
        message_limit: int | None = None,
        keep_columns: bool = True,
        secret: str | None = None,
    ) -> Campaign:
        """
        Write a new campaign journal at *path* and open it.

        Every item of *numbers* is normalised (`normalize_phone`) and recorded: a malformed one
        as ``INVALID`` with the reason, a repeat as ``DUPLICATE``; blank items are skipped.
        *numbers* is streamed, so any size works. From a `NumbersFile`, every data row is recorded:
        one whose phone cell is empty as ``INVALID``, naming its row; the row's other cells are
        kept beside its number (exported with it), and the message may differ per row.

        A message per row (a `NumbersFile` only): *message* is a template whose ``{column}``
        placeholders are filled from each row (a header name as written, spaces and Persian
        letters included, or ``{column 2}`` in a file without a header; ``{{`` and ``}}`` are
        literal braces), or *message_column* names the column holding each row's text. Every
        row's text is made and checked (not empty, at most *message_limit* bytes, without the
        account's secret) while the campaign is created: one that fails raises, naming its row,
        and no campaign is left.
        Numbers that share a text are sent as Mass requests of it; the others one by one
        (``SendMessage``), a request each: see docs/campaigns.md for the throughput.

        Args:
            path: the journal file to create, or ``postgresql://.../DB?campaign=NAME`` to keep
                the campaign in PostgreSQL (needs the ``postgres`` extra).
            numbers: the recipients, or a `NumbersFile` (read through; the caller closes it).
            kind: ``"message"``, ``"whatsapp"`` (need *message* or *message_column*),
                ``"photo"``, ``"video"`` or ``"file"`` (need *media*).
            message: the text to send; from a `NumbersFile`, a template (see above).
            message_column: from a `NumbersFile`, the column (a header name or a position from
                1) whose cell is each row's text, instead of *message*.
            media: the file to send; the journal keeps its path, size and SHA-256 (checked before
                every run), never its content.
            file_format: the extension sent with the media (default: from the file name).
            chunk_size: numbers per Mass request, at most 100; the default 40 finishes inside the
                front's 60 s wait (docs/service.md E32, E48).
            robots: agent(s) to spread chunks over, or ``"all"``; ``None`` uses the client's
                agent, else rotates over all the account's agents.
            default_region: region for national numbers: ``"IR"`` (the default, no extra
                needed), another region (the ``phone`` extra), or ``None`` for international
                forms only.
            overwrite: replace an existing file at *path*.
            message_limit: the account's text limit in UTF-8 bytes (`Limits.message`, from
                `api_get_limits`): a message (a row's) longer than this is refused here.
            keep_columns: from a `NumbersFile`, keep each row's other cells (for exports).
            secret: the account's secret, when it is not ``MIOGRAM_SECRET`` (a client given it
                another way): a message, or a row's text, that holds it is refused, since it
                would be sent to the recipients and kept in the journal. It is never kept.

        Raises:
            CampaignError: *path* exists and *overwrite* is false, or *message* holds the
                account's secret (*secret*, else ``MIOGRAM_SECRET``): it would be sent to every
                number; nothing is recorded.
            ValidationError: the message, media, kind or chunk size is not usable; a template
                names no column of the file; a row's text is empty, too long or holds the
                account's secret (it names the row; no campaign is left).
            TypeError: *numbers* is a single string.
        """
        if isinstance(numbers, str):
            raise TypeError(
                "expected an iterable of phone numbers, got a single string (read a file of "
                "numbers with NumbersFile(path))"
            )
        if secret is None:
            secret = env("MIOGRAM_SECRET")  # what a client reads by default
        if message is not None and secret is not None and contains_secret(message, secret):
            raise CampaignError(_SECRET_IN_MESSAGE)
        inputs, rows = campaign_inputs(
            numbers,
            message=message,
            message_column=message_column,
            keep_columns=keep_columns,
            message_limit=message_limit,
            secret=secret,
        )
        meta = new_settings(
            kind=kind,
            message=rows.message if rows is not None else message,
            media=media,
            file_format=file_format,
            chunk_size=chunk_size,
            robots=robots,
            default_region=default_region,
            template=rows.template if rows is not None else None,
            message_column=rows.message_column if rows is not None else None,
            columns=rows.columns if rows is not None else None,
            message_limit=message_limit,
        )
        normalize, as_is = number_readers(default_region)
        journal = create_storage(
            path, meta=meta, inputs=inputs, normalize=normalize, overwrite=overwrite, as_is=as_is
        )
        return cls(journal)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, read_only: bool = False) -> Campaign:
        """
        Open an existing campaign journal.

        Args:
            path: the journal file, or the campaign's ``postgresql://`` URL (any number of
                processes may open one to run it together).
            read_only: only read it (`status`, `export`): no lock is taken and nothing waits, so
                this works while another process runs the campaign, and answers at once with the
                last committed state. Such a campaign cannot `run`.

        Raises:
            CampaignError: missing, not a journal (the file is left untouched), corrupt, of an
                unknown schema version, or copied without its ``-wal`` file after a crash.
            CampaignInUseError: (not *read_only*, a file) another process or open holds it.
            CampaignStorageError: the disk is full, the file or its directory is read-only, or
                the database is unreachable or refuses the user.
        """
        journal = open_storage(path, read_only=read_only)
        try:
            return cls(journal)
        except BaseException:
            journal.close()
            raise

    @property
    def read_only(self) -> bool:
        """Whether the journal was opened read-only."""
        return self._journal.read_only

    def status(self) -> CampaignStatus:
        """
        Count the numbers by state, the chunks and the runs, and the latest run's rate.

        Opened read-only while another process runs the campaign, ``last_run`` is ``"running"``
        and the chunks in flight there count as in doubt (``SENDING``).
        """
        by_state = self._journal.counts()
        chunks, chunks_done, runs = self._journal.chunk_counts()
        in_flight = 0 if self._running else chunks - chunks_done
        rate, _ = self._journal.latest_run()
        if self._running:
            last_run: str | None = "running"
        else:
            last_run = self._journal.last_run()
            if last_run == "interrupted" and self.read_only and self._journal.held_by_a_run():
                last_run = "running"
        return CampaignStatus(
            path=self.location,
            kind=self.kind,
            total=sum(by_state.values()),
            by_state=by_state,
            chunks=chunks,
            chunks_done=chunks_done,
            chunks_in_doubt=in_flight,
            in_doubt=0 if self._running else by_state[NumberState.SENDING],
            runs=runs,
            last_run=last_run,
            rate=rate,
            settle=SettleSummary.from_json(self._journal.note(SETTLE_KEY)),
        )

    @property
    def per_row(self) -> bool:
        """Whether the numbers may have texts of their own (a message per row)."""
        return self._journal.meta.per_row

    @property
    def waiting(self) -> Waiting | None:
        """
        What a run of this campaign in this process waits for right now: a request queued at the
        send gate, or one at the service waiting for its answer (``None`` between requests, or
        when no run is going on). For a live display; it changes without a progress callback.
        """
        return None if self._watch is None else self._watch.waiting

    def texts(self, numbers: Sequence[str]) -> dict[str, str]:
        """
        The text each of *numbers* (normalised, ``+98...``) gets: its own, or the campaign's
        message; numbers the campaign does not hold are left out (so are all of a media
        campaign's). Blocking: from async code, call it in a worker thread.
        """
        return self._journal.texts(numbers)

    def export(
        self,
        out: str | os.PathLike[str] | TextIO,
        fmt: ExportFormat = "csv",
        *,
        bom: bool | None = None,
    ) -> int:
        """
        Write every input item with its outcome to *out* (a path, or an open text file).

        Columns: ``seq`` (input position), ``input`` (as given), ``number`` (normalised), ``state``,
        ``error_code``, ``error`` (the reason for invalid numbers), ``robot``; then the numbers
        file's other columns as the file named them (`columns`; one named like an outcome column
        gets `` (file)`` after its name), and for a message per row ``message``, the text each
        number gets. Every cell goes through one writer (`_export.cell`).

        Args:
            out: where to write: a path, or for ``csv`` and ``json`` an open text file (left
                open); an ``xlsx`` workbook (the ``xlsx`` extra) needs a path.
            fmt: ``"csv"``, ``"json"`` or ``"xlsx"``.
            bom: start a CSV file with a UTF-8 byte-order mark, so that Excel reads it as
                UTF-8 (Persian text as it is); ``None``: a path gets one, an open file does not.

        Returns:
            The number of rows written.

        Raises:
            CampaignError: *out* is the journal itself (or one of its WAL files).
            ValueError: an unknown format, or ``xlsx`` to an open text file.
            ImportError: ``xlsx`` without the ``xlsx`` extra (the message says how to add it).
        """
        if isinstance(out, str | os.PathLike) and self._journal.file is not None:
            journal = Path(self._journal.file).resolve()
            target = Path(out).resolve()
            own_files = {journal.with_name(journal.name + end) for end in ("", "-wal", "-shm")}
            if target in own_files:
                raise CampaignError(f"refusing to export over the journal {str(journal)!r}")
        return write_export(
            self._journal.rows(),
            self._journal.extras(),
            out,
            fmt,
            columns=self.columns,
            texts=self.per_row,
            message=self.message,
            bom=bom,
        )

    def close(self) -> None:
        """Close the journal."""
        self._journal.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.close)

    async def run(
        self,
        client: MioGram,
        *,
        concurrency: int | None = None,
        robots: Sequence[str] | str | None = None,
        on_progress: ProgressCallback | None = None,
        resend_unknown: bool = False,
        retry_failed: bool = False,
        resend_absent: bool = False,
        settle: bool = True,
        on_settle: Callable[[int, int], object] | None = None,
    ) -> RunSummary:
        """
        Send every number still pending through *client*, journalling each chunk.

        Before sending, numbers left in doubt by an earlier run (its process died with a request in
        flight) and ``UNKNOWN`` ones are looked up in the service's report (``APIGetReport``): those
        it lists delivered become ``DELIVERED``; the rest of an in-doubt chunk becomes ``UNKNOWN``.
        If the report cannot be read they stay in doubt, and none of them is sent.

        After sending, numbers still in doubt or ``UNKNOWN`` are settled from the histories of
        the agents that sent them (`settle`), unless *settle* is false.

        Cancelling the run (Ctrl-C) lets in-flight chunks finish within the fan-out's grace period;
        their outcomes are journalled and the rest stays pending for the next run.

        Args:
            client: the client to send with.
            concurrency: requests at once (default: the client's).
            robots: agents to spread chunks over, or ``"all"`` (default: the campaign's setting).
            on_progress: called with a `MassProgress` after each chunk.
            resend_unknown: also send ``UNKNOWN`` and in-doubt numbers again (they may be
                delivered twice).
            resend_absent: also send ``ABSENT`` numbers again: their agent's history, read after
                the gateway drained, showed no message since the send. The risk left is a read
                that answered wrongly (an empty answer is counted only when the agent's next read
                worked, but the service answers an empty history and a number it could not look
                up alike): such a number gets the message twice.
            settle: settle in-doubt and ``UNKNOWN`` numbers from the agents' histories once the
                sending is done (reads one history per number, one request at a time).
            on_settle: told (numbers settled so far, numbers taken up) during that settle.
            retry_failed: also send ``FAILED`` numbers again. A number is ``FAILED`` only when the
                service refused its request before sending anything (`proves_refusal`: credit,
                permission, size...), so this never sends a number twice; a 999 or any reply that
                proves nothing leaves its numbers ``UNKNOWN`` (docs/service.md E32), which only
                *resend_unknown* sends again.

        A campaign kept in PostgreSQL is run by its workers through one send gate (E33): by
        default one in the campaign's own database, after the client's own gate; a client that
        names a cross-process gate (``send_gate=``, ``MIOGRAM_SEND_GATE``) runs it through that
        one. The campaign records the gate its runs pass; a worker with another is refused.

        Raises:
            CampaignError: the media file changed since the campaign was created, a run of this
                campaign is already going on, the message holds the client's secret, or the
                campaign's runs pass another send gate than this client would (nothing is sent).
            MassSendError: the fan-out stopped (e.g. out of credit): the chunks that finished are
                journalled and the rest stays pending for the next run.
        """
        if self._running:
            raise CampaignError(f"campaign {self.location!r} is already running")
        if self.read_only:
            raise CampaignError(f"campaign {self.location!r} was opened read-only: it cannot run")
        await self._refuse_the_secret(client)
        states = [NumberState.PENDING]
        if resend_unknown:
            states += [NumberState.UNKNOWN, NumberState.SENDING]
        if retry_failed:
            states.append(NumberState.FAILED)
        if resend_absent:
            states.append(NumberState.ABSENT)
        return await self._runs(
            client,
            _RunPlan(
                states=states,
                concurrency=concurrency,
                robots=robots,
                on_progress=on_progress,
                settle=settle,
                on_settle=on_settle,
            ),
        )

    async def settle(
        self, client: MioGram, *, on_settle: Callable[[int, int], object] | None = None
    ) -> RunSummary:
        """
        Settle in-doubt and ``UNKNOWN`` numbers from the evidence the service holds; send nothing.

        First the report (as `run` does before sending), then the histories of the agents that
        sent them (docs/service.md E50): one ``GetHistory`` per number, one request at a time
        through the send gate the campaign's runs pass (see `run`), once the gateway can no
        longer be at work on its chunk. A number whose agent's history holds an outgoing message
        with exactly the campaign's text (or a file of its kind), dated from its chunk's arrival
        to the end of the chunk's drain on the service's clock, becomes ``DELIVERED``, the
        message's id and date in its ``error`` column. A number whose agent's history, read
        successfully, holds no outgoing message since the send becomes ``ABSENT`` (a `run` sends
        it again only with ``resend_absent``). Anything else stays as it was: no permission to
        read (309), a failed read, two matching messages, a WhatsApp campaign (its sends leave no
        history to read).

        It is recorded as a run that sent nothing. The journal keeps a summary of it
        (`CampaignStatus.settle`).

        Raises:
            CampaignError: a run of this campaign is already going on, it was opened read-only,
                or the campaign's runs pass another send gate than this client would (nothing
                is read).
        """
        return await self._runs(client, _RunPlan(states=[], settle=True, on_settle=on_settle))

    async def _refuse_the_secret(self, client: MioGram) -> None:
        """
        Refuse a run whose message, or a text several of its rows share, holds *client*'s
        secret (a campaign created without knowing it): nothing is sent. A row's text of its own
        was checked as the campaign was created, and a request whose text holds the secret is
        refused before it leaves whatever the journal says (that number fails, nothing sent).
        """
        texts = [] if self.message is None else [self.message]
        if self.per_row:
            groups = await anyio.to_thread.run_sync(self._journal.text_groups)
            texts += [text for _, text in groups]
        if texts and await holds_the_secret(client, texts):
            raise CampaignError(f"campaign {self.location}: {_SECRET_IN_MESSAGE}")

    async def _runs(self, client: MioGram, plan: _RunPlan) -> RunSummary:
        """
        Run *plan* as one journalled run, guarded against a second run of this campaign, through
        the campaign's send gate (`run_gate`).
        """
        if self._running:
            raise CampaignError(f"campaign {self.location!r} is already running")
        if self.read_only:
            raise CampaignError(f"campaign {self.location!r} was opened read-only: it cannot run")
        self._running = True
        try:
            # Before anything is written: a worker with another gate than the others is refused.
            gate = await run_gate(self._journal, client, plan.concurrency)
            try:
                sent, reconciled, report_error, settled = await self._run(client, plan, gate.gate)
            finally:
                with anyio.CancelScope(shield=True):
                    await gate.aclose()
        finally:
            self._running = False
        status = await anyio.to_thread.run_sync(self.status)
        return RunSummary(
            sent=sent,
            reconciled=reconciled,
            report_error=report_error,
            status=status,
            settled=settled,
        )

    async def _run(
        self, client: MioGram, plan: _RunPlan, gate: SendGate | None
    ) -> tuple[int, dict[NumberState, int], str | None, SettleSummary | None]:
        # The media file is read (and checked unchanged) before the run begins; a settle sends
        # nothing and needs none.
        payload = await self._payload() if plan.states else None
        journal = self._journal
        run = await anyio.to_thread.run_sync(journal.begin_run)
        hooks = JournalHooks(journal, run)
        settled: SettleSummary | None = None
        try:
            reconciled, report_error = await self._reconcile(client)
            states = plan.states
            to_send = bool(states) and bool(
                await anyio.to_thread.run_sync(journal.page, states, 0, 1)
            )
            if to_send:
                await self._anchor(client, run)
                await self._send(
                    client,
                    payload,
                    hooks,
                    states,
                    concurrency=plan.concurrency,
                    robots=plan.robots,
                    on_progress=plan.on_progress,
                    gate=gate,
                )
            await hooks.flush()
            if journal.shared:
                # Other workers may have died while this one sent: settle their chunks now, so
                # that a finished campaign leaves nothing in doubt that a report can prove.
                more, later_error = await self._reconcile(client)
                for state, count in more.items():
                    reconciled[state] = reconciled.get(state, 0) + count
                report_error = report_error or later_error
            if plan.settle:
                settled = await settle_from_history(
                    # Its reads pass the send gate like a send (E49): the campaign's gate.
                    through_gate(client, gate),
                    journal,
                    kind=self.kind,
                    expected=self._expected_for,
                    on_settled=plan.on_settle,
                )
        except BaseException as exc:
            if isinstance(exc, MassSendError):
                outcome = f"stopped: {exc.cause!s}" if exc.cause else "stopped"
            elif isinstance(exc, anyio.get_cancelled_exc_class()):
                outcome = "cancelled"
            else:
                outcome = "failed"
            try:
                await hooks.flush()
            except Exception as flush_error:
                exc.add_note(f"chunk outcomes could not be journalled: {flush_error}")
            await self._end_run(run, outcome, exc)
            raise
        await self._end_run(run, "finished", None)
        return hooks.sent, reconciled, report_error, settled

    def _expected_for(self, numbers: Sequence[str]) -> dict[str, Expected | None]:
        """
        What this campaign sent each of *numbers*: its text (a message per row: each number's
        own, `texts`), or a file of its kind; ``None`` where a history shows nothing of it.
        """
        if not self.per_row or _model.mass_row(self.kind).history != "text":
            return dict.fromkeys(numbers, expected_for_kind(self.kind, self.message))
        texts = self._journal.texts(numbers)
        return {
            number: Expected.text_of(texts[number]) if number in texts else None
            for number in numbers
        }

    async def _end_run(self, run: int, outcome: str, error: BaseException | None) -> None:
        """Journal how *run* ended; if that fails while *error* propagates, keep *error*."""
        with anyio.CancelScope(shield=True):
            try:
                await anyio.to_thread.run_sync(self._journal.end_run, run, outcome)
            except Exception as exc:
                if error is None:
                    raise
                error.add_note(f"the end of the run could not be journalled: {exc}")

    async def _send(
        self,
        client: MioGram,
        payload: str | bytes | None,
        hooks: JournalHooks,
        states: Sequence[NumberState],
        *,
        concurrency: int | None,
        robots: Sequence[str] | str | None,
        on_progress: ProgressCallback | None,
        gate: SendGate | None,
    ) -> None:
        """
        Send the numbers in *states* (`send_passes`), journalled through *hooks*, through *gate*
        when the campaign has one (else the client's).

        The client starts from the gateway's pace the journal keeps (once, before the first
        pass), and the pace it measures over every pass is kept there after a chunk now and then
        and at the end (E49).
        """
        plan = SendPlan(
            kind=self.kind,
            chunk_size=self.chunk_size,
            robots=self.robots if robots is None else robots,
            concurrency=concurrency,
            per_row=self.per_row,
            file_format=self.media.file_format if self.media else None,
        )
        pace = PaceKeeper(self._journal, gateway_pace(client))
        await pace.adopt()
        self._watch = watch = RunWatch()
        try:
            await send_passes(
                client,
                self._journal,
                hooks,
                states,
                plan,
                payload,
                pace.progress(on_progress),
                watch,
                gate,
            )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await pace.save(quietly=True)  # never hides why the run stopped
            raise
        finally:
            self._watch = None
        await pace.save()

    async def _payload(self) -> str | bytes | None:
        """
        The message, or the media file's content after checking it did not change; ``None`` for
        a message per row in which no two numbers share a text.
        """
        if self.media is None:
            return self.message
        return await anyio.to_thread.run_sync(read_media, self.media)

    async def _anchor(self, client: MioGram, run: int) -> None:
        """Keep where the service's report stands before *run* sends anything (`keep_anchor`)."""
        await keep_anchor(client, self._journal, run)

    async def _reconcile(self, client: MioGram) -> tuple[dict[NumberState, int], str | None]:
        """Resolve in-doubt and unknown numbers through the report; returns counts and the error."""
        return await settle_from_report(
            client, self._journal, media=self.media, message=self.message
        )
