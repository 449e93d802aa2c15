"""
PostgreSQL campaign storage's setup: the URL, the connection, errors, and a new campaign.

`split_url` takes a ``postgresql://`` target apart (the password never reaches what is shown),
`connect` opens a connection (with the keepalives of `miogram_async._base.pg`), `fill` records a new
campaign with its inputs. psycopg errors become `CampaignError` here (`storage_error`, and
`db_errors` for the methods of any object with a ``location``). The statements are in `_sql`.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, Final, ParamSpec, Protocol, TypeVar

from ...._base.errors import ValidationError
from ...._base.pg import connect as connect_with_keepalives
from ...._base.pg import hide_passwords, redact, split_param, url_problem
from ..._inputs import InputItem, InvalidInput, RowInput
from ..._model import CampaignError, CampaignInUseError, CampaignStorageError
from .._base import FORMAT
from . import _sql

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "DEFAULT_CAMPAIGN",
    "READABLE_VERSIONS",
    "RUN_LOCK_SPACE",
    "SCHEMA_VERSION",
    "connect",
    "db_errors",
    "fill",
    "load_psycopg",
    "run_keys",
    "split_url",
    "storage_error",
]

DEFAULT_CAMPAIGN: Final = "default"
#: The PostgreSQL campaign layout's version (its own, unchanged by the SQLite journal's): 3 adds a
#: message per row and the numbers file's other cells.
SCHEMA_VERSION: Final = 3
#: Versions this code reads: a version 2 campaign is a version 3 one without texts of their own
#: or kept cells.
READABLE_VERSIONS: Final = (2, 3)
#: First key of every advisory lock a run holds ("MioC"); the second is the run's id.
RUN_LOCK_SPACE: Final = 0x4D696F43
#: The lock that serialises creating the tables.
_SCHEMA_LOCK: Final = (RUN_LOCK_SPACE, 0)


class _Located(Protocol):
    """What `db_errors` needs of the object whose method failed: where it works, as shown."""

    @property
    def location(self) -> str: ...


_S = TypeVar("_S", bound=_Located)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def split_url(url: str) -> tuple[str, str, str]:
    """
    (libpq URL without ``campaign``, campaign name, the URL to show: no password) of *url*.

    Raises:
        CampaignError: the URL is malformed (said without quoting it: it may hold a password), or
            the campaign name is empty.
    """
    problem = url_problem(url)
    if problem is not None:
        raise CampaignError(
            f"the campaign's postgresql:// URL is malformed: {problem} (not shown: it may hold a "
            "password)"
        )
    conninfo, names = split_param(url, "campaign")
    name = names[-1] if names else DEFAULT_CAMPAIGN
    if not name.strip():
        raise CampaignError("expected a campaign name in the URL (?campaign=NAME), got ''")
    return conninfo, name, redact(conninfo, append=[("campaign", name)])


def load_psycopg() -> Any:
    """The psycopg module (the ``postgres`` extra), or a `CampaignError` that names the extra."""
    try:
        import psycopg  # noqa: PLC0415 - optional: the postgres extra
    except ImportError:
        raise CampaignError(
            "a postgresql:// campaign needs psycopg: pip install 'miogram-async[postgres]'"
        ) from None
    return psycopg


def storage_error(exc: Exception, where: str, doing: str, conninfo: str = "") -> CampaignError:
    """
    The `CampaignError` for a psycopg error raised while *doing* something with *where*; the
    password of *conninfo* is blanked from the driver's message, whatever it quotes.
    """
    psycopg = load_psycopg()
    keep = "; nothing committed was lost and the campaign resumes once this is fixed"
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    detail = hide_passwords(detail, conninfo) if conninfo else detail
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return CampaignStorageError(
            f"cannot {doing} campaign {where}: permission denied ({detail}){keep}",
            "permission denied",
        )
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return CampaignStorageError(
            f"cannot {doing} campaign {where}: the database is read-only{keep}", "read-only"
        )
    if isinstance(exc, psycopg.errors.DiskFull):
        return CampaignStorageError(
            f"cannot {doing} campaign {where}: disk full{keep}", "disk full"
        )
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return CampaignStorageError(
            f"cannot {doing} campaign {where}: the database is unreachable ({detail}){keep}",
            "I/O error",
        )
    return CampaignError(f"cannot {doing} campaign {where}: {detail}")


def db_errors(
    doing: str,
) -> Callable[[Callable[Concatenate[_S, _P], _R]], Callable[Concatenate[_S, _P], _R]]:
    """Turn the psycopg errors of a `PostgresJournal` method into `CampaignError`."""

    def wrap(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
        @functools.wraps(method)
        def guarded(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return method(self, *args, **kwargs)
            except load_psycopg().Error as exc:
                raise storage_error(exc, self.location, doing) from None

        return guarded

    return wrap


def connect(conninfo: str, where: str, *, read_only: bool = False) -> psycopg.Connection[Any]:
    """An autocommit connection for the campaign at *where* (as shown), *read_only* or not."""
    pg = load_psycopg()
    try:
        conn = connect_with_keepalives(conninfo)
    except pg.Error as exc:
        raise storage_error(exc, where, "open", conninfo) from None
    if read_only:
        try:
            conn.execute(_sql.READ_ONLY_SESSION)
        except pg.Error as exc:
            conn.close()
            raise storage_error(exc, where, "open") from None
    return conn


def run_keys(name: str) -> dict[str, object]:
    """The parameters of `_sql.DEAD_RUNS` and `_sql.LIVE_RUNS` for the campaign *name*."""
    return {"c": name, "space": RUN_LOCK_SPACE}


def fill(
    conn: psycopg.Connection[Any],
    name: str,
    shown: str,
    *,
    meta: Mapping[str, str],
    inputs: Iterable[InputItem],
    normalize: Callable[[str], str],
    overwrite: bool,
) -> None:
    """Make the tables if needed and record the campaign *name*; inside a transaction."""
    conn.execute(_sql.LOCK_SCHEMA, _SCHEMA_LOCK)
    for statement in _sql.SCHEMA:
        conn.execute(statement)
    found = conn.execute(_sql.HAS_TEXT_COLUMNS).fetchone()
    if found is None or int(found[0]) < 2:  # tables an older version made
        conn.execute(_sql.ADD_TEXT_COLUMNS)
    existing = conn.execute(_sql.LOCK_CAMPAIGN_ROW, (name,)).fetchone()
    if existing is not None:
        if not overwrite:
            raise CampaignError(f"campaign {shown} already exists (pass overwrite=True)")
        if conn.execute(_sql.LIVE_RUNS, run_keys(name)).fetchone():
            raise CampaignInUseError(
                f"campaign {shown} is in use by a worker: it cannot be overwritten "
                "while a run holds it"
            )
        conn.execute(_sql.DELETE_CAMPAIGN, (name,))
    conn.execute(_sql.INSERT_CAMPAIGN, (name, FORMAT, SCHEMA_VERSION, time.time()))
    with conn.cursor() as cursor:
        cursor.executemany(_sql.INSERT_META, [(name, key, value) for key, value in meta.items()])
    _insert_inputs(conn, name, inputs, normalize)
    conn.execute(_sql.ANALYZE_NUMBERS)


def _insert_inputs(
    conn: psycopg.Connection[Any],
    name: str,
    inputs: Iterable[InputItem],
    normalize: Callable[[str], str],
) -> None:
    """
    Copy *inputs* into a temporary table, then into the campaign: a number's first occurrence is
    ``pending``, a repeat ``duplicate``, a malformed item ``invalid`` with the reason.
    """
    conn.execute(_sql.STAGE_TABLE)
    extras = False
    with conn.cursor() as cursor, cursor.copy(_sql.COPY_STAGE) as copy:
        for item in _classify_inputs(inputs, normalize):
            copy.write_row(item)
            extras = extras or item[4] is not None or item[5] is not None
    if not extras:
        conn.execute(_sql.INSERT_STAGED, (name,))
        return
    conn.execute(_sql.INSERT_TEXTS, {"c": name})
    most = conn.execute(_sql.MOST_USED_TEXT, (name,)).fetchone()
    if most is not None and int(most[2]) >= 2:
        # The text most numbers get is the campaign's message: its numbers keep no text id.
        conn.execute(_sql.SET_META, (name, "message", str(most[1])))
        conn.execute(_sql.DELETE_TEXT, (name, int(most[0])))
    conn.execute(_sql.INSERT_STAGED_EXTRAS, {"c": name})


#: A row's kept cells as stored: a compact JSON array.
_CELLS: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

#: (seq, input as recorded, normalised number or None, why it is invalid or None, own text or
#: None, kept cells as JSON or None) of one input item.
_Staged = tuple[int, str, str | None, str | None, str | None, str | None]


def _classify_inputs(
    inputs: Iterable[InputItem], normalize: Callable[[str], str]
) -> Iterator[_Staged]:
    """
    Each input item as staged (`_Staged`).

    Blank items are skipped; an `InvalidInput` is invalid as it says; a `RowInput` is its phone
    cell (invalid when it says so) with its text and cells; any other item that is not a string
    is recorded as its ``repr`` (normalising refuses it), so every item keeps one outcome.
    """
    seq = 0
    for raw in inputs:
        if isinstance(raw, InvalidInput):
            seq += 1
            yield seq, raw.input, None, raw.reason, None, None
            continue
        own: str | None = None
        cells: str | None = None
        if isinstance(raw, RowInput):
            own = raw.text
            cells = None if raw.cells is None else _CELLS(list(raw.cells))
            if raw.invalid is not None:
                seq += 1
                yield seq, raw.input, None, raw.invalid, own, cells
                continue
            text = raw.input.strip()
        elif isinstance(raw, str):
            text = raw.strip()
            if not text:
                continue
        else:
            text = repr(raw)
        seq += 1
        number: str | None = None
        error: str | None = None
        try:
            number = normalize(text)
        except ValidationError as exc:
            error = str(exc)
        yield seq, text, number, error, own, cells
