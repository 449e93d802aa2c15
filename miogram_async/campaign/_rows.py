"""
A numbers file's rows as a new campaign's input items: the number, the other cells it keeps, and
the row's own message (from a template or a column), every message checked as it is made.

A row's message is checked only when its phone cell is not empty (a row without a number is
recorded invalid and never sent, whatever its text). A check that fails raises `RowTextError`
naming the row; `Campaign.create` then leaves no campaign behind (the journal file is built aside
and only moved into place once complete; a database campaign is one transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import attrs

from .._base.errors import ValidationError
from .._base.scrub import contains_secret
from .._base.validation import check_message
from ._inputs import InputItem, RowInput
from ._sheet import NumbersFile
from ._template import MessageTemplate, TemplateError, column_index

__all__ = [
    "CampaignRows",
    "RowTextError",
    "RowTexts",
    "campaign_inputs",
    "kept_columns",
    "plain_message",
    "row_inputs",
    "row_texts",
]


class RowTextError(ValidationError):
    """
    A row's message cannot be sent: empty, longer than the account allows, or holding the
    account's secret.

    Attributes:
        row: the row's number, as a spreadsheet numbers it.
    """

    def __init__(self, message: str, row: int) -> None:
        super().__init__(message)
        self.row = row


@attrs.frozen
class RowTexts:
    """
    Where each row's message comes from: a template (``{column}`` placeholders), or a column.

    Attributes:
        template: the compiled template, or ``None``.
        column: the position of the column holding each row's message, or ``None``.
        column_name: that column's name.
    """

    template: MessageTemplate | None = None
    column: int | None = None
    column_name: str | None = None

    def render(self, cells: Sequence[str]) -> str:
        """The message of the row whose cells (every column) are *cells*."""
        if self.template is not None:
            return self.template.render(cells)
        assert self.column is not None
        return cells[self.column].strip() if self.column < len(cells) else ""

    def describe(self) -> str:
        """How the messages are made, for a message."""
        if self.template is not None:
            return "the message with each row's cells in its placeholders"
        return f"the text of column {self.column_name!r}"


def row_texts(
    numbers: NumbersFile, *, message: str | None, message_column: str | int | None
) -> RowTexts | None:
    """
    How the rows of *numbers* get their messages; ``None`` when every row gets *message* as it is
    (no placeholder: its ``{{`` and ``}}`` still stand for braces, see `plain_message`).

    Raises:
        TemplateError: a lone brace, a placeholder or *message_column* that names no column, or
            both a message and a column.
    """
    columns = numbers.columns
    if message_column is not None:
        if message is not None:
            raise TemplateError("give a message or a message column, not both")
        index = column_index(message_column, columns, what="the message column")
        if index == numbers.column.index:
            raise TemplateError(
                f"the message column {message_column!r} is the phone column: name the column "
                "that holds each row's text"
            )
        return RowTexts(column=index, column_name=columns[index])
    assert message is not None
    template = MessageTemplate.parse(message, columns)
    return RowTexts(template=template) if template.placeholders else None


def plain_message(message: str, columns: Sequence[str]) -> str:
    """*message* as sent to every row when it has no placeholder: ``{{`` and ``}}`` unescaped."""
    return MessageTemplate.parse(message, columns).literal()


def _check(text: str, row: int, texts: RowTexts, limit: int | None, secret: str | None) -> None:
    if secret is not None and contains_secret(text, secret):
        # Never quoted: the text holds the secret.
        raise RowTextError(
            f"row {row}: its message ({texts.describe()}) holds the account's secret: it would "
            "be sent to that number and kept in the journal; write it without the secret",
            row,
        )
    try:
        check_message(text, max_bytes=limit)
    except ValidationError as exc:
        if not text.strip():
            raise RowTextError(
                f"row {row}: its message is empty ({texts.describe()}); fill it in, or leave the "
                "row's phone cell empty to skip it",
                row,
            ) from None
        raise RowTextError(f"row {row}: {exc}; shorten it", row) from None


def row_inputs(
    numbers: NumbersFile,
    texts: RowTexts | None,
    *,
    keep_cells: bool,
    limit: int | None = None,
    secret: str | None = None,
) -> Iterator[RowInput]:
    """
    Every data row of *numbers* as a `RowInput`: its other cells when *keep_cells*, its own message
    when *texts* gives one, an empty phone cell as invalid with its row number.

    Args:
        numbers: the numbers file (its rows are read through).
        texts: where each row's message comes from; ``None``: the campaign's message for all.
        keep_cells: keep each row's other cells (in the order of `kept_columns`).
        limit: the account's message limit in UTF-8 bytes (``Limits.message``): a row whose
            message is longer raises `RowTextError`, as does an empty one.
        secret: the account's secret: a row whose message holds it raises `RowTextError`.

    Raises:
        RowTextError: a row's message is empty, over *limit* or holds *secret* (only rows with
            a phone cell).
    """
    phone = numbers.column.index
    width = len(numbers.columns)
    others = width - 1  # the kept cells of a row: every column but the phone's
    for row, cell, cells in numbers.records():
        kept: list[str] | None = None
        if keep_cells:
            # Slices, not a loop per cell: this runs once per row of a file of millions.
            kept = cells[:phone] + cells[phone + 1 : width]
            if len(kept) < others:  # a short row: its missing cells are empty
                kept += [""] * (others - len(kept))
        if not cell:
            yield RowInput("", kept, None, f"row {row}: the phone cell is empty")
            continue
        text = None
        if texts is not None:
            text = texts.render(cells)
            _check(text, row, texts, limit, secret)
        yield RowInput(cell, kept, text)


def kept_columns(numbers: NumbersFile) -> tuple[str, ...]:
    """The names of the columns a campaign keeps beside the number: all but the phone column."""
    phone = numbers.column.index
    return tuple(name for index, name in enumerate(numbers.columns) if index != phone)


@attrs.frozen(kw_only=True)
class CampaignRows:
    """
    What a new campaign made from a numbers file keeps of it (see `campaign_inputs`).

    Attributes:
        message: the message every row gets, its ``{{`` and ``}}`` unescaped; ``None`` for a
            message per row.
        template: a message per row: the template, or ``None``.
        message_column: a message per row: the column holding each row's text, or ``None``.
        columns: the other columns kept beside each number, or ``None``.
    """

    message: str | None
    template: str | None
    message_column: str | None
    columns: tuple[str, ...] | None


def campaign_inputs(
    numbers: Iterable[str] | NumbersFile,
    *,
    message: str | None,
    message_column: str | int | None,
    keep_columns: bool,
    message_limit: int | None,
    secret: str | None = None,
) -> tuple[Iterable[InputItem], CampaignRows | None]:
    """
    The input items of a new campaign (see `Campaign.create`), and from a numbers file what the
    campaign keeps of it (``None`` for plain numbers: *message* is then sent as it is). Each
    row's own message is checked as it is read, against *message_limit* and *secret*.

    Raises:
        TemplateError: the template or the message column does not fit the file, or a message
            column is given without a numbers file.
    """
    if not isinstance(numbers, NumbersFile):
        if message_column is not None:
            raise TemplateError("message_column takes a NumbersFile: its rows have columns")
        return numbers, None
    texts = None
    if message is not None or message_column is not None:
        texts = row_texts(numbers, message=message, message_column=message_column)
    kept = kept_columns(numbers) if keep_columns else ()
    rows = CampaignRows(
        message=plain_message(message, numbers.columns)
        if texts is None and message is not None
        else None,
        template=message if texts is not None and texts.template is not None else None,
        message_column=None if texts is None else texts.column_name,
        columns=kept or None,
    )
    if texts is None and not kept:
        return numbers.numbers(), rows  # the plain list: the fastest path in
    return (
        row_inputs(numbers, texts, keep_cells=bool(kept), limit=message_limit, secret=secret),
        rows,
    )
