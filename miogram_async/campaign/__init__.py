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
    SettleSummary,
)
from ._model import mass_row as mass_row  # package-level, not public: a kind's row, for the CLI
from ._sheet import NumbersFile, NumbersFileError, PhoneColumn, ReadCounts, SheetRow

__all__ = [
    "Campaign",
    "CampaignError",
    "CampaignInUseError",
    "CampaignKind",
    "CampaignStatus",
    "CampaignStorageError",
    "MediaRef",
    "NumberState",
    "NumbersFile",
    "NumbersFileError",
    "PhoneColumn",
    "ReadCounts",
    "RunSummary",
    "SettleSummary",
    "SheetRow",
]
