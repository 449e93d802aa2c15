"""
Making a new SQLite journal file: its identity, tables and settings, every input item in bulk,
then repeats told apart; built under a temporary name and moved into place once complete.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Final, cast

from ...._base.errors import ValidationError
from ..._inputs import InputItem, InvalidInput, RowInput
from ..._model import CampaignError, CampaignInUseError
from .._base import FORMAT
from . import _sql
from ._files import fsync_path, place, remove_quietly, sidecars
from ._format import APPLICATION_ID, JOURNAL_VERSION, SELF_CONTAINED, storage_error
from ._lock import RunLock

__all__ = ["create_file"]

#: Numbers per bulk INSERT (one JSON array of their digits, expanded by SQLite's json_each).
_INSERT_BATCH: Final = 20000


def create_file(
    journal_path: Path,
    meta: Mapping[str, str],
    inputs: Iterable[InputItem],
    normalize: Callable[[str], str],
    *,
    overwrite: bool,
    as_is: Callable[[str], object] | None,
) -> None:
    """
    Write a new journal at *journal_path* with the ``meta`` rows *meta* and every item of *inputs*.

    The file is built under a temporary name next to *journal_path*, synced, and moved into place
    only once complete, so a crash while creating never leaves a half-made journal there.

    Raises:
        CampaignError: *journal_path* exists and *overwrite* is false, or cannot be made.
        CampaignInUseError: (*overwrite*) a run holds the journal there.
    """
    if journal_path.exists() and not overwrite:
        raise CampaignError(f"{str(journal_path)!r} already exists (pass overwrite=True)")
    if journal_path.is_file() and RunLock.is_held(journal_path):  # fail before the work
        raise CampaignInUseError(
            f"campaign journal {str(journal_path)!r} is in use by another process: "
            "it cannot be overwritten while a run holds it"
        )
    if not journal_path.parent.is_dir():
        raise CampaignError(f"cannot create {str(journal_path)!r}: no such directory")
    temp = journal_path.with_name(f".{journal_path.name}.{secrets.token_hex(4)}.tmp")
    try:
        _write_file(temp, meta, inputs, normalize, as_is)
        fsync_path(temp)
        try:
            place(temp, journal_path, overwrite=overwrite)
        except OSError as exc:
            raise CampaignError(
                f"cannot create {str(journal_path)!r}: {exc.strerror or exc}"
            ) from None
        fsync_path(journal_path.parent, directory=True)
    except sqlite3.Error as exc:
        raise storage_error(exc, journal_path, "create") from None
    finally:
        remove_quietly(temp, *sidecars(temp))


def _write_file(
    path: Path,
    meta: Mapping[str, str],
    inputs: Iterable[InputItem],
    normalize: Callable[[str], str],
    as_is: Callable[[str], object] | None,
) -> None:
    """
    Write a complete journal at *path* (a new file): *meta*'s rows and every item of *inputs*.

    Committed with ``synchronous=FULL``; the caller syncs the file and moves it into place. The
    file is its owner's only (0600), whatever the umask: it holds customers' numbers. SQLite gives
    its ``-wal`` and ``-shm`` the database file's permissions.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        if hasattr(os, "fchmod"):  # POSIX
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute(_sql.SET_APPLICATION_ID.format(app_id=APPLICATION_ID))
        conn.execute(_sql.SET_USER_VERSION.format(version=SELF_CONTAINED))
        conn.execute(_sql.SYNC_FULL)
        conn.executescript(_sql.SCHEMA)
        conn.execute("BEGIN")
        rows = {**meta, "format": FORMAT, "schema_version": str(JOURNAL_VERSION)}
        conn.executemany(_sql.INSERT_META, rows.items())
        staged = _insert_inputs(conn, inputs, normalize, as_is)
        _index_numbers(conn)
        if staged:
            _place_extras(conn)
        for index in _sql.INDEXES:
            conn.execute(index)
        conn.execute("COMMIT")
    finally:
        conn.close()


#: A row's kept cells as stored: a compact JSON array.
_CELLS: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _insert_inputs(
    conn: sqlite3.Connection,
    inputs: Iterable[InputItem],
    normalize: Callable[[str], str],
    as_is: Callable[[str], object] | None = None,
) -> bool:
    """
    Insert *inputs* in bulk, a batch at a time; `_index_numbers` then tells repeats apart.

    Returns whether any item had a text of its own (staged, with its cells, for `_place_extras`);
    an item with cells only goes straight into ``extras``.

    *as_is*, when given, is true for an item that *normalize* would return unchanged (the E.164
    form, ``+`` and digits). A batch made only of such items goes in as one JSON array of their
    digits that SQLite expands (``json_each``) into rows numbered on from the last one: one
    parameter per batch, not per number, which is most of the speed of reading a clean list. In
    any other batch each item is normalised and inserted with its seq; one spelled otherwise than
    its E.164 form keeps its text, an invalid one its text and the reason; an `InvalidInput` is
    recorded invalid as it says; a `RowInput` as its phone cell (or invalid, when it says so),
    its text and cells staged beside it.
    """
    seq = 0
    staged = False
    items = iter(inputs)
    while batch := list(itertools.islice(items, _INSERT_BATCH)):
        # Blank items are skipped; one that is not a string is recorded as given (normalize
        # refuses it), so every input item keeps one outcome.
        invalid: list[InvalidInput | RowInput] = []
        texts = [raw.strip() if isinstance(raw, str) else _other(raw, invalid) for raw in batch]
        if "" in texts:
            texts = [text for text in texts if text]
        first = seq + 1
        seq += len(texts)
        if not texts:
            continue
        plain = None if invalid else cast("list[str]", texts)  # no InvalidInput: all are text
        if as_is is not None and plain is not None and all(map(as_is, plain)):
            # Every seq so far has its row, so the new rows' rowids (seqs) run on from `first`.
            conn.execute(
                _sql.INSERT_CLEAN_NUMBERS, ("[" + ",".join([text[1:] for text in plain]) + "]",)
            )
            last = conn.execute(_sql.LAST_SEQ).fetchone()
            if last is None or last[0] != seq:
                raise CampaignError(f"journal numbering went wrong at item {first}: {last!r}")
            continue
        rows: list[tuple[int, int | None, str | None, str, str | None]] = []
        extras: list[tuple[int, str | None, str | None]] = []
        cells_only: list[tuple[int, str]] = []
        for item_seq, text in enumerate(texts, first):
            if isinstance(text, RowInput):
                if text.text is not None:
                    cells = None if text.cells is None else _CELLS(text.cells)
                    extras.append((item_seq, text.text, cells))
                elif text.cells is not None:
                    cells_only.append((item_seq, _CELLS(text.cells)))
                if text.invalid is not None:
                    rows.append((item_seq, None, text.input, "invalid", text.invalid))
                else:
                    rows.append(_classify(item_seq, text.input, normalize))
            elif isinstance(text, InvalidInput):
                rows.append((item_seq, None, text.input, "invalid", text.reason))
            elif as_is is not None and as_is(text):
                rows.append((item_seq, int(text[1:]), None, "pending", None))
            else:
                rows.append(_classify(item_seq, text, normalize))
        conn.executemany(_sql.INSERT_ITEM, rows)
        if cells_only:
            conn.executemany(_sql.INSERT_CELLS, cells_only)
        if extras:
            if not staged:
                conn.execute(_sql.STAGE_EXTRAS)
                staged = True
            conn.executemany(_sql.INSERT_STAGED, extras)
    return staged


def _other(raw: object, invalid: list[InvalidInput | RowInput]) -> str | InvalidInput | RowInput:
    """
    A non-string item as recorded: an `InvalidInput` or a `RowInput` as it is (noted in
    *invalid*: the batch is not one of plain numbers), else its repr.
    """
    if isinstance(raw, InvalidInput | RowInput):
        invalid.append(raw)
        return raw
    return repr(raw)


def _place_extras(conn: sqlite3.Connection) -> None:
    """
    Turn the staged texts and cells into ``texts`` and ``extras`` (see `_sql`), once repeats are
    known: the text most numbers to send get becomes the campaign's message when two or more get
    it, and only the items whose text differs from it (or that keep cells) keep a row.
    """
    conn.execute(_sql.INSERT_TEXTS)
    most = conn.execute(_sql.MOST_USED_TEXT).fetchone()
    shared: int | None = None
    if most is not None and int(most[2]) >= 2:
        shared = int(most[0])
        conn.execute(_sql.SET_META, ("message", str(most[1])))
    conn.execute(_sql.INSERT_EXTRAS, (shared, shared))
    if shared is not None:
        conn.execute(_sql.DELETE_TEXT, (shared,))
    conn.execute(_sql.DROP_STAGED)


def _classify(
    seq: int, text: str, normalize: Callable[[str], str]
) -> tuple[int, int | None, str | None, str, str | None]:
    """(seq, number, input, state, error) of the item *text*: normalised, or invalid and why."""
    try:
        number = normalize(text)
    except ValidationError as exc:
        return seq, None, text, "invalid", str(exc)
    return seq, int(number[1:]), None if number == text else text, "pending", None


def _index_numbers(conn: sqlite3.Connection) -> None:
    """
    Make the unique index on ``number``; repeats of a number first become ``duplicate`` rows.

    Building the unique index straight away is one sort; only if it finds a repeat are the repeats
    (every occurrence after a number's first) moved to ``duplicate_of``, and the index built again.
    """
    try:
        conn.execute(_sql.NUMBER_INDEX)
    except sqlite3.IntegrityError:
        pass
    else:
        return
    conn.execute(_sql.MARK_REPEATS)
    conn.execute(_sql.NUMBER_INDEX)
