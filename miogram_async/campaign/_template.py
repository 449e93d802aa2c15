"""
A message per row: a template whose ``{column}`` placeholders are filled from a numbers file's row,
or the text of one of its columns.

The template's syntax is Python's ``str.format`` reduced to names: ``{name}`` is the cell of the
column *name* (a header as written, spaces and Persian letters included), ``{{`` and ``}}`` are a
literal brace. Nothing else is special: no attributes, indexes or format specs, so a column called
``price:toman`` or ``a.b`` is named as it is. A lone brace is an error that says how to write one,
never a silent literal, and so is a placeholder that names no column. A name is matched exactly
(after trimming its spaces) and then as `header_key` folds headers (case, spaces, punctuation, the
Arabic and Persian forms of the same letter), when that finds one column only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import attrs

from .._base.errors import ValidationError
from ._sheet_columns import header_key

__all__ = ["MessageTemplate", "TemplateError", "column_index"]

_SHOW_NAMES: Final = 12


class TemplateError(ValidationError):
    """The message template cannot be used with the file: a lone brace, or no such column."""


def _show_columns(columns: Sequence[str]) -> str:
    shown = ", ".join(repr(name) for name in columns[:_SHOW_NAMES])
    more = f" and {len(columns) - _SHOW_NAMES} more" if len(columns) > _SHOW_NAMES else ""
    return shown + more


def column_index(name: str | int, columns: Sequence[str], *, what: str) -> int:
    """
    The position of the column *name* (a header, or a position from 1 as an int or digits).

    Raises:
        TemplateError: no column, or more than one, answers to *name*.
    """
    if isinstance(name, int) or name.strip().isdigit():
        position = name if isinstance(name, int) else int(name.strip())
        if isinstance(position, bool) or not 1 <= position <= len(columns):
            raise TemplateError(
                f"{what} {name!r}: expected a column name or a position from 1 to "
                f"{len(columns)}; the columns are {_show_columns(columns)}"
            )
        return position - 1
    wanted = name.strip()
    exact = [index for index, column in enumerate(columns) if column.strip() == wanted]
    if len(exact) == 1:
        return exact[0]
    key = header_key(wanted)
    folded = [index for index, column in enumerate(columns) if key and header_key(column) == key]
    if not exact and len(folded) == 1:
        return folded[0]
    if exact or folded:
        raise TemplateError(
            f"{what} {name!r} names more than one column ({_show_columns(columns)}); "
            "name it by position (1, 2...) instead"
        )
    raise TemplateError(
        f"{what} {name!r} names no column of the file; its columns are {_show_columns(columns)}"
    )


@attrs.frozen
class MessageTemplate:
    """
    A message text with ``{column}`` placeholders, compiled against a file's columns.

    Attributes:
        text: the template as given.
        parts: the literal text (``str``) and the column positions (``int``) in order.
    """

    text: str
    parts: tuple[str | int, ...]

    @property
    def placeholders(self) -> bool:
        """Whether any part is filled from the row (else the text is the same for every row)."""
        return any(isinstance(part, int) for part in self.parts)

    @classmethod
    def parse(cls, text: str, columns: Sequence[str]) -> MessageTemplate:
        """
        Compile *text* against *columns* (every column's name, in order).

        Raises:
            TemplateError: a lone ``{`` or ``}``, an empty ``{}``, or a placeholder that names no
                column (the message lists them).
        """
        parts: list[str | int] = []
        literal: list[str] = []
        position = 0
        while position < len(text):
            char = text[position]
            pair = text[position : position + 2]
            if pair in ("{{", "}}"):
                literal.append(char)
                position += 2
                continue
            if char == "}":
                raise TemplateError(
                    f"the message has a lone '}}' at character {position + 1}: write '}}}}' for "
                    "a literal brace"
                )
            if char != "{":
                literal.append(char)
                position += 1
                continue
            end = text.find("}", position + 1)
            opened = text.find("{", position + 1)
            if end < 0 or 0 <= opened < end:
                raise TemplateError(
                    f"the message has a lone '{{' at character {position + 1}: write '{{{{' for "
                    "a literal brace, or close the placeholder {column}"
                )
            name = text[position + 1 : end]
            if not name.strip():
                raise TemplateError(
                    f"the message has an empty placeholder '{{}}' at character {position + 1}: "
                    "name a column in it, or write '{{{{}}}}' for literal braces"
                )
            index = column_index(name, columns, what="the message's placeholder")
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(index)
            position = end + 1
        if literal:
            parts.append("".join(literal))
        return cls(text, tuple(parts))

    def render(self, cells: Sequence[str]) -> str:
        """The message for a row whose cells (every column, in order) are *cells* (trimmed)."""
        return "".join(
            part if isinstance(part, str) else (cells[part].strip() if part < len(cells) else "")
            for part in self.parts
        )

    def literal(self) -> str:
        """The text with its braces unescaped: what every row gets when it has no placeholder."""
        return "".join(part for part in self.parts if isinstance(part, str))
