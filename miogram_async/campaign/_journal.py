"""
The campaign journal: one SQLite file that records every number, every chunk and every run.

Files: at rest a journal is one file, a rollback-journal SQLite database that holds everything, so
it can be copied or moved like any file. An open for writing switches it to WAL mode for the run
and `close` switches it back (which folds the WAL into the file and deletes ``-wal`` and ``-shm``).
While a run goes on, or after it was killed, the committed state is the file *plus* its ``-wal``;
copying the file alone then is refused on open (see `_schema`), never read as an older state.

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
foreign and corrupt files raise `CampaignError` and are left exactly as they were.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from ._inputs import InputItem
from ._journal_create import _index_numbers, _insert_inputs
from ._journal_records import (
    ChunkEnd,
    ChunkStart,
    NumberUpdate,
    OutcomeGroup,
    _batches,
    _digits,
    _e164,
    _marks,
    _pack,
    _unpack,
    group_updates,
)
from ._lock import RunLock
from ._model import CampaignError, CampaignInUseError, NumberState
from ._schema import (
    APPLICATION_ID,
    FORMAT,
    INDEXES,
    JOURNAL_VERSION,
    SCHEMA,
    SELF_CONTAINED,
    check_journal_file,
    storage_error,
)
from ._sqlite_files import (
    _fsync_path,
    _place,
    _recover_interrupted_write,
    _remove_quietly,
    _sidecars,
    _sqlite_errors,
    _transaction,
    _unsynced,
)

# Looked up here at call time, so that tests and benchmarks can replace them in this module.
from ._sqlite_files import _prepare_for_writing as _prepare_for_writing  # noqa: PLC0414
from ._sqlite_files import _set_journal_mode as _set_journal_mode  # noqa: PLC0414

__all__ = [
    "ChunkEnd",
    "ChunkStart",
    "Journal",
    "NumberUpdate",
    "OutcomeGroup",
    "group_updates",
]


_PAGE: Final = 2000

# Marks a chunk done once none of its numbers is in doubt any more (only for chunks whose numbers
# `begin_run` wrote down as sending; the partial index numbers_in_doubt answers it).
_SETTLE_CHUNK: Final = (
    "UPDATE chunks SET state = 'done', finished_at = ? WHERE id = ? AND state = 'attempting' "
    "AND NOT EXISTS (SELECT 1 FROM numbers WHERE chunk = chunks.id AND state = 'sending')"
)


class Journal:
    """An open journal: one SQLite connection, used from any thread under one lock."""

    #: One process runs a journal at a time (its run lock): no other run's chunks fall in doubt.
    shared = False

    def __init__(
        self, path: Path, conn: sqlite3.Connection, run_lock: RunLock | None = None
    ) -> None:
        self.path = path
        self._conn = conn
        #: The run lock, held by an open for writing; ``None`` for a read-only open.
        self._run_lock = run_lock
        self.read_only = run_lock is None
        self._lock = threading.Lock()
        #: Chunks of earlier runs still in doubt once this run began (`begin_run`).
        self._stale: frozenset[int] = frozenset()
        self.meta: Mapping[str, str] = dict(conn.execute("SELECT key, value FROM meta").fetchall())

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
                return cls(journal_path, conn)
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
                _recover_interrupted_write(journal_path)
            check_journal_file(journal_path, integrity=integrity)
            assert run_lock is not None  # check_journal_file refuses a missing file
            conn = sqlite3.connect(
                journal_path, timeout=0, check_same_thread=False, isolation_level=None
            )
            try:
                _prepare_for_writing(conn)
                return cls(journal_path, conn, run_lock)
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
        meta: Mapping[str, str],
        inputs: Iterable[InputItem],
        normalize: Callable[[str], str],
        overwrite: bool = False,
        as_is: Callable[[str], object] | None = None,
    ) -> Journal:
        """
        Write a new journal with *meta* and every item of *inputs*, then open it.

        The file is built under a temporary name next to *path* and moved into place only once
        complete, so a crash while creating never leaves a half-made journal at *path*.

        Raises:
            CampaignError: *path* exists and *overwrite* is false.
        """
        journal_path = Path(path)
        if journal_path.exists() and not overwrite:
            raise CampaignError(f"{str(journal_path)!r} already exists (pass overwrite=True)")
        if journal_path.is_file() and RunLock.is_held(journal_path):  # fail before the work
            raise CampaignInUseError(
                f"campaign journal {str(journal_path)!r} is in use by another process: "
                "it cannot be overwritten while a run holds it"
            )
        if not journal_path.parent.is_dir():
            raise CampaignError(f"cannot create {str(journal_path)!r}: no such directory")
        temp = journal_path.with_name(f".{journal_path.name}.{secrets.token_hex(4)}.tmp")
        try:
            conn = sqlite3.connect(temp, timeout=0, isolation_level=None)
            try:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SELF_CONTAINED}")
                conn.execute("PRAGMA synchronous = FULL")
                conn.executescript(SCHEMA)
                conn.execute("BEGIN")
                rows = {**meta, "format": FORMAT, "schema_version": str(JOURNAL_VERSION)}
                conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows.items())
                _insert_inputs(conn, inputs, normalize, as_is)
                _index_numbers(conn)
                for index in INDEXES:
                    conn.execute(index)
                conn.execute("COMMIT")
            finally:
                conn.close()
            _fsync_path(temp)
            try:
                _place(temp, journal_path, overwrite=overwrite)
            except OSError as exc:
                raise CampaignError(
                    f"cannot create {str(journal_path)!r}: {exc.strerror or exc}"
                ) from None
            _fsync_path(journal_path.parent, directory=True)
        except sqlite3.Error as exc:
            raise storage_error(exc, journal_path, "create") from None
        finally:
            _remove_quietly(temp, *_sidecars(temp))
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
                        _set_journal_mode(self._conn, "DELETE")
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

    def source(
        self, run: int, states: Sequence[NumberState], seqs: dict[str, int]
    ) -> AsyncIterator[str]:
        """The numbers in *states*, read page by page in input order (see `JournalNumbers`)."""
        from ._hooks import JournalNumbers  # noqa: PLC0415 - _hooks imports this module

        return JournalNumbers(self, states, seqs)

    # Reads

    @_sqlite_errors("read")
    def counts(self) -> dict[NumberState, int]:
        """Numbers per state, every state present (numbers in doubt count as ``SENDING``)."""
        with self._lock:
            rows = self._conn.execute("SELECT state, count(*) FROM numbers GROUP BY state")
            found = {NumberState(state): count for state, count in rows}
            doubt = self._in_doubt()
        for _, _, stored in doubt.values():
            if stored is not NumberState.SENDING:
                found[stored] -= 1
                found[NumberState.SENDING] = found.get(NumberState.SENDING, 0) + 1
        return {state: found.get(state, 0) for state in NumberState}

    @_sqlite_errors("read")
    def chunk_counts(self) -> tuple[int, int, int]:
        """(all chunks, done chunks, runs)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE state = 'done'), "
                "(SELECT count(*) FROM runs) FROM chunks"
            ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    @_sqlite_errors("read")
    def last_run(self) -> str | None:
        """How the latest run ended (``"interrupted"`` if it never recorded an end), or ``None``."""
        with self._lock:
            row = self._conn.execute("SELECT outcome FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return "interrupted" if row[0] is None else str(row[0])

    @_sqlite_errors("read")
    def numbers_in(self, states: Sequence[NumberState]) -> list[tuple[int, str]]:
        """
        (chunk id or -1, number) of every number in one of *states*, as stored.

        ``SENDING`` finds the numbers in doubt when `begin_run` wrote them down: call it in a run.
        """
        marks = ",".join("?" * len(states))
        with self._lock:
            return [
                (-1 if chunk is None else int(chunk), _e164(number))
                for chunk, number in self._conn.execute(
                    f"SELECT chunk, number FROM numbers WHERE state IN ({marks}) ORDER BY seq",
                    [str(state) for state in states],
                )
            ]

    @_sqlite_errors("read")
    def page(
        self, states: Sequence[NumberState], after_seq: int, limit: int
    ) -> list[tuple[int, str]]:
        """
        The next *limit* (seq, number) in one of *states* (as stored), in order after *after_seq*.
        """
        marks = ",".join("?" * len(states))
        with self._lock:
            # SQLite spells the numbers ("+" and the digits): no Python work per row.
            rows: list[tuple[int, str]] = self._conn.execute(
                f"SELECT seq, '+' || number FROM numbers WHERE state IN ({marks}) AND seq > ? "
                "ORDER BY seq LIMIT ?",
                [*(str(state) for state in states), after_seq, limit],
            ).fetchall()
            return rows

    @_sqlite_errors("read")
    def chunk_started_at(self, chunk_ids: Iterable[int]) -> dict[int, float]:
        """When each chunk of *chunk_ids* was started (epoch seconds)."""
        wanted = sorted(set(chunk_ids))
        result: dict[int, float] = {}
        with self._lock:
            for chunk_id in wanted:
                row = self._conn.execute(
                    "SELECT started_at FROM chunks WHERE id = ?", (chunk_id,)
                ).fetchone()
                if row is not None:
                    result[chunk_id] = float(row[0])
        return result

    def rows(
        self,
    ) -> Iterator[tuple[int, str, str | None, str, int | None, str | None, str | None]]:
        """Every input item in order: (seq, input, number, state, error code, error, robot)."""
        try:
            with self._lock:
                doubt = self._in_doubt()
            yield from self._pages(doubt)
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path, "read") from None

    def _pages(
        self, doubt: Mapping[str, tuple[int, str | None, NumberState]]
    ) -> Iterator[tuple[int, str, str | None, str, int | None, str | None, str | None]]:
        after = 0
        while True:
            with self._lock:
                page = self._conn.execute(
                    "SELECT n.seq, COALESCE(n.input, '+' || COALESCE(n.number, n.duplicate_of)), "
                    "n.number, COALESCE(n.number, n.duplicate_of), n.state, "
                    "n.error_code, n.error, c.robot "
                    "FROM numbers AS n LEFT JOIN chunks AS c ON c.id = n.chunk "
                    "WHERE n.seq > ? ORDER BY n.seq LIMIT ?",
                    (after, _PAGE),
                ).fetchall()
            if not page:
                return
            for seq, raw, own, digits, stored, code, error, robot in page:
                number = None if digits is None else _e164(digits)
                if own is not None and number is not None and number in doubt:
                    yield seq, raw, number, NumberState.SENDING.value, code, error, doubt[number][1]
                else:
                    yield seq, raw, number, stored, code, error, robot
            after = page[-1][0]

    @_sqlite_errors("read")
    def latest_run(self) -> tuple[float | None, float | None]:
        """
        (numbers answered per second, seconds since its start) of the latest run, from times the
        journal recorded; (None, None) before its first answered chunk.
        """
        with self._lock:
            row = self._conn.execute(
                "SELECT r.started_at, sum(c.size), max(c.finished_at) FROM runs AS r "
                "JOIN chunks AS c ON c.run = r.id AND c.state = 'done' "
                "WHERE r.id = (SELECT max(id) FROM runs)"
            ).fetchone()
        if row is None or row[1] is None or row[2] is None:
            return None, None
        elapsed = float(row[2]) - float(row[0])
        return (float(row[1]) / elapsed if elapsed > 0 else None), elapsed

    def held_by_a_run(self) -> bool:
        """Whether a run (this open, or another process) holds the journal's run lock."""
        return self._run_lock is not None or RunLock.is_held(self.path)

    @_sqlite_errors("read")
    def chunk_runs(self, chunk_ids: Iterable[int]) -> dict[int, int]:
        """The run of each chunk of *chunk_ids*."""
        wanted = sorted(set(chunk_ids))
        result: dict[int, int] = {}
        with self._lock:
            for batch in _batches(wanted):
                rows = self._conn.execute(
                    f"SELECT id, run FROM chunks WHERE id IN ({_marks(batch)})", batch
                )
                result.update({int(chunk): int(run) for chunk, run in rows})
        return result

    @_sqlite_errors("write")
    def set_meta(self, key: str, value: str) -> None:
        """Store one ``meta`` entry (replacing it)."""
        with self._lock, _transaction(self._conn):
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
            )
        self.meta = {**self.meta, key: value}

    @_sqlite_errors("read")
    def get_meta(self, key: str) -> str | None:
        """One ``meta`` entry as stored now."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _in_doubt(self) -> dict[str, tuple[int, str | None, NumberState]]:
        """
        number -> (chunk, robot, stored state) of every number in doubt; under the lock.

        A number is in doubt while a chunk listing it is attempting, unless a later chunk has
        recorded an outcome for it.
        """
        doubt: dict[str, tuple[int, str | None, NumberState]] = {}
        attempting = self._conn.execute(
            "SELECT id, robot, numbers FROM chunks WHERE state = 'attempting' ORDER BY id"
        ).fetchall()
        chunk_of: dict[int, tuple[int, str | None]] = {}
        for chunk_id, robot, numbers in attempting:
            for number in _unpack(numbers):
                chunk_of[number] = (int(chunk_id), robot)
        for batch in _batches(list(chunk_of)):
            rows = self._conn.execute(
                f"SELECT number, chunk, state FROM numbers WHERE number IN ({_marks(batch)})",
                batch,
            )
            for number, chunk, state in rows:
                chunk_id, robot = chunk_of[number]
                if chunk is None or chunk < chunk_id or (chunk == chunk_id and state == "sending"):
                    doubt[_e164(number)] = (chunk_id, robot, NumberState(state))
        return doubt

    # Writes (each one transaction)

    @_sqlite_errors("write")
    def begin_run(self) -> int:
        """
        Record the start of a run; returns its id.

        The numbers that chunks of earlier runs left in doubt are written down as ``SENDING``
        (with their chunk), so `numbers_in` and `page` find them; a chunk none of whose numbers is
        in doubt any more is marked done.
        """
        now = time.time()
        with self._lock, _transaction(self._conn):
            cursor = self._conn.execute("INSERT INTO runs (started_at) VALUES (?)", (now,))
            attempting = self._conn.execute(
                "SELECT id, numbers FROM chunks WHERE state = 'attempting' ORDER BY id"
            ).fetchall()
            for chunk_id, numbers in attempting:
                for batch in _batches(_unpack(numbers)):
                    self._conn.execute(
                        "UPDATE numbers SET state = 'sending', chunk = ? "
                        f"WHERE number IN ({_marks(batch)}) AND (chunk IS NULL OR chunk < ?)",
                        [chunk_id, *batch, chunk_id],
                    )
            self._conn.executemany(_SETTLE_CHUNK, [(now, row[0]) for row in attempting])
            self._stale = self._still_attempting([int(row[0]) for row in attempting])
        return int(cursor.lastrowid or 0)

    @_sqlite_errors("write")
    def end_run(self, run: int, outcome: str) -> None:
        """Record how a run ended."""
        with self._lock, _transaction(self._conn):
            self._conn.execute(
                "UPDATE runs SET finished_at = ?, outcome = ? WHERE id = ?",
                (time.time(), outcome, run),
            )

    def chunk_started(
        self, run: int, index: int, robot: str | None, numbers: Sequence[str]
    ) -> None:
        """Record one chunk as attempting, durably, before it is sent (see `record`)."""
        self.record(run, [(index, robot, numbers)], [])

    def chunk_finished(self, run: int, index: int, updates: Iterable[NumberUpdate]) -> None:
        """Record one chunk as done with the outcome of each of its numbers (see `record`)."""
        self.record(run, [], [(index, group_updates(updates))])

    @_sqlite_errors("write")
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
        sync = contextlib.nullcontext() if started else _unsynced(self._conn)
        with self._lock, sync, _transaction(self._conn):
            for index, groups in finished:
                self._finish(run, index, groups, now)
            if finished and self._stale:
                self._conn.executemany(_SETTLE_CHUNK, [(now, chunk) for chunk in self._stale])
                stale = self._still_attempting(self._stale)
            if started:
                self._conn.executemany(
                    "INSERT INTO chunks (run, idx, robot, state, size, numbers, started_at) "
                    "VALUES (?, ?, ?, 'attempting', ?, ?, ?)",
                    [
                        (run, index, robot, len(numbers), _pack(numbers), now)
                        for index, robot, numbers in started
                    ],
                )
        if finished and self._stale:
            self._stale = stale

    def _finish(self, run: int, index: int, groups: Sequence[OutcomeGroup], now: float) -> None:
        """Mark a chunk done and set its numbers' outcomes, a statement per group."""
        found = self._conn.execute(
            "UPDATE chunks SET state = 'done', finished_at = ? WHERE run = ? AND idx = ? "
            "RETURNING id",
            (now, run, index),
        ).fetchall()
        chunk_id = int(found[0][0]) if found else None
        set_fields = "UPDATE numbers SET state = ?, chunk = ?, error_code = ?, error = ?"
        for state, code, text, numbers, seqs in groups:
            fields = (state.value, chunk_id, code, text)
            if seqs is not None and seqs and list(range(seqs[0], seqs[0] + len(seqs))) == seqs:
                self._conn.executemany(
                    f"{set_fields} WHERE seq BETWEEN ? AND ?", [(*fields, seqs[0], seqs[-1])]
                )
                continue
            targets: Sequence[int] = seqs if seqs is not None else [_digits(n) for n in numbers]
            key = "seq" if seqs is not None else "number"
            for batch in _batches(targets):
                self._conn.executemany(
                    f"{set_fields} WHERE {key} IN ({_marks(batch)})", [(*fields, *batch)]
                )

    @_sqlite_errors("write")
    def settle(self, updates: Iterable[NumberUpdate], chunks: Iterable[int]) -> None:
        """Apply reconciled outcomes and mark *chunks* done, in one transaction."""
        now = time.time()
        with self._lock, _transaction(self._conn):
            self._conn.executemany(
                "UPDATE numbers SET state = ?, error_code = ?, error = ? WHERE number = ?",
                [
                    (str(state), code, text, _digits(number))
                    for number, state, code, text in updates
                ],
            )
            self._conn.executemany(_SETTLE_CHUNK, [(now, chunk) for chunk in chunks])
            stale = self._still_attempting(self._stale)
        self._stale = stale

    def _still_attempting(self, chunks: Iterable[int]) -> frozenset[int]:
        """Those of *chunks* still attempting; under the lock."""
        wanted = list(chunks)
        found: set[int] = set()
        for batch in _batches(wanted):
            found.update(
                int(row[0])
                for row in self._conn.execute(
                    f"SELECT id FROM chunks WHERE state = 'attempting' AND id IN ({_marks(batch)})",
                    batch,
                )
            )
        return frozenset(found)
