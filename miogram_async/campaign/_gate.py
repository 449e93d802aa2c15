"""
The send gate of a campaign's run: one gate for every worker of a campaign kept in PostgreSQL.

The gateway breaks when two state-changing requests are in flight at once, from whichever
processes (docs/service.md E33), and a PostgreSQL campaign is run by workers on any machines. So
its workers share one send gate by default: a `PostgresSendGate` in the campaign's own database,
named as the gate ``--send-gate`` makes of a database URL (so that other campaigns and services
that name that database share it). A worker's requests pass its client's gate (the machine-wide
one: the other processes of its host) and then the campaign's.

A user who names a gate (``send_gate=`` a cross-process gate, ``--send-gate``,
``MIOGRAM_SEND_GATE``) runs the campaign through that gate instead. Either way the campaign records
which gate its runs pass (never a password), and a worker that would pass another one is refused
before it sends anything: two gates are two requests in flight.

A campaign kept in an SQLite file is run by one process at a time: its run uses the client's gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from .._gates.base import SendGate
from .._gates.default import NAMED_GATE, gate_identity
from .._gates.postgres import PostgresSendGate
from .._gates.stack import StackedSendGate
from .._runner import gate_settings
from ._model import CampaignError

if TYPE_CHECKING:
    from .._client import MioGram
    from .storage import Storage

__all__ = ["RunGate", "run_gate"]


class RunGate:
    """
    The gate a run's chunks pass, if not the client's own, and the gate the run made for it.

    Attributes:
        gate: the gate the chunks pass instead of the client's; ``None``: the client's.
        made: the campaign's own gate, made for this run (closed with `aclose`).
    """

    def __init__(self, gate: SendGate | None = None, made: PostgresSendGate | None = None) -> None:
        self.gate = gate
        self.made = made

    async def aclose(self) -> None:
        """Close the gate made for the run (its database connection)."""
        if self.made is not None:
            await self.made.aclose()


async def run_gate(journal: Storage, client: MioGram, concurrency: int | None) -> RunGate:
    """
    The gate a run of the campaign in *journal* passes with *client* (see the module's notes).

    Raises:
        CampaignError: the campaign's runs pass another gate than this worker would.
    """
    database = journal.gate_database()
    if database is None:
        return RunGate()
    settings = gate_settings(client)
    choice = settings.choice
    own = PostgresSendGate(
        database,
        name=NAMED_GATE,
        limit=concurrency or settings.concurrency,
        dead_holder_wait=settings.dead_holder_wait,
    )
    own_identity = gate_identity(own)
    mine = gate_identity(choice.gate) if choice.named else own_identity
    recorded = await anyio.to_thread.run_sync(journal.record_gate, mine)
    if recorded != mine:
        raise CampaignError(_refusal(journal.location, mine, recorded, own_identity))
    if choice.named:
        return RunGate()
    return RunGate(StackedSendGate(choice.gate, own), own)


def _refusal(location: str, mine: str, recorded: str, own: str) -> str:
    """Why a worker may not run the campaign with its gate, and how it joins the others."""
    if recorded == own:
        join = (
            "To join them, run this worker without --send-gate and MIOGRAM_SEND_GATE (in Python, "
            "with a client that names no send_gate): it then passes the campaign's own gate"
        )
    else:
        join = (
            "To join them, give this worker that gate: --send-gate or MIOGRAM_SEND_GATE (in "
            "Python, MioGram(send_gate=...)) naming it, its password from PGPASSWORD or "
            "~/.pgpass for a database"
        )
    return (
        f"campaign {location}: this worker would send through the send gate {mine}, but the "
        f"campaign's runs pass {recorded}. Two gates would let two requests be in flight at the "
        "service's gateway at once, which breaks it for every account on it (docs/service.md "
        f"E33). Nothing was sent. {join}"
    )
