"""
Message texts and media files made ready for the wire, checked against the account's limits when
the client loads them (``check_limits=True``).
"""

from __future__ import annotations

import os
from typing import BinaryIO, Final

import anyio
import anyio.to_thread

from ._base.actions import API_GET_ADS, API_GET_LIMITS, Action, file_limit
from ._base.models import Limits
from ._base.validation import Media, check_media_size, check_message, load_media
from ._http.session import Session

__all__ = ["MediaData", "Payloads"]

MediaData = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO
"""File data for the media actions: the bytes, a path, or a binary file object."""

# Media up to this size is base64-encoded on the event loop; larger data in a worker thread.
_INLINE_MEDIA_BYTES: Final = 1 << 20


class Payloads:
    """
    The account's limits as far as the client knows them, and the checks made with them.

    Args:
        check_limits: load the limits before the first message or file.
        session: the client's request path, through which they are loaded then.
    """

    def __init__(self, *, check_limits: bool, session: Session) -> None:
        self._check_limits = check_limits
        self._session = session
        self.limits: Limits | None = None
        self._ads = False
        self._lock: anyio.Lock | None = None

    def adopt(self, limits: Limits, ads: bool) -> None:
        """Check every later message and file against *limits* (with room for an ad if *ads*)."""
        self.limits, self._ads = limits, ads

    async def load(self, session: Session) -> Limits:
        """
        Ask the account's limits and advertising state through *session* (``APIGetLimits``,
        ``APIGetAds``) and check every later message and file against them.
        """
        assert API_GET_LIMITS.decode is not None
        assert API_GET_ADS.decode is not None
        limits = await session.request(API_GET_LIMITS, API_GET_LIMITS.decode, {})
        ads = await session.request(API_GET_ADS, API_GET_ADS.decode, {})
        self.adopt(limits, ads)
        return limits

    async def _ensure_limits(self) -> None:
        if not self._check_limits or self.limits is not None:
            return
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if self.limits is None:
                await self.load(self._session)

    async def message(self, message: str) -> str:
        """*message* checked (and against the limit, once loaded)."""
        await self._ensure_limits()
        if self.limits is None:
            return check_message(message)
        return check_message(
            message,
            max_bytes=self.limits.message,
            ads=self._ads,
        )

    async def media_elements(
        self, action: Action[object], data: MediaData, file_format: str | None
    ) -> dict[str, str | None]:
        """The ``Misc`` (file format) and ``Data`` elements of *data*, see `media`."""
        media = await self.media(action, data, file_format)
        return {"misc": media.file_format, "data": media.data_b64}

    async def media(
        self, action: Action[object], data: MediaData, file_format: str | None
    ) -> Media:
        """*data* read and encoded for *action*, checked against its row's limit when loaded."""
        await self._ensure_limits()
        default_format = action.default_format or "bin"
        if isinstance(data, bytes | bytearray | memoryview) and len(data) <= _INLINE_MEDIA_BYTES:
            media = load_media(data, file_format, default_format)
        else:
            # Reading a file, or encoding megabytes, blocks: do it in a worker thread.
            media = await anyio.to_thread.run_sync(load_media, data, file_format, default_format)
        if self.limits is not None:
            check_media_size(media, file_limit(action, self.limits))
        return media
