"""
The run lock of a journal: an advisory lock on the journal file that one open for writing holds.

SQLite's own locks cannot serve: a journal in WAL mode with normal locking lets readers in (so that
``campaign status`` can watch a run), and nothing in SQLite stops a second writer from opening the
file and sending the same campaign between two transactions. So every open for writing, and
`Journal.create` before it replaces a file, first takes this lock without waiting: a second one
fails at once. On POSIX it is ``flock`` on the file (independent of SQLite's ``fcntl`` byte-range
locks); on Windows one byte far past SQLite's lock bytes is locked with ``msvcrt.locking``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Final

from ..._model import CampaignError, CampaignInUseError, CampaignStorageError

__all__ = ["RunLock"]

# Windows locks are mandatory: lock a byte no journal under 2 GiB reads (SQLite's are at 1 GiB).
_WINDOWS_LOCK_OFFSET: Final = 0x7FFF_FFF0
_ATTEMPTS: Final = 3
_RETRY_PAUSE: Final = 0.005


class RunLock:
    """The run lock held on one journal file (release it with `release`)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: Path) -> RunLock:
        """
        Take the run lock of *path*, without waiting.

        Raises:
            CampaignInUseError: another open holds it.
            CampaignStorageError: the file cannot be opened.
        """
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise CampaignError(f"no campaign journal at {str(path)!r}") from None
        except OSError as exc:
            raise CampaignStorageError(
                f"cannot open campaign journal {str(path)!r}: {exc.strerror}",
                "permission denied" if isinstance(exc, PermissionError) else "I/O error",
            ) from None
        # A status read probes the lock for an instant (`is_held`): try again across such a probe.
        for attempt in range(_ATTEMPTS):
            if _try_lock(fd, exclusive=True):
                return cls(fd)
            if attempt + 1 < _ATTEMPTS:
                time.sleep(_RETRY_PAUSE)
        os.close(fd)
        raise CampaignInUseError(
            f"campaign journal {str(path)!r} is in use by another process (a run holds it)"
        )

    @staticmethod
    def is_held(path: Path) -> bool:
        """Whether some open holds the run lock of *path* (checked without waiting)."""
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return False
        try:
            if _try_lock(fd, exclusive=False):
                _unlock(fd)
                return False
            return True
        finally:
            os.close(fd)

    def release(self) -> None:
        """Release the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            _unlock(fd)
            os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int, *, exclusive: bool) -> bool:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int, *, exclusive: bool) -> bool:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
