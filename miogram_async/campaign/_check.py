"""
A dry run of a numbers file: what a campaign made from it would hold and send, read through once,
with nothing written and nothing sent (``miogram campaign check``).

Counts every data row (valid, invalid, empty phone cell), the repeats of a number (kept in a
`KeyIndex`: about 17 bytes a number, not a set of strings), and for a message per row every text
made and checked as `Campaign.create` would (the first few that would stop it, by row: empty, too
long, holding the account's secret, which is never shown); the distinct texts tell how many numbers
would go one by one.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

import attrs

from .._base.errors import ValidationError
from .._base.scrub import contains_secret
from .._base.validation import check_message, normalize_phone
from .._mass.result import KeyIndex, Outcome
from ._rows import kept_columns, plain_message, row_texts
from ._sheet import NumbersFile, PhoneColumn

__all__ = ["FileCheck", "check_file"]

#: Rows named per kind of problem.
_EXAMPLES: Final = 5


@attrs.frozen(kw_only=True)
class FileCheck:
    """
    What a campaign made from a numbers file would hold and send.

    Attributes:
        column: the phone column read.
        columns: every column's name; kept: the others, kept beside each number.
        rows: data rows.
        valid: rows holding a valid number; invalid: a phone cell that is not one; empty: an
            empty phone cell (``valid + invalid + empty == rows``).
        duplicates: valid rows whose number came earlier in the file (sent once).
        to_send: distinct valid numbers: what a run sends.
        invalid_rows: (row, cell) of the first invalid rows; empty_rows: the first empty rows.
        message: the first row's message as it would be sent (``None`` without a message); never
            one that holds the account's secret.
        message_row: the row it is the message of.
        per_row: whether the message differs per row (a template or a column).
        texts: distinct messages among the numbers to send.
        alone: numbers to send whose message no other number to send shares (sent one by one).
        text_problems: (row, why) of the first rows whose message would stop the campaign.
        text_problem_count: how many rows that is in all.
    """

    column: PhoneColumn
    columns: tuple[str, ...]
    kept: tuple[str, ...]
    rows: int
    valid: int
    invalid: int
    empty: int
    duplicates: int
    to_send: int
    invalid_rows: tuple[tuple[int, str], ...]
    empty_rows: tuple[int, ...]
    message: str | None
    message_row: int | None
    per_row: bool
    texts: int
    alone: int
    text_problems: tuple[tuple[int, str], ...]
    text_problem_count: int


def check_file(
    numbers: NumbersFile,
    *,
    message: str | None = None,
    message_column: str | int | None = None,
    message_limit: int | None = None,
    region: str | None = "IR",
    secret: str | None = None,
) -> FileCheck:
    """
    Read *numbers* through and say what a campaign made from it would hold and send.

    Args:
        numbers: the numbers file (read to its end).
        message: the message, a template with ``{column}`` placeholders (as `Campaign.create`).
        message_column: the column holding each row's message, instead.
        message_limit: the account's limit in UTF-8 bytes; a longer message is a problem.
        region: the region national numbers are read in (the file's).
        secret: the account's secret, when known: a message that holds it is a problem (it would
            be sent to the recipients), and is never shown.

    Raises:
        TemplateError: the template or the column does not fit the file.
        NumbersFileError: the file cannot be read further on.
    """
    texts = None
    plain: str | None = None
    if message is not None or message_column is not None:
        texts = row_texts(numbers, message=message, message_column=message_column)
        if texts is None and message is not None:
            plain = plain_message(message, numbers.columns)
    seen = KeyIndex()
    duplicates = 0
    by_text: Counter[str] = Counter()
    problems: list[tuple[int, str]] = []
    problem_count = 0
    first: tuple[int, str] | None = None
    plain_holds = False
    if plain is not None:
        plain_holds = _holds(plain, secret)
        problem = _problem(plain, message_limit, holds_secret=plain_holds)
        if problem is not None:
            problems.append((0, problem))
            problem_count = 1
    for row, cell, cells in numbers.records():
        if not cell:
            continue
        try:
            number = normalize_phone(cell, default_region=region)
        except ValidationError:
            continue
        if seen.add(number, Outcome.NOT_ATTEMPTED) < 0:
            duplicates += 1
            continue
        text = plain if texts is None else texts.render(cells)
        if text is None:
            continue
        holds = plain_holds if texts is None else _holds(text, secret)
        if first is None and not holds:
            first = (row, text)
        if texts is not None:
            by_text[text] += 1
            problem = _problem(text, message_limit, holds_secret=holds)
            if problem is not None:
                problem_count += 1
                if len(problems) < _EXAMPLES:
                    problems.append((row, problem))
    counts = numbers.counts
    return FileCheck(
        column=numbers.column,
        columns=tuple(numbers.columns),
        kept=kept_columns(numbers),
        rows=counts.rows,
        valid=counts.valid,
        invalid=counts.invalid,
        empty=counts.empty,
        duplicates=duplicates,
        to_send=len(seen),
        invalid_rows=counts.invalid_examples,
        empty_rows=counts.empty_rows,
        message=None if first is None else first[1],
        message_row=None if first is None else first[0],
        per_row=texts is not None,
        texts=len(by_text) if texts is not None else (1 if plain is not None else 0),
        alone=sum(1 for count in by_text.values() if count == 1),
        text_problems=tuple(problems),
        text_problem_count=problem_count,
    )


def _holds(text: str, secret: str | None) -> bool:
    """Whether *text* holds the account's *secret* (when known)."""
    return secret is not None and contains_secret(text, secret)


def _problem(text: str, limit: int | None, *, holds_secret: bool) -> str | None:
    """Why *text* could not be sent (empty, over *limit* bytes, the secret), or ``None``."""
    if holds_secret:
        return "its message holds the account's secret (it would be sent to the recipients)"
    if not text.strip():
        return "its message is empty"
    try:
        check_message(text, max_bytes=limit)
    except ValidationError as exc:
        return str(exc)
    return None
