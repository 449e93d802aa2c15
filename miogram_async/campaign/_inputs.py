"""
What a new campaign's storage takes as input items: a number's text, or an item known to be invalid.

Both storages record every item in order with one outcome. A text is normalised there (``INVALID``
with the reason when it cannot be); an `InvalidInput` is recorded ``INVALID`` as it says, without
being normalised: that is how a numbers file's row with an empty phone cell reaches the journal
with its row number, where a blank text item would be skipped.
"""

from __future__ import annotations

import attrs

__all__ = ["InputItem", "InvalidInput"]


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


#: One input item of a new campaign.
InputItem = str | InvalidInput
