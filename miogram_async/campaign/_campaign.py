"""
`Campaign`: a Mass send recorded in a journal, so that it survives crashes and resumes exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self, TextIO

import anyio
import anyio.to_thread

from .. import _actions as actions
from .._actions import Action
from .._errors import MassSendError, MioGramError, NoDataError, ValidationError
from .._options import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MassOptions, ProgressCallback
from .._validation import (
    _WIRE_PHONE,
    _is_builtin_region,
    check_file_format,
    check_message,
    normalize_phone,
)
from ._export import ExportFormat, write_rows
from ._hooks import JournalHooks
from ._journal import Journal, NumberUpdate
from ._model import CampaignError, CampaignKind, CampaignStatus, MediaRef, NumberState, RunSummary
from ._postgres import PostgresJournal
from ._reconcile import Anchor, media_matcher, reconcile, text_matcher
from ._sheet import NumbersFile
from ._storage import is_database_url

if TYPE_CHECKING:
    from .._client import MioGram
    from .._models import ReportRecord

__all__ = ["Campaign"]

_REPORT_COUNT: Final = 999
#: The ``meta`` key under which a run keeps its `Anchor` (``report_anchor:<run id>``).
_ANCHOR_KEY: Final = "report_anchor:{run}"

_MASS_ACTIONS: Final[Mapping[CampaignKind, Action[dict[str, bool]]]] = {
    CampaignKind.MESSAGE: actions.SEND_MESSAGE_MASS,
    CampaignKind.WHATSAPP: actions.SEND_MESSAGE_WHATSAPP_MASS,
    CampaignKind.PHOTO: actions.SEND_PHOTO_MASS,
    CampaignKind.VIDEO: actions.SEND_VIDEO_MASS,
    CampaignKind.FILE: actions.SEND_FILE_MASS,
}


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


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

    def __init__(self, journal: Journal | PostgresJournal) -> None:
        """Wrap an open journal (use `create` or `open`)."""
        self._journal = journal
        meta = journal.meta
        try:
            self.kind = CampaignKind(meta["kind"])
            self.chunk_size = int(meta["chunk_size"])
            robots = json.loads(meta.get("robots", "null"))
        except (KeyError, ValueError) as exc:
            raise CampaignError(
                f"campaign journal {journal.location!r} is incomplete: {exc}"
            ) from None
        self.robots: Sequence[str] | str | None = robots
        self.message: str | None = meta.get("message")
        self.media: MediaRef | None = None
        if self.kind.is_media:
            self.media = MediaRef(
                path=meta["media_path"],
                sha256=meta["media_sha256"],
                size=int(meta["media_size"]),
                file_format=meta.get("file_format"),
            )
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
        try:
            campaign_kind = CampaignKind(kind)
        except ValueError:
            kinds = ", ".join(repr(k.value) for k in CampaignKind)
            raise ValidationError(f"expected a campaign kind ({kinds}), got {kind!r}") from None
        if (
            isinstance(chunk_size, bool)
            or not isinstance(chunk_size, int)
            or not 1 <= chunk_size <= MAX_CHUNK_SIZE
        ):
            raise ValidationError(
                f"expected a chunk size from 1 to {MAX_CHUNK_SIZE}, got {chunk_size!r}"
            )
        meta: dict[str, str] = {
            "kind": campaign_kind.value,
            "chunk_size": str(chunk_size),
            "robots": json.dumps(
                robots if robots is None or isinstance(robots, str) else list(robots)
            ),
            "created_at": str(time.time()),
        }
        if campaign_kind.is_media:
            if media is None or message is not None:
                raise ValidationError(
                    f"a {campaign_kind.value} campaign takes media=, not message="
                )
            media_path = Path(media).absolute()
            if not media_path.is_file():
                raise ValidationError(f"expected a readable media file, got {str(media)!r}")
            sha256, size = _hash_file(media_path)
            meta |= {"media_path": str(media_path), "media_sha256": sha256, "media_size": str(size)}
            if file_format is not None:
                meta["file_format"] = check_file_format(file_format)
        else:
            if message is None or media is not None:
                raise ValidationError(
                    f"a {campaign_kind.value} campaign takes message=, not media="
                )
            meta["message"] = check_message(message)
        if default_region is not None:
            meta["default_region"] = default_region

        def normalize(raw: str) -> str:
            return normalize_phone(raw, default_region=default_region)

        journal: Journal | PostgresJournal
        if is_database_url(path):
            journal = PostgresJournal.create(
                str(path), meta=meta, inputs=inputs, normalize=normalize, overwrite=overwrite
            )
        else:
            # An item already in the wire form is one normalize_phone returns as it is (under
            # Iran or no region): the journal then skips the call for it.
            as_is = _WIRE_PHONE.fullmatch if _is_builtin_region(default_region) else None
            journal = Journal.create(
                path,
                meta=meta,
                inputs=inputs,
                normalize=normalize,
                overwrite=overwrite,
                as_is=as_is,
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
        journal: Journal | PostgresJournal
        if is_database_url(path):
            journal = PostgresJournal.open(str(path), read_only=read_only)
        else:
            journal = Journal.open(path, read_only=read_only)
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
        """Hand the numbers in *states* to the client's Mass method, journalled through *hooks*."""
        counts = await anyio.to_thread.run_sync(self._journal.counts)
        options = MassOptions(
            # A journal of an older version may hold more: no chunk is larger than the batch.
            chunk_size=min(self.chunk_size, MAX_CHUNK_SIZE),
            concurrency=concurrency,
            robots=self.robots if robots is None else robots,
            on_progress=on_progress,
            hooks=hooks,
            # Progress knows its total (and an ETA) from the first chunk.
            total_hint=sum(counts[state] for state in states),
        )
        numbers = self._journal.source(hooks.run, states, hooks.seqs)
        file_format = self.media.file_format if self.media else None
        await client._run_mass(  # the package's typed Mass entry point
            _MASS_ACTIONS[self.kind], numbers, payload, file_format=file_format, options=options
        )

    async def _payload(self) -> str | bytes:
        """The message, or the media file's content after checking it did not change."""
        if self.media is None:
            assert self.message is not None
            return self.message
        media = self.media

        def load() -> bytes:
            try:
                content = Path(media.path).read_bytes()
            except OSError as exc:
                raise CampaignError(f"cannot read the campaign's media file: {exc}") from None
            digest = hashlib.sha256(content).hexdigest()
            if len(content) != media.size or digest != media.sha256:
                raise CampaignError(
                    f"the campaign's media file {media.path!r} changed since the campaign was "
                    f"created (expected {media.size} bytes with SHA-256 {media.sha256[:12]}..., "
                    f"got {len(content)} bytes with {digest[:12]}...)"
                )
            return content

        return await anyio.to_thread.run_sync(load)

    async def _anchor(self, client: MioGram, run: int) -> None:
        """
        Keep where the service's report stands before *run* sends anything (its `Anchor`).

        Records newer than it (on the service's clock) may be this run's; older ones never are. If
        the report cannot be read, the run goes on without one and its chunks, should they fall
        in doubt, stay unknown.
        """
        try:
            anchor = Anchor.of(await client.api_get_report(_REPORT_COUNT))
        except NoDataError:
            anchor = Anchor(newest=None)
        except MioGramError:
            return
        if anchor is not None:
            await anyio.to_thread.run_sync(
                self._journal.set_meta, _ANCHOR_KEY.format(run=run), anchor.to_json()
            )

    async def _reconcile(self, client: MioGram) -> tuple[dict[NumberState, int], str | None]:
        """Resolve in-doubt and unknown numbers through the report; returns counts and the error."""
        journal = self._journal
        candidates = await anyio.to_thread.run_sync(
            journal.numbers_in, [NumberState.SENDING, NumberState.UNKNOWN]
        )
        if not candidates:
            return {}, None
        chunk_runs = await anyio.to_thread.run_sync(
            journal.chunk_runs, [chunk for chunk, _ in candidates]
        )
        anchors: dict[int, Anchor | None] = {}
        for run in set(chunk_runs.values()):
            kept = await anyio.to_thread.run_sync(journal.get_meta, _ANCHOR_KEY.format(run=run))
            anchors[run] = None if kept is None else Anchor.from_json(kept)
        in_doubt = {number: anchors.get(chunk_runs.get(chunk, -1)) for chunk, number in candidates}
        report_error: str | None = None
        records: list[ReportRecord] = []
        matcher: Callable[[str], bool] | None = None
        if any(anchor is not None for anchor in in_doubt.values()):
            try:
                try:
                    records = await client.api_get_report(_REPORT_COUNT)
                except NoDataError:
                    records = []
                matcher = await self._matcher(client)
            except MioGramError as exc:
                return {}, f"{type(exc).__name__}: {exc}"
            if matcher is None:
                report_error = (
                    "the account appends an ad to every message (APIGetAds), so the report "
                    "cannot tell this campaign's records from another's: nothing was confirmed"
                )
        decided = reconcile(in_doubt, records, payload_matches=matcher)
        updates: list[NumberUpdate] = [
            (number, state, None, None if state is not NumberState.UNKNOWN else _UNCONFIRMED)
            for number, state in decided.items()
        ]
        await anyio.to_thread.run_sync(journal.settle, updates, {chunk for chunk, _ in candidates})
        counts: dict[NumberState, int] = {}
        for state in decided.values():
            counts[state] = counts.get(state, 0) + 1
        return counts, report_error

    async def _matcher(self, client: MioGram) -> Callable[[str], bool] | None:
        """What certainly is this campaign's payload in a report record (see `_reconcile`)."""
        if self.media is not None:
            return media_matcher(self.media.sha256)
        assert self.message is not None
        return text_matcher(self.message, ads=await client.api_get_ads())


_UNCONFIRMED: Final = "sent, but the service's report does not confirm a delivery"
