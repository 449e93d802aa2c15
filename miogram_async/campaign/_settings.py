"""
A campaign's settings: `Campaign.create`'s arguments checked into a `CampaignMeta`, how its
numbers are read, and its media file checked against them before a run.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .._base.errors import ValidationError
from .._base.validation import (
    WIRE_PHONE,
    check_file_format,
    check_message,
    is_builtin_region,
    normalize_phone,
)
from .._mass.options import MAX_CHUNK_SIZE
from ._model import CampaignError, CampaignKind, MediaRef
from .storage import CampaignMeta

__all__ = ["new_settings", "number_readers", "read_media"]


def new_settings(
    *,
    kind: CampaignKind | str,
    message: str | None,
    media: str | os.PathLike[str] | None,
    file_format: str | None,
    chunk_size: int,
    robots: Sequence[str] | str | None,
    default_region: str | None,
    template: str | None = None,
    message_column: str | None = None,
    columns: Sequence[str] | None = None,
    message_limit: int | None = None,
) -> CampaignMeta:
    """
    The settings of a new campaign, each checked (see `Campaign.create`).

    A campaign with a message per row (*template* or *message_column*) has no *message* yet: its
    storage sets the text most of its numbers get once they are all in.

    Raises:
        ValidationError: the message, media, kind or chunk size is not usable.
    """
    campaign_kind = _campaign_kind(kind)
    _check_chunk_size(chunk_size)
    per_row = template is not None or message_column is not None
    if campaign_kind.is_media:
        if media is None or message is not None or per_row:
            raise ValidationError(f"a {campaign_kind.value} campaign takes media=, not message=")
        media_ref: MediaRef | None = _media_ref(media, file_format)
        text = None
    else:
        if (message is None) != per_row or media is not None:
            raise ValidationError(f"a {campaign_kind.value} campaign takes message=, not media=")
        media_ref = None
        text = None if message is None else check_message(message, max_bytes=message_limit)
    return CampaignMeta(
        kind=campaign_kind,
        chunk_size=chunk_size,
        robots=robots if robots is None or isinstance(robots, str) else tuple(robots),
        created_at=time.time(),
        message=text,
        media=media_ref,
        default_region=default_region,
        template=template,
        message_column=message_column,
        columns=None if columns is None else tuple(columns),
    )


def number_readers(
    default_region: str | None,
) -> tuple[Callable[[str], str], Callable[[str], object] | None]:
    """
    (the normaliser of a campaign's numbers, what tells an item it returns unchanged, or None).

    An item already in the wire form is one `normalize_phone` returns as it is (under Iran or no
    region): a journal file then skips the call for it.
    """

    def normalize(raw: str) -> str:
        return normalize_phone(raw, default_region=default_region)

    return normalize, WIRE_PHONE.fullmatch if is_builtin_region(default_region) else None


def read_media(media: MediaRef) -> bytes:
    """
    The content of the campaign's media file, after checking it did not change since it was made.

    Raises:
        CampaignError: the file cannot be read, or its size or SHA-256 differ.
    """
    try:
        content = Path(media.path).read_bytes()
    except OSError as exc:
        raise CampaignError(f"cannot read the campaign's media file: {exc}") from None
    digest = hashlib.sha256(content).hexdigest()
    if len(content) != media.size or digest != media.sha256:
        raise CampaignError(
            f"the campaign's media file {media.path!r} changed since the campaign was "
            f"created (expected {media.size} bytes with SHA-256 {media.sha256[:12]}..., "
            f"got {len(content)} bytes with {digest[:12]}...)"
        )
    return content


def _campaign_kind(kind: CampaignKind | str) -> CampaignKind:
    try:
        return CampaignKind(kind)
    except ValueError:
        kinds = ", ".join(repr(k.value) for k in CampaignKind)
        raise ValidationError(f"expected a campaign kind ({kinds}), got {kind!r}") from None


def _check_chunk_size(chunk_size: int) -> None:
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, int)
        or not 1 <= chunk_size <= MAX_CHUNK_SIZE
    ):
        raise ValidationError(
            f"expected a chunk size from 1 to {MAX_CHUNK_SIZE}, got {chunk_size!r}"
        )


def _media_ref(media: str | os.PathLike[str], file_format: str | None) -> MediaRef:
    """The media file by reference: its absolute path, digest and size, read once now."""
    media_path = Path(media).absolute()
    if not media_path.is_file():
        raise ValidationError(f"expected a readable media file, got {str(media)!r}")
    sha256, size = _hash_file(media_path)
    return MediaRef(
        path=str(media_path),
        sha256=sha256,
        size=size,
        file_format=None if file_format is None else check_file_format(file_format),
    )


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
