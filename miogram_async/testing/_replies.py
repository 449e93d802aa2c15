"""
The reply forms the real service produces (docs/service.md E1, E4-E7).

The front script (``dojob.php``) answers its own errors as
``{"Message", "Status": "error", "Code"}`` with ``Code`` a JSON string and ``Content-Type:
application/json``. Replies relayed from the internal gateway (action results and the gateway's
errors ``"Error NNN : text"``, without ``Code``) carry PHP's default ``text/html`` content type.
Every reply has HTTP status 200 (E27).
"""

from __future__ import annotations

import json
from typing import Final

import attrs

__all__ = [
    "FRONT_TEXTS",
    "GATEWAY_TEXTS",
    "NO_RESPONSE",
    "TRAILING_302_FUNCS",
    "Reply",
    "front_error",
    "gateway_error",
    "gateway_size_error",
    "number_not_found",
]

JSON_TYPE: Final = "application/json"
HTML_TYPE: Final = "text/html; charset=UTF-8"

#: The code the front answers when it stops waiting for the gateway (E32).
NO_RESPONSE: Final = 999

#: Texts of the errors the front script raises itself (E5).
FRONT_TEXTS: Final[dict[int, str]] = {
    812: "Bad Request",
    815: "Session Blocked",
    800: "Empty Secret",
    801: "Invalid Secret",
    826: "Account Not Activated",
    827: "No Robot Has Been Set Yet",
    802: "Invalid IP Address",
    309: "Permission Denied",
    304: "Message Length is Too High",
    305: "No Credit",
    303: "File Size is Too High",
    330: "No Input",
    111: "No DATA",
    NO_RESPONSE: "No Response From Server",
    302: "Bad Request of Functions",
}

#: Texts of the errors the gateway raises (E6); the fake's 302 here means "element missing".
GATEWAY_TEXTS: Final[dict[int, str]] = {
    101: "WhatsApp Not Supported",
    302: "Bad Request of Func ",
    305: "No Credit",
    306: "Low Credit",
    309: "Permission Denied",
    400: "Not Valid File",
    813: "Invalid Token",
    814: "Invalid IP Address",
    815: "Session Blocked",
}


_HTTP_TITLES: Final[dict[int, str]] = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


@attrs.frozen(kw_only=True)
class Reply:
    """One HTTP reply body with its status and content type."""

    body: bytes
    content_type: str = JSON_TYPE
    status: int = 200

    @classmethod
    def front(cls, payload: object) -> Reply:
        """A reply the front script builds itself (``application/json``)."""
        return cls(body=_dump(payload), content_type=JSON_TYPE)

    @classmethod
    def gateway(cls, payload: object) -> Reply:
        """A reply relayed from the gateway (PHP's default ``text/html``)."""
        return cls(body=_dump(payload), content_type=HTML_TYPE)

    @classmethod
    def html(cls, status: int) -> Reply:
        """A web server's HTML error page."""
        title = _HTTP_TITLES.get(status, "Error")
        page = (
            f"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return cls(body=page.encode(), content_type="text/html", status=status)

    def decoded(self) -> object:
        """Return the body decoded as JSON (for the fake's own use)."""
        return json.loads(self.body)


def _dump(payload: object) -> bytes:
    # PHP's json_encode escapes non-ASCII and slashes by default; the SDK must cope with both.
    return json.dumps(payload, separators=(",", ":")).encode()


def front_error(code: int) -> Reply:
    """The front script's error form: ``Code`` is a string (E4)."""
    return Reply.front({"Message": FRONT_TEXTS[code], "Status": "error", "Code": str(code)})


#: The actions whose gateway 302 the server code follows with its exit status, ``302``, after
#: the JSON (E40); every other gateway 302 ends with the JSON (E51: ``SetStatusOnline``).
TRAILING_302_FUNCS: Final = frozenset(
    {"SendMessage", "SendMessageWhatsApp", "SendMessageWhatsAppMass", "ChatInfo"}
)


def gateway_error(code: int, *, server: bool = True, func: str = "") -> Reply:
    """
    The gateway's error form: ``"Error NNN : text"`` and no ``Code`` (E4, E6).

    As the server code answers (*server*), there is no ``Result`` key either (E40), and a 302 of
    the actions in :data:`TRAILING_302_FUNCS` (*func*) is followed by the gateway's exit status,
    ``302``, after the JSON. The document's form (section 4) carries ``"Result": false``.
    """
    message = f"Error {code} : {GATEWAY_TEXTS[code]}"
    if not server:
        return Reply.gateway({"Result": False, "Status": "error", "Message": message})
    reply = Reply.gateway({"Message": message, "Status": "error"})
    if code == 302 and func in TRAILING_302_FUNCS:
        return Reply(body=reply.body + b"302", content_type=reply.content_type)
    return reply


def gateway_size_error(kind: str, *, server: bool = True) -> Reply:
    """The gateway's size error, ``Error 304 : Photo Size is High`` (*kind* ``Photo``...; E40)."""
    message = f"Error 304 : {kind} Size is High"
    if not server:
        return Reply.gateway({"Result": False, "Status": "error", "Message": message})
    return Reply.gateway({"Message": message, "Status": "error"})


def number_not_found() -> Reply:
    """The gateway's answer for an unresolvable number: no prefix, no code (E6, E39)."""
    return Reply.gateway(
        {"Result": False, "Message": "Number Not Exist or Wrong", "Status": "error"}
    )


def gateway_result(result: object, status: str) -> Reply:
    """A gateway result envelope."""
    return Reply.gateway({"Result": result, "Status": status})
