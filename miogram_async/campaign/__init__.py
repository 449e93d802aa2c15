"""Durable, resumable Mass sends recorded in an SQLite journal."""

from ._campaign import Campaign
from ._model import CampaignError, CampaignKind, CampaignStatus, MediaRef, NumberState, RunSummary

__all__ = [
    "Campaign",
    "CampaignError",
    "CampaignKind",
    "CampaignStatus",
    "MediaRef",
    "NumberState",
    "RunSummary",
]
