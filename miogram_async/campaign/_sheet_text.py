"""
Text numbers files as spreadsheets save them: the encoding told without being told, rows streamed.

Excel writes "CSV UTF-8" with a byte-order mark, "Unicode text" as UTF-16 with a byte-order mark
(tab-separated), and plain "CSV" in the Windows code page, Windows-1256 on a Persian Windows. The
encoding is read from the bytes:

- a byte-order mark says UTF-8 or UTF-16;
- without one, the bytes around the first non-ASCII byte decide: UTF-8 when they are valid UTF-8,
  else Windows-1256. A seekable file is scanned up to that byte (ASCII is the same in both, so a
  long ASCII head decides nothing); a pipe decides on its first 64 KiB (UTF-8 when all ASCII).

Windows-1256 gives a character to every byte, so "not Windows-1256" cannot mean a decoding error.
A file is *undecodable* when its byte-order mark's encoding refuses its bytes, or when, without
one, it is not UTF-8 and its first 64 KiB (and those around its first non-ASCII byte) hold control
characters other than tab and line ends, which no spreadsheet's text holds and binary files and
UTF-16 without a byte-order mark always do. A file in another single-byte code page (Latin-1,
Windows-1252) reads as Windows-1256 without error: its ASCII digits read right, other letters not.

The text is then read through `io.TextIOWrapper` (the common UTF-8 case at C speed) and Python's
csv module, one row at a time; the whole file is never in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO, Final

import attrs

from ._sheet_columns import NumbersFileError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["ENCODINGS_TRIED", "Decoding", "open_text", "read_head", "text_rows"]

#: The encodings told apart without being named, as messages name them.
ENCODINGS_TRIED: Final = ("UTF-8", "UTF-16 (with a byte-order mark)", "Windows-1256")

_HEAD: Final = 64 * 1024
_SCAN: Final = 1024 * 1024
_NON_ASCII: Final = re.compile(rb"[\x80-\xff]")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with a byte-order mark"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 (little-endian, with a byte-order mark)"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 (big-endian, with a byte-order mark)"),
)

_DELIMITERS: Final = ",;\t|"
# The sniffer reads this much of a file. From a pipe (stdin, a producer still writing) it takes two
# rows only, so as not to wait for lines not yet written.
_SAMPLE_LINES: Final = 50
_SAMPLE_CHARS: Final = 32 * 1024


@attrs.frozen
class Decoding:
    """
    How a text file is decoded.

    Attributes:
        codec: the Python codec it is read with.
        label: the encoding as messages name it (``UTF-8``, ``Windows-1256``...).
        detected: whether it was told from the bytes (not named by the caller).
    """

    codec: str
    label: str
    detected: bool = True


def read_head(raw: BinaryIO) -> bytes:
    """The first bytes of *raw* (up to 64 KiB; from a pipe, what has come so far)."""
    read1 = getattr(raw, "read1", None)
    if not _seekable(raw) and callable(read1):
        head: bytes = read1(_HEAD)
        return head
    return raw.read(_HEAD)


def _seekable(raw: BinaryIO) -> bool:
    try:
        return raw.seekable()
    except (OSError, ValueError):
        return False


def _valid_utf8(data: bytes) -> bool:
    """Whether *data* is UTF-8 (a character cut at its end is allowed: more may follow)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _first_non_ascii(raw: BinaryIO, head: bytes) -> bytes | None:
    """The bytes from the first non-ASCII byte on (64 KiB of them); ``None`` if all is ASCII."""
    found = _NON_ASCII.search(head)
    if not _seekable(raw):
        return None if found is None else head[found.start() :]
    if found is not None:
        # Read on from it: found near the head's end, it may be a character cut in two.
        raw.seek(found.start())
        return raw.read(_HEAD)
    offset = len(head)
    raw.seek(offset)
    while block := raw.read(_SCAN):
        if not block.isascii():  # isascii: a word at a time, far faster than the search
            found = _NON_ASCII.search(block)
            assert found is not None
            raw.seek(offset + found.start())
            return raw.read(_HEAD)
        offset += len(block)
    return None


def _controls(text: str) -> str | None:
    """The first control character of *text* (not tab or a line end) as ``U+XXXX``, or ``None``."""
    found = _CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def detect(raw: BinaryIO, head: bytes, source: str) -> Decoding:
    """
    The encoding of a text file whose first bytes are *head* (*raw* may be read further).

    Raises:
        NumbersFileError: the file is undecodable (see the module's notes).
    """
    for bom, codec, label in _BOMS:
        if head.startswith(bom):
            decoding = Decoding(codec, label)
            _refuse_controls(_decode_head(head, decoding, source), decoding, source, head)
            return decoding
    window = _first_non_ascii(raw, head)
    if window is None or _valid_utf8(window):
        decoding = Decoding("utf-8", "UTF-8")
    else:
        decoding = Decoding("cp1256", "Windows-1256")
    text = _decode_head(head, decoding, source)
    if window is not None:
        text += _decode_head(window, decoding, source)
    _refuse_controls(text, decoding, source, head)
    return decoding


def _decode_head(data: bytes, decoding: Decoding, source: str) -> str:
    try:
        return codecs.getincrementaldecoder(decoding.codec)().decode(data, final=False)
    except UnicodeDecodeError as exc:
        raise undecodable(source, f"not {decoding.label}: {_bad_bytes(exc)}") from None


def _refuse_controls(text: str, decoding: Decoding, source: str, head: bytes) -> None:
    control = _controls(text)
    if control is None:
        return
    if decoding.codec == "cp1256":
        why = f"it is not UTF-8, and read as Windows-1256 it holds control characters ({control})"
    elif decoding.detected and decoding.codec == "utf-8":
        why = f"it holds control characters ({control}) whether read as UTF-8 or Windows-1256"
    else:
        why = f"read as {decoding.label} it holds control characters ({control})"
    zeros = max(head[0::2].count(0), head[1::2].count(0))
    if decoding.codec != "utf-16" and zeros * 4 > len(head):
        why += ", as UTF-16 without a byte-order mark does (utf-16-le)"
    raise undecodable(source, why)


def _bad_bytes(exc: UnicodeDecodeError) -> str:
    bad = exc.object[exc.start : min(exc.end, exc.start + 4)]
    return "bytes " + " ".join(f"{byte:02X}" for byte in bad) + " cannot be read"


def undecodable(source: str, why: str) -> NumbersFileError:
    """The error for a file read in none of the encodings tried."""
    tried = ", ".join(ENCODINGS_TRIED)
    return NumbersFileError(
        f"cannot read {source}: {why} (tried {tried}); give its encoding to read it",
        option="encoding",
    )


def forced(name: str) -> Decoding:
    """
    The decoding the caller named (any Python text codec; UTF-8 skips a byte-order mark).

    Raises:
        NumbersFileError: no such text encoding.
    """
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise NumbersFileError(f"unknown encoding {name!r}", option="encoding") from None
    codec = "utf-8-sig" if info.name == "utf-8" else info.name
    try:
        io.TextIOWrapper(io.BytesIO(), encoding=codec)
    except LookupError:  # a bytes-to-bytes codec such as base64
        raise NumbersFileError(f"{name!r} is not a text encoding", option="encoding") from None
    return Decoding(codec, name, detected=False)


class _Prefixed(io.RawIOBase):
    """*head* then the rest of a stream that cannot seek back (a pipe); its owner closes that."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            size = min(len(view), len(self._head))
            view[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        read1 = getattr(self._rest, "read1", None)
        data = read1(len(view)) if callable(read1) else self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


def open_text(
    raw: BinaryIO, head: bytes, *, encoding: str | None, source: str
) -> tuple[io.TextIOWrapper, Decoding]:
    """
    *raw* (whose first bytes *head* were read already) as text lines, and how it is decoded.

    Raises:
        NumbersFileError: the encoding cannot be told, or the one named is unknown.
    """
    decoding = forced(encoding) if encoding is not None else detect(raw, head, source)
    if _seekable(raw):
        raw.seek(0)
        stream: BinaryIO = raw
    else:
        stream = io.BufferedReader(_Prefixed(head, raw))
    # newline="": the csv module sees line ends as they are (quoted cells may hold them).
    return io.TextIOWrapper(stream, encoding=decoding.codec, newline=""), decoding


def _is_blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


def _is_comment(row: list[str]) -> bool:
    """A ``#`` line of a numbers list; ``#,Name,Phone`` (a column named ``#``) is a header."""
    return row[0].lstrip().startswith("#") and not any(cell.strip() for cell in row[1:])


def _sniff(sample: list[str]) -> type[csv.Dialect] | csv.Dialect:
    """The sample's dialect; the plain comma dialect when it cannot be told (a single column)."""
    text = "".join(line for line in sample if line.strip() and not line.lstrip().startswith("#"))
    if not text:
        return csv.excel
    try:
        dialect = csv.Sniffer().sniff(text, delimiters=_DELIMITERS)
    except csv.Error:
        return csv.excel
    if dialect.delimiter not in text:
        return csv.excel
    return dialect


def text_rows(
    lines: Iterable[str], *, pipe: bool, source: str, decoding: Decoding | None
) -> Iterator[tuple[int, list[str]]]:
    """
    (row number, cells) of every row of a CSV or text file that is not blank or a ``#`` comment.

    A row's number counts every row before it (header, blank and comment rows too): the row number
    a spreadsheet shows, which is the line number unless a quoted cell spans lines.

    Raises:
        NumbersFileError: the text is not CSV, or not in the encoding it is read in.
    """
    lines = iter(lines)
    sample: list[str] = []
    size = rows = 0
    reader = None
    try:
        for line in lines:
            sample.append(line.removeprefix("\ufeff") if not sample else line)
            size += len(line)
            rows += bool(line.strip())
            if rows >= (2 if pipe else _SAMPLE_LINES) or size >= _SAMPLE_CHARS:
                break
        reader = csv.reader(itertools.chain(sample, lines), _sniff(sample))
        for number, row in enumerate(reader, 1):
            if not row:
                continue
            # The usual row starts with a cell that is neither blank nor a comment: one test.
            first = row[0].lstrip()
            if (first and first[0] != "#") or not (_is_blank(row) or _is_comment(row)):
                yield number, row
    except csv.Error as exc:
        where = reader.line_num if reader is not None else 1
        raise NumbersFileError(f"cannot read {source} as CSV near line {where}: {exc}") from None
    except UnicodeDecodeError as exc:
        where = (reader.line_num if reader is not None else len(sample)) + 1
        label = decoding.label if decoding is not None else exc.encoding
        why = f"it is not {label} near line {where}: {_bad_bytes(exc)}"
        if decoding is not None and not decoding.detected:
            raise NumbersFileError(f"cannot read {source}: {why}", option="encoding") from None
        raise undecodable(source, why) from None
