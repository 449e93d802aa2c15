"""The PostgreSQL storage: a campaign that workers on any machines run together."""

from ._journal import PostgresJournal
from ._list import CampaignListing, list_campaigns
from ._setup import DEFAULT_CAMPAIGN, SCHEMA_VERSION, split_url

__all__ = [
    "DEFAULT_CAMPAIGN",
    "SCHEMA_VERSION",
    "CampaignListing",
    "PostgresJournal",
    "list_campaigns",
    "split_url",
]
