"""Durable, resumable Mass sends recorded in an SQLite journal or a PostgreSQL database."""

from ._campaign import Campaign
from ._check import FileCheck as FileCheck  # package-level, not public: the CLI's dry run
from ._check import check_file as check_file
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
from ._passes import Waiting
from ._rows import row_texts as row_texts  # package-level: the CLI checks a template early
from ._sheet import NumbersFile, NumbersFileError, PhoneColumn, ReadCounts, SheetRow
from ._template import TemplateError

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
    "TemplateError",
    "Waiting",
]
