"""
PostgreSQL connection settings, shared by the send gate (`_gates.postgres`) and the campaign
storage.

Both keep state that other machines rely on in a session: an advisory lock that says "this process
is alive and holds the slot (or the run)". When a host vanishes, PostgreSQL notices only through
TCP keepalives, so every connection here asks for them on both ends (`KEEPALIVES` on the client,
`SERVER_KEEPALIVES` on the server): a dead holder's locks are dropped within about
idle + interval x count = 19 s.

A ``postgresql://`` URL may carry a password: `redact` gives the form that may be shown (in
errors, logs, status output), `url_problem` says what is wrong with a malformed one without
quoting it (libpq's own parse errors quote the URL, password included, so a URL is checked before
libpq sees it), `hide_passwords` blanks its password out of a driver's message, `split_param`
takes one query parameter out of a URL before libpq sees it (libpq refuses parameters it does not
know).

psycopg (the ``postgres`` extra) is imported only by `connect`: importing this module never needs
it. This module imports nothing from the package.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "KEEPALIVES",
    "SERVER_KEEPALIVES",
    "URL_SCHEMES",
    "connect",
    "hide_passwords",
    "is_database_url",
    "redact",
    "split_param",
    "url_problem",
]

#: The schemes of a target that names a PostgreSQL database rather than a file or directory.
URL_SCHEMES: Final = ("postgresql://", "postgres://")

#: libpq's client-side keepalives: a connection to a vanished server fails within about 19 s.
KEEPALIVES: Final[Mapping[str, str]] = {
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "3",
    "keepalives_count": "3",
}
#: The same asked of the server for this session, so a client whose host vanished is found dead
#: (and its session's advisory locks dropped) within about idle + interval x count seconds.
SERVER_KEEPALIVES: Final = (
    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 3; SET tcp_keepalives_count = 3"
)


def is_database_url(target: str | os.PathLike[str]) -> bool:
    """Whether *target* names a PostgreSQL database (``postgresql://``, ``postgres://``)."""
    return isinstance(target, str) and target.lower().startswith(URL_SCHEMES)


#: A ``%`` that does not start a percent-escape: libpq refuses it, quoting the text around it.
_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: What `redact` shows of a URL it cannot take apart for sure.
_MALFORMED: Final = "(a malformed URL, not shown: it may hold a password)"


def url_problem(url: str) -> str | None:
    """
    What makes the database URL *url* unusable, in words that never quote it; ``None`` if none.

    A password holding ``%``, ``/``, ``?``, ``#`` or ``@`` as they are, or an IPv6 host without its
    closing bracket, makes libpq (or Python's URL parser) fail with a message that quotes the URL,
    password included: such a URL is refused here first.
    """
    if not is_database_url(url):
        return "it is not a postgresql:// URL"
    if _BAD_ESCAPE.search(url):
        return "it has a '%' that starts no percent-escape (write a '%' of the password as %25)"
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "its host is malformed (an IPv6 address needs its '[' and ']')"
    userinfo, at, hostinfo = parts.netloc.rpartition("@")
    if at and "@" in userinfo:
        return "its user or password holds an '@' (write it as %40)"
    # Without an '@' in the host part, one further on means a password cut short by a '/', '?'
    # or '#' (an '@' in a query value, ``?user=me@example``, is fine).
    keys = "".join(item.partition("=")[0] for item in parts.query.split("&"))
    if not at and "@" in parts.path + keys + parts.fragment:
        return (
            "its host part ends before an '@' (write a '/', '?', '#' or '@' of the password as "
            "%2F, %3F, %23 or %40)"
        )
    if "," not in hostinfo:  # several hosts may each have a port: libpq checks those
        try:
            parts.port  # noqa: B018 - it parses the port
        except ValueError:
            return (
                "its port is not a number (write a '/', '?', '#' or '@' of the password as "
                "%2F, %3F, %23 or %40)"
            )
    return None


def hide_passwords(text: str, url: str) -> str:
    """*text* (a driver's message about *url*) with the URL's password, in any form, blanked."""
    rest = url.partition("://")[2]
    found: set[str] = set()
    userinfo = rest.rpartition("@")[0]
    if ":" in userinfo:
        password = userinfo.partition(":")[2]
        found.update((password, urllib.parse.unquote(password)))
    for piece in re.split(r"[?&]", rest):
        key, equals, value = piece.partition("=")
        if equals and urllib.parse.unquote(key).strip().lower() == "password":
            found.update((value, urllib.parse.unquote(value), urllib.parse.unquote_plus(value)))
    for password in sorted(found - {""}, key=len, reverse=True):
        text = text.replace(password, "***")
    return text


def split_param(url: str, name: str) -> tuple[str, list[str]]:
    """
    (*url* without any *name* query parameter, the values it had there, in order).

    Raises:
        ValueError: *url* cannot be taken apart (see `url_problem`; the message does not quote it).
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        raise ValueError(url_problem(url) or "it is malformed") from None
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    values = [value for key, value in query if key == name]
    rest = urllib.parse.urlencode([(key, value) for key, value in query if key != name])
    return urllib.parse.urlunsplit(parts._replace(query=rest)), values


def redact(url: str, *, append: Iterable[tuple[str, str]] = ()) -> str:
    """
    *url* as it may be shown: without a password in its user part or its query.

    *append* adds query parameters at the end (after the ones kept). A URL `url_problem` finds
    malformed is not taken apart (a password holding ``/`` or ``@`` would be taken for the host):
    only its scheme is shown.
    """
    if url_problem(url) is not None:
        scheme = url.partition("://")[0] if "://" in url else "postgresql"
        return f"{scheme}://{_MALFORMED}"
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}@{host}"
    query = [
        (key, value)
        for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if key != "password"
    ]
    shown_query = urllib.parse.urlencode([*query, *append])
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=shown_query))


def connect(conninfo: str) -> psycopg.Connection[Any]:
    """
    An autocommit connection to *conninfo* with keepalives asked for on both ends.

    Raises:
        ImportError: psycopg is not installed (callers name the ``postgres`` extra).
        psycopg.Error: the server cannot be reached, or refuses the connection; or *conninfo* is
            malformed (`psycopg.ProgrammingError`, whose message never quotes it).
    """
    import psycopg  # noqa: PLC0415 - optional: the postgres extra

    problem = url_problem(conninfo) if is_database_url(conninfo) else None
    if problem is None:
        try:
            info = psycopg.conninfo.make_conninfo(conninfo, **KEEPALIVES)
        except psycopg.ProgrammingError as exc:
            # libpq's own parse errors quote the URL, password included.
            problem = hide_passwords(str(exc), conninfo)
    if problem is not None:
        raise psycopg.ProgrammingError(f"the database URL is malformed: {problem}")
    conn: psycopg.Connection[Any] = psycopg.Connection.connect(info, autocommit=True)
    try:
        conn.execute(SERVER_KEEPALIVES)
    except BaseException:
        conn.close()
        raise
    return conn
