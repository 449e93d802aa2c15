"""
A send gate shared by processes on any machines: PostgreSQL advisory locks.

The service's gateway breaks when two state-changing requests of an account are in flight at once
(API.md E33), whichever processes send them. `PostgresSendGate` gives one slot per key: a process
holds a slot (a session-level advisory lock on its own connection) while one state-changing
request is in flight. With ``limit=N`` (only for users who opted in to more) there are N keys, and
a process takes the first one free.

A process that dies frees its slot: its connection ends and PostgreSQL drops the session's locks
(at once when the process dies on a live host; if the host vanishes, after the TCP keepalives this
module asks the server for: about 20 s). But its last request may still be in the service (the
gateway goes on with a request whose sender is gone, API.md E32), so the slot is not simply
handed on: each slot has a row in ``miogram_gate_slots`` marked busy while it is held and idle when
it is given back. A process that takes a slot still marked busy knows that its holder died
holding it, and waits `dead_holder_wait` seconds (holding the slot, so nobody else sends) before
its own request.

Waiting is polling with ``pg_try_advisory_lock`` (a short pause doubling up to `max_poll`),
never a blocking ``pg_advisory_lock``: a waiting task can be cancelled at any moment without a
lock being granted to nobody. Within one process the slots are also counted locally, so only as
many tasks as there are slots poll the database.

Blocking psycopg calls run in worker threads, like the PostgreSQL campaign storage: the gate works
under asyncio and trio alike.
"""

from __future__ import annotations

import contextlib
import threading
import zlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import anyio
import anyio.to_thread

from ._errors import APIConnectionError, ValidationError

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresSendGate", "gate_key"]

#: First key of every gate lock ("MioG"); the second is `gate_key` (0: creating the table).
GATE_LOCK_SPACE: Final = 0x4D696F47
_SLOTS_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS miogram_gate_slots ("
    " key integer PRIMARY KEY, name text NOT NULL, busy boolean NOT NULL,"
    " since timestamptz NOT NULL)"
)


def gate_key(name: str, slot: int) -> int:
    """The signed 32-bit second key of *slot* of the gate *name* (the same on every host)."""
    value = zlib.crc32(f"{name}\x00{slot}".encode())
    return value - (1 << 32) if value >= 1 << 31 else value


class PostgresSendGate:
    """
    At most *limit* state-changing requests in flight at once, across every process that uses a
    gate of the same *name* on the same database.

    Args:
        url: a libpq URL (``postgresql://user@host/db``; the password from ``PGPASSWORD`` or
            ``~/.pgpass`` rather than the URL).
        name: what the slots are for, usually the account; gates with the same name share slots.
        limit: slots (1: one request at a time, what the gateway needs).
        poll: the first pause between two tries while every slot is taken, in seconds.
        max_poll: the longest pause between two tries.
        dead_holder_wait: seconds to wait, holding the slot, after taking one whose holder died
            while holding it: the longest its last request may keep the service busy.

    Use ``async with gate.slot(): ...`` around one state-changing request, and `aclose` (or
    ``async with gate``) at the end.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "default",
        limit: int = 1,
        poll: float = 0.002,
        max_poll: float = 0.05,
        dead_holder_wait: float = 120.0,
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"expected a send gate limit >= 1, got {limit!r}")
        if not isinstance(name, str) or not name:
            raise ValidationError(f"expected a non-empty send gate name, got {name!r}")
        if not (poll > 0 and max_poll >= poll):
            raise ValidationError(f"expected 0 < poll <= max_poll, got {poll!r} and {max_poll!r}")
        if not dead_holder_wait >= 0:
            raise ValidationError(f"expected dead_holder_wait >= 0, got {dead_holder_wait!r}")
        self.dead_holder_wait = dead_holder_wait
        #: How many slots this gate took from a holder that had died (each cost a wait).
        self.taken_from_the_dead = 0
        self._url = url
        self.name = name
        self.limit = limit
        self._poll = poll
        self._max_poll = max_poll
        self._keys = tuple(gate_key(name, slot) for slot in range(limit))
        self._held: set[int] = set()
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._local = anyio.Semaphore(limit)
        self._closed = False

    def __repr__(self) -> str:  # never the URL: it may carry a password
        return f"<PostgresSendGate {self.name!r} limit={self.limit}>"

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """
        Hold one slot for the body (one state-changing request).

        Raises:
            APIConnectionError: (``sent=False``) the gate's database cannot be reached: nothing
                was sent.
        """
        async with self._local:
            key, after_death = await self._acquire()
            try:
                if after_death:
                    self.taken_from_the_dead += 1
                    await anyio.sleep(self.dead_holder_wait)
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._release, key)

    async def _acquire(self) -> tuple[int, bool]:
        """(the key taken, whether its holder had died holding it)."""
        pause = self._poll
        while True:
            # Shielded: a lock granted by this call is recorded before a cancellation lands.
            with anyio.CancelScope(shield=True):
                taken = await anyio.to_thread.run_sync(self._try_keys)
            if taken is not None:
                return taken
            await anyio.sleep(pause)
            pause = min(pause * 2, self._max_poll)

    def _connection(self) -> psycopg.Connection[Any]:
        """The gate's connection (under the lock); made on first use or after a failure."""
        if self._closed:
            raise APIConnectionError("the send gate is closed", sent=False)
        if self._conn is None:
            from .campaign._postgres import KEEPALIVES, SERVER_KEEPALIVES  # noqa: PLC0415

            try:
                import psycopg  # noqa: PLC0415 - optional: the postgres extra
            except ImportError:
                raise ValidationError(
                    "PostgresSendGate needs psycopg: pip install 'miogram-async[postgres]'"
                ) from None
            try:
                conninfo = psycopg.conninfo.make_conninfo(self._url, **KEEPALIVES)
                conn = psycopg.Connection.connect(conninfo, autocommit=True)
                conn.execute(SERVER_KEEPALIVES)
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (GATE_LOCK_SPACE,))
                    conn.execute(_SLOTS_TABLE)
            except psycopg.Error as exc:
                raise self._unreachable(exc) from None
            self._conn = conn
        return self._conn

    def _unreachable(self, exc: Exception) -> APIConnectionError:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return APIConnectionError(
            f"send gate {self.name!r}: its PostgreSQL database is unreachable ({detail})",
            sent=False,
        )

    def _try_keys(self) -> tuple[int, bool] | None:
        """Take the first free slot (see `_acquire`), or None; in a worker thread."""
        import psycopg  # noqa: PLC0415 - present once a connection exists

        with self._lock:
            conn = self._connection()
            try:
                for key in self._keys:
                    if key in self._held:  # advisory locks stack within a session
                        continue
                    row = conn.execute(
                        "SELECT pg_try_advisory_lock(%s, %s)", (GATE_LOCK_SPACE, key)
                    ).fetchone()
                    if row is not None and row[0]:
                        self._held.add(key)
                        return key, self._mark_busy(conn, key)
            except psycopg.Error as exc:
                self._drop()
                raise self._unreachable(exc) from None
        return None

    def _mark_busy(self, conn: psycopg.Connection[Any], key: int) -> bool:
        """Mark the slot *key* (its lock held) busy; whether it was busy already (a dead holder)."""
        row = conn.execute("SELECT busy FROM miogram_gate_slots WHERE key = %s", (key,)).fetchone()
        conn.execute(
            "INSERT INTO miogram_gate_slots (key, name, busy, since) VALUES (%s, %s, true, now()) "
            "ON CONFLICT (key) DO UPDATE SET busy = true, since = now()",
            (key, self.name),
        )
        return row is not None and bool(row[0])

    def _release(self, key: int) -> None:
        """Give *key* back; in a worker thread. A lost connection has dropped it already."""
        import psycopg  # noqa: PLC0415

        with self._lock:
            if key not in self._held or self._conn is None:
                return
            try:
                self._conn.execute(
                    "UPDATE miogram_gate_slots SET busy = false, since = now() WHERE key = %s",
                    (key,),
                )
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (GATE_LOCK_SPACE, key))
                self._held.discard(key)
            except psycopg.Error:
                self._drop()

    def _drop(self) -> None:
        """Close the connection (its session's locks go with it); under the lock."""
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    async def aclose(self) -> None:
        """Close the gate's connection, freeing any slot it holds (idempotent)."""

        def close() -> None:
            with self._lock:
                self._closed = True
                self._drop()

        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
