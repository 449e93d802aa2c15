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
(at once when the process dies on a live host; for a vanished host after the TCP keepalive settings
this module asks the server for, about 20 s). The next claim or reconciliation by any other run
*sweeps* it: the numbers it claimed but never started go back to their state (they were never
sent); the numbers of its ``attempting`` chunks stay ``sending``, in doubt, and are settled
through the service's report exactly like after a crash of an SQLite run: never sent again
without ``resend_unknown``. Nothing here retries a stalled chunk by itself.

The connection is psycopg 3's synchronous one, used from worker threads under a lock like the
SQLite journal: the same calling convention for both storages, and it works under trio as well as
asyncio (psycopg's async connections, like asyncpg, need asyncio). Every commit is durable by
PostgreSQL's own rules (``synchronous_commit`` on, the default).

The password never leaves the URL it came in: `location` and every error name the database
without it.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, Final, ParamSpec, Self, TypeVar

import anyio
import anyio.to_thread

from ._journal import ChunkEnd, ChunkStart, NumberUpdate
from ._model import CampaignError, CampaignInUseError, CampaignStorageError, NumberState
from ._schema import FORMAT, POSTGRES_SCHEMA_VERSION
from ._storage import Row, classify_inputs

if TYPE_CHECKING:
    import psycopg

__all__ = ["DEFAULT_CAMPAIGN", "PostgresJournal", "split_url"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

DEFAULT_CAMPAIGN: Final = "default"
#: First key of every advisory lock a run holds ("MioC"); the second is the run's id.
RUN_LOCK_SPACE: Final = 0x4D696F43
#: First key of the lock that serialises creating the tables.
_SCHEMA_LOCK: Final = (RUN_LOCK_SPACE, 0)
_PAGE: Final = 2000
#: Numbers one claim takes: about this many chunks' worth (one claim per chunk would make the
#: claims a run's bottleneck), at most `_CLAIM_MAX`; held only until the run's end or death.
_CLAIM_CHUNKS: Final = 8
_CLAIM_MAX: Final = 2000
#: Claimed numbers whose chunk is not answered yet, beyond which a run claims no more. A running
#: fan-out holds at most about (2 x concurrency + 2) chunks; only a stopped one, which reads its
#: input to the end without sending, gets here: it must not take the whole campaign from the other
#: workers (its claims go back when the run ends).
_CLAIMED_MAX: Final = 50_000
#: Asked of the server for this session, so a worker whose host vanished is found dead (and its
#: locks dropped) within about idle + interval * count seconds.
KEEPALIVES: Final = {
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "3",
    "keepalives_count": "3",
}
SERVER_KEEPALIVES: Final = (
    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 3; SET tcp_keepalives_count = 3"
)

# ``miogram_numbers`` has no index beyond its keys: a claim, a chunk start and an outcome change
# only unindexed columns (state, claimed_by, chunk...), so PostgreSQL updates the row in place (a
# HOT update, room left by the fill factor) without writing any index. Claims walk the primary key
# from where the run's last claim ended; the rare whole-campaign reads (status, reconciliation,
# the end of a run) scan the campaign's rows.
SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS miogram_campaigns (
        name text PRIMARY KEY,
        format text NOT NULL,
        schema_version integer NOT NULL,
        created_at double precision NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS miogram_meta (
        campaign text NOT NULL REFERENCES miogram_campaigns ON DELETE CASCADE,
        key text NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (campaign, key)
    )""",
    """CREATE TABLE IF NOT EXISTS miogram_runs (
        id bigserial PRIMARY KEY,
        campaign text NOT NULL REFERENCES miogram_campaigns ON DELETE CASCADE,
        started_at double precision NOT NULL,
        finished_at double precision,
        outcome text
    )""",
    """CREATE TABLE IF NOT EXISTS miogram_chunks (
        id bigserial PRIMARY KEY,
        campaign text NOT NULL REFERENCES miogram_campaigns ON DELETE CASCADE,
        run bigint NOT NULL,
        idx integer NOT NULL,
        robot text,
        state text NOT NULL CHECK (state IN ('attempting', 'done')),
        size integer NOT NULL,
        started_at double precision NOT NULL,
        finished_at double precision,
        UNIQUE (run, idx)
    )""",
    """CREATE TABLE IF NOT EXISTS miogram_numbers (
        campaign text NOT NULL REFERENCES miogram_campaigns ON DELETE CASCADE,
        seq bigint NOT NULL,
        input text NOT NULL,
        number text,
        duplicate_of text,
        state text NOT NULL,
        chunk bigint,
        claimed_by bigint,
        error_code integer,
        error text,
        updated_at double precision,
        PRIMARY KEY (campaign, seq),
        UNIQUE (campaign, number)
    ) WITH (fillfactor = 70)""",
    "CREATE INDEX IF NOT EXISTS miogram_chunks_attempting ON miogram_chunks (campaign) "
    "WHERE state = 'attempting'",
)

# The runs of a campaign that never recorded an end and whose session is gone.
_DEAD_RUNS: Final = """
SELECT r.id FROM miogram_runs AS r
WHERE r.campaign = %(c)s AND r.finished_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM pg_locks AS l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid::bigint = %(space)s AND l.objid::bigint = r.id
)
"""


_LIVE_RUNS: Final = _DEAD_RUNS.replace("NOT EXISTS", "EXISTS")


def split_url(url: str) -> tuple[str, str, str]:
    """
    (libpq URL without ``campaign``, campaign name, the URL to show: no password) of *url*.

    Raises:
        CampaignError: the campaign name is empty.
    """
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    names = [value for key, value in query if key == "campaign"]
    name = names[-1] if names else DEFAULT_CAMPAIGN
    if not name.strip():
        raise CampaignError("expected a campaign name in the URL (?campaign=NAME), got ''")
    rest = urllib.parse.urlencode([(k, v) for k, v in query if k != "campaign"])
    conninfo = urllib.parse.urlunsplit(parts._replace(query=rest))
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}@{host}"
    shown_query = urllib.parse.urlencode(
        [(k, v) for k, v in query if k not in ("campaign", "password")] + [("campaign", name)]
    )
    shown = urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=shown_query))
    return conninfo, name, shown


def _psycopg() -> Any:
    try:
        import psycopg  # noqa: PLC0415 - optional: the postgres extra
    except ImportError:
        raise CampaignError(
            "a postgresql:// campaign needs psycopg: pip install 'miogram-async[postgres]'"
        ) from None
    return psycopg


def storage_error(exc: Exception, where: str, doing: str) -> CampaignError:
    """The `CampaignError` for a psycopg error raised while *doing* something with *where*."""
    psycopg = _psycopg()
    keep = "; nothing committed was lost and the campaign resumes once this is fixed"
    # The message of a connection error may quote the host, never the password (libpq's own).
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return CampaignStorageError(
            f"cannot {doing} campaign {where}: permission denied ({detail}){keep}",
            "permission denied",
        )
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return CampaignStorageError(
            f"cannot {doing} campaign {where}: the database is read-only{keep}", "read-only"
        )
    if isinstance(exc, psycopg.errors.DiskFull):
        return CampaignStorageError(
            f"cannot {doing} campaign {where}: disk full{keep}", "disk full"
        )
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return CampaignStorageError(
            f"cannot {doing} campaign {where}: the database is unreachable ({detail}){keep}",
            "I/O error",
        )
    return CampaignError(f"cannot {doing} campaign {where}: {detail}")


def _db_errors(
    doing: str,
) -> Callable[
    [Callable[Concatenate[PostgresJournal, _P], _R]],
    Callable[Concatenate[PostgresJournal, _P], _R],
]:
    """Turn the psycopg errors of a `PostgresJournal` method into `CampaignError`."""

    def wrap(
        method: Callable[Concatenate[PostgresJournal, _P], _R],
    ) -> Callable[Concatenate[PostgresJournal, _P], _R]:
        @functools.wraps(method)
        def guarded(self: PostgresJournal, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return method(self, *args, **kwargs)
            except _psycopg().Error as exc:
                raise storage_error(exc, self.location, doing) from None

        return guarded

    return wrap


def _connect(conninfo: str, where: str, *, read_only: bool = False) -> psycopg.Connection[Any]:
    pg = _psycopg()
    try:
        conn: psycopg.Connection[Any] = pg.Connection.connect(
            conninfo, autocommit=True, **KEEPALIVES
        )
        conn.execute(SERVER_KEEPALIVES)
        if read_only:
            conn.execute("SET default_transaction_read_only = on")
    except pg.Error as exc:
        raise storage_error(exc, where, "open") from None
    return conn


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
    ) -> None:
        self._conn = conn
        self.name = name
        self._shown = shown
        self.read_only = read_only
        self._lock = threading.Lock()
        #: This open's runs, whose advisory locks its session holds.
        self._runs: set[int] = set()
        self._closed = False
        rows = conn.execute(
            "SELECT key, value FROM miogram_meta WHERE campaign = %s", (name,)
        ).fetchall()
        self.meta: Mapping[str, str] = {str(k): str(v) for k, v in rows}

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
        conn = _connect(conninfo, shown, read_only=read_only)
        try:
            cls._check(conn, name, shown)
            return cls(conn, name, shown, read_only=read_only)
        except _psycopg().Error as exc:
            conn.close()
            raise storage_error(exc, shown, "open") from None
        except BaseException:
            conn.close()
            raise

    @staticmethod
    def _check(conn: psycopg.Connection[Any], name: str, shown: str) -> None:
        """Make sure the campaign exists and is of this format and version."""
        found = conn.execute("SELECT to_regclass('miogram_campaigns') IS NOT NULL").fetchone()
        row = None
        if found is not None and found[0]:
            row = conn.execute(
                "SELECT format, schema_version FROM miogram_campaigns WHERE name = %s", (name,)
            ).fetchone()
        if row is None:
            raise CampaignError(f"no campaign {shown}")
        if row[0] != FORMAT or row[1] != POSTGRES_SCHEMA_VERSION:
            raise CampaignError(
                f"campaign {shown} has format {row[0]!r} version {row[1]!r}, this version of "
                f"miogram-async reads {FORMAT!r} version {POSTGRES_SCHEMA_VERSION}"
            )

    @classmethod
    def create(
        cls,
        url: str,
        *,
        meta: Mapping[str, str],
        inputs: Iterable[str],
        normalize: Callable[[str], str],
        overwrite: bool = False,
    ) -> Self:
        """
        Record a new campaign with *meta* and every item of *inputs*, then open it.

        One transaction: a failure leaves no half-made campaign. With *overwrite*, an existing
        campaign of that name is replaced, unless a run holds it.

        Raises:
            CampaignError: the campaign exists and *overwrite* is false.
            CampaignInUseError: (*overwrite*) a worker is running the campaign.
        """
        conninfo, name, shown = split_url(url)
        conn = _connect(conninfo, shown)
        try:
            with conn.transaction():
                _fill(
                    conn,
                    name,
                    shown,
                    meta=meta,
                    inputs=inputs,
                    normalize=normalize,
                    overwrite=overwrite,
                )
            return cls(conn, name, shown, read_only=False)
        except _psycopg().Error as exc:
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
                self._conn.execute("SET LOCAL synchronous_commit = off")
            yield

    # Liveness and leases

    def _sweep(self) -> list[int]:
        """
        Release what dead runs of this campaign held; returns their ids. Under the lock.

        Their claimed numbers that never started go back to their state; the numbers of their
        attempting chunks stay ``sending`` (in doubt) and become reconcilable.
        """
        dead = [int(row[0]) for row in self._conn.execute(_DEAD_RUNS, _keys(self.name))]
        if dead:
            self._conn.execute(
                "UPDATE miogram_numbers SET claimed_by = NULL "
                "WHERE claimed_by = ANY(%s) AND campaign = %s",
                (dead, self.name),
            )
        return dead

    @_db_errors("claim numbers of")
    def claim(
        self, run: int, states: Sequence[NumberState], limit: int, after: int = 0
    ) -> list[tuple[int, str]]:
        """
        Claim up to *limit* numbers in *states* that no run holds, for *run*; (seq, number).

        Looked for after seq *after* first (where this run's last claim ended: the index entries
        of the numbers before it are mostly dead row versions, and scanning them again on every
        claim would cost a whole campaign each time), then from the start. Rows another worker is
        claiming at the same moment are skipped, never waited for. When nothing is left, the
        runs that died are swept and the claim is tried once more from the start.
        """
        wanted = [str(state) for state in states]
        with self._lock, self._transaction(synced=False):
            starts = [after, 0] if after > 0 else [0]
            for attempt, start in enumerate([*starts, 0]):
                if attempt == len(starts):
                    self._sweep()
                # An array of seqs, not a join: the update is primary-key lookups whatever the
                # planner believes about the table.
                rows = self._conn.execute(
                    "UPDATE miogram_numbers SET claimed_by = %(run)s"
                    " WHERE campaign = %(c)s AND seq = ANY(ARRAY("
                    "  SELECT seq FROM miogram_numbers"
                    "  WHERE campaign = %(c)s AND state = ANY(%(states)s) AND claimed_by IS NULL"
                    "  AND seq > %(after)s ORDER BY seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED))"
                    " RETURNING seq, number",
                    {"c": self.name, "states": wanted, "limit": limit, "run": run, "after": start},
                ).fetchall()
                if rows:
                    return sorted((int(seq), str(number)) for seq, number in rows)
        return []

    def source(
        self, run: int, states: Sequence[NumberState], seqs: dict[str, int]
    ) -> AsyncIterator[str]:
        """The numbers *run* claims, a page at a time (see `ClaimedNumbers`)."""
        chunk_size = int(self.meta.get("chunk_size", "100"))
        page = min(_CLAIM_MAX, max(chunk_size, 1) * _CLAIM_CHUNKS)
        return ClaimedNumbers(self, run, states, seqs, page)

    # Reads

    @_db_errors("read")
    def counts(self) -> dict[NumberState, int]:
        """Numbers per state, every state present (in doubt and in flight count as SENDING)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT state, count(*) FROM miogram_numbers WHERE campaign = %s GROUP BY state",
                (self.name,),
            ).fetchall()
        found = {NumberState(state): int(count) for state, count in rows}
        return {state: found.get(state, 0) for state in NumberState}

    @_db_errors("read")
    def chunk_counts(self) -> tuple[int, int, int]:
        """(all chunks, done chunks, runs)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE state = 'done'), "
                "(SELECT count(*) FROM miogram_runs WHERE campaign = %(c)s) "
                "FROM miogram_chunks WHERE campaign = %(c)s",
                {"c": self.name},
            ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    @_db_errors("read")
    def last_run(self) -> str | None:
        """``"running"`` while a worker runs the campaign, else how the latest run ended."""
        with self._lock:
            if self._live_runs():
                return "running"
            row = self._conn.execute(
                "SELECT outcome FROM miogram_runs WHERE campaign = %s ORDER BY id DESC LIMIT 1",
                (self.name,),
            ).fetchone()
        if row is None:
            return None
        return "interrupted" if row[0] is None else str(row[0])

    def _live_runs(self) -> bool:
        row = self._conn.execute(_LIVE_RUNS, _keys(self.name)).fetchone()
        return row is not None

    @_db_errors("read")
    def held_by_a_run(self) -> bool:
        """Whether a worker (this open or another process) is running the campaign."""
        with self._lock:
            return self._live_runs()

    @_db_errors("read")
    def latest_run(self) -> tuple[float | None, float | None]:
        """
        (numbers answered per second, seconds since its start) since the latest run began,
        counting every worker's chunks; (None, None) before an answered chunk.
        """
        with self._lock:
            row = self._conn.execute(
                "SELECT r.started_at, sum(c.size), max(c.finished_at) FROM miogram_chunks AS c, "
                "(SELECT max(started_at) AS started_at FROM miogram_runs WHERE campaign = %(c)s) "
                "AS r WHERE c.campaign = %(c)s AND c.state = 'done' "
                "AND c.started_at >= r.started_at GROUP BY r.started_at",
                {"c": self.name},
            ).fetchone()
        if row is None or row[1] is None or row[2] is None:
            return None, None
        elapsed = float(row[2]) - float(row[0])
        return (float(row[1]) / elapsed if elapsed > 0 else None), elapsed

    @_db_errors("read")
    def numbers_in(self, states: Sequence[NumberState]) -> list[tuple[int, str]]:
        """
        (chunk id or -1, number) of every number in *states* that no live run holds.

        Dead runs are swept first, so ``SENDING`` finds the numbers their chunks left in doubt,
        never those of a chunk a live worker has in flight.
        """
        wanted = [str(state) for state in states]
        with self._lock, self._conn.transaction():
            self._sweep()
            rows = self._conn.execute(
                "SELECT chunk, number FROM miogram_numbers WHERE campaign = %s "
                "AND state = ANY(%s) AND claimed_by IS NULL ORDER BY seq",
                (self.name, wanted),
            ).fetchall()
        return [(-1 if chunk is None else int(chunk), str(number)) for chunk, number in rows]

    @_db_errors("read")
    def page(
        self, states: Sequence[NumberState], after_seq: int, limit: int
    ) -> list[tuple[int, str]]:
        """The next *limit* (seq, number) in *states* that no run holds, after *after_seq*."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, number FROM miogram_numbers WHERE campaign = %s "
                "AND state = ANY(%s) AND claimed_by IS NULL AND seq > %s ORDER BY seq LIMIT %s",
                (self.name, [str(state) for state in states], after_seq, limit),
            ).fetchall()
        return [(int(seq), str(number)) for seq, number in rows]

    def rows(self) -> Iterator[Row]:
        """Every input item in order: (seq, input, number, state, error code, error, robot)."""
        after = 0
        while True:
            try:
                with self._lock:
                    page = self._conn.execute(
                        "SELECT n.seq, n.input, COALESCE(n.number, n.duplicate_of), n.state, "
                        "n.error_code, n.error, c.robot FROM miogram_numbers AS n "
                        "LEFT JOIN miogram_chunks AS c ON c.id = n.chunk "
                        "WHERE n.campaign = %s AND n.seq > %s ORDER BY n.seq LIMIT %s",
                        (self.name, after, _PAGE),
                    ).fetchall()
            except _psycopg().Error as exc:
                raise storage_error(exc, self.location, "read") from None
            if not page:
                return
            for seq, raw, number, state, code, error, robot in page:
                yield int(seq), str(raw), number, str(state), code, error, robot
            after = int(page[-1][0])

    @_db_errors("read")
    def chunk_runs(self, chunk_ids: Iterable[int]) -> dict[int, int]:
        """The run of each chunk of *chunk_ids*."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, run FROM miogram_chunks WHERE id = ANY(%s)", (sorted(set(chunk_ids)),)
            ).fetchall()
        return {int(chunk): int(run) for chunk, run in rows}

    @_db_errors("write")
    def set_meta(self, key: str, value: str) -> None:
        """Store one ``meta`` entry (replacing it)."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO miogram_meta (campaign, key, value) VALUES (%s, %s, %s) "
                "ON CONFLICT (campaign, key) DO UPDATE SET value = EXCLUDED.value",
                (self.name, key, value),
            )
        self.meta = {**self.meta, key: value}

    @_db_errors("read")
    def get_meta(self, key: str) -> str | None:
        """One ``meta`` entry as stored now."""
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM miogram_meta WHERE campaign = %s AND key = %s",
                (self.name, key),
            ).fetchone()
        return None if row is None else str(row[0])

    # Writes

    @_db_errors("write")
    def begin_run(self) -> int:
        """
        Record the start of a run of this worker; returns its id.

        The run's advisory lock is taken in the same transaction that makes its row visible, so
        no other worker ever sees the run without its lock (and takes it for dead).
        """
        if self.read_only:
            raise CampaignError(f"campaign {self.location} was opened read-only: it cannot run")
        with self._lock, self._conn.transaction():
            row = self._conn.execute(
                "INSERT INTO miogram_runs (campaign, started_at) VALUES (%s, %s) RETURNING id",
                (self.name, time.time()),
            ).fetchone()
            assert row is not None
            run = int(row[0])
            self._conn.execute("SELECT pg_advisory_lock(%s, %s)", (RUN_LOCK_SPACE, run))
        self._runs.add(run)
        return run

    @_db_errors("write")
    def end_run(self, run: int, outcome: str) -> None:
        """
        Record how *run* ended and give up its claims.

        Numbers it claimed but never started go back to their state; those of its chunks still
        attempting (outcome not recorded) stay ``sending``: in doubt, for any worker to settle.
        """
        with self._lock, self._transaction(synced=False):
            self._conn.execute(
                "UPDATE miogram_numbers SET claimed_by = NULL WHERE campaign = %s "
                "AND claimed_by = %s",
                (self.name, run),
            )
            self._conn.execute(
                "UPDATE miogram_runs SET finished_at = %s, outcome = %s WHERE id = %s",
                (time.time(), outcome, run),
            )
            self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (RUN_LOCK_SPACE, run))
        self._runs.discard(run)

    @_db_errors("write")
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
                found = cursor.execute(
                    "UPDATE miogram_chunks SET state = 'done', finished_at = %s "
                    "WHERE run = %s AND idx = %s RETURNING id",
                    (now, run, index),
                ).fetchone()
                chunk_id = None if found is None else int(found[0])
                for state, code, text, numbers, seqs in groups:
                    key, targets = ("seq", list(seqs)) if seqs is not None else ("number", numbers)
                    cursor.execute(
                        "UPDATE miogram_numbers SET state = %s, chunk = %s, error_code = %s, "
                        "error = %s, updated_at = %s, claimed_by = NULL "
                        f"WHERE campaign = %s AND {key} = ANY(%s)",
                        (state.value, chunk_id, code, text, now, self.name, list(targets)),
                    )
            for index, robot, numbers in started:
                row = cursor.execute(
                    "INSERT INTO miogram_chunks (campaign, run, idx, robot, state, size, "
                    "started_at) VALUES (%s, %s, %s, %s, 'attempting', %s, %s) RETURNING id",
                    (self.name, run, index, robot, len(numbers), now),
                ).fetchone()
                assert row is not None
                cursor.execute(
                    "UPDATE miogram_numbers SET state = 'sending', chunk = %s, updated_at = %s "
                    "WHERE campaign = %s AND number = ANY(%s) AND claimed_by = %s",
                    (int(row[0]), now, self.name, list(numbers), run),
                )
                if cursor.rowcount != len(numbers):
                    raise CampaignError(
                        f"campaign {self.location}: this worker no longer holds the numbers of "
                        f"chunk {index} (it was taken for dead): nothing of it was sent"
                    )

    def chunk_started(
        self, run: int, index: int, robot: str | None, numbers: Sequence[str]
    ) -> None:
        """Record one chunk as attempting before it is sent (see `record`)."""
        self.record(run, [(index, robot, numbers)], [])

    @_db_errors("write")
    def settle(self, updates: Iterable[NumberUpdate], chunks: Iterable[int]) -> None:
        """Apply reconciled outcomes and mark *chunks* done once none of theirs is in doubt."""
        now = time.time()
        with self._lock, self._transaction(synced=False), self._conn.cursor() as cursor:
            cursor.executemany(
                "UPDATE miogram_numbers SET state = %s, error_code = %s, error = %s, "
                "updated_at = %s WHERE campaign = %s AND number = %s AND claimed_by IS NULL",
                [
                    (str(state), code, text, now, self.name, number)
                    for number, state, code, text in updates
                ],
            )
            cursor.execute(
                "UPDATE miogram_chunks AS c SET state = 'done', finished_at = %(now)s "
                "WHERE c.id = ANY(%(chunks)s) AND c.state = 'attempting' AND c.id NOT IN ("
                " SELECT n.chunk FROM miogram_numbers AS n WHERE n.campaign = %(c)s"
                " AND n.state = 'sending' AND n.chunk IS NOT NULL)",
                {"now": now, "chunks": sorted(set(chunks)), "c": self.name},
            )


def _fill(
    conn: psycopg.Connection[Any],
    name: str,
    shown: str,
    *,
    meta: Mapping[str, str],
    inputs: Iterable[str],
    normalize: Callable[[str], str],
    overwrite: bool,
) -> None:
    """Make the tables if needed and record the campaign *name*; inside a transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", _SCHEMA_LOCK)
    for statement in SCHEMA:
        conn.execute(statement)
    existing = conn.execute(
        "SELECT 1 FROM miogram_campaigns WHERE name = %s FOR UPDATE", (name,)
    ).fetchone()
    if existing is not None:
        if not overwrite:
            raise CampaignError(f"campaign {shown} already exists (pass overwrite=True)")
        if conn.execute(_LIVE_RUNS, _keys(name)).fetchone():
            raise CampaignInUseError(
                f"campaign {shown} is in use by a worker: it cannot be overwritten "
                "while a run holds it"
            )
        conn.execute("DELETE FROM miogram_campaigns WHERE name = %s", (name,))
    conn.execute(
        "INSERT INTO miogram_campaigns (name, format, schema_version, created_at) "
        "VALUES (%s, %s, %s, %s)",
        (name, FORMAT, POSTGRES_SCHEMA_VERSION, time.time()),
    )
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO miogram_meta (campaign, key, value) VALUES (%s, %s, %s)",
            [(name, key, value) for key, value in meta.items()],
        )
    _insert_inputs(conn, name, inputs, normalize)
    # Fresh statistics for the planner: the table may just have grown by millions of rows.
    conn.execute("ANALYZE miogram_numbers")


def _keys(name: str) -> dict[str, object]:
    return {"c": name, "space": RUN_LOCK_SPACE}


def _insert_inputs(
    conn: psycopg.Connection[Any],
    name: str,
    inputs: Iterable[str],
    normalize: Callable[[str], str],
) -> None:
    """
    Copy *inputs* into a temporary table, then into the campaign: a number's first occurrence is
    ``pending``, a repeat ``duplicate``, a malformed item ``invalid`` with the reason.
    """
    conn.execute(
        "CREATE TEMPORARY TABLE miogram_stage "
        "(seq bigint, input text, number text, error text) ON COMMIT DROP"
    )
    with (
        conn.cursor() as cursor,
        cursor.copy("COPY miogram_stage (seq, input, number, error) FROM STDIN") as copy,
    ):
        for item in classify_inputs(inputs, normalize):
            copy.write_row(item)
    conn.execute(
        "INSERT INTO miogram_numbers (campaign, seq, input, number, duplicate_of, state, error) "
        "SELECT %s, seq, input,"
        " CASE WHEN number IS NOT NULL AND rn = 1 THEN number END,"
        " CASE WHEN number IS NOT NULL AND rn > 1 THEN number END,"
        " CASE WHEN number IS NULL THEN 'invalid' WHEN rn = 1 THEN 'pending' ELSE 'duplicate' END,"
        " error "
        "FROM (SELECT *, row_number() OVER (PARTITION BY number ORDER BY seq) AS rn"
        " FROM miogram_stage) AS s",
        (name,),
    )


class ClaimedNumbers:
    """The numbers one run sends, claimed from the campaign a page at a time."""

    def __init__(
        self,
        journal: PostgresJournal,
        run: int,
        states: Sequence[NumberState],
        seqs: dict[str, int],
        page: int,
    ) -> None:
        self._journal = journal
        self._run = run
        self._states = states
        self._seqs = seqs
        self._size = page
        self._page: list[str] = []
        self._done = False
        self._after = 0

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        if not self._page and not self._done and len(self._seqs) >= _CLAIMED_MAX:
            self._done = True
        if not self._page and not self._done:
            # Shielded: a claim that commits is known here, whatever cancels the run meanwhile
            # (its numbers are given back when the run ends).
            with anyio.CancelScope(shield=True):
                rows = await anyio.to_thread.run_sync(
                    self._journal.claim, self._run, self._states, self._size, self._after
                )
            if rows:
                self._after = rows[-1][0]
            self._page = [number for _, number in reversed(rows)]
            self._seqs.update({number: seq for seq, number in rows})
            self._done = not rows
        if not self._page:
            raise StopAsyncIteration
        return self._page.pop()
