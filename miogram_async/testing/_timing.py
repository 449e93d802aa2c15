"""
How long the fake takes: a base latency per request, the gateway's time for each number it
resolves, one request at a time per agent (the real gateway drives one messenger session per agent,
docs/service.md E24), and how long the front waits for the gateway (E32).

The gateway's time per number is the 1 s pause of its number lookup plus the messenger's own round
trips: 1.0 s on loopback, 1.5 to 3 s against Telegram, varying by agent and by hour (E49). A
:class:`TimeModel` says that as a pace (mean seconds per number), a jitter around it, a pace per
agent and occasional slow spells; a :class:`Pacer` draws each number's time from it, from a seed,
one random stream per agent, so the same requests always take the same times.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from types import MappingProxyType

import anyio
import attrs

__all__ = ["Pacer", "SlowSpells", "TimeModel"]


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and 0 <= value < math.inf):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


def _share(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and 0 <= value <= 1):
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value!r}")


@attrs.frozen(kw_only=True)
class SlowSpells:
    """
    Occasional spells when an agent is much slower (Telegram's rate limits, a slow hour; E49).

    Spells are counted in numbers, not in seconds, so that they depend only on the work each agent
    was given: before each number an agent that is not in a spell starts one with chance *chance*;
    the spell covers that number and the next ``length - 1``, each taking *factor* times as long.

    Attributes:
        chance: the chance (0..1) that a spell starts at a number.
        length: how many numbers a spell lasts (at least 1).
        factor: how many times slower the agent is during a spell (at least 1).
    """

    chance: float = attrs.field(validator=_share)
    length: int = attrs.field(validator=attrs.validators.ge(1))
    factor: float = attrs.field(validator=attrs.validators.ge(1.0))


def _paces_converter(value: Mapping[str, float] | None) -> Mapping[str, float]:
    return MappingProxyType(dict(value or {}))


def _paces_validator(
    _instance: object, attribute: attrs.Attribute[Mapping[str, float]], value: Mapping[str, float]
) -> None:
    for name, pace in value.items():
        if not (isinstance(pace, int | float) and 0 <= pace < math.inf):
            raise ValueError(
                f"{attribute.name}[{name!r}] must be a finite number >= 0, got {pace!r}"
            )


@attrs.frozen(kw_only=True)
class TimeModel:
    """
    The fake's notion of time.

    Every duration is given in the service's seconds and multiplied by *scale*:
    ``TimeModel.realistic(scale=0.01, pace=2.0, jitter=0.2)`` is the service at 2 s per number,
    a hundred times faster (20 ms per number, a 0.6 s front wait).

    Attributes:
        base_latency: seconds added to every request, before the agent is taken.
        per_number: the gateway's pace: mean seconds of work per number an action resolves
            (every number of a send, a group's members, the one number of ``GetHistory``...).
        serialize_agents: run the requests of one agent one at a time (one telegram-cli
            session per agent); a request waiting for its agent is still in flight at the gateway.
        scale: factor applied to every duration.
        front_wait: seconds the front waits for the gateway before it answers 999 ``No Response
            From Server`` while the gateway goes on (E32; PHP's default socket timeout).
            Used by the server profile only.
        jitter: how much each number's time varies around the agent's pace: the relative standard
            deviation of a log-normal draw whose mean is the pace (``0.2``: most numbers within
            about 20 % of the pace, a few much slower). ``0``: every number takes the pace.
        floor: no number takes less than this (the gateway's 1 s pause in
            :meth:`realistic`); when draws fall below it the mean rises a little above the pace.
        agent_paces: a pace per agent name, instead of *per_number*.
        agent_spread: agents without their own pace in *agent_paces* get *per_number* times a
            factor drawn once per agent name from *seed*, evenly between ``1 - agent_spread``
            and ``1 + agent_spread`` (``0.25``: agents differ by up to a quarter).
        slow_spells: occasional spells when an agent is much slower; ``None``: none.
        seed: the seed of every draw. Each agent draws from its own stream, one number after
            another, so a number's time depends only on the seed, the agent and how many numbers
            that agent resolved before it.
    """

    base_latency: float = attrs.field(default=0.0, validator=_non_negative)
    per_number: float = attrs.field(default=0.0, validator=_non_negative)
    serialize_agents: bool = True
    scale: float = attrs.field(default=1.0, validator=_non_negative)
    front_wait: float = attrs.field(default=60.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.0, validator=_non_negative)
    floor: float = attrs.field(default=0.0, validator=_non_negative)
    agent_paces: Mapping[str, float] = attrs.field(
        factory=dict, converter=_paces_converter, validator=_paces_validator, hash=False
    )
    agent_spread: float = attrs.field(default=0.0, validator=[_share, attrs.validators.lt(1.0)])
    slow_spells: SlowSpells | None = None
    seed: int = 0

    @classmethod
    def instant(cls) -> TimeModel:
        """No waiting at all (the default)."""
        return cls()

    @classmethod
    def realistic(
        cls,
        *,
        scale: float = 1.0,
        pace: float = 1.0,
        jitter: float = 0.0,
        agent_paces: Mapping[str, float] | None = None,
        agent_spread: float = 0.0,
        slow_spells: SlowSpells | None = None,
        seed: int = 0,
    ) -> TimeModel:
        """
        About the real service: 0.3 s per request and *pace* seconds per number, times *scale*.

        The default pace, 1.0 s, is the gateway on loopback with an instant messenger; 1.5 to
        3 s is ordinary against Telegram (E49). No number takes less than the gateway's 1 s pause
        (or less than the smallest pace asked for, if that is below 1 s). The other arguments are
        the attributes of the same names::

            TimeModel.realistic(scale=0.01, pace=2.5, jitter=0.2, agent_spread=0.2,
                                slow_spells=SlowSpells(chance=0.01, length=20, factor=3.0))
        """
        paces = dict(agent_paces or {})
        return cls(
            base_latency=0.3,
            per_number=pace,
            scale=scale,
            jitter=jitter,
            floor=min(1.0, pace, *paces.values()),
            agent_paces=paces,
            agent_spread=agent_spread,
            slow_spells=slow_spells,
            seed=seed,
        )

    @property
    def varies(self) -> bool:
        """Whether numbers can take different times (jitter, per-agent paces or slow spells)."""
        return bool(
            self.jitter or self.agent_paces or self.agent_spread or self.slow_spells is not None
        )

    def agent_pace(self, agent: str) -> float:
        """*agent*'s own pace: its mean seconds per number, scaled, before jitter and spells."""
        pace = self.agent_paces.get(agent)
        if pace is None:
            pace = self.per_number
            if self.agent_spread:
                draw = random.Random(f"{self.seed}:pace:{agent}").random()
                pace *= 1.0 - self.agent_spread + 2.0 * self.agent_spread * draw
        return pace * self.scale

    async def request_delay(self) -> None:
        """Wait the per-request latency."""
        if self.base_latency > 0:
            await anyio.sleep(self.base_latency * self.scale)

    def work_seconds(self, numbers: int) -> float:
        """The gateway's time for *numbers* numbers at the nominal pace (no jitter, no spells)."""
        if self.per_number > 0 and numbers > 0:
            return self.per_number * numbers * self.scale
        return 0.0

    def front_wait_seconds(self) -> float:
        """How long the front waits for the gateway."""
        return self.front_wait * self.scale

    def pacer(self) -> Pacer:
        """A fresh :class:`Pacer` drawing from this model's seed."""
        return Pacer(self)


@attrs.define
class _AgentStream:
    random: random.Random
    pace: float
    spell_left: int = 0


class Pacer:
    """
    Draws how long each number takes at the gateway, agent by agent, from a :class:`TimeModel`.

    Each agent has its own random stream seeded from (the model's seed, the agent's name) and
    draws for its numbers in the order the gateway takes them.
    """

    def __init__(self, model: TimeModel) -> None:
        self.model = model
        self._agents: dict[str, _AgentStream] = {}

    def draw(self, agent: str, count: int) -> list[float]:
        """The scaled seconds each of *agent*'s next *count* numbers takes."""
        model = self.model
        if count <= 0:
            return []
        if not model.varies:
            seconds = max(model.per_number, model.floor) * model.scale
            return [seconds] * count
        stream = self._agents.get(agent)
        if stream is None:
            stream = _AgentStream(
                random=random.Random(f"{model.seed}:numbers:{agent}"),
                pace=model.agent_pace(agent),
            )
            self._agents[agent] = stream
        return [self._one(stream) for _ in range(count)]

    def _one(self, stream: _AgentStream) -> float:
        model = self.model
        seconds = stream.pace
        spells = model.slow_spells
        if spells is not None:
            # One draw per number, in a spell or not, so the stream never depends on the spells.
            starts = stream.random.random() < spells.chance
            if stream.spell_left == 0 and starts:
                stream.spell_left = spells.length
            if stream.spell_left > 0:
                stream.spell_left -= 1
                seconds *= spells.factor
        if model.jitter:
            # Log-normal with mean 1 and the asked relative spread: never negative, skewed towards
            # the slow side as network round trips are.
            sigma = math.sqrt(math.log1p(model.jitter**2))
            seconds *= math.exp(stream.random.gauss(0.0, sigma) - sigma * sigma / 2)
        return max(seconds, model.floor * model.scale)
