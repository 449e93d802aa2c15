"""
Numbers in doubt in an SQLite journal, derived from its chunk rows.

A number is in doubt while a chunk listing it is ``attempting``, unless a later chunk recorded an
outcome for it. Starting a chunk writes only its row, never its numbers' rows, so reads derive
doubt from the attempting chunks (`numbers_in_doubt`); a run writes it down in ``numbers`` when it
begins (`write_down_doubt`), for the chunks earlier runs left attempting. Every function here runs
on the journal's connection, under its lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ..._model import NumberState
from .._base import stored_state
from . import _sql
from ._numbers import batches, e164, marks, unpack

__all__ = ["numbers_in_doubt", "still_attempting", "write_down_doubt"]


def numbers_in_doubt(
    conn: sqlite3.Connection, where: str
) -> dict[str, tuple[int, str | None, NumberState]]:
    """number -> (chunk, robot, stored state) of every number in doubt in the journal *where*."""
    doubt: dict[str, tuple[int, str | None, NumberState]] = {}
    attempting = conn.execute(_sql.ATTEMPTING).fetchall()
    chunk_of: dict[int, tuple[int, str | None]] = {}
    for chunk_id, robot, numbers in attempting:
        for number in unpack(numbers):
            chunk_of[number] = (int(chunk_id), robot)
    for batch in batches(list(chunk_of)):
        rows = conn.execute(_sql.NUMBER_STATES.format(marks=marks(batch)), batch).fetchall()
        for number, chunk, state in rows:
            chunk_id, robot = chunk_of[number]
            if chunk is None or chunk < chunk_id or (chunk == chunk_id and state == "sending"):
                doubt[e164(number)] = (chunk_id, robot, stored_state(state, where))
    return doubt


def write_down_doubt(conn: sqlite3.Connection, now: float) -> frozenset[int]:
    """
    Write the numbers of every attempting chunk that no later chunk answered down as ``sending``
    (with their chunk); mark done a chunk none of whose numbers is in doubt any more. Returns the
    chunks still attempting. Inside a transaction.
    """
    attempting = conn.execute(_sql.ATTEMPTING).fetchall()
    for chunk_id, _, numbers in attempting:
        for batch in batches(unpack(numbers)):
            conn.execute(
                _sql.MARK_IN_DOUBT.format(marks=marks(batch)), [chunk_id, *batch, chunk_id]
            )
    conn.executemany(_sql.SETTLE_CHUNK, [(now, row[0]) for row in attempting])
    return still_attempting(conn, [int(row[0]) for row in attempting])


def still_attempting(conn: sqlite3.Connection, chunks: Iterable[int]) -> frozenset[int]:
    """Those of *chunks* still attempting."""
    found: set[int] = set()
    for batch in batches(list(chunks)):
        query = _sql.STILL_ATTEMPTING.format(marks=marks(batch))
        found.update(int(row[0]) for row in conn.execute(query, batch))
    return frozenset(found)
