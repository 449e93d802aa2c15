"""
A send gate shared by the processes of one host: lock files (``flock``).

For several workers on one machine (uvicorn ``--workers 4``) without a database: `FileSendGate`
keeps at most *limit* state-changing requests in flight across every process that uses the same
directory and name. Slot *i* is the file ``<directory>/<name>.<i>.slot``; a process holds a slot
while it holds an exclusive ``flock`` on that file. The kernel drops the locks of a process that
dies, at once. With no gate named, every client of a host takes one of these for its service
(`miogram_async._gates.default`).

The slot file says what its last holder left behind, so that the next one (in any process) knows:

- ``busy``: held. Found by a new holder, it means the holder died holding it, and its last request
  may still be in the service (docs/service.md E32): the new holder waits `dead_holder_wait`
  seconds (holding the slot) before its own request.
- ``idle <time>``: given back; the gateway may be busy until *time* (``time.time()``, one host,
  one clock), the drain after a request whose outcome is unknown. The next holder waits until then.

A lock is on a file, not on a path: if the slot file is removed (a temporary-file cleaner, a
folder removed and made again) while a process holds it, a second process would make a new file of
the same name, lock it, and send. So after taking a lock, the gate checks that the file it locked
is still the one at the path (device and inode) and takes the path's file again if not; and a
process that has to make a slot file (the first use, or after a removal) first waits until no
process holds a removed slot file of that path (found through ``/proc`` on Linux). Slot files are
the owner's only (0600), opened without following a symbolic link.

POSIX only (``flock``); local file systems only (``flock`` over NFS is not reliable).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import time
from pathlib import Path
from typing import Final

import anyio

from .._base.errors import SendGateError, ValidationError
from .slots import SlotGate

__all__ = ["FileSendGate"]

_NAME: Final = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_BUSY: Final = b"busy"
_IDLE: Final = b"idle"
# Longer than any state the file holds ("idle " and a float): read in one call.
_STATE_BYTES: Final = 64
#: Times a slot is taken again when its file was replaced between opening and locking it.
_RETAKES: Final = 8
_OPEN_FLAGS: Final = os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


class FileSendGate(SlotGate[int]):
    """
    At most *limit* state-changing requests in flight at once across the processes of one host
    that use the same *directory* and *name*: a `SendGate` for ``MioGram(send_gate=...)``.

    Args:
        directory: an existing directory on a local file system, writable by every worker (slot
            files are made readable and writable by their owner only: the workers of one user).
        name: what the slots are for, usually the account (letters, digits, ``_ . -``).
        limit: slots (1: one request at a time, what the gateway needs). Every process should use
            the same limit.
        poll: the first pause between two tries while every slot is taken, in seconds.
        max_poll: the longest pause between two tries.
        dead_holder_wait: seconds to wait, holding the slot, after taking one whose holder died
            while holding it.

    A slot is given back by the task that took it. `slot` is the same as a pair of `acquire` and
    ``release(0.0)`` around its body. A gate that cannot be used (its folder removed or read-only)
    raises `SendGateError`, naming the folder.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        name: str = "default",
        limit: int = 1,
        poll: float = 0.002,
        max_poll: float = 0.05,
        dead_holder_wait: float = 120.0,
    ) -> None:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            raise ValidationError("FileSendGate needs flock (POSIX): use PostgresSendGate")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValidationError(
                f"expected a send gate name of letters, digits, '_', '.' or '-', got {name!r}"
            )
        self._setup(
            name=name, limit=limit, poll=poll, max_poll=max_poll, dead_holder_wait=dead_holder_wait
        )
        folder = Path(directory)
        if not folder.is_dir():
            raise ValidationError(f"expected an existing directory for the send gate, got {folder}")
        self._folder = folder
        # The path the kernel shows for a slot file: what a removed one is found by.
        self._real = Path(os.path.realpath(folder))
        #: Make the folder (0700) again if it is gone: only for the gates the package makes.
        self._remake_folder = False
        # A slot is the descriptor of its locked file.
        self._paths = tuple(folder / f"{name}.{slot}.slot" for slot in range(limit))

    def __repr__(self) -> str:
        return f"<FileSendGate {self.name!r} in {str(self._folder)!r} limit={self.limit}>"

    @property
    def location(self) -> str:
        """The gate's folder."""
        return str(self._folder)

    @property
    def folder(self) -> Path:
        """The gate's folder, with every symbolic link resolved when the gate was made."""
        return self._real

    def _failed(self, doing: str, exc: OSError | None = None) -> SendGateError:
        """The `SendGateError` for *doing* something to this gate's files (never the service's)."""
        why = ""
        if exc is not None:
            text = exc.strerror or type(exc).__name__
            why = f": {text[:1].lower()}{text[1:]}"
        return SendGateError(
            f"send gate {self.name!r} in {str(self._folder)!r}: {doing}{why}",
            self.name,
            str(self._folder),
        )

    async def _give(self, slot: int, busy_for: float) -> None:
        _give_back(slot, time.time() + busy_for if busy_for > 0 else None)

    async def _mark(self, slot: int) -> None:
        if not _write(slot, _BUSY):
            raise self._failed("cannot write its slot file")

    async def _take(self, *, mark_busy: bool) -> tuple[int, bool]:
        """
        Lock a slot file, wait out what it says, mark it busy if *mark_busy*: (its descriptor, if
        it waited).
        """
        pause = self._poll
        waited = False
        while (taken := self._try_slots()) is None:  # non-blocking calls on local files
            waited = True
            await anyio.sleep(pause)
            pause = min(pause * 2, self._max_poll)
        fd, path, state, made = taken
        reopen_at: float | None = None
        try:
            if made:
                # A new slot file: a process may still hold the one it replaces (removed while
                # held). Holding the new one, wait until that request is over.
                pause = self._poll
                while _removed_copy_held(self._real / path.name):
                    waited = True
                    await anyio.sleep(pause)
                    pause = min(pause * 2, self._max_poll)
            if state == _BUSY:
                self.taken_from_the_dead += 1
                reopen_at = time.time() + self.dead_holder_wait
            elif state.startswith(_IDLE + b" "):
                with contextlib.suppress(ValueError):
                    reopen_at = float(state[len(_IDLE) + 1 :])
            # Holding the lock: nobody else sends while the gateway may be busy.
            while reopen_at is not None and (left := reopen_at - time.time()) > 0:
                waited = True
                await anyio.sleep(left)
        except BaseException:
            # Cancelled while waiting: the next holder waits for the rest of it.
            _give_back(fd, reopen_at)
            raise
        if mark_busy and not _write(fd, _BUSY):
            _give_back(fd, reopen_at)
            raise self._failed("cannot write its slot file")
        return fd, waited

    def _try_slots(self) -> tuple[int, Path, bytes, bool] | None:
        """(descriptor, path, what the file said, whether it was made) of a free slot, or None."""
        for path in self._paths:
            taken = self._try_slot(path)
            if taken is not None:
                return taken
        return None

    def _try_slot(self, path: Path) -> tuple[int, Path, bytes, bool] | None:
        """Lock the file at *path* if it is free and still there (see `_try_slots`)."""
        import fcntl  # noqa: PLC0415 - POSIX only

        for _ in range(_RETAKES):
            fd, made = self._open(path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            except OSError as exc:
                os.close(fd)
                raise self._failed("cannot lock its slot file", exc) from None
            # The lock holds the file it was taken on: make sure that is still the file at the
            # path (it may have been removed, or replaced, since it was opened).
            if _is_at(fd, path):
                return fd, path, os.pread(fd, _STATE_BYTES, 0).strip(), made
            os.close(fd)
        raise self._failed("its slot file keeps being removed or replaced")

    def _open(self, path: Path) -> tuple[int, bool]:
        """The slot file at *path*, opened (made, 0600, if missing): (descriptor, if made)."""
        for _ in range(2):
            try:
                fd = os.open(path, _OPEN_FLAGS | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                try:
                    return os.open(path, _OPEN_FLAGS), False
                except FileNotFoundError:
                    continue  # removed since: make it
                except OSError as exc:
                    raise self._failed("cannot open its slot file", exc) from None
            except FileNotFoundError:
                if not self._remake_folder:
                    raise self._failed(
                        "its folder is gone (removed while in use?): make it again, or name "
                        "another gate"
                    ) from None
                self._make_folder()
                continue
            except OSError as exc:
                raise self._failed("cannot make its slot file", exc) from None
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o600)  # whatever the umask
            return fd, True
        raise self._failed("its slot file keeps being removed")

    def _make_folder(self) -> None:
        try:
            self._folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise self._failed("cannot make its folder again", exc) from None


def _is_at(fd: int, path: Path) -> bool:
    """Whether the open file *fd* is the file at *path* (same device and inode)."""
    try:
        at_path = os.lstat(path)
    except OSError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (at_path.st_dev, at_path.st_ino) and stat.S_ISREG(
        at_path.st_mode
    )


def _write(fd: int, state: bytes) -> bool:
    """Write *state* as the slot file's whole content; whether it could."""
    try:
        os.pwrite(fd, state, 0)
        os.ftruncate(fd, len(state))
    except OSError:
        return False
    return True


def _give_back(fd: int, reopen_at: float | None) -> None:
    """Mark the slot idle (until *reopen_at*, a ``time.time()``) and close it, dropping the lock."""
    _write(fd, _IDLE if reopen_at is None else _IDLE + b" " + repr(reopen_at).encode())
    os.close(fd)


def _removed_copy_held(path: Path) -> bool:
    """
    Whether a process holds a ``flock`` on a removed file that was at *path* (Linux: ``/proc``).

    The kernel lists the holders of locks in ``/proc/locks``; a holder's descriptor of a removed
    file reads as ``<path> (deleted)`` in ``/proc/<pid>/fd``. Processes of other users cannot be
    looked into (and cannot use the gate's files, which are the owner's only). Elsewhere: False.
    """
    try:
        listing = Path("/proc/locks").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    holders: set[str] = set()
    for line in listing.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 00:2c:5678 0 EOF"; a waiter's line has "->" first.
        if len(fields) >= 5 and fields[1] == "FLOCK" and fields[3] == "WRITE":
            holders.add(fields[4])
    removed = f"{path} (deleted)"
    for pid in holders:
        folder = f"/proc/{pid}/fd"
        try:
            descriptors = os.listdir(folder)
        except OSError:
            continue
        for descriptor in descriptors:
            with contextlib.suppress(OSError):
                if os.readlink(f"{folder}/{descriptor}") == removed:
                    return True
    return False
