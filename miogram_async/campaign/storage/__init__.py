"""
Where a campaign is kept: the `Storage` protocol, the records a run hands to it, and two backends.

A target that starts with ``postgresql://`` or ``postgres://`` is a PostgreSQL database
(`PostgresJournal`, workers on any machines); anything else is the path of an SQLite journal file
(`Journal`). These names serve the rest of the package (the campaign and the CLI); the public API
is `miogram_async.campaign`.
"""

from ..._base.pg import is_database_url
from ._base import (
    SETTLE_KEY,
    ChunkEnd,
    ChunkInfo,
    ChunkStart,
    NumberUpdate,
    OutcomeGroup,
    Row,
    Storage,
)
from ._meta import CampaignMeta
from ._open import create_storage, open_storage
from ._postgres import PostgresJournal, split_url
from ._sqlite import JOURNAL_VERSION, Journal

__all__ = [
    "JOURNAL_VERSION",
    "SETTLE_KEY",
    "CampaignMeta",
    "ChunkEnd",
    "ChunkInfo",
    "ChunkStart",
    "Journal",
    "NumberUpdate",
    "OutcomeGroup",
    "PostgresJournal",
    "Row",
    "Storage",
    "create_storage",
    "is_database_url",
    "open_storage",
    "split_url",
]
