"""
The campaign journal's file format: identity, schema, and the checks made before anything writes.

A journal is an SQLite database marked with its own ``application_id``, a ``format`` and a
``schema_version`` in its ``meta`` table. `check_journal_file` reads all three (and runs a quick
integrity check) on a read-only connection, so a foreign or corrupt file is refused untouched.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from ._model import CampaignError

__all__ = [
    "APPLICATION_ID",
    "FORMAT",
    "INDEXES",
    "SCHEMA",
    "SCHEMA_VERSION",
    "check_journal_file",
    "configure",
]

#: ``PRAGMA application_id`` of every journal: "MioC".
APPLICATION_ID: Final = 0x4D696F43
FORMAT: Final = "miogram-campaign"
SCHEMA_VERSION: Final = 2

_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_HEADER_SIZE: Final = 100
_APP_ID_OFFSET: Final = 68

# A number's stored state is the last outcome recorded for it; starting a chunk writes only the
# chunk row. A number is *in doubt* (``sending``) while a chunk listing it is ``attempting`` and no
# later chunk recorded an outcome for it (its ``chunk`` is NULL or earlier). Reads derive that; a
# run writes it into ``numbers`` when it begins, for the chunks earlier runs left attempting.
# Version 1 wrote ``sending`` for every number when its chunk started.
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
    numbers TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    UNIQUE (run, idx)
);
CREATE TABLE numbers (
    seq INTEGER PRIMARY KEY,
    input TEXT NOT NULL,
    number TEXT UNIQUE,
    duplicate_of TEXT,
    state TEXT NOT NULL,
    chunk INTEGER,
    error_code INTEGER,
    error TEXT,
    updated_at REAL
);
"""
# Both partial, so an index entry is written only when a chunk starts or ends or a number goes into
# or out of doubt, never for each number a chunk delivers. Made after the bulk insert.
INDEXES: Final = (
    "CREATE INDEX chunks_attempting ON chunks (id) WHERE state = 'attempting'",
    "CREATE INDEX numbers_in_doubt ON numbers (chunk) WHERE state = 'sending'",
)


def check_journal_file(path: Path) -> None:
    """
    Make sure *path* is a readable journal of this format and version, without writing to it.

    Raises:
        CampaignError: missing, not SQLite, another application's database, corrupt, or a version
            this code does not know.
    """
    if not path.is_file():
        raise CampaignError(f"no campaign journal at {str(path)!r}")
    with path.open("rb") as file:
        header = file.read(_HEADER_SIZE)
    if len(header) < _HEADER_SIZE or not header.startswith(_SQLITE_MAGIC):
        raise CampaignError(f"{str(path)!r} is not a campaign journal (not an SQLite database)")
    app_id = int.from_bytes(header[_APP_ID_OFFSET : _APP_ID_OFFSET + 4], "big")
    if app_id != APPLICATION_ID:
        raise CampaignError(
            f"{str(path)!r} is not a campaign journal (an SQLite database with application id "
            f"{app_id:#010x}, expected {APPLICATION_ID:#010x})"
        )
    try:
        conn = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise CampaignError(f"cannot open campaign journal {str(path)!r}: {exc}") from None
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise CampaignError(f"campaign journal {str(path)!r} is corrupt: {check!r}")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise CampaignError(
                f"campaign journal {str(path)!r} is in use by another process"
            ) from None
        raise CampaignError(f"campaign journal {str(path)!r} is corrupt: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise CampaignError(f"campaign journal {str(path)!r} is corrupt: {exc}") from None
    finally:
        conn.close()
    if meta.get("format") != FORMAT:
        raise CampaignError(
            f"{str(path)!r} is not a campaign journal (format {meta.get('format')!r})"
        )
    if meta.get("schema_version") != str(SCHEMA_VERSION):
        raise CampaignError(
            f"campaign journal {str(path)!r} has schema version {meta.get('schema_version')!r}, "
            f"this version of miogram-async reads {SCHEMA_VERSION}"
        )


def configure(conn: sqlite3.Connection) -> None:
    """Pragmas every connection that writes a journal runs first."""
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
    if mode is None or str(mode[0]).lower() != "wal":
        raise CampaignError(f"the journal needs WAL mode, SQLite gave {mode!r}")
    conn.execute("PRAGMA synchronous = FULL")
