"""
PostgreSQL campaign storage's setup: the URL, the connection, the tables and a new campaign.

`split_url` takes a ``postgresql://`` target apart (the password never reaches what is shown),
`_connect` opens a connection with TCP keepalives, `SCHEMA` is the tables' DDL and `_fill` records
a new campaign with its inputs. psycopg errors become `CampaignError` here (`storage_error`,
`_db_errors`). `PostgresJournal` (in `_postgres`) uses these; `_postgres` re-exports the names
other modules import from it.
"""

from __future__ import annotations

import functools
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, Final, ParamSpec, TypeVar

from ._inputs import InputItem
from ._model import CampaignError, CampaignInUseError, CampaignStorageError
from ._schema import FORMAT, POSTGRES_SCHEMA_VERSION
from ._storage import classify_inputs

if TYPE_CHECKING:
    import psycopg

    from ._postgres import PostgresJournal

_P = ParamSpec("_P")
_R = TypeVar("_R")

DEFAULT_CAMPAIGN: Final = "default"
#: First key of every advisory lock a run holds ("MioC"); the second is the run's id.
RUN_LOCK_SPACE: Final = 0x4D696F43
#: First key of the lock that serialises creating the tables.
_SCHEMA_LOCK: Final = (RUN_LOCK_SPACE, 0)
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


def _fill(
    conn: psycopg.Connection[Any],
    name: str,
    shown: str,
    *,
    meta: Mapping[str, str],
    inputs: Iterable[InputItem],
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
    inputs: Iterable[InputItem],
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
