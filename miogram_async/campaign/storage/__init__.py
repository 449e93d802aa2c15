"""
Where a campaign is kept: the `Storage` protocol, the records a run hands to it, and two backends.

A target that starts with ``postgresql://`` or ``postgres://`` is a PostgreSQL database
(`PostgresJournal`, workers on any machines); anything else is the path of an SQLite journal file
(`Journal`). These names serve the rest of the package (the campaign and the CLI); the public API
is `miogram_async.campaign`.
"""

from ..._base.pg import is_database_url
from ._base import (
    OWN_TEXTS,
    SETTLE_KEY,
    SHARED_TEXT,
    ChunkEnd,
    ChunkInfo,
    ChunkStart,
    Extra,
    NumberUpdate,
    OutcomeGroup,
    Row,
    Storage,
)
from ._meta import CampaignMeta
from ._open import create_storage, open_storage
from ._postgres import CampaignListing, PostgresJournal, list_campaigns, split_url
from ._sqlite import JOURNAL_VERSION, Journal

__all__ = [
    "JOURNAL_VERSION",
    "OWN_TEXTS",
    "SETTLE_KEY",
    "SHARED_TEXT",
    "CampaignListing",
    "CampaignMeta",
    "ChunkEnd",
    "ChunkInfo",
    "ChunkStart",
    "Extra",
    "Journal",
    "NumberUpdate",
    "OutcomeGroup",
    "PostgresJournal",
    "Row",
    "Storage",
    "create_storage",
    "is_database_url",
    "list_campaigns",
    "open_storage",
    "split_url",
]
