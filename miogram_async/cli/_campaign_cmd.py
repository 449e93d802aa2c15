"""
``miogram campaign``: durable mass sends from the shell, a command a module (``run``, ``resume``,
``settle``, ``status``, ``check``, ``list``); what they share is in ``_campaign_common``.
"""

from __future__ import annotations

import click

from ._campaign_check import campaign_check
from ._campaign_list import campaign_list
from ._campaign_resume import campaign_resume
from ._campaign_run import campaign_run
from ._campaign_settle import campaign_settle
from ._campaign_status import campaign_status

__all__ = ["campaign"]


@click.group()
def campaign() -> None:
    """Durable mass sends: every number and outcome is kept in a journal file."""


for _command in (
    campaign_check,
    campaign_run,
    campaign_resume,
    campaign_settle,
    campaign_status,
    campaign_list,
):
    campaign.add_command(_command)
