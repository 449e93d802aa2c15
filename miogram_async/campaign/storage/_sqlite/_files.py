"""
The SQLite journal's file handling: transactions, journal modes, recovery, placing and syncing.

These helpers work on a connection or a path, not on an open `Journal`: the explicit transaction
and the unsynced commit, turning SQLite errors into `CampaignError` (`sqlite_errors`, for any object
with a ``path``), switching between WAL and rollback mode (and making a connection the run's
writer), rolling back what a killed process left in a hot ``-journal``, moving a newly built file
into place under the run lock, and syncing a file or directory to disk.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Concatenate, Final, ParamSpec, Protocol, TypeVar

from ..._model import CampaignError, CampaignInUseError
from . import _sql
from ._format import SELF_CONTAINED, SELF_CONTAINED_MARKS, check_header, storage_error
from ._lock import RunLock

__all__ = [
    "fsync_path",
    "place",
    "prepare_for_writing",
    "recover_interrupted_write",
    "remove_quietly",
    "set_journal_mode",
    "sidecars",
    "sqlite_errors",
    "transaction",
    "unsynced",
]


class _OnAFile(Protocol):
    """What `sqlite_errors` needs of the object whose method failed: the file it works on."""

    @property
    def path(self) -> Path: ...


_S = TypeVar("_S", bound=_OnAFile)
_P = ParamSpec("_P")
_R = TypeVar("_R")

#: How long switching between WAL and rollback mode may wait for a status reader's read to end.
_MODE_SWITCH_WAIT_MS: Final = 2000


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """
    One explicit transaction (the connection is in autocommit mode otherwise).

    A failed statement or COMMIT is rolled back if SQLite has not already done so itself (it may,
    on a full disk or an I/O error), so the connection is never left inside a transaction and the
    error that surfaces is the one that happened.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@contextlib.contextmanager
def unsynced(conn: sqlite3.Connection) -> Iterator[None]:
    """Commit without syncing (``synchronous=NORMAL``): the next synced commit covers it."""
    conn.execute(_sql.SYNC_NORMAL)
    try:
        yield
    finally:
        conn.execute(_sql.SYNC_FULL)


def remove_quietly(*paths: Path) -> None:
    for stale in paths:
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()


def sidecars(path: Path) -> tuple[Path, Path, Path]:
    """The files SQLite may keep beside *path* (applied to whatever file has that name)."""
    return tuple(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))  # type: ignore[return-value]


def sqlite_errors(
    doing: str,
) -> Callable[[Callable[Concatenate[_S, _P], _R]], Callable[Concatenate[_S, _P], _R]]:
    """Turn the SQLite errors of a `Journal` method into `CampaignError` (`storage_error`)."""

    def wrap(
        method: Callable[Concatenate[_S, _P], _R],
    ) -> Callable[Concatenate[_S, _P], _R]:
        @functools.wraps(method)
        def guarded(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path, doing) from None

        return guarded

    return wrap


def set_journal_mode(conn: sqlite3.Connection, mode: str) -> None:
    """Switch *conn*'s database to journal *mode* (waiting briefly for readers), or raise."""
    conn.execute(_sql.SET_BUSY_TIMEOUT.format(ms=_MODE_SWITCH_WAIT_MS))
    try:
        row = conn.execute(_sql.SET_JOURNAL_MODE.format(mode=mode)).fetchone()
    finally:
        conn.execute(_sql.SET_BUSY_TIMEOUT.format(ms=0))
    if row is None or str(row[0]).lower() != mode.lower():
        raise CampaignInUseError(
            f"could not switch the journal to {mode} mode (SQLite kept {row!r}): "
            "another connection is reading it"
        )


def recover_interrupted_write(path: Path) -> None:
    """
    Roll back what a process killed mid-transaction in rollback mode left (a hot ``-journal``).

    Only while switching modes (opening and closing) is a journal in rollback mode, so this is
    rare; the read-only checks that come next cannot do it themselves. Only a file with our
    application id is touched, under the run lock.
    """
    real = path.resolve()  # SQLite keeps it beside the file a symbolic link reaches
    hot = real.with_name(real.name + "-journal")
    if not hot.is_file() or hot.stat().st_size == 0:
        return
    check_header(path)
    try:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            conn.execute(_sql.SCHEMA_VERSION).fetchone()  # SQLite rolls the journal back
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise storage_error(exc, path, "recover") from None


def prepare_for_writing(conn: sqlite3.Connection) -> None:
    """
    Make *conn* the run's writer: a self-contained journal switched to WAL mode, syncing fully.

    A journal still in WAL mode (its last run was killed, or an older version wrote it) is folded
    into one file first, so that it is marked `SELF_CONTAINED` in rollback mode, where the mark
    goes straight into the file.
    """
    conn.execute(_sql.SET_BUSY_TIMEOUT.format(ms=0))
    mode = conn.execute(_sql.JOURNAL_MODE).fetchone()
    if mode is not None and str(mode[0]).lower() == "wal":
        set_journal_mode(conn, "DELETE")
    version = conn.execute(_sql.USER_VERSION).fetchone()
    if version is None or version[0] not in SELF_CONTAINED_MARKS:
        conn.execute(_sql.SET_USER_VERSION.format(version=SELF_CONTAINED))
    set_journal_mode(conn, "WAL")
    # A first read in WAL mode opens the write-ahead log: from here on ``-wal`` lies beside the
    # file, so a reader never takes the open journal for one copied without it.
    conn.execute(_sql.SCHEMA_VERSION).fetchone()
    conn.execute(_sql.SYNC_FULL)


def place(temp: Path, journal_path: Path, *, overwrite: bool) -> None:
    """Move the finished *temp* journal to *journal_path*."""
    if overwrite and journal_path.exists():
        # Never replace a journal a run holds: take its run lock first, and keep it until
        # the new file is in place (a run that starts meanwhile finds it taken).
        old = RunLock.acquire(journal_path)
        try:
            remove_quietly(*sidecars(journal_path))
            os.replace(temp, journal_path)
        finally:
            old.release()
    else:
        try:
            os.link(temp, journal_path)  # fails if something appeared at the path meanwhile
        except FileExistsError:
            raise CampaignError(f"{str(journal_path)!r} already exists") from None
        except OSError:  # no hard links on this file system: check, then move
            if journal_path.exists():
                raise CampaignError(f"{str(journal_path)!r} already exists") from None
            os.replace(temp, journal_path)
        else:
            temp.unlink()


def fsync_path(path: Path, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # directories cannot be opened on every platform
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
