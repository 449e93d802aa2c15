"""
`Campaign`: a Mass send recorded in a journal, so that it survives crashes and resumes exactly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self, TextIO

import anyio
import anyio.to_thread

from .._base.errors import MassSendError
from .._mass.options import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MassOptions, ProgressCallback
from .._runner import gateway_pace, send_mass_action
from . import _model
from ._export import ExportFormat, write_rows
from ._hooks import JournalHooks
from ._model import CampaignError, CampaignKind, CampaignStatus, MediaRef, NumberState, RunSummary
from ._pace import PaceKeeper
from ._settings import new_settings, number_readers, read_media
from ._settle import keep_anchor, settle_from_report
from ._sheet import NumbersFile
from .storage import Storage, create_storage, open_storage

if TYPE_CHECKING:
    from .._client import MioGram

__all__ = ["Campaign"]


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
        self._running = False

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
        media: str | os.PathLike[str] | None = None,
        file_format: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        robots: Sequence[str] | str | None = None,
        default_region: str | None = "IR",
        overwrite: bool = False,
    ) -> Campaign:
        """
        Write a new campaign journal at *path* and open it.

        Every item of *numbers* is normalised (`normalize_phone`) and recorded: a malformed one
        as ``INVALID`` with the reason, a repeat as ``DUPLICATE``; blank items are skipped.
        *numbers* is streamed, so any size works. From a `NumbersFile`, every data row is recorded:
        one whose phone cell is empty as ``INVALID``, naming its row.

        Args:
            path: the journal file to create, or ``postgresql://.../DB?campaign=NAME`` to keep
                the campaign in PostgreSQL (needs the ``postgres`` extra).
            numbers: the recipients, or a `NumbersFile` (read through; the caller closes it).
            kind: ``"message"``, ``"whatsapp"`` (need *message*), ``"photo"``, ``"video"`` or
                ``"file"`` (need *media*).
            message: the text to send.
            media: the file to send; the journal keeps its path, size and SHA-256 (checked before
                every run), never its content.
            file_format: the extension sent with the media (default: from the file name).
            chunk_size: numbers per Mass request, at most 100; the default 40 finishes inside the
                front's 60 s wait (API.md E32, E48).
            robots: agent(s) to spread chunks over, or ``"all"``; ``None`` uses the client's
                agent, else rotates over all the account's agents.
            default_region: region for national numbers: ``"IR"`` (the default, no extra
                needed), another region (the ``phone`` extra), or ``None`` for international
                forms only.
            overwrite: replace an existing file at *path*.

        Raises:
            CampaignError: *path* exists and *overwrite* is false.
            ValidationError: the message, media, kind or chunk size is not usable.
            TypeError: *numbers* is a single string.
        """
        if isinstance(numbers, str):
            raise TypeError(
                "expected an iterable of phone numbers, got a single string (read a file of "
                "numbers with NumbersFile(path))"
            )
        inputs = numbers.numbers() if isinstance(numbers, NumbersFile) else numbers
        meta = new_settings(
            kind=kind,
            message=message,
            media=media,
            file_format=file_format,
            chunk_size=chunk_size,
            robots=robots,
            default_region=default_region,
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
        )

    def export(self, out: str | os.PathLike[str] | TextIO, fmt: ExportFormat = "csv") -> int:
        """
        Write every input item with its outcome to *out* (a path or an open text file).

        Columns: ``seq`` (input position), ``input`` (as given), ``number`` (normalised), ``state``,
        ``error_code``, ``error`` (the reason for invalid numbers), ``robot``.

        Returns:
            The number of rows written.

        Raises:
            CampaignError: *out* is the journal itself (or one of its WAL files).
        """
        if isinstance(out, str | os.PathLike) and self._journal.file is not None:
            journal = Path(self._journal.file).resolve()
            target = Path(out).resolve()
            own_files = {journal.with_name(journal.name + end) for end in ("", "-wal", "-shm")}
            if target in own_files:
                raise CampaignError(f"refusing to export over the journal {str(journal)!r}")
        return write_rows(self._journal.rows(), out, fmt)

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
    ) -> RunSummary:
        """
        Send every number still pending through *client*, journalling each chunk.

        Before sending, numbers left in doubt by an earlier run (its process died with a request in
        flight) and ``UNKNOWN`` ones are looked up in the service's report (``APIGetReport``): those
        it lists delivered become ``DELIVERED``; the rest of an in-doubt chunk becomes ``UNKNOWN``.
        If the report cannot be read they stay in doubt, and none of them is sent.

        Cancelling the run (Ctrl-C) lets in-flight chunks finish within the fan-out's grace period;
        their outcomes are journalled and the rest stays pending for the next run.

        Args:
            client: the client to send with.
            concurrency: requests at once (default: the client's).
            robots: agents to spread chunks over, or ``"all"`` (default: the campaign's setting).
            on_progress: called with a `MassProgress` after each chunk.
            resend_unknown: also send ``UNKNOWN`` and in-doubt numbers again (they may be
                delivered twice).
            retry_failed: also send ``FAILED`` numbers again. A number is ``FAILED`` only when the
                service refused its request before sending anything (`proves_refusal`: credit,
                permission, size...), so this never sends a number twice; a 999 or any reply that
                proves nothing leaves its numbers ``UNKNOWN`` (API.md E32), which only
                *resend_unknown* sends again.

        Raises:
            CampaignError: the media file changed since the campaign was created, or a run of this
                campaign is already going on.
            MassSendError: the fan-out stopped (e.g. out of credit): the chunks that finished are
                journalled and the rest stays pending for the next run.
        """
        if self._running:
            raise CampaignError(f"campaign {self.location!r} is already running")
        if self.read_only:
            raise CampaignError(f"campaign {self.location!r} was opened read-only: it cannot run")
        self._running = True
        try:
            sent, reconciled, report_error = await self._run(
                client,
                concurrency=concurrency,
                robots=robots,
                on_progress=on_progress,
                resend_unknown=resend_unknown,
                retry_failed=retry_failed,
            )
        finally:
            self._running = False
        status = await anyio.to_thread.run_sync(self.status)
        return RunSummary(
            sent=sent, reconciled=reconciled, report_error=report_error, status=status
        )

    async def _run(
        self,
        client: MioGram,
        *,
        concurrency: int | None,
        robots: Sequence[str] | str | None,
        on_progress: ProgressCallback | None,
        resend_unknown: bool,
        retry_failed: bool,
    ) -> tuple[int, dict[NumberState, int], str | None]:
        payload = await self._payload()
        journal = self._journal
        run = await anyio.to_thread.run_sync(journal.begin_run)
        hooks = JournalHooks(journal, run)
        try:
            reconciled, report_error = await self._reconcile(client)
            states = [NumberState.PENDING]
            if resend_unknown:
                states += [NumberState.UNKNOWN, NumberState.SENDING]
            if retry_failed:
                states.append(NumberState.FAILED)
            if await anyio.to_thread.run_sync(journal.page, states, 0, 1):
                await self._anchor(client, run)
                await self._send(
                    client,
                    payload,
                    hooks,
                    states,
                    concurrency=concurrency,
                    robots=robots,
                    on_progress=on_progress,
                )
            await hooks.flush()
            if journal.shared:
                # Other workers may have died while this one sent: settle their chunks now, so
                # that a finished campaign leaves nothing in doubt that a report can prove.
                more, later_error = await self._reconcile(client)
                for state, count in more.items():
                    reconciled[state] = reconciled.get(state, 0) + count
                report_error = report_error or later_error
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
        return hooks.sent, reconciled, report_error

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
        payload: str | bytes,
        hooks: JournalHooks,
        states: Sequence[NumberState],
        *,
        concurrency: int | None,
        robots: Sequence[str] | str | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        """
        Hand the numbers in *states* to the client's Mass method, journalled through *hooks*.

        The client starts from the gateway's pace the journal keeps, and the pace it measures is
        kept there after each chunk and at the end (E49).
        """
        counts = await anyio.to_thread.run_sync(self._journal.counts)
        pace = PaceKeeper(self._journal, gateway_pace(client))
        await pace.adopt()
        options = MassOptions(
            # A journal of an older version may hold more: no chunk is larger than the batch.
            chunk_size=min(self.chunk_size, MAX_CHUNK_SIZE),
            concurrency=concurrency,
            robots=self.robots if robots is None else robots,
            on_progress=pace.progress(on_progress),
            hooks=hooks,
            # The journal records every outcome and holds each number once: the fan-out keeps
            # nothing per number.
            hooks_record_outcomes=True,
            # Progress knows its total (and an ETA) from the first chunk.
            total_hint=sum(counts[state] for state in states),
        )
        numbers = self._journal.source(hooks.run, states, hooks.seqs)
        file_format = self.media.file_format if self.media else None
        row = _model.mass_row(self.kind)  # the Mass action of this campaign's kind
        try:
            await send_mass_action(
                client, row, numbers, payload, file_format=file_format, options=options
            )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await pace.save(quietly=True)  # never hides why the run stopped
            raise
        await pace.save()

    async def _payload(self) -> str | bytes:
        """The message, or the media file's content after checking it did not change."""
        if self.media is None:
            assert self.message is not None
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
