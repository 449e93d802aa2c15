"""
The ``API*`` actions (32-43), answered by the front script itself (``application/json``).

Stored values come out as JSON strings (credits, the message limit, ``1``/``0`` flags),
computed ones as numbers (media limits in bytes), as PHP's mysqli would give them (docs/service.md
E10, E11).

As the server code answers (the default profile): unset ``canGet``/``isSuper`` are the integer
``0`` (E38); ``APIGetIP`` returns the caller's address and ``APISetIP`` stores and returns the list
with the server's own address appended (E37); ``APIGetReport`` reads only the first 1000 stored
records (E44). In the documented profile ``APIGetIP`` returns the stored allow-list (#34),
``APISetIP`` stores the list as given, flags are ``"1"``/``"0"`` and reports are the newest 1000.
"""

from __future__ import annotations

import secrets
from typing import Final

from ._call import Call, Handler
from ._config import media_limit_bytes
from ._replies import Reply, front_error

__all__ = ["API_HANDLERS", "report_count"]


#: The address the server code appends to a stored allow-list: its own (E37).
SERVER_ADDRESS: Final = "127.0.0.1"


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _permission(call: Call, value: bool) -> object:
    # An unset permission column reads as the integer 0 in the server code (E38).
    if call.server and not value:
        return 0
    return _flag(value)


async def get_limits(call: Call) -> Reply:
    """``APIGetLimits``: message limit as stored, media limits in bytes."""
    config = call.account.config
    result: dict[str, object] = {"Message": str(config.limits.message)}
    result.update(media_limit_bytes(config.limits))
    result["canGet"] = _permission(call, config.can_get)
    result["isSuper"] = _permission(call, config.is_super)
    return Reply.front({"Result": result, "Status": "checking"})


async def get_credits(call: Call) -> Reply:
    """``APIGetCredits``: the stored counters, as strings."""
    credits = {bucket: str(value) for bucket, value in call.account.credits.items()}
    return Reply.front({"Result": credits, "Status": "checking"})


async def get_ip(call: Call) -> Reply:
    """``APIGetIP``: the caller's address (server code, E37) or the stored allow-list (document)."""
    if call.server:
        return Reply.front({"Result": call.client_ip})
    return Reply.front({"Result": call.account.allowed_ips})


async def set_ip(call: Call) -> Reply:
    """``APISetIP``: store the list; empty ``Misc`` is 330."""
    misc = call.element("Misc")
    if not misc:
        return front_error(330)
    if call.server and misc != "*":
        misc = f"{misc},{SERVER_ADDRESS}"
    call.account.allowed_ips = misc
    return Reply.front(
        {"Result": misc, "Message": "Allow IP Sets", "Status": "success", "Code": "409"}
    )


async def change_secret(call: Call) -> Reply:
    """``APIChangeSecret``: ten lower-case hex characters; the old secret stops working at once."""
    new_secret = secrets.token_hex(5)
    while call.service.find_by_secret(new_secret) is not None:
        new_secret = secrets.token_hex(5)  # pragma: no cover - a collision of 40 random bits
    call.account.secret = new_secret
    return Reply.front(
        {"Result": new_secret, "Message": "Secret Changed", "Status": "success", "Code": "407"}
    )


async def get_robot(call: Call) -> Reply:
    """``APIGetRobot``: the agents, comma-separated."""
    return Reply.front({"Result": ",".join(call.account.agents)})


async def get_active(call: Call) -> Reply:
    """``APIGetActive``: always ``"1"``, since inactive accounts never get this far (E22)."""
    return Reply.front({"Result": _flag(call.account.config.active)})


async def get_username(call: Call) -> Reply:
    """``APIGetUsername``."""
    return Reply.front({"Result": call.account.config.username})


async def is_super(call: Call) -> Reply:
    """``APIisSuper``."""
    return Reply.front({"Result": _permission(call, call.account.config.is_super)})


async def can_get(call: Call) -> Reply:
    """``APIcanGet``."""
    return Reply.front({"Result": _permission(call, call.account.config.can_get)})


async def get_ads(call: Call) -> Reply:
    """``APIGetAds``: ``true`` exactly when the account has ad text (E30)."""
    return Reply.front({"Result": bool(call.account.config.ads)})


def report_count(misc: str) -> int:
    """How many records ``APIGetReport`` returns: empty or unreadable 1000, capped at 1000."""
    try:
        count = int(misc.strip())
    except ValueError:
        return 1000
    return 1000 if count > 1000 or count < 1 else count


async def get_report(call: Call) -> Reply:
    """
    ``APIGetReport``: a top-level array in reverse; no records is 111 (E9).

    The server code reads the first 1000 stored records, oldest first, and returns up to ``Misc``
    of them in reverse, so newer sends of a busy account are never reported (E44).
    """
    stored = call.account.reports[:1000] if call.server else call.account.reports
    records = stored[::-1][: report_count(call.element("Misc"))]
    if not records:
        return front_error(111)
    return Reply.front(records)


API_HANDLERS: Final[dict[str, Handler]] = {
    "APIGetLimits": get_limits,
    "APIGetCredits": get_credits,
    "APIGetIP": get_ip,
    "APISetIP": set_ip,
    "APIChangeSecret": change_secret,
    "APIGetRobot": get_robot,
    "APIGetActive": get_active,
    "APIGetUsername": get_username,
    "APIisSuper": is_super,
    "APIcanGet": can_get,
    "APIGetAds": get_ads,
    "APIGetReport": get_report,
}
