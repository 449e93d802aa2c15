"""
The SQLite journal's file format: its identity, and the checks made before anything writes.

A journal is an SQLite database marked with its own ``application_id``, a ``format`` and a
``schema_version`` in its ``meta`` table. `check_journal_file` reads all three (and runs a quick
integrity check) on a read-only connection, so a foreign or corrupt file is refused untouched.

One file at rest: a closed journal is a rollback-journal database (header bytes 18-19 are 1), so the
file alone holds everything. While a run writes it, it is in WAL mode (bytes 18-19 are 2) and
recent commits may live only in ``<journal>-wal``. Journals written by this version say so in their
``user_version`` (`SELF_CONTAINED`): such a file whose header says WAL but has no ``-wal`` beside it
was copied or moved without its WAL after a crash (or during a run), and is refused rather than
read as an older state of the campaign, which would send again what was already sent.

SQLite errors are told apart by ``sqlite_errorcode`` (`storage_error`), never by message text.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Final

from ..._model import CampaignError, CampaignInUseError, CampaignStorageError
from .._base import FORMAT
from . import _sql

__all__ = [
    "APPLICATION_ID",
    "JOURNAL_VERSION",
    "READABLE_VERSIONS",
    "SELF_CONTAINED",
    "SELF_CONTAINED_MARKS",
    "check_header",
    "check_journal_file",
    "storage_error",
]

#: ``PRAGMA application_id`` of every journal: "MioC".
APPLICATION_ID: Final = 0x4D696F43
#: The SQLite journal's schema version (3: numbers as integers, chunks as packed blobs; 4: a
#: message per row and the numbers file's other cells; see `_sql`).
JOURNAL_VERSION: Final = 4
#: Versions this code reads: version 3 is version 4 without texts of their own or kept cells.
READABLE_VERSIONS: Final = ("3", "4")
#: The package series that still runs version 2 journals to their end.
_V2_SERIES: Final = "0.1.*"

_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_HEADER_SIZE: Final = 100
_APP_ID_OFFSET: Final = 68
_USER_VERSION_OFFSET: Final = 60
#: Header bytes 18 and 19 (file format write and read versions): 2 in WAL mode, 1 otherwise.
_WAL_VERSION_OFFSET: Final = 18

#: ``PRAGMA user_version`` of journals that are rollback-journal files whenever closed (see above).
SELF_CONTAINED: Final = 0x100 | JOURNAL_VERSION
#: The same mark as versions 3 and 4 write it.
SELF_CONTAINED_MARKS: Final = frozenset({0x100 | 3, SELF_CONTAINED})

# Primary SQLite result codes (``sqlite_errorcode & 0xFF``).
_SQLITE_ERROR: Final = 1
_SQLITE_PERM: Final = 3
_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_SQLITE_READONLY: Final = 8
_SQLITE_IOERR: Final = 10
_SQLITE_CORRUPT: Final = 11
_SQLITE_FULL: Final = 13
_SQLITE_CANTOPEN: Final = 14
_SQLITE_NOTADB: Final = 26
#: A read-only connection found a hot rollback journal it may not roll back.
_SQLITE_READONLY_ROLLBACK: Final = _SQLITE_READONLY | (3 << 8)


def _read_header(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(_HEADER_SIZE)
    except PermissionError:
        raise CampaignStorageError(
            f"cannot read campaign journal {str(path)!r}: permission denied", "permission denied"
        ) from None
    except OSError as exc:
        raise CampaignStorageError(
            f"cannot read campaign journal {str(path)!r}: I/O error ({exc.strerror})", "I/O error"
        ) from None


def _wal_of(path: Path) -> Path:
    # SQLite follows a symbolic link to the database and keeps -wal beside the file it reaches.
    real = path.resolve()
    return real.with_name(real.name + "-wal")


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def storage_error(exc: sqlite3.Error, path: Path, doing: str) -> CampaignError:
    """
    The `CampaignError` for *exc*, raised by SQLite while *doing* something with *path*.

    Told apart by ``sqlite_errorcode``: a full disk and a read-only file or directory are named as
    such (`CampaignStorageError`, the journal stays resumable), a lock held elsewhere is
    `CampaignInUseError`, and only SQLite's own corruption codes say "corrupt".
    """
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    where = f"campaign journal {str(path)!r}"
    keep = "; nothing was lost and the campaign resumes once this is fixed"
    if code == _SQLITE_READONLY_ROLLBACK:
        return CampaignError(
            f"{where} was interrupted in the middle of a write ({path.name}-journal is beside it) "
            "and needs a recovery that a read-only open cannot make: open it once for writing "
            "(Campaign.open, or campaign resume); nothing is lost"
        )
    if primary == _SQLITE_FULL:
        return CampaignStorageError(f"cannot {doing} {where}: disk full{keep}", "disk full")
    if primary == _SQLITE_READONLY or (primary == _SQLITE_CANTOPEN and not _writable(path)):
        return CampaignStorageError(
            f"cannot {doing} {where}: the file or its directory is read-only{keep}", "read-only"
        )
    if primary == _SQLITE_PERM:
        return CampaignStorageError(
            f"cannot {doing} {where}: permission denied{keep}", "permission denied"
        )
    if primary == _SQLITE_IOERR:
        return CampaignStorageError(
            f"cannot {doing} {where}: the operating system reported an I/O error{keep}",
            "I/O error",
        )
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return CampaignInUseError(f"{where} is in use by another process")
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return CampaignError(f"{where} is corrupt: {exc}")
    return CampaignError(f"cannot {doing} {where}: {exc}")


def check_header(path: Path) -> bytes:
    """
    Read the SQLite header of *path* and make sure it is one of ours; returns it.

    Raises:
        CampaignError: missing, not SQLite, or another application's database.
        CampaignStorageError: the file cannot be read.
    """
    if not path.is_file():
        raise CampaignError(f"no campaign journal at {str(path)!r}")
    header = _read_header(path)
    if len(header) < _HEADER_SIZE or not header.startswith(_SQLITE_MAGIC):
        raise CampaignError(f"{str(path)!r} is not a campaign journal (not an SQLite database)")
    app_id = int.from_bytes(header[_APP_ID_OFFSET : _APP_ID_OFFSET + 4], "big")
    if app_id != APPLICATION_ID:
        raise CampaignError(
            f"{str(path)!r} is not a campaign journal (an SQLite database with application id "
            f"{app_id:#010x}, expected {APPLICATION_ID:#010x})"
        )
    return header


def check_journal_file(path: Path, *, integrity: bool = True) -> None:
    """
    Make sure *path* is a readable journal of this format and version, without writing to it.

    Args:
        path: the journal.
        integrity: also run SQLite's quick check (it reads every page; status reads skip it).

    Raises:
        CampaignError: missing, not SQLite, another application's database, corrupt, copied
            without its ``-wal``, or a version this code does not know.
        CampaignStorageError: the file cannot be read.
    """
    header = check_header(path)
    user_version = int.from_bytes(header[_USER_VERSION_OFFSET : _USER_VERSION_OFFSET + 4], "big")
    if (
        user_version in SELF_CONTAINED_MARKS
        and header[_WAL_VERSION_OFFSET] == 2
        and not _wal_of(path).exists()
    ):
        raise CampaignError(
            f"campaign journal {str(path)!r} was not closed cleanly (a run was killed or is still "
            f"going) and its write-ahead log {_wal_of(path).name!r} is missing: it was copied or "
            "moved without it. Its last chunks are recorded only there, so this file alone would "
            "send them again. Copy the journal together with its -wal file, or let the run finish "
            "(or open the original once) so that it is closed into one file, then copy it"
        )
    try:
        conn = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True, timeout=0)
    except sqlite3.Error as exc:
        raise storage_error(exc, path, "open") from None
    try:
        if integrity:
            check = conn.execute(_sql.QUICK_CHECK).fetchone()
            if check is None or check[0] != "ok":
                raise CampaignError(f"campaign journal {str(path)!r} is corrupt: {check!r}")
        meta = dict(conn.execute(_sql.META).fetchall())
    except sqlite3.OperationalError as exc:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        # SQLITE_ERROR here is a missing table: a database with our id but not our schema.
        if code in (_SQLITE_ERROR, _SQLITE_CORRUPT, _SQLITE_NOTADB):
            raise CampaignError(f"campaign journal {str(path)!r} is corrupt: {exc}") from None
        raise storage_error(exc, path, "read") from None
    except sqlite3.DatabaseError as exc:
        raise CampaignError(f"campaign journal {str(path)!r} is corrupt: {exc}") from None
    finally:
        conn.close()
    if meta.get("format") != FORMAT:
        raise CampaignError(
            f"{str(path)!r} is not a campaign journal (format {meta.get('format')!r})"
        )
    if meta.get("schema_version") == "2":
        raise CampaignError(
            f"campaign journal {str(path)!r} has schema version 2, written by miogram-async "
            f"{_V2_SERIES}; this version reads versions {' and '.join(READABLE_VERSIONS)} only. "
            "Finish it with the "
            f"older version: pip install 'miogram-async=={_V2_SERIES}' then "
            f"miogram campaign resume {str(path)!r} (the file was not changed)"
        )
    if meta.get("schema_version") not in READABLE_VERSIONS:
        raise CampaignError(
            f"campaign journal {str(path)!r} has schema version {meta.get('schema_version')!r}, "
            f"this version of miogram-async reads {JOURNAL_VERSION} (and 3, the same without a "
            "message per row)"
        )
