"""
Every SQL statement of the PostgreSQL campaign storage, by name.

Parameters are psycopg's: ``%s`` by position, ``%(name)s`` by name (``%(c)s`` is always the
campaign's name). Only `SET_OUTCOME` takes a ``{key}`` (``seq`` or ``number``), chosen by the code.

``miogram_numbers`` has no index beyond its keys: a claim, a chunk start and an outcome change only
unindexed columns (state, claimed_by, chunk...), so PostgreSQL updates the row in place (a HOT
update, room left by the fill factor) without writing any index. Claims walk the primary key from
where the run's last claim ended; the rare whole-campaign reads (status, reconciliation, the end
of a run) scan the campaign's rows.

A message per row (version 3 of the layout): ``miogram_texts`` holds each distinct text of their
own that numbers get (``numbers``: how many numbers to send get it when the campaign is made), and
a number's ``text_id`` names its text (NULL: the campaign's message); ``cells`` holds the numbers
file's other cells (a JSON array in the order of the ``columns`` setting). Both columns are NULL
in a campaign without them, which costs nothing: a row's null bitmap already has room for them.
"""

from __future__ import annotations

from typing import Final

# The tables (made by the first create, under `LOCK_SCHEMA`)

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
        text_id bigint,
        cells text,
        PRIMARY KEY (campaign, seq),
        UNIQUE (campaign, number)
    ) WITH (fillfactor = 70)""",
    "CREATE INDEX IF NOT EXISTS miogram_chunks_attempting ON miogram_chunks (campaign) "
    "WHERE state = 'attempting'",
    """CREATE TABLE IF NOT EXISTS miogram_texts (
        campaign text NOT NULL REFERENCES miogram_campaigns ON DELETE CASCADE,
        id bigint NOT NULL,
        text text NOT NULL,
        numbers bigint NOT NULL,
        PRIMARY KEY (campaign, id)
    )""",
)
#: Whether ``miogram_numbers`` has the columns of version 3 (a database made by an older version
#: gets them the first time a campaign is made in it; adding a NULL column rewrites nothing).
HAS_TEXT_COLUMNS: Final = (
    "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
    "AND table_name = 'miogram_numbers' AND column_name IN ('text_id', 'cells')"
)
ADD_TEXT_COLUMNS: Final = (
    "ALTER TABLE miogram_numbers ADD COLUMN IF NOT EXISTS text_id bigint, "
    "ADD COLUMN IF NOT EXISTS cells text"
)

# Opening

TABLES_EXIST: Final = "SELECT to_regclass('miogram_campaigns') IS NOT NULL"
CAMPAIGN: Final = "SELECT format, schema_version FROM miogram_campaigns WHERE name = %s"
META: Final = "SELECT key, value FROM miogram_meta WHERE campaign = %s"
READ_ONLY_SESSION: Final = "SET default_transaction_read_only = on"

# Creating a campaign (one transaction)

#: Serialises creating the tables: (`RUN_LOCK_SPACE`, 0).
LOCK_SCHEMA: Final = "SELECT pg_advisory_xact_lock(%s, %s)"
LOCK_CAMPAIGN_ROW: Final = "SELECT 1 FROM miogram_campaigns WHERE name = %s FOR UPDATE"
DELETE_CAMPAIGN: Final = "DELETE FROM miogram_campaigns WHERE name = %s"
INSERT_CAMPAIGN: Final = (
    "INSERT INTO miogram_campaigns (name, format, schema_version, created_at) "
    "VALUES (%s, %s, %s, %s)"
)
INSERT_META: Final = "INSERT INTO miogram_meta (campaign, key, value) VALUES (%s, %s, %s)"
STAGE_TABLE: Final = (
    "CREATE TEMPORARY TABLE miogram_stage "
    "(seq bigint, input text, number text, error text, text text, cells text) ON COMMIT DROP"
)
COPY_STAGE: Final = "COPY miogram_stage (seq, input, number, error, text, cells) FROM STDIN"
#: Each distinct text once, numbered in order of first use, with how many numbers to send get it
#: (a number's first occurrence).
INSERT_TEXTS: Final = (
    "INSERT INTO miogram_texts (campaign, id, text, numbers) "
    "SELECT %(c)s, row_number() OVER (ORDER BY first), text, sendable FROM ("
    " SELECT text, min(seq) AS first,"
    " count(*) FILTER (WHERE number IS NOT NULL AND rn = 1) AS sendable FROM ("
    "  SELECT seq, text, number,"
    "  row_number() OVER (PARTITION BY number ORDER BY seq) AS rn FROM miogram_stage) AS s"
    " WHERE text IS NOT NULL GROUP BY text) AS g"
)
#: The text most numbers get (the first of equals): the campaign's message when two or more do.
MOST_USED_TEXT: Final = (
    "SELECT id, text, numbers FROM miogram_texts WHERE campaign = %s "
    "ORDER BY numbers DESC, id LIMIT 1"
)
DELETE_TEXT: Final = "DELETE FROM miogram_texts WHERE campaign = %s AND id = %s"
#: A number's first occurrence is ``pending``, a repeat ``duplicate``, a malformed item ``invalid``.
INSERT_STAGED: Final = (
    "INSERT INTO miogram_numbers (campaign, seq, input, number, duplicate_of, state, error) "
    "SELECT %s, seq, input,"
    " CASE WHEN number IS NOT NULL AND rn = 1 THEN number END,"
    " CASE WHEN number IS NOT NULL AND rn > 1 THEN number END,"
    " CASE WHEN number IS NULL THEN 'invalid' WHEN rn = 1 THEN 'pending' ELSE 'duplicate' END,"
    " error "
    "FROM (SELECT *, row_number() OVER (PARTITION BY number ORDER BY seq) AS rn"
    " FROM miogram_stage) AS s"
)
#: The same with each item's text (by its id; the campaign's message stays NULL) and cells.
INSERT_STAGED_EXTRAS: Final = (
    "INSERT INTO miogram_numbers (campaign, seq, input, number, duplicate_of, state, error,"
    " text_id, cells) "
    "SELECT %(c)s, seq, input,"
    " CASE WHEN number IS NOT NULL AND rn = 1 THEN number END,"
    " CASE WHEN number IS NOT NULL AND rn > 1 THEN number END,"
    " CASE WHEN number IS NULL THEN 'invalid' WHEN rn = 1 THEN 'pending' ELSE 'duplicate' END,"
    " error, t.id, s.cells "
    "FROM (SELECT *, row_number() OVER (PARTITION BY number ORDER BY seq) AS rn"
    " FROM miogram_stage) AS s"
    " LEFT JOIN miogram_texts AS t ON t.campaign = %(c)s AND t.text = s.text"
)
#: Fresh statistics for the planner: the table may just have grown by millions of rows.
ANALYZE_NUMBERS: Final = "ANALYZE miogram_numbers"

# Liveness and leases

#: The runs of a campaign that never recorded an end and whose session is gone.
DEAD_RUNS: Final = """
SELECT r.id FROM miogram_runs AS r
WHERE r.campaign = %(c)s AND r.finished_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM pg_locks AS l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid::bigint = %(space)s AND l.objid::bigint = r.id
)
"""
#: The runs of a campaign that never recorded an end and whose session still holds their lock.
LIVE_RUNS: Final = DEAD_RUNS.replace("NOT EXISTS", "EXISTS")
RELEASE_DEAD_CLAIMS: Final = (
    "UPDATE miogram_numbers SET claimed_by = NULL WHERE claimed_by = ANY(%s) AND campaign = %s"
)
#: An array of seqs, not a join: the update is primary-key lookups whatever the planner believes
#: about the table. ``{group}`` is one of the `GROUPS` conditions (a message per row).
CLAIM: Final = (
    "UPDATE miogram_numbers SET claimed_by = %(run)s"
    " WHERE campaign = %(c)s AND seq = ANY(ARRAY("
    "  SELECT seq FROM miogram_numbers"
    "  WHERE campaign = %(c)s AND state = ANY(%(states)s) AND claimed_by IS NULL"
    "  AND seq > %(after)s{group} ORDER BY seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED))"
    " RETURNING seq, number"
)
#: The numbers of a `CLAIM` or a `PAGE`: every one, those with the campaign's message, those whose
#: text no other number shares, those of one shared text (``%(group)s``).
GROUP_ALL: Final = ""
GROUP_SHARED: Final = " AND text_id IS NULL"
GROUP_OWN: Final = (
    " AND text_id IN (SELECT id FROM miogram_texts WHERE campaign = %(c)s AND numbers < 2)"
)
GROUP_TEXT: Final = " AND text_id = %(group)s"
#: A commit that does not wait for the WAL flush (see `PostgresJournal._transaction`).
UNSYNCED: Final = "SET LOCAL synchronous_commit = off"

# Reads

COUNTS: Final = "SELECT state, count(*) FROM miogram_numbers WHERE campaign = %s GROUP BY state"
CHUNK_COUNTS: Final = (
    "SELECT count(*), count(*) FILTER (WHERE state = 'done'), "
    "(SELECT count(*) FROM miogram_runs WHERE campaign = %(c)s) "
    "FROM miogram_chunks WHERE campaign = %(c)s"
)
LAST_RUN: Final = "SELECT outcome FROM miogram_runs WHERE campaign = %s ORDER BY id DESC LIMIT 1"
#: Counting every worker's chunks since the latest run began.
LATEST_RUN: Final = (
    "SELECT r.started_at, sum(c.size), max(c.finished_at) FROM miogram_chunks AS c, "
    "(SELECT max(started_at) AS started_at FROM miogram_runs WHERE campaign = %(c)s) "
    "AS r WHERE c.campaign = %(c)s AND c.state = 'done' "
    "AND c.started_at >= r.started_at GROUP BY r.started_at"
)
NUMBERS_IN: Final = (
    "SELECT chunk, number FROM miogram_numbers WHERE campaign = %s "
    "AND state = ANY(%s) AND claimed_by IS NULL ORDER BY seq"
)
PAGE: Final = (
    "SELECT seq, number FROM miogram_numbers WHERE campaign = %(c)s "
    "AND state = ANY(%(states)s) AND claimed_by IS NULL AND seq > %(after)s{group} "
    "ORDER BY seq LIMIT %(limit)s"
)
SHARED_TEXTS: Final = (
    "SELECT id, text FROM miogram_texts WHERE campaign = %s AND numbers >= 2 ORDER BY id"
)
TEXTS_OF: Final = (
    "SELECT n.number, t.text FROM miogram_numbers AS n JOIN miogram_texts AS t "
    "ON t.campaign = n.campaign AND t.id = n.text_id WHERE n.campaign = %s AND n.number = ANY(%s)"
)
HELD: Final = "SELECT number FROM miogram_numbers WHERE campaign = %s AND number = ANY(%s)"
EXTRAS: Final = (
    "SELECT n.seq, n.cells, t.text FROM miogram_numbers AS n LEFT JOIN miogram_texts AS t "
    "ON t.campaign = n.campaign AND t.id = n.text_id WHERE n.campaign = %s AND n.seq > %s "
    "AND (n.cells IS NOT NULL OR n.text_id IS NOT NULL) ORDER BY n.seq LIMIT %s"
)
ROWS: Final = (
    "SELECT n.seq, n.input, COALESCE(n.number, n.duplicate_of), n.state, "
    "n.error_code, n.error, c.robot FROM miogram_numbers AS n "
    "LEFT JOIN miogram_chunks AS c ON c.id = n.chunk "
    "WHERE n.campaign = %s AND n.seq > %s ORDER BY n.seq LIMIT %s"
)
CHUNK_RUNS: Final = "SELECT id, run FROM miogram_chunks WHERE id = ANY(%s)"
CHUNK_INFO: Final = (
    "SELECT id, robot, started_at, finished_at, size FROM miogram_chunks WHERE id = ANY(%s)"
)
WITNESS: Final = (
    "SELECT n.number FROM miogram_numbers AS n JOIN miogram_chunks AS c ON c.id = n.chunk "
    "WHERE n.campaign = %s AND n.state = 'delivered' AND c.robot IS NOT DISTINCT FROM %s "
    "ORDER BY n.seq DESC LIMIT 1"
)
META_VALUE: Final = "SELECT value FROM miogram_meta WHERE campaign = %s AND key = %s"

# Writes

SET_META: Final = (
    "INSERT INTO miogram_meta (campaign, key, value) VALUES (%s, %s, %s) "
    "ON CONFLICT (campaign, key) DO UPDATE SET value = EXCLUDED.value"
)
#: A ``meta`` row written once: the first run's wins (the send gate of the campaign's runs).
KEEP_META: Final = (
    "INSERT INTO miogram_meta (campaign, key, value) VALUES (%s, %s, %s) "
    "ON CONFLICT (campaign, key) DO NOTHING"
)
BEGIN_RUN: Final = "INSERT INTO miogram_runs (campaign, started_at) VALUES (%s, %s) RETURNING id"
#: A run's liveness: (`RUN_LOCK_SPACE`, run), held by its session until the run ends or dies.
LOCK_RUN: Final = "SELECT pg_advisory_lock(%s, %s)"
UNLOCK_RUN: Final = "SELECT pg_advisory_unlock(%s, %s)"
RELEASE_CLAIMS: Final = (
    "UPDATE miogram_numbers SET claimed_by = NULL WHERE campaign = %s AND claimed_by = %s"
)
END_RUN: Final = "UPDATE miogram_runs SET finished_at = %s, outcome = %s WHERE id = %s"
FINISH_CHUNK: Final = (
    "UPDATE miogram_chunks SET state = 'done', finished_at = %s "
    "WHERE run = %s AND idx = %s RETURNING id"
)
SET_OUTCOME: Final = (
    "UPDATE miogram_numbers SET state = %s, chunk = %s, error_code = %s, "
    "error = %s, updated_at = %s, claimed_by = NULL "
    "WHERE campaign = %s AND {key} = ANY(%s)"
)
START_CHUNK: Final = (
    "INSERT INTO miogram_chunks (campaign, run, idx, robot, state, size, "
    "started_at) VALUES (%s, %s, %s, %s, 'attempting', %s, %s) RETURNING id"
)
#: Only numbers the run still claims: fewer rows than the chunk has means it was swept.
MARK_SENDING: Final = (
    "UPDATE miogram_numbers SET state = 'sending', chunk = %s, updated_at = %s "
    "WHERE campaign = %s AND number = ANY(%s) AND claimed_by = %s"
)
SETTLE_NUMBER: Final = (
    "UPDATE miogram_numbers SET state = %s, error_code = %s, error = %s, "
    "updated_at = %s WHERE campaign = %s AND number = %s AND claimed_by IS NULL"
)
#: Marks chunks done once none of their numbers is in doubt any more.
SETTLE_CHUNKS: Final = (
    "UPDATE miogram_chunks AS c SET state = 'done', finished_at = %(now)s "
    "WHERE c.id = ANY(%(chunks)s) AND c.state = 'attempting' AND c.id NOT IN ("
    " SELECT n.chunk FROM miogram_numbers AS n WHERE n.campaign = %(c)s"
    " AND n.state = 'sending' AND n.chunk IS NOT NULL)"
)

# Listing the campaigns of a database

LIST_CAMPAIGNS: Final = (
    "SELECT c.name, c.schema_version, c.created_at, "
    "(SELECT value FROM miogram_meta AS m WHERE m.campaign = c.name AND m.key = 'kind') "
    "FROM miogram_campaigns AS c WHERE c.format = %s ORDER BY c.created_at, c.name"
)
LIST_COUNTS: Final = (
    "SELECT campaign, state, count(*) FROM miogram_numbers GROUP BY campaign, state"
)
#: Each campaign's latest run: how it ended (NULL: interrupted or going on) and when it began.
LIST_LAST_RUNS: Final = (
    "SELECT DISTINCT ON (campaign) campaign, outcome, started_at FROM miogram_runs "
    "ORDER BY campaign, id DESC"
)
#: The campaigns a live run holds (its session keeps its advisory lock, see `DEAD_RUNS`).
LIST_RUNNING: Final = """
SELECT DISTINCT r.campaign FROM miogram_runs AS r
WHERE r.finished_at IS NULL AND EXISTS (
    SELECT 1 FROM pg_locks AS l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid::bigint = %(space)s AND l.objid::bigint = r.id
)
"""
