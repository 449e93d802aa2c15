"""
The values a campaign journal speaks in: number states, campaign kinds, status and run summaries.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping

import attrs

from .._base import actions
from .._base.actions import Action
from .._base.errors import MioGramError

__all__ = [
    "FINAL_STATES",
    "CampaignError",
    "CampaignInUseError",
    "CampaignKind",
    "CampaignStatus",
    "CampaignStorageError",
    "MediaRef",
    "NumberState",
    "RunSummary",
    "SettleSummary",
    "mass_row",
    "single_row",
]


class CampaignError(MioGramError):
    """
    A campaign journal cannot be used: missing, foreign, corrupt, of another version, or mismatched.

    Opening a journal that raises this never modifies the file.
    """


class CampaignInUseError(CampaignError):
    """Another process (or another open in this one) is running or replacing the journal."""


class CampaignStorageError(CampaignError):
    """
    The journal's storage refused a read or write: the disk is full, the file or its directory is
    read-only, or the operating system reported an I/O error.

    The journal itself is not damaged: what was committed before stays, the failed write left no
    trace, and once the cause is fixed (space freed, permissions given back) the campaign resumes
    where it stopped. Never delete a journal because of this error.

    Attributes:
        reason: ``"disk full"``, ``"read-only"``, ``"permission denied"`` or ``"I/O error"``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class NumberState(enum.StrEnum):
    """Where one input number of a campaign stands."""

    #: Not sent yet (or refused as a whole, e.g. out of credit: nothing was sent).
    PENDING = "pending"
    #: Its request was about to be sent or in flight; after a crash its outcome is in doubt.
    SENDING = "sending"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    #: Its chunk got a service error (``error_code`` / ``error`` say which).
    FAILED = "failed"
    #: The request may have reached the service but no outcome could be confirmed.
    UNKNOWN = "unknown"
    #: Failed client-side validation (``error`` says why); never sent.
    INVALID = "invalid"
    #: The same normalised number came earlier in the input; never sent twice.
    DUPLICATE = "duplicate"
    #: Was ``UNKNOWN``; the history of the agent that sent it, read after the gateway drained,
    #: holds no message since the send (``error`` says which read): not delivered as far as the
    #: service shows. Sent again only with ``resend_absent`` (E50).
    ABSENT = "absent"


FINAL_STATES: frozenset[NumberState] = frozenset(
    {
        NumberState.DELIVERED,
        NumberState.UNDELIVERED,
        NumberState.FAILED,
        NumberState.UNKNOWN,
        NumberState.INVALID,
        NumberState.DUPLICATE,
        NumberState.ABSENT,
    }
)
"""States a resume does not send again (``UNKNOWN``, ``ABSENT`` and ``FAILED`` only on explicit
request)."""


class CampaignKind(enum.StrEnum):
    """What a campaign sends, and so which ``*_mass`` method runs it."""

    MESSAGE = "message"
    WHATSAPP = "whatsapp"
    PHOTO = "photo"
    VIDEO = "video"
    FILE = "file"

    @property
    def is_media(self) -> bool:
        """Whether the campaign sends a file rather than a text (its row has a file limit)."""
        return mass_row(self).media is not None


def mass_row(kind: CampaignKind) -> Action[dict[str, bool]]:
    """The Mass action that sends a campaign of *kind*: every per-action fact is on its row."""
    return _MASS_ROWS[kind]


def single_row(kind: CampaignKind) -> Action[bool]:
    """
    The single send that gives a number of a campaign of *kind* a text of its own (a message per
    row, for a text no other number shares).

    Raises:
        ValueError: *kind* sends media, which has no text per row.
    """
    row = _SINGLE_ROWS.get(kind)
    if row is None:
        raise ValueError(f"a {kind.value} campaign has no text per row")
    return row


_SINGLE_ROWS: Mapping[CampaignKind, Action[bool]] = {
    CampaignKind.MESSAGE: actions.SEND_MESSAGE,
    CampaignKind.WHATSAPP: actions.SEND_MESSAGE_WHATSAPP,
}

_MASS_ROWS: Mapping[CampaignKind, Action[dict[str, bool]]] = {
    CampaignKind.MESSAGE: actions.SEND_MESSAGE_MASS,
    CampaignKind.WHATSAPP: actions.SEND_MESSAGE_WHATSAPP_MASS,
    CampaignKind.PHOTO: actions.SEND_PHOTO_MASS,
    CampaignKind.VIDEO: actions.SEND_VIDEO_MASS,
    CampaignKind.FILE: actions.SEND_FILE_MASS,
}


@attrs.frozen(kw_only=True)
class MediaRef:
    """
    The file a media campaign sends, by reference: the journal never holds its bytes.

    Attributes:
        path: the absolute path of the file.
        sha256: hex digest of its content when the campaign was created; checked before each run.
        size: its size in bytes.
        file_format: the extension sent as ``Misc`` (``None``: derived from the file name).
    """

    path: str
    sha256: str
    size: int
    file_format: str | None


@attrs.frozen(kw_only=True)
class SettleSummary:
    """
    What one settle from the agents' histories did (`Campaign.settle`, and the end of a run).

    Attributes:
        looked_at: numbers it took up (``UNKNOWN`` ones, and those left in doubt).
        delivered: numbers their agent's history showed delivered.
        absent: numbers settled ``ABSENT``: no message since the send in a history read.
        unknown: numbers that stay ``UNKNOWN``.
        reasons: why numbers stay ``UNKNOWN``: each reason with how many.
        stopped: what stopped it early (no permission to read histories, 309; the service
            unreachable...), or ``None``.
        at: when it ended (Unix seconds, this machine's clock).
    """

    looked_at: int = 0
    delivered: int = 0
    absent: int = 0
    unknown: int = 0
    reasons: Mapping[str, int] = attrs.field(factory=dict)
    stopped: str | None = None
    at: float = 0.0

    def to_json(self) -> str:
        """The summary as JSON, to keep in the journal."""
        return json.dumps(attrs.asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> SettleSummary | None:
        """A summary kept by `to_json`, or ``None`` if *text* is not one."""
        if text is None:
            return None
        try:
            data = json.loads(text)
            return cls(
                looked_at=int(data["looked_at"]),
                delivered=int(data["delivered"]),
                absent=int(data["absent"]),
                unknown=int(data["unknown"]),
                reasons={str(key): int(value) for key, value in data["reasons"].items()},
                stopped=None if data["stopped"] is None else str(data["stopped"]),
                at=float(data["at"]),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


@attrs.frozen(kw_only=True)
class CampaignStatus:
    """
    A snapshot of a campaign journal.

    Attributes:
        path: the journal file.
        kind: what the campaign sends.
        total: input items recorded (invalid and duplicate ones included).
        by_state: how many numbers are in each state (every state present, zeros included).
        chunks: chunk requests recorded over all runs.
        chunks_done: chunks whose outcome was recorded.
        chunks_in_doubt: chunks whose request may have been sent but whose outcome was not
            recorded.
        in_doubt: numbers of those chunks (state ``SENDING`` while no run is active).
        runs: runs started on this journal.
        last_run: how the latest run ended: ``"finished"``, ``"stopped: <error>"`` (e.g. out of
            credit), ``"cancelled"``, ``"failed"``, ``"interrupted"`` (the process died),
            ``"running"`` (in this process, or in another one when the journal was opened
            read-only while a run holds it); ``None`` before the first run.
        rate: numbers answered per second in the latest run (from the times the journal recorded,
            never the reader's clock), or ``None`` before any chunk of it was answered.
        settle: what the latest settle from the agents' histories did, or ``None`` before any.
    """

    path: str
    kind: CampaignKind
    total: int
    by_state: Mapping[NumberState, int]
    chunks: int
    chunks_done: int
    chunks_in_doubt: int
    in_doubt: int
    runs: int
    last_run: str | None
    rate: float | None = None
    settle: SettleSummary | None = None

    @property
    def pending(self) -> int:
        """Numbers a resume would send."""
        return self.by_state[NumberState.PENDING]

    @property
    def delivered(self) -> int:
        """Numbers the service confirmed delivered."""
        return self.by_state[NumberState.DELIVERED]

    @property
    def complete(self) -> bool:
        """Whether every number has a final state (nothing pending, nothing in doubt)."""
        return self.by_state[NumberState.PENDING] == 0 and self.by_state[NumberState.SENDING] == 0


@attrs.frozen(kw_only=True)
class RunSummary:
    """
    What one `Campaign.run` did.

    Attributes:
        sent: numbers handed to the service in this run (their chunk was started).
        reconciled: in-doubt numbers resolved through the service's report before sending, by the
            state they got (``DELIVERED`` or ``UNKNOWN``: the report proves deliveries only).
        report_error: why the report could not be read, when in-doubt numbers stayed in doubt.
        status: the journal's status after the run.
        settled: what the settle from the agents' histories did at the end of the run, or
            ``None`` when it did not run (``settle=False``, or nothing was unknown).
    """

    sent: int
    reconciled: Mapping[NumberState, int]
    report_error: str | None
    status: CampaignStatus
    settled: SettleSummary | None = None

    @property
    def complete(self) -> bool:
        """Whether the campaign has nothing left to send."""
        return self.status.complete
