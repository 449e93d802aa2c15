"""The demo's made-up numbers and account: some invalid, some repeated, some unreachable."""

from __future__ import annotations

import random
from collections.abc import Iterator

from ..testing._config import AccountConfig, CreditsConfig, NumberBook

__all__ = ["DEMO_AGENTS", "demo_account", "demo_numbers"]

DEMO_AGENTS = ("Agent1", "Agent2", "Agent3", "Agent4")

#: Share of generated numbers that "have the messenger"; the rest come back UNDELIVERED.
EXISTING_SHARE = 0.88
INVALID_SHARE = 0.015
DUPLICATE_SHARE = 0.03

_MALFORMED = ("0912-12", "+98", "hello", "+0123456789", "+98 912 abc 4567", "98912345678901234567")


def demo_numbers(count: int, *, seed: int = 2026) -> Iterator[str]:
    """
    Yield *count* input lines as a real list would have them: mostly Iranian mobile numbers, about
    1.5% malformed and 3% repeats of an earlier number written another way (``0098``, spaces).
    """
    rng = random.Random(seed)
    issued: list[str] = []
    for _ in range(count):
        draw = rng.random()
        if draw < INVALID_SHARE:
            yield rng.choice(_MALFORMED)
        elif draw < INVALID_SHARE + DUPLICATE_SHARE and issued:
            earlier = rng.choice(issued)[1:]
            yield (
                f"00{earlier}"
                if rng.random() < 0.5
                else f"+{earlier[:2]} {earlier[2:5]} {earlier[5:]}"
            )
        else:
            number = f"+989{rng.randrange(10**9):09d}"
            issued.append(number)
            yield number


def demo_account(secret: str, *, seed: int = 2026) -> AccountConfig:
    """The demo's fake account: four agents, plenty of credit, about 12% unreachable numbers."""
    return AccountConfig(
        secret=secret,
        username="demo",
        agents=DEMO_AGENTS,
        credits=CreditsConfig(message=10_000_000),
        numbers=NumberBook.ratio(EXISTING_SHARE, seed=seed),
    )
