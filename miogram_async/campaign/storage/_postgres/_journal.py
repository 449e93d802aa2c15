"""
A campaign kept in PostgreSQL: any number of workers, on any machines, run it together.

Target: ``postgresql://user:password@host:port/database?campaign=NAME`` (``campaign`` defaults to
``default``; every other parameter goes to libpq). One database holds any number of campaigns, in
five tables named ``miogram_*``, made by the first `create`.

Workers and leases. Each run (one ``campaign resume`` process) is a row of ``miogram_runs`` and
holds a session-level advisory lock on its id for as long as its connection lives: that lock is
the run's *liveness*. A run *claims* the numbers it is about to send, a page at a time, with
``SELECT ... FOR UPDATE SKIP LOCKED`` (so two workers never wait on, or take, the same rows) and
``claimed_by = <run>``: that claim is the *lease*; no other run takes a claimed number while the
run that holds it is alive. Before a chunk's request may leave, one committed transaction records
the chunk as ``attempting`` and its numbers as ``sending``, checking that the run still holds every
one of them; its outcome clears the claim.

When a run dies (SIGKILL, a lost machine), PostgreSQL ends its session and drops the advisory lock
(at once when the process dies on a live host; for a vanished host after the TCP keepalives every
connection asks the server for, about 20 s: `miogram_async._base.pg`). The next claim or
reconciliation by any other run *sweeps* it: the numbers it claimed but never started go back to
their state
(they were never sent); the numbers of its ``attempting`` chunks stay ``sending``, in doubt, and
are settled through the service's report exactly like after a crash of an SQLite run: never sent
again without ``resend_unknown``. Nothing here retries a stalled chunk by itself.

The connection is psycopg 3's synchronous one, used from worker threads under a lock like the
SQLite journal: the same calling convention for both storages, and it works under trio as well as
asyncio (psycopg's async connections, like asyncpg, need asyncio). Every commit is durable by
PostgreSQL's own rules (``synchronous_commit`` on, the default).

The password never leaves the URL it came in: `location` and every error name the database
without it. The statements are in `_sql`; the URL, the connection, the errors and filling a new
campaign in `_setup`.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Self

from ..._inputs import InputItem
from ..._model import CampaignError, NumberState
from .._base import (
    ANCHOR_KEY,
    FORMAT,
    GATE_KEY,
    OWN_TEXTS,
    PACE_KEY,
    SHARED_TEXT,
    ChunkEnd,
    ChunkInfo,
    ChunkStart,
    Extra,
    NumberUpdate,
    Row,
    stored_state,
)
from .._meta import CampaignMeta, from_rows, to_rows
from . import _sql
from ._setup import (
    READABLE_VERSIONS,
    RUN_LOCK_SPACE,
    SCHEMA_VERSION,
    connect,
    db_errors,
    fill,
    load_psycopg,
    run_keys,
    split_url,
    storage_error,
)
from ._source import ClaimedNumbers

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresJournal"]

_PAGE: Final = 2000
#: Numbers one claim takes: about this many chunks' worth (one claim per chunk would make the
#: claims a run's bottleneck), at most `_CLAIM_MAX`; held only until the run's end or death.
_CLAIM_CHUNKS: Final = 8
_CLAIM_MAX: Final = 2000


class PostgresJournal:
    """One open of a campaign kept in PostgreSQL: one connection, used from any thread."""

    #: Other workers may run the same campaign at once.
    shared = True

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        name: str,
        shown: str,
        *,
        read_only: bool,
        conninfo: str = "",
    ) -> None:
        self._conn = conn
        # Where the campaign's own send gate connects (it may hold a password: never shown).
        self._conninfo = conninfo
        self.name = name
        self._shown = shown
        self.read_only = read_only
        self._lock = threading.Lock()
        #: This open's runs, whose advisory locks its session holds.
        self._runs: set[int] = set()
        self._closed = False
        rows = conn.execute(_sql.META, (name,)).fetchall()
        self.meta: CampaignMeta = from_rows({str(k): str(v) for k, v in rows}, shown)

    @property
    def location(self) -> str:
        """The database URL with the campaign's name, without the password."""
        return self._shown

    @property
    def file(self) -> Path | None:
        """A database campaign has no file."""
        return None

    @classmethod
    def open(cls, url: str, *, read_only: bool = False) -> Self:
        """
        Open the campaign *url* names, to run it (alongside other workers) or *read_only*.

        Raises:
            CampaignError: no such campaign, or one of another format or version.
            CampaignStorageError: the database is unreachable or refuses this user.
        """
        conninfo, name, shown = split_url(url)
        conn = connect(conninfo, shown, read_only=read_only)
        try:
            cls._check(conn, name, shown)
            return cls(conn, name, shown, read_only=read_only, conninfo=conninfo)
        except load_psycopg().Error as exc:
            conn.close()
            raise storage_error(exc, shown, "open") from None
        except BaseException:
            conn.close()
            raise

    @staticmethod
    def _check(conn: psycopg.Connection[Any], name: str, shown: str) -> None:
        """Make sure the campaign exists and is of this format and version."""
        found = conn.execute(_sql.TABLES_EXIST).fetchone()
        row = None
        if found is not None and found[0]:
            row = conn.execute(_sql.CAMPAIGN, (name,)).fetchone()
        if row is None:
            raise CampaignError(f"no campaign {shown}")
        if row[0] != FORMAT or row[1] not in READABLE_VERSIONS:
            raise CampaignError(
                f"campaign {shown} has format {row[0]!r} version {row[1]!r}, this version of "
                f"miogram-async reads {FORMAT!r} version {SCHEMA_VERSION}"
            )

    @classmethod
    def create(
        cls,
        url: str,
        *,
        meta: CampaignMeta,
        inputs: Iterable[InputItem],
        normalize: Callable[[str], str],
        overwrite: bool = False,
    ) -> Self:
        """
        Record a new campaign with the settings *meta* and every item of *inputs*, then open it.

        One transaction: a failure leaves no half-made campaign. With *overwrite*, an existing
        campaign of that name is replaced, unless a run holds it.

        Raises:
            CampaignError: the campaign exists and *overwrite* is false.
            CampaignInUseError: (*overwrite*) a worker is running the campaign.
        """
        conninfo, name, shown = split_url(url)
        conn = connect(conninfo, shown)
        try:
            with conn.transaction():
                fill(
                    conn,
                    name,
                    shown,
                    meta=to_rows(meta),
                    inputs=inputs,
                    normalize=normalize,
                    overwrite=overwrite,
                )
            return cls(conn, name, shown, read_only=False, conninfo=conninfo)
        except load_psycopg().Error as exc:
            conn.close()
            raise storage_error(exc, shown, "create") from None
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        """Close the connection (idempotent): the session's run locks go with it."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    @contextlib.contextmanager
    def _transaction(self, *, synced: bool = True) -> Iterator[None]:
        """
        One transaction; not *synced*: its commit does not wait for the WAL flush.

        Only for writes whose loss in a server crash costs nothing (a claim, an outcome, a
        release): the next synced commit (a chunk start) flushes them too, the WAL being written
        in order. A chunk's ``attempting`` row is always committed synced.
        """
        with self._conn.transaction():
            if not synced:
                self._conn.execute(_sql.UNSYNCED)
            yield

    # Liveness and leases

    def _sweep(self) -> list[int]:
        """
        Release what dead runs of this campaign held; returns their ids. Under the lock.

        Their claimed numbers that never started go back to their state; the numbers of their
        attempting chunks stay ``sending`` (in doubt) and become reconcilable.
        """
        dead = [int(row[0]) for row in self._conn.execute(_sql.DEAD_RUNS, run_keys(self.name))]
        if dead:
            self._conn.execute(_sql.RELEASE_DEAD_CLAIMS, (dead, self.name))
        return dead

    def _group(self, group: int | None) -> str:
        """The `_sql.GROUPS` condition of *group* (see `Storage.page`)."""
        if group is None or not self.meta.per_row:
            return _sql.GROUP_ALL
        if group == SHARED_TEXT:
            return _sql.GROUP_SHARED
        if group == OWN_TEXTS:
            return _sql.GROUP_OWN
        return _sql.GROUP_TEXT

    @db_errors("claim numbers of")
    def claim(
        self,
        run: int,
        states: Sequence[NumberState],
        limit: int,
        after: int = 0,
        group: int | None = None,
    ) -> list[tuple[int, str]]:
        """
        Claim up to *limit* numbers in *states* that no run holds, for *run*; (seq, number).

        Looked for after seq *after* first (where this run's last claim ended: the index entries
        of the numbers before it are mostly dead row versions, and scanning them again on every
        claim would cost a whole campaign each time), then from the start. Rows another worker is
        claiming at the same moment are skipped, never waited for. When nothing is left, the
        runs that died are swept and the claim is tried once more from the start. *group* limits
        them as in `page`.
        """
        wanted = [str(state) for state in states]
        query = _sql.CLAIM.format(group=self._group(group))
        with self._lock, self._transaction(synced=False):
            starts = [after, 0] if after > 0 else [0]
            for attempt, start in enumerate([*starts, 0]):
                if attempt == len(starts):
                    self._sweep()
                rows = self._conn.execute(
                    query,
                    {
                        "c": self.name,
                        "states": wanted,
                        "limit": limit,
                        "run": run,
                        "after": start,
                        "group": group,
                    },
                ).fetchall()
                if rows:
                    return sorted((int(seq), str(number)) for seq, number in rows)
        return []

    def gate_database(self) -> str | None:
        """The campaign's database: its workers' send gate lives there too."""
        return self._conninfo or None

    @db_errors("write")
    def record_gate(self, identity: str) -> str:
        """Keep *identity* as the gate of the campaign's runs, unless one is kept; return it."""
        with self._lock, self._conn.transaction():
            self._conn.execute(_sql.KEEP_META, (self.name, GATE_KEY, identity))
            row = self._conn.execute(_sql.META_VALUE, (self.name, GATE_KEY)).fetchone()
        assert row is not None
        return str(row[0])

    def source(
        self,
        run: int,
        states: Sequence[NumberState],
        seqs: dict[str, int],
        group: int | None = None,
        texts: dict[str, str] | None = None,
    ) -> AsyncIterator[str]:
        """The numbers *run* claims, a page at a time (see `ClaimedNumbers`)."""
        page = min(_CLAIM_MAX, max(self.meta.chunk_size, 1) * _CLAIM_CHUNKS)
        return ClaimedNumbers(self, run, states, seqs, page, group=group, texts=texts)

    # Reads

    @db_errors("read")
    def counts(self) -> dict[NumberState, int]:
        """Numbers per state, every state present (in doubt and in flight count as SENDING)."""
        with self._lock:
            rows = self._conn.execute(_sql.COUNTS, (self.name,)).fetchall()
        found = {
            stored_state(state, f"campaign {self.location}"): int(count) for state, count in rows
        }
        return {state: found.get(state, 0) for state in NumberState}

    @db_errors("read")
    def chunk_counts(self) -> tuple[int, int, int]:
        """(all chunks, done chunks, runs)."""
        with self._lock:
            row = self._conn.execute(_sql.CHUNK_COUNTS, {"c": self.name}).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    @db_errors("read")
    def last_run(self) -> str | None:
        """``"running"`` while a worker runs the campaign, else how the latest run ended."""
        with self._lock:
            if self._live_runs():
                return "running"
            row = self._conn.execute(_sql.LAST_RUN, (self.name,)).fetchone()
        if row is None:
            return None
        return "interrupted" if row[0] is None else str(row[0])

    def _live_runs(self) -> bool:
        row = self._conn.execute(_sql.LIVE_RUNS, run_keys(self.name)).fetchone()
        return row is not None

    @db_errors("read")
    def held_by_a_run(self) -> bool:
        """Whether a worker (this open or another process) is running the campaign."""
        with self._lock:
            return self._live_runs()

    @db_errors("read")
    def latest_run(self) -> tuple[float | None, float | None]:
        """
        (numbers answered per second, seconds since its start) since the latest run began,
        counting every worker's chunks; (None, None) before an answered chunk.
        """
        with self._lock:
            row = self._conn.execute(_sql.LATEST_RUN, {"c": self.name}).fetchone()
        if row is None or row[1] is None or row[2] is None:
            return None, None
        elapsed = float(row[2]) - float(row[0])
        return (float(row[1]) / elapsed if elapsed > 0 else None), elapsed

    @db_errors("read")
    def numbers_in(self, states: Sequence[NumberState]) -> list[tuple[int, str]]:
        """
        (chunk id or -1, number) of every number in *states* that no live run holds.

        Dead runs are swept first, so ``SENDING`` finds the numbers their chunks left in doubt,
        never those of a chunk a live worker has in flight.
        """
        wanted = [str(state) for state in states]
        with self._lock, self._conn.transaction():
            self._sweep()
            rows = self._conn.execute(_sql.NUMBERS_IN, (self.name, wanted)).fetchall()
        return [(-1 if chunk is None else int(chunk), str(number)) for chunk, number in rows]

    @db_errors("read")
    def page(
        self, states: Sequence[NumberState], after_seq: int, limit: int, group: int | None = None
    ) -> list[tuple[int, str]]:
        """
        The next *limit* (seq, number) in *states* that no run holds, after *after_seq*; of
        *group* only when given (see `Storage.page`).
        """
        query = _sql.PAGE.format(group=self._group(group))
        with self._lock:
            rows = self._conn.execute(
                query,
                {
                    "c": self.name,
                    "states": [str(state) for state in states],
                    "after": after_seq,
                    "limit": limit,
                    "group": group,
                },
            ).fetchall()
        return [(int(seq), str(number)) for seq, number in rows]

    @db_errors("read")
    def text_groups(self) -> list[tuple[int, str]]:
        """(id, text) of each text of their own that two or more numbers to send share."""
        if not self.meta.per_row:
            return []
        with self._lock:
            rows = self._conn.execute(_sql.SHARED_TEXTS, (self.name,)).fetchall()
        return [(int(id_), str(text)) for id_, text in rows]

    @db_errors("read")
    def texts(self, numbers: Sequence[str]) -> dict[str, str]:
        """The text each of *numbers* gets: its own, or the campaign's message."""
        wanted = list(numbers)
        found: dict[str, str] = {}
        with self._lock:
            if self.meta.per_row and wanted:
                rows = self._conn.execute(_sql.TEXTS_OF, (self.name, wanted)).fetchall()
                found.update({str(number): str(text) for number, text in rows})
            message = self.meta.message
            if message is not None and len(found) < len(wanted):
                rest = [number for number in wanted if number not in found]
                held = self._conn.execute(_sql.HELD, (self.name, rest)).fetchall()
                found.update({str(number): message for (number,) in held})
        return found

    def extras(self) -> Iterator[Extra]:
        """Every input item that keeps cells or has a text of its own, in order."""
        if not self.meta.per_row and not self.meta.columns:
            return
        after = 0
        while True:
            try:
                with self._lock:
                    page = self._conn.execute(_sql.EXTRAS, (self.name, after, _PAGE)).fetchall()
            except load_psycopg().Error as exc:
                raise storage_error(exc, self.location, "read") from None
            if not page:
                return
            for seq, cells, text in page:
                yield int(seq), None if cells is None else json.loads(cells), text
            after = int(page[-1][0])

    def rows(self) -> Iterator[Row]:
        """Every input item in order: (seq, input, number, state, error code, error, robot)."""
        after = 0
        while True:
            try:
                with self._lock:
                    page = self._conn.execute(_sql.ROWS, (self.name, after, _PAGE)).fetchall()
            except load_psycopg().Error as exc:
                raise storage_error(exc, self.location, "read") from None
            if not page:
                return
            for seq, raw, number, state, code, error, robot in page:
                yield int(seq), str(raw), number, str(state), code, error, robot
            after = int(page[-1][0])

    @db_errors("read")
    def chunk_runs(self, chunk_ids: Iterable[int]) -> dict[int, int]:
        """The run of each chunk of *chunk_ids*."""
        with self._lock:
            rows = self._conn.execute(_sql.CHUNK_RUNS, (sorted(set(chunk_ids)),)).fetchall()
        return {int(chunk): int(run) for chunk, run in rows}

    @db_errors("read")
    def chunk_info(self, chunk_ids: Iterable[int]) -> dict[int, ChunkInfo]:
        """The agent, times and size of each chunk of *chunk_ids*."""
        with self._lock:
            rows = self._conn.execute(_sql.CHUNK_INFO, (sorted(set(chunk_ids)),)).fetchall()
        return {
            int(chunk): (
                None if robot is None else str(robot),
                float(started),
                None if finished is None else float(finished),
                int(size),
            )
            for chunk, robot, started, finished, size in rows
        }

    @db_errors("read")
    def witness(self, robot: str | None) -> str | None:
        """A number recorded ``DELIVERED`` by a chunk sent through *robot*, or ``None``."""
        with self._lock:
            row = self._conn.execute(_sql.WITNESS, (self.name, robot)).fetchone()
        return None if row is None else str(row[0])

    @db_errors("write")
    def set_note(self, key: str, value: str) -> None:
        """Keep *value* under *key* (a ``miogram_meta`` row), replacing it."""
        with self._lock:
            self._conn.execute(_sql.SET_META, (self.name, key, value))

    @db_errors("read")
    def note(self, key: str) -> str | None:
        """The note kept under *key*, or ``None``."""
        with self._lock:
            row = self._conn.execute(_sql.META_VALUE, (self.name, key)).fetchone()
        return None if row is None else str(row[0])

    @db_errors("write")
    def set_anchor(self, run: int, anchor: str) -> None:
        """Keep the report anchor of *run* (a ``miogram_meta`` row), replacing it."""
        with self._lock:
            self._conn.execute(_sql.SET_META, (self.name, ANCHOR_KEY.format(run=run), anchor))

    @db_errors("read")
    def anchor(self, run: int) -> str | None:
        """The report anchor *run* kept, as stored now, or ``None``."""
        with self._lock:
            row = self._conn.execute(
                _sql.META_VALUE, (self.name, ANCHOR_KEY.format(run=run))
            ).fetchone()
        return None if row is None else str(row[0])

    @db_errors("write")
    def set_pace(self, paces: str) -> None:
        """Keep the gateway's measured pace (a ``miogram_meta`` row), replacing it."""
        with self._lock:
            self._conn.execute(_sql.SET_META, (self.name, PACE_KEY, paces))

    @db_errors("read")
    def pace(self) -> str | None:
        """The gateway's pace `set_pace` kept, or ``None``."""
        with self._lock:
            row = self._conn.execute(_sql.META_VALUE, (self.name, PACE_KEY)).fetchone()
        return None if row is None else str(row[0])

    # Writes

    @db_errors("write")
    def begin_run(self) -> int:
        """
        Record the start of a run of this worker; returns its id.

        The run's advisory lock is taken in the same transaction that makes its row visible, so
        no other worker ever sees the run without its lock (and takes it for dead).
        """
        if self.read_only:
            raise CampaignError(f"campaign {self.location} was opened read-only: it cannot run")
        with self._lock, self._conn.transaction():
            row = self._conn.execute(_sql.BEGIN_RUN, (self.name, time.time())).fetchone()
            assert row is not None
            run = int(row[0])
            self._conn.execute(_sql.LOCK_RUN, (RUN_LOCK_SPACE, run))
        self._runs.add(run)
        return run

    @db_errors("write")
    def end_run(self, run: int, outcome: str) -> None:
        """
        Record how *run* ended and give up its claims.

        Numbers it claimed but never started go back to their state; those of its chunks still
        attempting (outcome not recorded) stay ``sending``: in doubt, for any worker to settle.
        """
        with self._lock, self._transaction(synced=False):
            self._conn.execute(_sql.RELEASE_CLAIMS, (self.name, run))
            self._conn.execute(_sql.END_RUN, (time.time(), outcome, run))
            self._conn.execute(_sql.UNLOCK_RUN, (RUN_LOCK_SPACE, run))
        self._runs.discard(run)

    @db_errors("write")
    def record(self, run: int, started: Sequence[ChunkStart], finished: Sequence[ChunkEnd]) -> None:
        """
        Record chunks of *run* as done (*finished*) and others as attempting (*started*), at once.

        One committed transaction before any started chunk is sent. Every number of a started
        chunk must still be claimed by *run*; if one is not (the run was taken for dead and swept),
        nothing is recorded and `CampaignError` is raised, so none of those chunks is sent.
        """
        now = time.time()
        with (
            self._lock,
            self._transaction(synced=bool(started)),
            self._conn.cursor() as cursor,
        ):
            for index, groups in finished:
                found = cursor.execute(_sql.FINISH_CHUNK, (now, run, index)).fetchone()
                chunk_id = None if found is None else int(found[0])
                for state, code, text, numbers, seqs in groups:
                    key, targets = ("seq", list(seqs)) if seqs is not None else ("number", numbers)
                    cursor.execute(
                        _sql.SET_OUTCOME.format(key=key),
                        (state.value, chunk_id, code, text, now, self.name, list(targets)),
                    )
            for index, robot, numbers in started:
                row = cursor.execute(
                    _sql.START_CHUNK, (self.name, run, index, robot, len(numbers), now)
                ).fetchone()
                assert row is not None
                cursor.execute(_sql.MARK_SENDING, (int(row[0]), now, self.name, list(numbers), run))
                if cursor.rowcount != len(numbers):
                    raise CampaignError(
                        f"campaign {self.location}: this worker no longer holds the numbers of "
                        f"chunk {index} (it was taken for dead): nothing of it was sent"
                    )

    @db_errors("write")
    def settle(self, updates: Iterable[NumberUpdate], chunks: Iterable[int]) -> None:
        """Apply reconciled outcomes and mark *chunks* done once none of theirs is in doubt."""
        now = time.time()
        with self._lock, self._transaction(synced=False), self._conn.cursor() as cursor:
            cursor.executemany(
                _sql.SETTLE_NUMBER,
                [
                    (str(state), code, text, now, self.name, number)
                    for number, state, code, text in updates
                ],
            )
            cursor.execute(
                _sql.SETTLE_CHUNKS, {"now": now, "chunks": sorted(set(chunks)), "c": self.name}
            )
