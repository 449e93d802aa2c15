"""The SQLite journal: a campaign kept in one file (`Journal`)."""

from ._format import JOURNAL_VERSION
from ._journal import Journal

__all__ = ["JOURNAL_VERSION", "Journal"]
