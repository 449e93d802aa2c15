"""
What an agent's history proves about one number whose send is unknown (docs/service.md E50).

The history of the agent that sent a chunk holds every message that agent exchanged with the
number, from **every** account that uses the agent, each with its text (media: only its type),
direction (``out``) and date on the service's clock. `judge` reads one such history against what
was sent (`Expected`) and when (a `Window` on the service's clock), and says one of:

- `Finding.FOUND`: exactly one outgoing message with the payload, dated inside the window (from
  the chunk's arrival to the latest the gateway can have worked on it, widened by a tolerance on
  both ends). It is the evidence of a delivery.
- `Finding.ABSENT`: the history was read and holds **no outgoing message at all** dated after the
  window's start minus a look-back (10 minutes by default), and it was read back far enough to
  know that. Any outgoing message there, whatever its text, blocks this answer: the messenger may
  have trimmed or changed the text, an ad may have been appended, or the clocks may disagree by
  more than the tolerance, and a number wrongly settled absent would get the message twice if it
  is re-sent.
- `Finding.EMPTY`: the service answered an empty history (``false``, E46). The server code gives
  the same answer for a number it cannot look up and for a failed read, so an empty answer proves
  nothing alone: the caller counts it as absent only when a read on the same agent right after it
  returned messages (the agent's messenger was working), see `miogram_async._settle`.
- `Finding.UNSURE`: anything else (two matching messages, a matching one just outside the window,
  another outgoing message in the window, a history cut short by the read's limit). The number
  stays unknown.

A text matches when it equals the text sent, ends of lines and surrounding whitespace aside (the
messenger trims them); when the account appends an ad (``APIGetAds``, E30) or that is not known,
also when it is the text sent, a newline and anything (the ad's text is not published). A media
message matches when its ``media.type`` is one telegram-cli shows for that kind of file (it shows
no bytes): a photo as ``photo``, a video as ``video`` or ``document``, any other file as
``document``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from typing import Final

import attrs

from .peers import Message

__all__ = [
    "DEFAULT_LOOKBACK",
    "DEFAULT_TOLERANCE",
    "Expected",
    "Finding",
    "Judgement",
    "Window",
    "judge",
]

#: Seconds the window is widened on both ends: the messenger's clock and the front's may differ.
DEFAULT_TOLERANCE: Final = 5.0
#: Seconds before the window during which any outgoing message stops a number being settled absent.
DEFAULT_LOOKBACK: Final = 600.0

#: The ``media.type`` values telegram-cli shows for a file of each kind.
_MEDIA_TYPES: Final[Mapping[str, frozenset[str]]] = {
    "photo": frozenset({"photo"}),
    "video": frozenset({"video", "document"}),
    "audio": frozenset({"audio", "document"}),
    "file": frozenset({"document"}),
}


@attrs.frozen
class Expected:
    """
    What was sent to one number: a text, or a file of some kind.

    Build it with `Expected.text_of` or `Expected.media_of`.

    Attributes:
        text: the message as sent (without the account's ad), or ``None`` for a file.
        media: the file's kind, ``"photo"``, ``"video"``, ``"audio"`` or ``"file"``, or ``None``.
    """

    text: str | None = None
    media: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.text is None) == (self.media is None):
            raise ValueError("expected either a text or a media kind")
        if self.media is not None and self.media not in _MEDIA_TYPES:
            raise ValueError(
                f"expected a media kind among {', '.join(sorted(_MEDIA_TYPES))}, got {self.media!r}"
            )

    @classmethod
    def text_of(cls, message: str) -> Expected:
        """A text message."""
        return cls(text=message)

    @classmethod
    def media_of(cls, kind: str) -> Expected:
        """A file of *kind*: ``"photo"``, ``"video"``, ``"audio"`` or ``"file"``."""
        return cls(media=kind)

    def matches(self, message: Message, *, ads: bool | None) -> bool:
        """Whether *message* carries this payload (its direction and date aside)."""
        if self.media is not None:
            kind = message.media.get("type") if message.media is not None else None
            return isinstance(kind, str) and kind.lower() in _MEDIA_TYPES[self.media]
        assert self.text is not None
        sent = _plain(self.text)
        shown = _plain(message.text)
        if shown == sent:
            return True
        return ads is not False and shown.startswith(sent + "\n")


def _plain(text: str) -> str:
    """*text* as the messenger keeps it: line ends as ``\\n``, no surrounding whitespace."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


@attrs.frozen
class Window:
    """
    When a chunk's messages can be dated, on the service's clock (Unix seconds).

    Attributes:
        start: the earliest its request can have arrived, minus the tolerance.
        end: the latest the gateway can have worked on it, plus the tolerance.
    """

    start: float
    end: float

    def holds(self, date: float) -> bool:
        """Whether a message dated *date* (whole seconds, rounded down) can be in the window."""
        return math.floor(self.start) <= date <= self.end


class Finding(enum.Enum):
    """What one history read says about one number (see the module notes)."""

    FOUND = "found"
    ABSENT = "absent"
    EMPTY = "empty"
    UNSURE = "unsure"


@attrs.frozen
class Judgement:
    """
    A `Finding`, the message behind a ``FOUND``, and why, in a few words.

    Attributes:
        finding: the finding.
        message: the message that proves a delivery (``FOUND`` only).
        reason: why, for a human.
    """

    finding: Finding
    reason: str
    message: Message | None = None


def judge(
    messages: Sequence[Message],
    *,
    expected: Expected,
    window: Window,
    ads: bool | None,
    limit: int,
    lookback: float = DEFAULT_LOOKBACK,
) -> Judgement:
    """
    Judge one number from its agent's history *messages* (read with *limit*).

    Args:
        messages: the history as read (any order).
        expected: what was sent to the number.
        window: when its messages can be dated.
        ads: whether the account appends an ad (``None``: not known).
        limit: the most messages the read could return: a read that returned that many may have
            left older messages out.
        lookback: seconds before ``window.start`` during which any outgoing message stops an
            ``ABSENT``.
    """
    if not messages:
        return Judgement(
            Finding.EMPTY,
            "the service answered an empty history (no message, or the number could not be "
            "looked up: the same answer, E46)",
        )
    dated = [(message, message.date.timestamp()) for message in messages]
    matching = [
        (message, when)
        for message, when in dated
        if message.out and expected.matches(message, ads=ads)
    ]
    inside = [message for message, when in matching if window.holds(when)]
    since = window.start - lookback
    # A read that returned fewer than its limit holds the whole history; else only back to its
    # oldest message.
    oldest = -math.inf if len(messages) < limit else min(when for _, when in dated)
    if len(inside) == 1 and oldest < window.start:
        found = inside[0]
        return Judgement(
            Finding.FOUND, f"message {found.id or '?'} of {_shown(found)} holds it", found
        )
    if len(inside) > 1:
        return Judgement(
            Finding.UNSURE,
            "two or more outgoing messages with this payload in the send's window: another "
            "account may send the same through this agent (E50)",
        )
    if oldest >= since:
        return Judgement(
            Finding.UNSURE,
            "the read returned as many messages as it asked for, none older than the send: "
            "older ones were not seen",
        )
    if any(message.out and when >= since for message, when in dated):
        return Judgement(
            Finding.UNSURE,
            "an outgoing message since the send, but none with this payload in its window: the "
            "messenger may have changed the text, or the clocks disagree",
        )
    return Judgement(
        Finding.ABSENT,
        f"no outgoing message since the send among the {len(messages)} of the agent's history",
    )


def _shown(message: Message) -> str:
    """A message's date for a reason text."""
    return message.date.strftime("%Y-%m-%d %H:%M:%S UTC")
