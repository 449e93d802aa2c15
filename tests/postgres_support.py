"""Helpers for the PostgreSQL tests: campaign URLs."""

from __future__ import annotations

import urllib.parse


def campaign_url(server_url: str, name: str) -> str:
    """*server_url* naming the campaign *name*."""
    parts = urllib.parse.urlsplit(server_url)
    query = [*urllib.parse.parse_qsl(parts.query), ("campaign", name)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
