"""
Every SQL statement of the SQLite journal, by name (BEGIN, COMMIT and ROLLBACK aside).

Statements with ``{marks}`` take an ``IN (...)`` list of ``?`` placeholders (`_numbers.marks`);
``{...}`` in a PRAGMA is a number or a mode word this package chooses, never input.

The tables. A number's stored state is the last outcome recorded for it; starting a chunk writes
only the chunk row. A number is *in doubt* (``sending``) while a chunk listing it is ``attempting``
and no later chunk recorded an outcome for it (its ``chunk`` is NULL or earlier). Reads derive
that; a run writes it into ``numbers`` when it begins, for the chunks earlier runs left attempting.
Version 1 wrote ``sending`` for every number when its chunk started.

Version 3 is compact: ``number`` (and ``duplicate_of``) hold the E.164 digits as an INTEGER
("+989121234567" is 989121234567, 6 bytes); ``input`` is NULL unless the item as given differs
from "+" and those digits (an invalid item keeps its text there, with ``number`` NULL); a chunk's
numbers are one BLOB of 8-byte little-endian integers; ``state`` defaults to 'pending', so
creating a journal writes only seq and number for a well-formed item. A number keeps no time of
its own (version 2's ``updated_at``): its ``chunk`` row has the chunk's start and end.

Version 4 adds a message per row and the numbers file's other cells, in two tables of their own
that a campaign without them leaves empty (so it costs no byte per number): ``texts`` holds every
distinct text of its own that a number gets (``numbers``: how many numbers to send get it when the
campaign is made; two or more are sent as Mass requests of that text, fewer one by one), and
``extras`` the items that have such a text (``text``) or kept cells (``cells``, a JSON array in the
order of the ``columns`` setting). A number without a text of its own gets the campaign's
``message``. Version 3 journals are version 4 journals without either; this code reads both.
"""

from __future__ import annotations

from typing import Final

# The file and the connection

SET_APPLICATION_ID: Final = "PRAGMA application_id = {app_id}"
USER_VERSION: Final = "PRAGMA user_version"
SET_USER_VERSION: Final = "PRAGMA user_version = {version}"
SYNC_FULL: Final = "PRAGMA synchronous = FULL"
SYNC_NORMAL: Final = "PRAGMA synchronous = NORMAL"
SET_BUSY_TIMEOUT: Final = "PRAGMA busy_timeout = {ms}"
JOURNAL_MODE: Final = "PRAGMA journal_mode"
SET_JOURNAL_MODE: Final = "PRAGMA journal_mode = {mode}"
#: The smallest read: a read transaction, in which SQLite rolls a hot rollback journal back first
#: and, in WAL mode, opens the write-ahead log.
SCHEMA_VERSION: Final = "PRAGMA schema_version"
QUICK_CHECK: Final = "PRAGMA quick_check"

# The tables

SCHEMA: Final = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    finished_at REAL,
    outcome TEXT
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    robot TEXT,
    state TEXT NOT NULL CHECK (state IN ('attempting', 'done')),
    size INTEGER NOT NULL,
    numbers BLOB NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    UNIQUE (run, idx)
);
CREATE TABLE numbers (
    seq INTEGER PRIMARY KEY,
    number INTEGER,
    state TEXT NOT NULL DEFAULT 'pending',
    input TEXT,
    duplicate_of INTEGER,
    chunk INTEGER,
    error_code INTEGER,
    error TEXT
);
CREATE TABLE texts (id INTEGER PRIMARY KEY, text TEXT NOT NULL, numbers INTEGER NOT NULL);
CREATE TABLE extras (seq INTEGER PRIMARY KEY, text INTEGER, cells TEXT);
"""
#: Made after the bulk insert (and after duplicates lost their ``number``): the unique index on
#: ``number``, then two partial ones, so an index entry is written only when a chunk starts or ends
#: or a number goes into or out of doubt, never for each number a chunk delivers.
NUMBER_INDEX: Final = "CREATE UNIQUE INDEX numbers_number ON numbers (number)"
INDEXES: Final = (
    "CREATE INDEX chunks_attempting ON chunks (id) WHERE state = 'attempting'",
    "CREATE INDEX numbers_in_doubt ON numbers (chunk) WHERE state = 'sending'",
    # A shared text's numbers, in input order (the index carries the seq): one Mass pass each.
    "CREATE INDEX extras_text ON extras (text) WHERE text IS NOT NULL",
)

# Filling a new journal

INSERT_META: Final = "INSERT INTO meta (key, value) VALUES (?, ?)"
#: One JSON array of digits per batch, expanded by SQLite (``json_each``) into rows numbered on.
INSERT_CLEAN_NUMBERS: Final = "INSERT INTO numbers (number) SELECT value FROM json_each(?)"
LAST_SEQ: Final = "SELECT max(seq) FROM numbers"
INSERT_ITEM: Final = "INSERT INTO numbers (seq, number, input, state, error) VALUES (?, ?, ?, ?, ?)"
#: Every occurrence of a number after its first becomes a ``duplicate``: one sort by number (a
#: window), not a join of every row against the repeated numbers, which has no index to use yet.
MARK_REPEATS: Final = (
    "UPDATE numbers SET duplicate_of = number, number = NULL, state = 'duplicate' "
    "WHERE seq IN (SELECT seq FROM (SELECT seq, row_number() OVER "
    "(PARTITION BY number ORDER BY seq) AS nth FROM numbers WHERE number IS NOT NULL) "
    "WHERE nth > 1)"
)

# Filling a new journal: the texts of its own and the kept cells of each item

#: Every item's text and cells while the numbers go in; turned into ``texts`` and ``extras`` at the
#: end, once repeats are known (a temporary table: its own file, gone with the connection).
STAGE_EXTRAS: Final = "CREATE TEMP TABLE staged (seq INTEGER PRIMARY KEY, text TEXT, cells TEXT)"
INSERT_STAGED: Final = "INSERT INTO temp.staged (seq, text, cells) VALUES (?, ?, ?)"
#: An item with kept cells and no text of its own goes straight in.
INSERT_CELLS: Final = "INSERT INTO extras (seq, cells) VALUES (?, ?)"
#: Each distinct text once, numbered in order of first use, with how many numbers to send get it
#: (a repeat or an invalid item has no ``number``).
INSERT_TEXTS: Final = (
    "INSERT INTO texts (text, numbers) SELECT s.text, count(n.number) FROM temp.staged AS s "
    "JOIN numbers AS n ON n.seq = s.seq WHERE s.text IS NOT NULL GROUP BY s.text "
    "ORDER BY min(s.seq)"
)
#: The text most numbers get (the first of equals): the campaign's message when two or more do.
MOST_USED_TEXT: Final = "SELECT id, text, numbers FROM texts ORDER BY numbers DESC, id LIMIT 1"
#: An item keeps a row when it has cells or a text other than the campaign's message (``?``).
INSERT_EXTRAS: Final = (
    "INSERT INTO extras (seq, text, cells) SELECT s.seq, "
    "CASE WHEN t.id IS ? THEN NULL ELSE t.id END, s.cells FROM temp.staged AS s "
    "LEFT JOIN texts AS t ON t.text = s.text "
    "WHERE s.cells IS NOT NULL OR (t.id IS NOT NULL AND t.id IS NOT ?) ORDER BY s.seq"
)
DELETE_TEXT: Final = "DELETE FROM texts WHERE id = ?"
DROP_STAGED: Final = "DROP TABLE temp.staged"

# Settings

META: Final = "SELECT key, value FROM meta"
META_VALUE: Final = "SELECT value FROM meta WHERE key = ?"
SET_META: Final = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"

# Reads

COUNTS: Final = "SELECT state, count(*) FROM numbers GROUP BY state"
CHUNK_COUNTS: Final = (
    "SELECT count(*), count(*) FILTER (WHERE state = 'done'), "
    "(SELECT count(*) FROM runs) FROM chunks"
)
LAST_RUN: Final = "SELECT outcome FROM runs ORDER BY id DESC LIMIT 1"
NUMBERS_IN: Final = "SELECT chunk, number FROM numbers WHERE state IN ({marks}) ORDER BY seq"
#: SQLite spells the numbers ("+" and the digits): no Python work per row.
PAGE: Final = (
    "SELECT seq, '+' || number FROM numbers WHERE state IN ({marks}) AND seq > ? "
    "ORDER BY seq LIMIT ?"
)
#: The numbers without a text of their own (they get the campaign's message).
PAGE_SHARED: Final = (
    "SELECT n.seq, '+' || n.number FROM numbers AS n WHERE n.state IN ({marks}) AND n.seq > ? "
    "AND NOT EXISTS (SELECT 1 FROM extras AS e WHERE e.seq = n.seq AND e.text IS NOT NULL) "
    "ORDER BY n.seq LIMIT ?"
)
#: The numbers of one shared text (through the index extras_text).
PAGE_TEXT: Final = (
    "SELECT n.seq, '+' || n.number FROM extras AS e JOIN numbers AS n ON n.seq = e.seq "
    "WHERE e.text = ? AND e.seq > ? AND n.state IN ({marks}) ORDER BY e.seq LIMIT ?"
)
#: The numbers whose text no other number to send shares: sent one by one.
PAGE_OWN: Final = (
    "SELECT n.seq, '+' || n.number FROM extras AS e JOIN texts AS t ON t.id = e.text "
    "JOIN numbers AS n ON n.seq = e.seq WHERE t.numbers < 2 AND e.seq > ? "
    "AND n.state IN ({marks}) ORDER BY e.seq LIMIT ?"
)
SHARED_TEXTS: Final = "SELECT id, text FROM texts WHERE numbers >= 2 ORDER BY id"
TEXTS_OF: Final = (
    "SELECT n.number, t.text FROM numbers AS n JOIN extras AS e ON e.seq = n.seq "
    "JOIN texts AS t ON t.id = e.text WHERE n.number IN ({marks})"
)
EXTRAS: Final = (
    "SELECT e.seq, e.cells, t.text FROM extras AS e LEFT JOIN texts AS t ON t.id = e.text "
    "WHERE e.seq > ? ORDER BY e.seq LIMIT ?"
)
ROWS: Final = (
    "SELECT n.seq, COALESCE(n.input, '+' || COALESCE(n.number, n.duplicate_of)), "
    "n.number, COALESCE(n.number, n.duplicate_of), n.state, "
    "n.error_code, n.error, c.robot "
    "FROM numbers AS n LEFT JOIN chunks AS c ON c.id = n.chunk "
    "WHERE n.seq > ? ORDER BY n.seq LIMIT ?"
)
LATEST_RUN: Final = (
    "SELECT r.started_at, sum(c.size), max(c.finished_at) FROM runs AS r "
    "JOIN chunks AS c ON c.run = r.id AND c.state = 'done' "
    "WHERE r.id = (SELECT max(id) FROM runs)"
)
CHUNK_RUNS: Final = "SELECT id, run FROM chunks WHERE id IN ({marks})"
CHUNK_INFO: Final = (
    "SELECT id, robot, started_at, finished_at, size FROM chunks WHERE id IN ({marks})"
)
#: The latest number a chunk of one agent delivered (seq is the rowid: read from the end).
WITNESS: Final = (
    "SELECT n.number FROM numbers AS n JOIN chunks AS c ON c.id = n.chunk "
    "WHERE n.state = 'delivered' AND c.robot IS ? ORDER BY n.seq DESC LIMIT 1"
)
ATTEMPTING: Final = "SELECT id, robot, numbers FROM chunks WHERE state = 'attempting' ORDER BY id"
NUMBER_STATES: Final = "SELECT number, chunk, state FROM numbers WHERE number IN ({marks})"
STILL_ATTEMPTING: Final = "SELECT id FROM chunks WHERE state = 'attempting' AND id IN ({marks})"

# Writes

BEGIN_RUN: Final = "INSERT INTO runs (started_at) VALUES (?)"
#: The numbers of an attempting chunk that no later chunk answered: written down as in doubt.
MARK_IN_DOUBT: Final = (
    "UPDATE numbers SET state = 'sending', chunk = ? "
    "WHERE number IN ({marks}) AND (chunk IS NULL OR chunk < ?)"
)
#: Marks a chunk done once none of its numbers is in doubt any more (only for chunks whose numbers
#: `begin_run` wrote down as sending; the partial index numbers_in_doubt answers it).
SETTLE_CHUNK: Final = (
    "UPDATE chunks SET state = 'done', finished_at = ? WHERE id = ? AND state = 'attempting' "
    "AND NOT EXISTS (SELECT 1 FROM numbers WHERE chunk = chunks.id AND state = 'sending')"
)
END_RUN: Final = "UPDATE runs SET finished_at = ?, outcome = ? WHERE id = ?"
START_CHUNK: Final = (
    "INSERT INTO chunks (run, idx, robot, state, size, numbers, started_at) "
    "VALUES (?, ?, ?, 'attempting', ?, ?, ?)"
)
FINISH_CHUNK: Final = (
    "UPDATE chunks SET state = 'done', finished_at = ? WHERE run = ? AND idx = ? RETURNING id"
)
#: An outcome for the numbers of a run of consecutive seqs.
SET_OUTCOME_SEQ_RANGE: Final = (
    "UPDATE numbers SET state = ?, chunk = ?, error_code = ?, error = ? WHERE seq BETWEEN ? AND ?"
)
SET_OUTCOME_BY_SEQ: Final = (
    "UPDATE numbers SET state = ?, chunk = ?, error_code = ?, error = ? WHERE seq IN ({marks})"
)
SET_OUTCOME_BY_NUMBER: Final = (
    "UPDATE numbers SET state = ?, chunk = ?, error_code = ?, error = ? WHERE number IN ({marks})"
)
SETTLE_NUMBER: Final = "UPDATE numbers SET state = ?, error_code = ?, error = ? WHERE number = ?"
