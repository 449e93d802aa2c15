"""Durable, resumable Mass sends recorded in an SQLite journal or a PostgreSQL database."""

from ._campaign import Campaign
from ._model import (
    CampaignError,
    CampaignInUseError,
    CampaignKind,
    CampaignStatus,
    CampaignStorageError,
    MediaRef,
    NumberState,
    RunSummary,
)

__all__ = [
    "Campaign",
    "CampaignError",
    "CampaignInUseError",
    "CampaignKind",
    "CampaignStatus",
    "CampaignStorageError",
    "MediaRef",
    "NumberState",
    "RunSummary",
]
