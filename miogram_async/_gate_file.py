"""
A send gate shared by the processes of one host: lock files (``flock``).

For several workers on one machine (uvicorn ``--workers 4``) without a database: `FileSendGate`
keeps at most *limit* state-changing requests in flight across every process that uses the same
directory and name. Slot *i* is the file ``<directory>/<name>.<i>.slot``; a process holds a slot
while it holds an exclusive ``flock`` on that file. The kernel drops the locks of a process that
dies, at once.

As with `PostgresSendGate`, a dead holder's last request may still be in the service (API.md E32):
a holder writes ``busy`` into its slot file when it takes it and ``idle`` when it gives it back,
and a process that takes a slot reading ``busy`` waits `dead_holder_wait` seconds (holding the
slot) before its own request.

POSIX only (``flock``); local file systems only (``flock`` over NFS is not reliable).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import anyio

from ._errors import APIConnectionError, ValidationError

__all__ = ["FileSendGate"]

_NAME: Final = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_BUSY: Final = b"busy"
_IDLE: Final = b"idle"


class FileSendGate:
    """
    At most *limit* state-changing requests in flight at once across the processes of one host
    that use the same *directory* and *name*.

    Args:
        directory: an existing directory on a local file system, writable by every worker.
        name: what the slots are for, usually the account (letters, digits, ``_ . -``).
        limit: slots (1: one request at a time, what the gateway needs).
        poll: the first pause between two tries while every slot is taken, in seconds.
        max_poll: the longest pause between two tries.
        dead_holder_wait: seconds to wait, holding the slot, after taking one whose holder died
            while holding it.

    Use ``async with gate.slot(): ...`` around one state-changing request.
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
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"expected a send gate limit >= 1, got {limit!r}")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValidationError(
                f"expected a send gate name of letters, digits, '_', '.' or '-', got {name!r}"
            )
        if not (poll > 0 and max_poll >= poll):
            raise ValidationError(f"expected 0 < poll <= max_poll, got {poll!r} and {max_poll!r}")
        if not dead_holder_wait >= 0:
            raise ValidationError(f"expected dead_holder_wait >= 0, got {dead_holder_wait!r}")
        folder = Path(directory)
        if not folder.is_dir():
            raise ValidationError(f"expected an existing directory for the send gate, got {folder}")
        self.name = name
        self.limit = limit
        self.dead_holder_wait = dead_holder_wait
        #: How many slots this gate took from a holder that had died (each cost a wait).
        self.taken_from_the_dead = 0
        self._paths = tuple(folder / f"{name}.{slot}.slot" for slot in range(limit))
        self._poll = poll
        self._max_poll = max_poll
        self._local = anyio.Semaphore(limit)

    def __repr__(self) -> str:
        return f"<FileSendGate {self.name!r} limit={self.limit}>"

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """
        Hold one slot for the body (one state-changing request).

        Raises:
            APIConnectionError: (``sent=False``) a slot file cannot be opened: nothing was sent.
        """
        async with self._local:
            fd, after_death = await self._acquire()
            try:
                if after_death:
                    self.taken_from_the_dead += 1
                    await anyio.sleep(self.dead_holder_wait)
                yield
            finally:
                _release(fd)

    async def aclose(self) -> None:
        """Nothing to close: each slot's file is closed when the slot is given back."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _acquire(self) -> tuple[int, bool]:
        pause = self._poll
        while True:
            taken = self._try_slots()  # non-blocking calls on local files: no thread needed
            if taken is not None:
                return taken
            await anyio.sleep(pause)
            pause = min(pause * 2, self._max_poll)

    def _try_slots(self) -> tuple[int, bool] | None:
        """(descriptor, whether its holder had died in it) of the first free slot, or None."""
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
            after_death = os.pread(fd, len(_BUSY), 0) == _BUSY
            os.pwrite(fd, _BUSY, 0)
            return fd, after_death
        return None


def _release(fd: int) -> None:
    """Mark the slot idle and give it back (closing the descriptor drops the lock)."""
    with contextlib.suppress(OSError):
        os.pwrite(fd, _IDLE, 0)
    os.close(fd)
