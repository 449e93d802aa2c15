"""The PostgreSQL storage: a campaign that workers on any machines run together."""

from ._journal import PostgresJournal
from ._setup import DEFAULT_CAMPAIGN, SCHEMA_VERSION, split_url

__all__ = ["DEFAULT_CAMPAIGN", "SCHEMA_VERSION", "PostgresJournal", "split_url"]
