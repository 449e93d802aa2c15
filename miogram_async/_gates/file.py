"""
A send gate shared by the processes of one host: lock files (``flock``).

For several workers on one machine (uvicorn ``--workers 4``) without a database: `FileSendGate`
keeps at most *limit* state-changing requests in flight across every process that uses the same
directory and name. Slot *i* is the file ``<directory>/<name>.<i>.slot``; a process holds a slot
while it holds an exclusive ``flock`` on that file. The kernel drops the locks of a process that
dies, at once.

The slot file says what its last holder left behind, so that the next one (in any process) knows:

- ``busy``: held. Found by a new holder, it means the holder died holding it, and its last request
  may still be in the service (API.md E32): the new holder waits `dead_holder_wait` seconds
  (holding the slot) before its own request.
- ``idle <time>``: given back; the gateway may be busy until *time* (``time.time()``, one host,
  one clock), the drain after a request whose outcome is unknown. The next holder waits until then.

POSIX only (``flock``); local file systems only (``flock`` over NFS is not reliable).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from pathlib import Path
from typing import Final

import anyio

from .._base.errors import APIConnectionError, ValidationError
from .slots import SlotGate

__all__ = ["FileSendGate"]

_NAME: Final = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_BUSY: Final = b"busy"
_IDLE: Final = b"idle"
# Longer than any state the file holds ("idle " and a float): read in one call.
_STATE_BYTES: Final = 64


class FileSendGate(SlotGate[int]):
    """
    At most *limit* state-changing requests in flight at once across the processes of one host
    that use the same *directory* and *name*: a `SendGate` for ``MioGram(send_gate=...)``.

    Args:
        directory: an existing directory on a local file system, writable by every worker.
        name: what the slots are for, usually the account (letters, digits, ``_ . -``).
        limit: slots (1: one request at a time, what the gateway needs). Every process should use
            the same limit.
        poll: the first pause between two tries while every slot is taken, in seconds.
        max_poll: the longest pause between two tries.
        dead_holder_wait: seconds to wait, holding the slot, after taking one whose holder died
            while holding it.

    A slot is given back by the task that took it. `slot` is the same as a pair of `acquire` and
    ``release(0.0)`` around its body.
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
        # A slot is the descriptor of its locked file.
        self._paths = tuple(folder / f"{name}.{slot}.slot" for slot in range(limit))

    def __repr__(self) -> str:
        return f"<FileSendGate {self.name!r} limit={self.limit}>"

    async def _give(self, slot: int, busy_for: float) -> None:
        _give_back(slot, time.time() + busy_for if busy_for > 0 else None)

    async def _take(self) -> tuple[int, bool]:
        """Lock a slot file, wait out what it says, mark it busy: (its descriptor, if it waited)."""
        pause = self._poll
        waited = False
        while (taken := self._try_slots()) is None:  # non-blocking calls on local files
            waited = True
            await anyio.sleep(pause)
            pause = min(pause * 2, self._max_poll)
        fd, state = taken
        reopen_at: float | None = None
        try:
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
        _write(fd, _BUSY)
        return fd, waited

    def _try_slots(self) -> tuple[int, bytes] | None:
        """(descriptor, what the file said) of the first free slot, locked; or None."""
        import fcntl  # noqa: PLC0415 - POSIX only

        for path in self._paths:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
            except OSError as exc:
                raise APIConnectionError(
                    f"send gate {self.name!r}: cannot open {str(path)!r} ({exc.strerror})",
                    sent=False,
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd, os.pread(fd, _STATE_BYTES, 0).strip()
        return None


def _write(fd: int, state: bytes) -> None:
    with contextlib.suppress(OSError):
        os.pwrite(fd, state, 0)
        os.ftruncate(fd, len(state))


def _give_back(fd: int, reopen_at: float | None) -> None:
    """Mark the slot idle (until *reopen_at*, a ``time.time()``) and close it, dropping the lock."""
    _write(fd, _IDLE if reopen_at is None else _IDLE + b" " + repr(reopen_at).encode())
    os.close(fd)
