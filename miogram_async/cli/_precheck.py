"""
What the CLI asks the service before a campaign sends: is it there, and does the content fit?

The account's limits (``APIGetLimits``) are read once, before a journal is created, so that a
message too long or a file too large is refused while nothing exists yet, instead of stopping
the campaign at its first chunk where a resume cannot help.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from .._base.actions import file_limit
from .._base.errors import APIConnectionError, AuthenticationError, MioGramError
from .._base.models import Limits
from .._client import MioGram
from ..campaign import CampaignKind, mass_row
from ._exit import CLIError, ExitCode

__all__ = ["ServiceCheck", "check_service"]


@attrs.frozen
class ServiceCheck:
    """
    The outcome of `check_service`.

    Attributes:
        unreachable: the transport error when the service could not be reached (nothing is sent
            then); ``None`` when it answered.
        limits: the account's limits, when they could be read.
    """

    unreachable: APIConnectionError | None = None
    limits: Limits | None = None


def _size(size: int) -> str:
    return f"{size / 1_048_576:,.1f} MiB" if size >= 1_048_576 else f"{size:,} bytes"


async def check_service(
    client: MioGram,
    *,
    kind: CampaignKind,
    message: str | None,
    media: Path | None,
    new_campaign: bool,
) -> ServiceCheck:
    """
    Ask for the account's limits and check the content against them (*message* ``None``: a
    message per row, whose texts the campaign checks against the limits returned).

    A service that cannot be reached is reported back (the caller stops before sending); a
    refused secret, IP or account is raised (no campaign can run); any other trouble asking
    leaves the limits unknown and the service the judge.

    Raises:
        CLIError: (exit 2) the message or file is larger than the account allows.
        AuthenticationError: the service refused the secret, the IP or the account.
    """
    try:
        limits = await client.api_get_limits()
    except APIConnectionError as exc:
        return ServiceCheck(unreachable=exc)
    except AuthenticationError:
        raise
    except MioGramError:
        return ServiceCheck()
    fix = (
        "start the campaign"
        if new_campaign
        else "a resume cannot fix this: start a new campaign (a new journal)"
    )
    if message is not None and limits.message > 0:
        size = len(message.encode("utf-8"))
        if size > limits.message:
            raise CLIError(
                f"the message is {size:,} UTF-8 bytes and the account takes at most "
                f"{limits.message:,} (APIGetLimits); {fix} with a shorter message",
                ExitCode.USAGE,
                "limit",
            )
    limit = file_limit(mass_row(kind), limits)
    if media is not None and limit is not None:
        try:
            size = media.stat().st_size  # noqa: ASYNC240 - one stat before the run starts
        except OSError:
            return ServiceCheck()  # the campaign itself reports a missing file
        if size > limit:
            raise CLIError(
                f"the {kind} is {_size(size)} and the account takes at most {_size(limit)} "
                f"(APIGetLimits); {fix} with a smaller file",
                ExitCode.USAGE,
                "limit",
            )
    return ServiceCheck(limits=limits)
