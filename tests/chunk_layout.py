"""
The chunks a Mass send makes against the instant fake (issue 18, E49): what tests expect of them.

While the gateway's pace on an agent is unknown, its first chunk is sized for the slow pace the
client assumes (a share of its ``front_wait``); the instant fake then answers so fast that every
later chunk on that agent carries the call's ``chunk_size``. A fresh client sends one small chunk
to each agent of its rotation first.
"""

from __future__ import annotations

import os

from miogram_async._http.pace import GatewayPace


def first_chunk(upper: int = 40, front_wait: float | None = None) -> int:
    """The size of an agent's first chunk (the suite's ``MIOGRAM_FRONT_WAIT`` by default)."""
    wait = float(os.environ["MIOGRAM_FRONT_WAIT"]) if front_wait is None else front_wait
    return GatewayPace().chunk_size(None, upper, wait)


def layout(total: int, upper: int = 40, *, agents: int = 1) -> list[int]:
    """The chunk sizes, in order, of *total* numbers sent by a fresh client over *agents*."""
    sizes: list[int] = []
    left = total
    for _ in range(agents):
        if left > 0:
            sizes.append(min(first_chunk(upper), left))
            left -= sizes[-1]
    while left > 0:
        sizes.append(min(upper, left))
        left -= sizes[-1]
    return sizes
