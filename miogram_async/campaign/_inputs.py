"""
What a new campaign's storage takes as input items: a number's text, an item known to be invalid,
or a numbers file's row with what the campaign keeps beside its number.

Both storages record every item in order with one outcome. A text is normalised there (``INVALID``
with the reason when it cannot be); an `InvalidInput` is recorded ``INVALID`` as it says, without
being normalised: that is how a numbers file's row with an empty phone cell reaches the journal
with its row number, where a blank text item would be skipped. A `RowInput` is a text item (or an
invalid one, when it carries a reason) with the row's other cells and its own message.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

__all__ = ["InputItem", "InvalidInput", "RowInput"]


@attrs.frozen
class InvalidInput:
    """
    An input item already known to be invalid: recorded ``INVALID``, never normalised or sent.

    Attributes:
        input: the text recorded as the item's input (``""`` for an empty cell).
        reason: the error recorded with it (names the row it came from).
    """

    input: str
    reason: str


@attrs.frozen
class RowInput:
    """
    A numbers file's row: its phone cell, the other cells the campaign keeps, its own message.

    Attributes:
        input: the phone cell's text (``""`` when empty).
        cells: the row's other cells, in the order of the campaign's ``columns``; ``None`` when
            the campaign keeps none.
        text: the message this row gets; ``None``: the campaign's message.
        invalid: why the row is invalid whatever its number (an empty phone cell), or ``None``.
    """

    input: str
    cells: Sequence[str] | None = None
    text: str | None = None
    invalid: str | None = None


#: One input item of a new campaign.
InputItem = str | InvalidInput | RowInput
