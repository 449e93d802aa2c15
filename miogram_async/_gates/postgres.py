"""
A send gate shared by processes on any machines: PostgreSQL advisory locks.

The service's gateway breaks when two state-changing requests of an account are in flight at once
(docs/service.md E33), whichever processes send them. `PostgresSendGate` gives one slot per key: a
process holds a slot (a session-level advisory lock on its own connection) while one state-changing
request is in flight. With ``limit=N`` (only for users who opted in to more) there are N keys, and
a process takes the first one free.

A process that dies frees its slot: its connection ends and PostgreSQL drops the session's locks
(at once when the process dies on a live host; if the host vanishes, after the TCP keepalives this
module asks the server for: about 20 s). But its last request may still be in the service (the
gateway goes on with a request whose sender is gone, docs/service.md E32), so the slot is not simply
handed on: each slot has a row in ``miogram_gate_slots`` marked busy while it is held and idle when
it is given back. A process that takes a slot still marked busy knows that its holder died
holding it, and waits `dead_holder_wait` seconds (holding the slot, so nobody else sends) before
its own request.

The same row carries the drain (E32): a holder whose request's outcome is unknown gives the slot
back with ``reopen_at = now() + busy_for``, on the database server's clock, the one clock every
host shares; the next holder, in any process, waits until then before its request.

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
from typing import TYPE_CHECKING, Any, Final

import anyio
import anyio.to_thread

from .._base.errors import SendGateError, ValidationError
from .._base.pg import connect, hide_passwords, redact, url_problem
from .slots import SlotGate

if TYPE_CHECKING:
    import psycopg

__all__ = ["GATE_LOCK_SPACE", "PostgresSendGate", "gate_key"]

#: First key of every gate lock ("MioG"); the second is `gate_key` (0: creating the table).
GATE_LOCK_SPACE: Final = 0x4D696F47
_SLOTS_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS miogram_gate_slots ("
    " key integer PRIMARY KEY, name text NOT NULL, busy boolean NOT NULL,"
    " since timestamptz NOT NULL, reopen_at timestamptz)"
)
# A table made before the drain was kept in it.
_REOPEN_COLUMN: Final = (
    "ALTER TABLE miogram_gate_slots ADD COLUMN IF NOT EXISTS reopen_at timestamptz"
)
# Idle, and closed to the next holder until *busy_for* seconds from now (server clock), or longer
# if an earlier holder said so.
_GIVE_BACK: Final = (
    "UPDATE miogram_gate_slots SET busy = false, since = now(),"
    " reopen_at = CASE WHEN %(busy_for)s > 0"
    " THEN greatest(reopen_at, now() + %(busy_for)s * interval '1 second') ELSE reopen_at END"
    " WHERE key = %(key)s"
)


def gate_key(name: str, slot: int) -> int:
    """The signed 32-bit second key of *slot* of the gate *name* (the same on every host)."""
    value = zlib.crc32(f"{name}\x00{slot}".encode())
    return value - (1 << 32) if value >= 1 << 31 else value


class PostgresSendGate(SlotGate[int]):
    """
    At most *limit* state-changing requests in flight at once, across every process that uses a
    gate of the same *name* on the same database: a `SendGate` for ``MioGram(send_gate=...)``.

    Args:
        url: a libpq URL (``postgresql://user@host/db``; the password from ``PGPASSWORD`` or
            ``~/.pgpass`` rather than the URL).
        name: what the slots are for, usually the account; gates with the same name share slots.
        limit: slots (1: one request at a time, what the gateway needs). Every process should use
            the same limit.
        poll: the first pause between two tries while every slot is taken, in seconds.
        max_poll: the longest pause between two tries.
        dead_holder_wait: seconds to wait, holding the slot, after taking one whose holder died
            while holding it: the longest its last request may keep the service busy.

    The gate connects on first use; `aclose` (or ``async with gate``) closes its connection. A
    slot is given back by the task that took it. `slot` is the same as a pair of `acquire` and
    ``release(0.0)`` around its body.

    A gate that cannot be used (its database unreachable, the user refused) raises
    `SendGateError`, naming the database without its password.

    Raises:
        ValidationError: a setting is out of range, the URL is malformed (said without quoting
            it), or psycopg is not installed (the ``postgres`` extra).
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
        if not isinstance(name, str) or not name:
            raise ValidationError(f"expected a non-empty send gate name, got {name!r}")
        problem = url_problem(url) if isinstance(url, str) else "it is not a str"
        if problem is not None:
            raise ValidationError(
                f"the send gate's database URL is malformed: {problem} (the URL is not shown: "
                "it may hold a password)"
            )
        self._setup(
            name=name, limit=limit, poll=poll, max_poll=max_poll, dead_holder_wait=dead_holder_wait
        )
        try:
            import psycopg  # noqa: F401, PLC0415 - optional: the postgres extra
        except ImportError:
            raise ValidationError(
                "PostgresSendGate needs psycopg: pip install 'miogram-async[postgres]'"
            ) from None
        self._url = url
        # A slot is its advisory lock's key; the keys this session holds (under _lock).
        self._keys = tuple(gate_key(name, slot) for slot in range(limit))
        self._held: set[int] = set()
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:  # never the URL as given: it may carry a password
        return f"<PostgresSendGate {self.name!r} at {self.location} limit={self.limit}>"

    @property
    def location(self) -> str:
        """The gate's database URL, without its password."""
        return redact(self._url)

    @property
    def database(self) -> str:
        """
        The gate's database as ``postgresql://HOST:PORT/NAME``: the same for every user that
        connects to it, never a password.
        """
        import psycopg  # noqa: PLC0415 - present: checked when the gate was made

        try:
            params = psycopg.conninfo.conninfo_to_dict(self._url)
        except psycopg.Error:
            return self.location
        host = str(params.get("host") or params.get("hostaddr") or "(local socket)")
        port = str(params.get("port") or "5432")
        name = str(params.get("dbname") or params.get("user") or "(default)")
        return f"postgresql://{host}:{port}/{name}"

    async def _give(self, slot: int, busy_for: float) -> None:
        # Counted on the database server's clock.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._give_back, slot, busy_for)

    async def _mark(self, slot: int) -> None:
        await anyio.to_thread.run_sync(self._mark_busy, slot)

    async def _take(self, *, mark_busy: bool) -> tuple[int, bool]:
        """
        Lock a slot, wait out what its row says, mark it busy if *mark_busy*: (its key, if it
        waited).
        """
        pause = self._poll
        waited = False
        while True:
            # Shielded: a lock granted by this call is recorded before a cancellation lands.
            with anyio.CancelScope(shield=True):
                taken = await anyio.to_thread.run_sync(self._try_keys)
            if taken is not None:
                break
            waited = True
            await anyio.sleep(pause)
            pause = min(pause * 2, self._max_poll)
        key, after_death, drain_left = taken
        wait = drain_left
        if after_death:
            self.taken_from_the_dead += 1
            wait = max(wait, self.dead_holder_wait)
        began = anyio.current_time()
        try:
            # Holding the lock: nobody else sends while the gateway may be busy.
            if wait > 0:
                waited = True
                await anyio.sleep(wait)
            if mark_busy:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._mark_busy, key)
        except BaseException:
            # Cancelled while waiting (or the connection lost): the next holder waits the rest.
            left = wait - (anyio.current_time() - began)
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._give_back, key, max(0.0, left))
            raise
        return key, waited

    def _connection(self) -> psycopg.Connection[Any]:
        """The gate's connection (under the lock); made on first use or after a failure."""
        if self._closed:
            raise SendGateError(
                f"send gate {self.name!r} at {self.location} is closed", self.name, self.location
            )
        if self._conn is None:
            import psycopg  # noqa: PLC0415 - optional: the postgres extra

            try:
                # Keepalives both ways: the slots of a host that vanished free up in about 20 s.
                conn = connect(self._url)
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (GATE_LOCK_SPACE,))
                    conn.execute(_SLOTS_TABLE)
                    conn.execute(_REOPEN_COLUMN)
            except psycopg.Error as exc:
                raise self._unreachable(exc) from None
            self._conn = conn
        return self._conn

    def _unreachable(self, exc: Exception) -> SendGateError:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return SendGateError(
            f"send gate {self.name!r} at {self.location}: its database cannot be used "
            f"({hide_passwords(detail, self._url)})",
            self.name,
            self.location,
        )

    def _try_keys(self) -> tuple[int, bool, float] | None:
        """
        Take the first free slot, or None; in a worker thread.

        Returns:
            (its key, whether its holder died holding it, seconds of drain left on it).
        """
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
                        state = conn.execute(
                            "SELECT busy, coalesce(extract(epoch FROM reopen_at - now()), 0)"
                            "::float8 FROM miogram_gate_slots WHERE key = %s",
                            (key,),
                        ).fetchone()
                        if state is None:
                            return key, False, 0.0
                        return key, bool(state[0]), max(0.0, float(state[1]))
            except psycopg.Error as exc:
                self._drop()
                raise self._unreachable(exc) from None
        return None

    def _mark_busy(self, key: int) -> None:
        """Mark the slot *key* busy (its holder is sending); in a worker thread."""
        import psycopg  # noqa: PLC0415

        with self._lock:
            if key not in self._held or self._conn is None:
                # The connection was lost while waiting: so was the lock, nothing was sent.
                raise SendGateError(
                    f"send gate {self.name!r} at {self.location}: lost its database connection",
                    self.name,
                    self.location,
                )
            try:
                self._conn.execute(
                    "INSERT INTO miogram_gate_slots (key, name, busy, since) "
                    "VALUES (%s, %s, true, now()) "
                    "ON CONFLICT (key) DO UPDATE SET busy = true, since = now()",
                    (key, self.name),
                )
            except psycopg.Error as exc:
                self._drop()
                raise self._unreachable(exc) from None

    def _give_back(self, key: int, busy_for: float) -> None:
        """
        Mark *key* idle, closed for *busy_for* seconds, and unlock it; in a worker thread.

        A lost connection has dropped the lock already (and left the row busy: the next holder
        waits as for a dead one).
        """
        import psycopg  # noqa: PLC0415

        with self._lock:
            if key not in self._held or self._conn is None:
                return
            try:
                self._conn.execute(_GIVE_BACK, {"key": key, "busy_for": busy_for})
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
