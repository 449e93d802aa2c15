"""
The numbers file of ``campaign run``: opened with the command's options, described, refused, warned.

The reading itself (CSV in the usual encodings, .xlsx workbooks, the phone column, every data row
accounted for) is the SDK's `NumbersFile` (``campaign/_sheet.py``); this module adds only what the
command line needs: its options in error messages, the lines it prints, and exit codes.
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Callable
from typing import Final, TypeVar

import click

from ..campaign import NumbersFile, NumbersFileError
from ._exit import CLIError
from ._text import STDIN

__all__ = [
    "check_encoding",
    "describe",
    "empty_note",
    "mostly_invalid",
    "no_valid_message",
    "numbers_error",
    "numbers_options",
    "open_numbers",
]

_F = TypeVar("_F", bound=Callable[..., object])

_SHOW_CHARS: Final = 40
_ENCODING_HINT: Final = " with --encoding NAME (e.g. --encoding cp1256, --encoding utf-16)"


def _show(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= _SHOW_CHARS else shown[: _SHOW_CHARS - 4] + "...'"


def check_encoding(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--encoding``: a text encoding Python knows (refused before anything is read)."""
    if value is None:
        return None
    try:
        codecs.lookup(value)
    except LookupError:
        raise click.BadParameter(
            f"unknown encoding {value!r} (e.g. utf-8, utf-16, cp1256)"
        ) from None
    return value


def numbers_options(command: _F) -> _F:
    """``--column``, ``--sheet`` and ``--encoding``: how the numbers file is read."""
    options = [
        click.option(
            "--column",
            metavar="NAME|N",
            help="The column holding the numbers: a header name or a position from 1 [the "
            "column whose header names a phone column (phone, mobile, cell, tel, شماره تماس, "
            "موبایل, تلفن همراه...), else the one holding most valid numbers; the choice is "
            "printed].",
        ),
        click.option(
            "--sheet",
            metavar="NAME|N",
            help="The sheet of an .xlsx workbook: a name or a position from 1 [the first].",
        ),
        click.option(
            "--encoding",
            metavar="NAME",
            callback=check_encoding,
            help="The numbers file's text encoding, e.g. utf-8, utf-16, cp1256 [told from the "
            "file: UTF-8, UTF-16 with a byte-order mark, or Windows-1256].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def numbers_error(
    exc: NumbersFileError,
    *,
    column: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
) -> CLIError:
    """*exc* as the command reports it (exit 2): with the option at fault, or the one that helps."""
    message = str(exc)
    given = {"column": column, "sheet": sheet, "encoding": encoding}.get(exc.option or "")
    if given is not None:
        message = f"--{exc.option} {given!r}: {message}"
    elif exc.option == "encoding":
        message += _ENCODING_HINT
    return CLIError(message, kind="input")


def open_numbers(
    source: str,
    *,
    column: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    region: str | None = "IR",
) -> NumbersFile:
    """
    Open *source* (a path, or ``-`` for stdin) and find its phone column (reads the first rows).

    Raises:
        CLIError: (exit 2) the file cannot be read, decoded or opened as a workbook, or has no
            such column or sheet.
    """
    buffer = getattr(sys.stdin, "buffer", None) if source == STDIN else None
    try:
        if source == STDIN:
            reader = NumbersFile(
                buffer if buffer is not None else sys.stdin,
                column=column,
                sheet=sheet,
                encoding=encoding if buffer is not None else None,
                region=region,
                name="stdin",
            )
        else:
            reader = NumbersFile(
                source, column=column, sheet=sheet, encoding=encoding, region=region
            )
    except NumbersFileError as exc:
        raise numbers_error(exc, column=column, sheet=sheet, encoding=encoding) from None
    try:
        reader.column  # noqa: B018 - reads the first rows: a wrong column fails now
    except NumbersFileError as exc:
        reader.close()
        raise numbers_error(exc, column=column, sheet=sheet, encoding=encoding) from None
    return reader


def _where(reader: NumbersFile) -> str:
    sheet = f" of sheet {reader.sheet!r}" if reader.sheet is not None else ""
    return f"{reader.column}{sheet} of {reader.name}"


def describe(reader: NumbersFile) -> str:
    """The line saying which column of which file is read, in which encoding, and why."""
    encoding = f" ({reader.encoding})" if reader.encoding is not None else ""
    return f"reading numbers from {_where(reader)}{encoding}: {reader.column.reason}"


def no_valid_message(reader: NumbersFile) -> str:
    """Why the file was refused: the column read and what was in it."""
    counts = reader.counts
    where = _where(reader)
    if not counts.invalid:
        return f"{where} holds no number; pick the column with --column NAME|N"
    examples = ", ".join(_show(cell) for _, cell in counts.invalid_examples)
    return (
        f"{where} holds no valid phone number ({counts.invalid:,} entries, e.g. {examples}); "
        "pick the column with --column NAME|N, or the region with --region"
    )


def mostly_invalid(reader: NumbersFile) -> str | None:
    """A warning when more than half of the numbers read are invalid, else ``None``."""
    counts = reader.counts
    written = counts.valid + counts.invalid
    if counts.invalid * 2 <= written:
        return None
    examples = ", ".join(_show(cell) for _, cell in counts.invalid_examples)
    return (
        f"warning: {counts.invalid:,} of {written:,} numbers in {_where(reader)} are not valid "
        f"phone numbers (e.g. {examples}); they are recorded INVALID and not sent"
    )


def empty_note(reader: NumbersFile) -> str | None:
    """A note naming the rows whose phone cell is empty (recorded invalid), else ``None``."""
    counts = reader.counts
    if not counts.empty:
        return None
    rows = ", ".join(str(row) for row in counts.empty_rows)
    more = ", ..." if counts.empty > len(counts.empty_rows) else ""
    plural = "s have" if counts.empty > 1 else " has"
    return (
        f"{counts.empty:,} row{plural} an empty phone cell (row {rows}{more}): recorded INVALID, "
        "not sent"
    )
