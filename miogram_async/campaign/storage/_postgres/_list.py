"""
The campaigns one PostgreSQL database holds (``miogram campaign list``): a few reads, no lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

from ...._base.pg import redact
from ..._model import NumberState
from .._base import FORMAT
from . import _sql
from ._setup import RUN_LOCK_SPACE, connect, load_psycopg, split_url, storage_error

__all__ = ["CampaignListing", "list_campaigns"]

_STATES: Final = frozenset(state.value for state in NumberState)


@attrs.frozen(kw_only=True)
class CampaignListing:
    """
    One campaign of a database, as listed.

    Attributes:
        name: its name (``?campaign=NAME``).
        url: its URL, without the password.
        kind: what it sends (``message``, ``photo``...), or ``None`` if unreadable.
        schema_version: the layout version it was made with.
        created_at: when it was made (epoch seconds).
        total: its input items.
        by_state: numbers per state (every state present).
        last_run: how its latest run ended (``"running"`` while a worker runs it,
            ``"interrupted"`` for one that never recorded an end), ``None`` before any.
        last_run_at: when that run began (epoch seconds), or ``None``.
    """

    name: str
    url: str
    kind: str | None
    schema_version: int
    created_at: float
    total: int
    by_state: Mapping[NumberState, int]
    last_run: str | None
    last_run_at: float | None


def list_campaigns(url: str) -> list[CampaignListing]:
    """
    Every campaign of the database *url* names (its ``campaign`` parameter, if any, is ignored),
    oldest first; read-only.

    Raises:
        CampaignError: the database cannot be read.
        CampaignStorageError: it is unreachable or refuses the user.
    """
    conninfo, _, _ = split_url(url)
    base = redact(conninfo)
    conn = connect(conninfo, base, read_only=True)
    try:
        found = conn.execute(_sql.TABLES_EXIST).fetchone()
        if found is None or not found[0]:
            return []
        campaigns = conn.execute(_sql.LIST_CAMPAIGNS, (FORMAT,)).fetchall()
        counts: dict[str, dict[NumberState, int]] = {}
        for campaign, state, count in conn.execute(_sql.LIST_COUNTS):
            per_state = counts.setdefault(str(campaign), dict.fromkeys(NumberState, 0))
            if state in _STATES:  # a state this version does not know is not counted
                per_state[NumberState(state)] += int(count)
        last = {
            str(campaign): (outcome, started)
            for campaign, outcome, started in conn.execute(_sql.LIST_LAST_RUNS)
        }
        running = {
            str(row[0]) for row in conn.execute(_sql.LIST_RUNNING, {"space": RUN_LOCK_SPACE})
        }
    except load_psycopg().Error as exc:
        raise storage_error(exc, base, "list the campaigns of") from None
    finally:
        conn.close()
    listings: list[CampaignListing] = []
    for name, version, created_at, kind in campaigns:
        per_state = counts.get(str(name), dict.fromkeys(NumberState, 0))
        outcome, started = last.get(str(name), (None, None))
        if str(name) in running:
            last_run: str | None = "running"
        elif started is None:
            last_run = None
        else:
            last_run = "interrupted" if outcome is None else str(outcome)
        listings.append(
            CampaignListing(
                name=str(name),
                url=redact(conninfo, append=[("campaign", str(name))]),
                kind=None if kind is None else str(kind),
                schema_version=int(version),
                created_at=float(created_at),
                total=sum(per_state.values()),
                by_state=per_state,
                last_run=last_run,
                last_run_at=None if started is None else float(started),
            )
        )
    return listings
