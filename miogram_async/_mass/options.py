"""
The options of a Mass send, parsed once: `FanoutOptions` as callers write them, `MassOptions` as
the client, the campaign and the fan-out use them, with the one set of defaults.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Final, Literal, Protocol, TypedDict

import attrs

from .._base.checks import is_count, is_finite_seconds, is_seconds
from .._base.errors import MioGramError, ValidationError
from .._http.options import DEFAULT_FRONT_WAIT
from .result import Chunk, MassProgress, Outcome

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_FRONT_WAIT",
    "MAX_CHUNK_SIZE",
    "FanoutHooks",
    "FanoutOptions",
    "MassOptions",
    "ProgressCallback",
    "mass_options",
]

DEFAULT_CONCURRENCY: Final = 1
"""Requests one Mass send runs at once when neither the call nor the client says otherwise: one,
as the service's gateway can take (docs/service.md E33, E48)."""

DEFAULT_CHUNK_SIZE: Final = 40
"""The most numbers per Mass request: the service's own sender's (E48). Each chunk is sized from
the gateway's measured pace within it (E49, `GatewayPace.chunk_size`); see
``benchmarks/bench_pace.py`` and ``benchmarks/bench_chunk_size.py`` (figures in
``benchmarks/RESULTS.md``)."""

MAX_CHUNK_SIZE: Final = 100
"""The document's batch: no Mass request carries more numbers (and 100 always gets 999, E32)."""

ProgressCallback = Callable[[MassProgress], object]


class FanoutHooks(Protocol):
    """
    Called around every chunk; the campaign journal implements it.

    Hooks given to a ``*_mass`` method see every chunk, and the method still returns the whole
    `MassResult`. The campaign's journal also records every number's outcome itself and promises
    that its input holds no duplicates: it says so explicitly (`MassOptions.hooks_record_outcomes`,
    set by the package), and the fan-out then keeps nothing per number (no index, no
    de-duplication), returns an empty `MassResult`, and after a stop reads no more of the input.
    That is what keeps a campaign run's memory flat.
    """

    async def chunk_started(self, chunk: Chunk) -> None:
        """
        Called once the chunk's request may leave: the send gate let it through, and it leaves
        when this returns (an error here sends nothing and stops the fan-out).
        """

    async def chunk_finished(
        self,
        chunk: Chunk,
        outcomes: Mapping[str, Outcome],
        errors: Mapping[str, MioGramError],
    ) -> None:
        """
        Called once the chunk's outcome is known (or declared ``UNKNOWN``): after
        `chunk_started`, or without it for a chunk refused before its request left by an error
        proving its own numbers were refused (a single send's text over the account's limit).
        """


class FanoutOptions(TypedDict, total=False):
    """The ``**fanout`` keyword options every ``*_mass`` method takes."""

    chunk_size: int
    concurrency: int | None
    robots: Sequence[str] | str | None
    per_robot: int
    on_progress: ProgressCallback | None
    hooks: FanoutHooks | None
    cancel_grace: float
    front_wait: float | None


def _positive_int(name: str, value: object) -> None:
    if not is_count(value, 1):
        raise ValidationError(f"expected {name} as an int >= 1, got {value!r}")


def _check_count(_: object, attribute: attrs.Attribute[int], value: object) -> None:
    _positive_int(attribute.name, value)


def _check_concurrency(_: object, attribute: attrs.Attribute[int | None], value: object) -> None:
    if value is not None:
        _positive_int(attribute.name, value)


def _check_grace(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not is_finite_seconds(value):
        raise ValidationError(
            f"expected {attribute.name} as a finite number of seconds >= 0, got {value!r}"
        )


def _check_front_wait(_: object, attribute: attrs.Attribute[float | None], value: object) -> None:
    if value is not None and not (is_seconds(value) and is_finite_seconds(value)):
        raise ValidationError(
            f"expected {attribute.name} as a finite positive number of seconds, got {value!r}"
        )


def _check_chunk_size(_: object, attribute: attrs.Attribute[int], value: object) -> None:
    _positive_int(attribute.name, value)
    assert isinstance(value, int)
    if value > MAX_CHUNK_SIZE:
        raise ValidationError(
            f"expected chunk_size at most {MAX_CHUNK_SIZE} (the service's batch; a chunk the "
            f"gateway cannot finish in the front's 60 s gets 999 and is delivered anyway, "
            f"docs/service.md E32), got {value}"
        )


def _check_recording(options: MassOptions, _: attrs.Attribute[bool], value: object) -> None:
    if value is not True and value is not False:
        raise ValidationError(f"expected hooks_record_outcomes as a bool, got {value!r}")
    if value and options.hooks is None:
        raise ValidationError("hooks_record_outcomes needs hooks that record the outcomes")


def _to_robots(value: object) -> tuple[str, ...] | Literal["all"] | None:
    """``robots=`` as given: ``None``, ``"all"``, one name, or an iterable of names."""
    if value is None or value == "all":
        return "all" if value == "all" else None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, bytes) or not isinstance(value, Iterable):
        raise ValidationError(
            f"expected robots as agent names, one name or 'all', got {type(value).__name__}"
        )
    for name in value:
        if not isinstance(name, str):
            raise ValidationError(f"expected an agent name as a str, got {type(name).__name__}")
    return tuple(value)


@attrs.frozen(kw_only=True)
class MassOptions:
    """
    The options of one Mass send, checked when built (`ValidationError` names the bad one).

    Attributes:
        chunk_size: the most numbers per request, at most `MAX_CHUNK_SIZE`;
            `DEFAULT_CHUNK_SIZE` (40, as the service's own sender, E48). Each chunk is sized
            within it from the gateway's pace measured on its agent, to finish well inside the
            front's wait; the first ones small while the pace is unknown (E32, E49).
        concurrency: requests at once; ``None`` for the client's (`DEFAULT_CONCURRENCY`, 1,
            without a client). More than one is an explicit opt-in (docs/service.md E33).
        robots: ``None`` (the call's agent), ``"all"`` (every agent `api_get_robot` names) or the
            agents to spread the chunks over.
        per_robot: requests per named agent at once.
        on_progress: called with a `MassProgress` after every chunk.
        hooks: awaited around every chunk (the campaign journal).
        cancel_grace: seconds chunks in flight get to finish after a cancellation.
        front_wait: seconds the service's front waits for its gateway (E32); ``None``: the
            client's (`ClientOptions.front_wait`, 60 s), `DEFAULT_FRONT_WAIT` without a client.
            Chunks are sized to finish well inside it, and a 999 after 90% of it proves the
            gateway slower than the chunk's size allowed: later chunks on that agent shrink at
            once (E49).
        total_hint: how many distinct numbers the input holds, when known beforehand (a
            campaign's pending count): progress has a total and an ETA from the first chunk.
        hooks_record_outcomes: the *hooks* record every number's outcome themselves and the
            input holds no duplicates (a campaign's journal): the fan-out keeps nothing per number
            and returns an empty result. Set by the package only, never by a ``**fanout``
            keyword: a ``*_mass`` call always returns every outcome.
        on_admitted: awaited with a chunk once the send gate has let its request through, after
            the hooks' ``chunk_started`` and before the request leaves (`Request.on_admitted`,
            through the fan-out's `Admissions`); set by the package only.
        watch: entered with each chunk as its request goes to the send gate, left once the chunk
            is answered or given up, whether it started or not (a run's live display of what it
            waits for); set by the package only.
    """

    chunk_size: int = attrs.field(default=DEFAULT_CHUNK_SIZE, validator=_check_chunk_size)
    concurrency: int | None = attrs.field(default=None, validator=_check_concurrency)
    robots: tuple[str, ...] | Literal["all"] | None = attrs.field(
        default=None, converter=_to_robots
    )
    per_robot: int = attrs.field(default=1, validator=_check_count)
    on_progress: ProgressCallback | None = None
    hooks: FanoutHooks | None = None
    cancel_grace: float = attrs.field(default=10.0, validator=_check_grace)
    front_wait: float | None = attrs.field(default=None, validator=_check_front_wait)
    total_hint: int | None = attrs.field(default=None, validator=_check_concurrency)
    hooks_record_outcomes: bool = attrs.field(default=False, validator=_check_recording)
    on_admitted: Callable[[Chunk], Awaitable[object]] | None = None
    watch: Callable[[Chunk], AbstractContextManager[object]] | None = None


# What the package sets for its own runs (the campaign's), never a caller's ``**fanout`` keyword.
_PACKAGE_ONLY: Final = frozenset({"hooks_record_outcomes", "on_admitted", "watch"})
_OPTION_NAMES: Final = frozenset(attrs.fields_dict(MassOptions)) - _PACKAGE_ONLY


def mass_options(fanout: Mapping[str, object]) -> MassOptions:
    """
    The ``**fanout`` keywords of a ``*_mass`` call as one `MassOptions`.

    Raises:
        ValidationError: an option is unknown, of the wrong type or out of range.
    """
    unknown = sorted(set(fanout) - _OPTION_NAMES)
    if unknown:
        raise ValidationError(
            f"expected fan-out options among {', '.join(sorted(_OPTION_NAMES))}, got {unknown[0]!r}"
        )
    return MassOptions(**fanout)  # type: ignore[arg-type]  # each value is checked by its field
