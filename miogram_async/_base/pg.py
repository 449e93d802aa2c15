"""
PostgreSQL connection settings, shared by the send gate (`_gate_pg`) and the campaign storage.

Both keep state that other machines rely on in a session: an advisory lock that says "this process
is alive and holds the slot (or the run)". When a host vanishes, PostgreSQL notices only through
TCP keepalives, so every connection here asks for them on both ends (`KEEPALIVES` on the client,
`SERVER_KEEPALIVES` on the server): a dead holder's locks are dropped within about
idle + interval x count = 19 s.

A ``postgresql://`` URL may carry a password: `redact` gives the form that may be shown (in
errors, logs, status output), `split_param` takes one query parameter out of a URL before libpq
sees it (libpq refuses parameters it does not know).

psycopg (the ``postgres`` extra) is imported only by `connect`: importing this module never needs
it. This module imports nothing from the package.
"""

from __future__ import annotations

import os
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
    "is_database_url",
    "redact",
    "split_param",
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


def split_param(url: str, name: str) -> tuple[str, list[str]]:
    """(*url* without any *name* query parameter, the values it had there, in order)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    values = [value for key, value in query if key == name]
    rest = urllib.parse.urlencode([(key, value) for key, value in query if key != name])
    return urllib.parse.urlunsplit(parts._replace(query=rest)), values


def redact(url: str, *, append: Iterable[tuple[str, str]] = ()) -> str:
    """
    *url* as it may be shown: without a password in its user part or its query.

    *append* adds query parameters at the end (after the ones kept).
    """
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
        psycopg.Error: the server cannot be reached, or refuses the connection.
    """
    import psycopg  # noqa: PLC0415 - optional: the postgres extra

    conn: psycopg.Connection[Any] = psycopg.Connection.connect(
        psycopg.conninfo.make_conninfo(conninfo, **KEEPALIVES), autocommit=True
    )
    try:
        conn.execute(SERVER_KEEPALIVES)
    except BaseException:
        conn.close()
        raise
    return conn
