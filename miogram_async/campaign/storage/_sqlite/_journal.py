"""
The campaign journal: one SQLite file that records every number, every chunk and every run.

Files: at rest a journal is one file, a rollback-journal SQLite database that holds everything, so
it can be copied or moved like any file. An open for writing switches it to WAL mode for the run
and `close` switches it back (which folds the WAL into the file and deletes ``-wal`` and ``-shm``).
While a run goes on, or after it was killed, the committed state is the file *plus* its ``-wal``;
copying the file alone then is refused on open (see `_format`), never read as an older state.

Durability: during a run the journal is in WAL mode with ``synchronous=FULL``. Against the death of
the process alone (SIGKILL, a crash) ``NORMAL`` would already do, since a committed transaction sits
in the WAL in the operating system's cache; ``FULL`` also syncs the WAL on every commit, so a chunk
recorded as *attempting* survives an operating-system crash or power loss too. Losing that row would
let a resume send the chunk a second time. A transaction that only records outcomes is committed
with ``synchronous=NORMAL``: the next synced commit covers it, and since the WAL keeps commits in
order, a power loss can only lose the latest outcomes (their chunks are then in doubt), never an
attempting row written after them.

Cost: starting a chunk inserts one row; numbers are not touched until its outcome is recorded, with
one statement per distinct outcome (by seq, a range when the numbers are consecutive). The only
indexes written during a run are partial ones that a number enters or leaves only when it goes into
or out of doubt.

One writer at a time: an open for writing takes the journal's run lock (`RunLock`) without waiting,
so a second process cannot run (and double-send) the same campaign, and `create` takes it before it
replaces a file. Readers (`Journal.open(read_only=True)`, for ``campaign status``) take no lock,
never wait (busy timeout 0) and read the last committed state while a run writes. Every method here
is blocking and guarded by a lock; `Campaign` calls them from worker threads while an event loop
runs. SQLite errors leave here as `CampaignError` (`storage_error`): a full disk or a read-only
directory is named as such, never "corrupt".

Nothing here is ever written before the file was checked to be a journal of this format and version:
foreign and corrupt files raise `CampaignError` and are left exactly as they were. Every statement
is in `_sql`; the file handling (transactions, journal modes, recovery) in `_files`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from ..._inputs import InputItem
from ..._model import CampaignError, NumberState
from .._base import (
    ANCHOR_KEY,
    OWN_TEXTS,
    PACE_KEY,
    SHARED_TEXT,
    ChunkEnd,
    ChunkInfo,
    ChunkStart,
    Extra,
    NumberUpdate,
    OutcomeGroup,
    Row,
    stored_state,
)
from .._meta import CampaignMeta, from_rows, to_rows
from . import _files, _sql
from ._create import create_file
from ._doubt import numbers_in_doubt, still_attempting, write_down_doubt
from ._files import (
    recover_interrupted_write,
    sqlite_errors,
    transaction,
    unsynced,
)
from ._format import check_journal_file, storage_error
from ._lock import RunLock
from ._numbers import batches, digits, e164, marks, pack
from ._source import JournalNumbers

__all__ = ["Journal"]

#: Input items per query while exporting.
_PAGE: Final = 2000


class Journal:
    """An open journal: one SQLite connection, used from any thread under one lock."""

    #: One process runs a journal at a time (its run lock): no other run's chunks fall in doubt.
    shared = False

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        meta: CampaignMeta,
        run_lock: RunLock | None = None,
    ) -> None:
        self.path = path
        self._conn = conn
        #: The run lock, held by an open for writing; ``None`` for a read-only open.
        self._run_lock = run_lock
        self.read_only = run_lock is None
        self._lock = threading.Lock()
        #: Chunks of earlier runs still in doubt once this run began (`begin_run`).
        self._stale: frozenset[int] = frozenset()
        self.meta = meta

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, read_only: bool = False) -> Journal:
        """
        Open an existing journal, for writing (the run lock held) or *read_only*.

        A read-only open takes no lock, waits for nothing, skips the integrity check and never
        writes: it reads the last committed state, also while another process runs the campaign.

        Raises:
            CampaignError: see `check_journal_file`.
            CampaignInUseError: (for writing) another open holds the run lock.
            CampaignStorageError: the disk is full, or the file or its directory is read-only.
        """
        journal_path = Path(path)
        if read_only:
            check_journal_file(journal_path, integrity=False)
            try:
                conn = sqlite3.connect(
                    journal_path.absolute().as_uri() + "?mode=ro",
                    uri=True,
                    timeout=0,
                    check_same_thread=False,
                    isolation_level=None,
                )
            except sqlite3.Error as exc:
                raise storage_error(exc, journal_path, "open") from None
            try:
                return cls(journal_path, conn, _read_meta(conn, journal_path))
            except sqlite3.Error as exc:
                conn.close()
                raise storage_error(exc, journal_path, "read") from None
            except BaseException:
                conn.close()
                raise
        return cls._open_writable(journal_path, integrity=True)

    @classmethod
    def _open_writable(cls, journal_path: Path, *, integrity: bool) -> Journal:
        """`open` for writing; *integrity*: run SQLite's quick check (not on a file just made)."""
        run_lock = RunLock.acquire(journal_path) if journal_path.is_file() else None
        try:
            if run_lock is not None:
                recover_interrupted_write(journal_path)
            check_journal_file(journal_path, integrity=integrity)
            assert run_lock is not None  # check_journal_file refuses a missing file
            conn = sqlite3.connect(
                journal_path, timeout=0, check_same_thread=False, isolation_level=None
            )
            try:
                # Read before anything is written: an incomplete journal is left as it was.
                meta = _read_meta(conn, journal_path)
                # Looked up at call time, so that tests and benchmarks can replace it.
                _files.prepare_for_writing(conn)
                return cls(journal_path, conn, meta, run_lock)
            except sqlite3.Error as exc:
                conn.close()
                raise storage_error(exc, journal_path, "open") from None
            except BaseException:
                conn.close()
                raise
        except BaseException:
            if run_lock is not None:
                run_lock.release()
            raise

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        meta: CampaignMeta,
        inputs: Iterable[InputItem],
        normalize: Callable[[str], str],
        overwrite: bool = False,
        as_is: Callable[[str], object] | None = None,
    ) -> Journal:
        """
        Write a new journal with the settings *meta* and every item of *inputs*, then open it.

        The file is built under a temporary name next to *path* and moved into place only once
        complete, so a crash while creating never leaves a half-made journal at *path*.

        Raises:
            CampaignError: *path* exists and *overwrite* is false.
        """
        journal_path = Path(path)
        create_file(
            journal_path,
            to_rows(meta),
            inputs,
            normalize,
            overwrite=overwrite,
            as_is=as_is,
        )
        # Its format and version are still checked; SQLite's page-by-page quick check is left out
        # for the file this call wrote and synced a moment ago.
        return cls._open_writable(journal_path, integrity=False)

    def close(self) -> None:
        """
        Close the connection and release the run lock (idempotent).

        An open for writing first switches the journal back to a rollback journal: the WAL is
        folded into the file and ``-wal`` and ``-shm`` are deleted: the file alone is the journal.
        If that fails (a full disk, a reader that does not let go), the WAL stays beside the file,
        and the file alone is refused on open until a later open closes it cleanly.
        """
        with self._lock:
            try:
                if self._run_lock is not None:
                    with contextlib.suppress(sqlite3.Error, CampaignError):
                        _files.set_journal_mode(self._conn, "DELETE")
                self._conn.close()
            finally:
                if self._run_lock is not None:
                    self._run_lock.release()

    @property
    def location(self) -> str:
        """The journal file's path, as given."""
        return str(self.path)

    @property
    def file(self) -> Path | None:
        """The journal file."""
        return self.path

    @property
    def _where(self) -> str:
        return f"campaign journal {str(self.path)!r}"

    def gate_database(self) -> str | None:
        """A journal file is run by one process at a time: it has no gate of its own."""
        return None

    def record_gate(self, identity: str) -> str:
        """Nothing to keep: one process runs a journal file at a time (its run lock)."""
        return identity

    def source(
        self,
        run: int,
        states: Sequence[NumberState],
        seqs: dict[str, int],
        group: int | None = None,
        texts: dict[str, str] | None = None,
    ) -> AsyncIterator[str]:
        """The numbers in *states*, read page by page in input order (see `JournalNumbers`)."""
        return JournalNumbers(self, states, seqs, group=group, texts=texts)

    # Reads

    @sqlite_errors("read")
    def counts(self) -> dict[NumberState, int]:
        """Numbers per state, every state present (numbers in doubt count as ``SENDING``)."""
        with self._lock:
            rows = self._conn.execute(_sql.COUNTS).fetchall()  # no statement left open
            found = {stored_state(state, self._where): count for state, count in rows}
            doubt = numbers_in_doubt(self._conn, self._where)
        for _, _, stored in doubt.values():
            if stored is not NumberState.SENDING:
                found[stored] -= 1
                found[NumberState.SENDING] = found.get(NumberState.SENDING, 0) + 1
        return {state: found.get(state, 0) for state in NumberState}

    @sqlite_errors("read")
    def chunk_counts(self) -> tuple[int, int, int]:
        """(all chunks, done chunks, runs)."""
        with self._lock:
            row = self._conn.execute(_sql.CHUNK_COUNTS).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    @sqlite_errors("read")
    def last_run(self) -> str | None:
        """How the latest run ended (``"interrupted"`` if it never recorded an end), or ``None``."""
        with self._lock:
            row = self._conn.execute(_sql.LAST_RUN).fetchone()
        if row is None:
            return None
        return "interrupted" if row[0] is None else str(row[0])

    @sqlite_errors("read")
    def numbers_in(self, states: Sequence[NumberState]) -> list[tuple[int, str]]:
        """
        (chunk id or -1, number) of every number in one of *states*, as stored.

        ``SENDING`` finds the numbers in doubt when `begin_run` wrote them down: call it in a run.
        """
        query = _sql.NUMBERS_IN.format(marks=marks(states))
        with self._lock:
            return [
                (-1 if chunk is None else int(chunk), e164(number))
                for chunk, number in self._conn.execute(query, [str(state) for state in states])
            ]

    @sqlite_errors("read")
    def page(
        self, states: Sequence[NumberState], after_seq: int, limit: int, group: int | None = None
    ) -> list[tuple[int, str]]:
        """
        The next *limit* (seq, number) in one of *states* (as stored), in order after *after_seq*;
        of *group* only when given (see `Storage.page`).
        """
        wanted = [str(state) for state in states]
        if group is None or not self.meta.per_row:
            query, args = _sql.PAGE, [*wanted, after_seq, limit]
        elif group == SHARED_TEXT:
            query, args = _sql.PAGE_SHARED, [*wanted, after_seq, limit]
        elif group == OWN_TEXTS:
            query, args = _sql.PAGE_OWN, [after_seq, *wanted, limit]
        else:
            query, args = _sql.PAGE_TEXT, [group, after_seq, *wanted, limit]
        with self._lock:
            rows: list[tuple[int, str]] = self._conn.execute(
                query.format(marks=marks(states)), args
            ).fetchall()
            return rows

    @sqlite_errors("read")
    def text_groups(self) -> list[tuple[int, str]]:
        """(id, text) of each text of their own that two or more numbers to send share."""
        if not self.meta.per_row:
            return []
        with self._lock:
            return [(int(id_), str(text)) for id_, text in self._conn.execute(_sql.SHARED_TEXTS)]

    @sqlite_errors("read")
    def texts(self, numbers: Sequence[str]) -> dict[str, str]:
        """The text each of *numbers* gets: its own, or the campaign's message."""
        found: dict[str, str] = {}
        if self.meta.per_row and numbers:
            wanted = [digits(number) for number in numbers]
            with self._lock:
                for batch in batches(wanted):
                    rows = self._conn.execute(_sql.TEXTS_OF.format(marks=marks(batch)), batch)
                    found.update({e164(number): str(text) for number, text in rows})
        message = self.meta.message
        if message is not None and len(found) < len(numbers):
            held = self._held(numbers)
            found.update(
                {number: message for number in numbers if number not in found and held(number)}
            )
        return found

    def _held(self, numbers: Sequence[str]) -> Callable[[str], bool]:
        """Which of *numbers* the campaign holds (sent or to send: its first occurrence)."""
        wanted = [digits(number) for number in numbers]
        held: set[str] = set()
        with self._lock:
            for batch in batches(wanted):
                rows = self._conn.execute(_sql.NUMBER_STATES.format(marks=marks(batch)), batch)
                held.update(e164(number) for number, _, _ in rows)
        return held.__contains__

    def extras(self) -> Iterator[Extra]:
        """Every input item that keeps cells or has a text of its own, in order."""
        if not self.meta.per_row and not self.meta.columns:
            return
        after = 0
        try:
            while True:
                with self._lock:
                    page = self._conn.execute(_sql.EXTRAS, (after, _PAGE)).fetchall()
                if not page:
                    return
                for seq, cells, text in page:
                    yield int(seq), None if cells is None else json.loads(cells), text
                after = int(page[-1][0])
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path, "read") from None

    def rows(self) -> Iterator[Row]:
        """Every input item in order: (seq, input, number, state, error code, error, robot)."""
        try:
            with self._lock:
                doubt = numbers_in_doubt(self._conn, self._where)
            yield from self._pages(doubt)
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path, "read") from None

    def _pages(self, doubt: Mapping[str, tuple[int, str | None, NumberState]]) -> Iterator[Row]:
        after = 0
        while True:
            with self._lock:
                page = self._conn.execute(_sql.ROWS, (after, _PAGE)).fetchall()
            if not page:
                return
            for seq, raw, own, stored_number, stored, code, error, robot in page:
                number = None if stored_number is None else e164(stored_number)
                if own is not None and number is not None and number in doubt:
                    yield seq, raw, number, NumberState.SENDING.value, code, error, doubt[number][1]
                else:
                    yield seq, raw, number, stored, code, error, robot
            after = page[-1][0]

    @sqlite_errors("read")
    def latest_run(self) -> tuple[float | None, float | None]:
        """
        (numbers answered per second, seconds since its start) of the latest run, from times the
        journal recorded; (None, None) before its first answered chunk.
        """
        with self._lock:
            row = self._conn.execute(_sql.LATEST_RUN).fetchone()
        if row is None or row[1] is None or row[2] is None:
            return None, None
        elapsed = float(row[2]) - float(row[0])
        return (float(row[1]) / elapsed if elapsed > 0 else None), elapsed

    def held_by_a_run(self) -> bool:
        """Whether a run (this open, or another process) holds the journal's run lock."""
        return self._run_lock is not None or RunLock.is_held(self.path)

    @sqlite_errors("read")
    def chunk_runs(self, chunk_ids: Iterable[int]) -> dict[int, int]:
        """The run of each chunk of *chunk_ids*."""
        wanted = sorted(set(chunk_ids))
        result: dict[int, int] = {}
        with self._lock:
            for batch in batches(wanted):
                rows = self._conn.execute(_sql.CHUNK_RUNS.format(marks=marks(batch)), batch)
                result.update({int(chunk): int(run) for chunk, run in rows})
        return result

    @sqlite_errors("read")
    def chunk_info(self, chunk_ids: Iterable[int]) -> dict[int, ChunkInfo]:
        """The agent, times and size of each chunk of *chunk_ids*."""
        wanted = sorted(set(chunk_ids))
        result: dict[int, ChunkInfo] = {}
        with self._lock:
            for batch in batches(wanted):
                rows = self._conn.execute(_sql.CHUNK_INFO.format(marks=marks(batch)), batch)
                for chunk, robot, started, finished, size in rows:
                    result[int(chunk)] = (
                        robot,
                        float(started),
                        None if finished is None else float(finished),
                        int(size),
                    )
        return result

    @sqlite_errors("read")
    def witness(self, robot: str | None) -> str | None:
        """A number recorded ``DELIVERED`` by a chunk sent through *robot*, or ``None``."""
        with self._lock:
            row = self._conn.execute(_sql.WITNESS, (robot,)).fetchone()
        return None if row is None else e164(row[0])

    @sqlite_errors("write")
    def set_note(self, key: str, value: str) -> None:
        """Keep *value* under *key* (a ``meta`` row), replacing it."""
        with self._lock, transaction(self._conn):
            self._conn.execute(_sql.SET_META, (key, value))

    @sqlite_errors("read")
    def note(self, key: str) -> str | None:
        """The note kept under *key*, or ``None``."""
        with self._lock:
            row = self._conn.execute(_sql.META_VALUE, (key,)).fetchone()
        return None if row is None else str(row[0])

    @sqlite_errors("write")
    def set_anchor(self, run: int, anchor: str) -> None:
        """Keep the report anchor of *run* (a ``meta`` row), replacing it."""
        with self._lock, transaction(self._conn):
            self._conn.execute(_sql.SET_META, (ANCHOR_KEY.format(run=run), anchor))

    @sqlite_errors("read")
    def anchor(self, run: int) -> str | None:
        """The report anchor *run* kept, as stored now, or ``None``."""
        with self._lock:
            row = self._conn.execute(_sql.META_VALUE, (ANCHOR_KEY.format(run=run),)).fetchone()
        return None if row is None else str(row[0])

    @sqlite_errors("write")
    def set_pace(self, paces: str) -> None:
        """Keep the gateway's measured pace (a ``meta`` row), replacing it."""
        with self._lock, transaction(self._conn):
            self._conn.execute(_sql.SET_META, (PACE_KEY, paces))

    @sqlite_errors("read")
    def pace(self) -> str | None:
        """The gateway's pace `set_pace` kept, or ``None``."""
        with self._lock:
            row = self._conn.execute(_sql.META_VALUE, (PACE_KEY,)).fetchone()
        return None if row is None else str(row[0])

    # Writes (each one transaction)

    @sqlite_errors("write")
    def begin_run(self) -> int:
        """
        Record the start of a run; returns its id.

        The numbers that chunks of earlier runs left in doubt are written down as ``SENDING``
        (with their chunk), so `numbers_in` and `page` find them; a chunk none of whose numbers is
        in doubt any more is marked done.
        """
        now = time.time()
        with self._lock, transaction(self._conn):
            cursor = self._conn.execute(_sql.BEGIN_RUN, (now,))
            self._stale = write_down_doubt(self._conn, now)
        return int(cursor.lastrowid or 0)

    @sqlite_errors("write")
    def end_run(self, run: int, outcome: str) -> None:
        """Record how a run ended."""
        with self._lock, transaction(self._conn):
            self._conn.execute(_sql.END_RUN, (time.time(), outcome, run))

    @sqlite_errors("write")
    def record(self, run: int, started: Sequence[ChunkStart], finished: Sequence[ChunkEnd]) -> None:
        """
        Record chunks of *run* as done (*finished*) and others as attempting (*started*), at once.

        One transaction, synced when it starts chunks: a started chunk is one row, durable before
        its request may be sent, and its numbers are in doubt from then until its outcome is
        recorded. A transaction that only finishes chunks is not synced by itself (the next synced
        one covers it, the WAL keeps commits in order): if the machine loses power first, those
        chunks are left attempting, in doubt, and the next run settles them through the report as
        after a crash.
        """
        now = time.time()
        sync = contextlib.nullcontext() if started else unsynced(self._conn)
        with self._lock, sync, transaction(self._conn):
            for index, groups in finished:
                self._finish(run, index, groups, now)
            if finished and self._stale:
                self._conn.executemany(_sql.SETTLE_CHUNK, [(now, chunk) for chunk in self._stale])
                stale = still_attempting(self._conn, self._stale)
            if started:
                self._conn.executemany(
                    _sql.START_CHUNK,
                    [
                        (run, index, robot, len(numbers), pack(numbers), now)
                        for index, robot, numbers in started
                    ],
                )
        if finished and self._stale:
            self._stale = stale

    def _finish(self, run: int, index: int, groups: Sequence[OutcomeGroup], now: float) -> None:
        """Mark a chunk done and set its numbers' outcomes, a statement per group."""
        found = self._conn.execute(_sql.FINISH_CHUNK, (now, run, index)).fetchall()
        chunk_id = int(found[0][0]) if found else None
        for state, code, text, numbers, seqs in groups:
            fields = (state.value, chunk_id, code, text)
            if seqs is not None and seqs and list(range(seqs[0], seqs[0] + len(seqs))) == seqs:
                self._conn.executemany(_sql.SET_OUTCOME_SEQ_RANGE, [(*fields, seqs[0], seqs[-1])])
                continue
            targets: Sequence[int] = seqs if seqs is not None else [digits(n) for n in numbers]
            statement = _sql.SET_OUTCOME_BY_SEQ if seqs is not None else _sql.SET_OUTCOME_BY_NUMBER
            for batch in batches(targets):
                self._conn.executemany(statement.format(marks=marks(batch)), [(*fields, *batch)])

    @sqlite_errors("write")
    def settle(self, updates: Iterable[NumberUpdate], chunks: Iterable[int]) -> None:
        """Apply reconciled outcomes and mark *chunks* done, in one transaction."""
        now = time.time()
        with self._lock, transaction(self._conn):
            self._conn.executemany(
                _sql.SETTLE_NUMBER,
                [(str(state), code, text, digits(number)) for number, state, code, text in updates],
            )
            self._conn.executemany(_sql.SETTLE_CHUNK, [(now, chunk) for chunk in chunks])
            stale = still_attempting(self._conn, self._stale)
        self._stale = stale


def _read_meta(conn: sqlite3.Connection, path: Path) -> CampaignMeta:
    """The campaign's settings, from the journal's ``meta`` rows."""
    return from_rows(dict(conn.execute(_sql.META).fetchall()), str(path))
