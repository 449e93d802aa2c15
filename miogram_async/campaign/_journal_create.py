"""
Filling a new SQLite journal: every input item in bulk, then repeats told apart.

`Journal.create` builds the file under a temporary name with these and moves it into place.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterable
from typing import Final, cast

from .._errors import ValidationError
from ._inputs import InputItem, InvalidInput
from ._model import CampaignError
from ._schema import NUMBER_INDEX

#: Numbers per bulk INSERT (one JSON array of their digits, expanded by SQLite's json_each).
_INSERT_BATCH: Final = 20000


def _insert_inputs(
    conn: sqlite3.Connection,
    inputs: Iterable[InputItem],
    normalize: Callable[[str], str],
    as_is: Callable[[str], object] | None = None,
) -> None:
    """
    Insert *inputs* in bulk, a batch at a time; `_index_numbers` then tells repeats apart.

    *as_is*, when given, is true for an item that *normalize* would return unchanged (the E.164
    form, ``+`` and digits). A batch made only of such items goes in as one JSON array of their
    digits that SQLite expands (``json_each``) into rows numbered on from the last one: one
    parameter per batch, not per number, which is most of the speed of reading a clean list. In
    any other batch each item is normalised and inserted with its seq; one spelled otherwise than
    its E.164 form keeps its text, an invalid one its text and the reason; an `InvalidInput` is
    recorded invalid as it says.
    """
    seq = 0
    items = iter(inputs)
    while batch := list(itertools.islice(items, _INSERT_BATCH)):
        # Blank items are skipped; one that is not a string is recorded as given (normalize
        # refuses it), so every input item keeps one outcome.
        invalid: list[InvalidInput] = []
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
                "INSERT INTO numbers (number) SELECT value FROM json_each(?)",
                ("[" + ",".join([text[1:] for text in plain]) + "]",),
            )
            last = conn.execute("SELECT max(seq) FROM numbers").fetchone()
            if last is None or last[0] != seq:
                raise CampaignError(f"journal numbering went wrong at item {first}: {last!r}")
            continue
        rows: list[tuple[int, int | None, str | None, str, str | None]] = []
        for item_seq, text in enumerate(texts, first):
            if isinstance(text, InvalidInput):
                rows.append((item_seq, None, text.input, "invalid", text.reason))
            elif as_is is not None and as_is(text):
                rows.append((item_seq, int(text[1:]), None, "pending", None))
            else:
                rows.append(_classify(item_seq, text, normalize))
        conn.executemany(
            "INSERT INTO numbers (seq, number, input, state, error) VALUES (?, ?, ?, ?, ?)", rows
        )


def _other(raw: object, invalid: list[InvalidInput]) -> str | InvalidInput:
    """A non-string item as recorded: an `InvalidInput` as it is (noted in *invalid*), else repr."""
    if isinstance(raw, InvalidInput):
        invalid.append(raw)
        return raw
    return repr(raw)


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
        conn.execute(NUMBER_INDEX)
    except sqlite3.IntegrityError:
        pass
    else:
        return
    # One sort by number (a window), not a join of every row against the repeated numbers: that
    # join has no index to use yet and costs a scan per row.
    conn.execute(
        "UPDATE numbers SET duplicate_of = number, number = NULL, state = 'duplicate' "
        "WHERE seq IN (SELECT seq FROM (SELECT seq, row_number() OVER "
        "(PARTITION BY number ORDER BY seq) AS nth FROM numbers WHERE number IS NOT NULL) "
        "WHERE nth > 1)"
    )
    conn.execute(NUMBER_INDEX)
