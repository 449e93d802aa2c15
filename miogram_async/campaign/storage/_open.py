"""
Choosing a campaign's storage from its target: a ``postgresql://`` URL or a journal file's path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from ..._base.pg import is_database_url
from .._inputs import InputItem
from ._base import Storage
from ._meta import CampaignMeta
from ._postgres import PostgresJournal
from ._sqlite import Journal

__all__ = ["create_storage", "open_storage"]


def create_storage(
    target: str | os.PathLike[str],
    *,
    meta: CampaignMeta,
    inputs: Iterable[InputItem],
    normalize: Callable[[str], str],
    overwrite: bool,
    as_is: Callable[[str], object] | None,
) -> Storage:
    """
    Record a new campaign at *target* with the settings *meta* and every item of *inputs*.

    *as_is* (a journal file only) tells the items *normalize* would return unchanged, so that
    filling the file skips the call for them.
    """
    if is_database_url(target):
        return PostgresJournal.create(
            str(target), meta=meta, inputs=inputs, normalize=normalize, overwrite=overwrite
        )
    return Journal.create(
        target, meta=meta, inputs=inputs, normalize=normalize, overwrite=overwrite, as_is=as_is
    )


def open_storage(target: str | os.PathLike[str], *, read_only: bool) -> Storage:
    """Open the campaign at *target*, to run it or *read_only*."""
    if is_database_url(target):
        return PostgresJournal.open(str(target), read_only=read_only)
    return Journal.open(target, read_only=read_only)
