"""The ``miogram`` command's input handling: the secret's sources and reading numbers files."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO, cast

import pytest

from miogram_async.campaign import NumbersFile
from miogram_async.campaign._inputs import InputItem
from miogram_async.cli._exit import CLIError, ExitCode
from miogram_async.cli._numbers import open_numbers
from miogram_async.cli._secret import resolve_secret


def numbers_of(stream: TextIO, column: str | None = None) -> Iterator[InputItem]:
    """The numbers a campaign would get from *stream*."""
    return NumbersFile(stream, column=column).numbers()


def _no_prompt() -> str:
    raise AssertionError("the prompt must not be shown")


def test_secret_file_wins_over_the_environment(tmp_path: Path) -> None:
    """An explicit --secret-file is used even when MIOGRAM_SECRET is set; whitespace is stripped."""
    secret_file = tmp_path / "secret"
    secret_file.write_text("  from-file\n", encoding="utf-8")
    secret = resolve_secret(
        secret_file, environ={"MIOGRAM_SECRET": "from-env"}, interactive=True, prompt=_no_prompt
    )
    assert secret == "from-file"


def test_secret_from_environment() -> None:
    """Without --secret-file the MIOGRAM_SECRET variable is used and no prompt is shown."""
    secret = resolve_secret(
        None, environ={"MIOGRAM_SECRET": "from-env"}, interactive=True, prompt=_no_prompt
    )
    assert secret == "from-env"


def test_secret_prompted_only_on_a_terminal() -> None:
    """With no file and no variable, a terminal is asked; without a terminal it is exit code 2."""
    assert resolve_secret(None, environ={}, interactive=True, prompt=lambda: "typed") == "typed"
    with pytest.raises(CLIError) as caught:
        resolve_secret(None, environ={}, interactive=False, prompt=_no_prompt)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "MIOGRAM_SECRET" in caught.value.message


def test_secret_file_missing_or_empty(tmp_path: Path) -> None:
    """A missing or empty secret file is a usage error naming the file, not its content."""
    with pytest.raises(CLIError) as missing:
        resolve_secret(tmp_path / "nope", environ={}, interactive=False, prompt=_no_prompt)
    assert missing.value.exit_code == ExitCode.USAGE
    assert "nope" in missing.value.message
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(CLIError) as blank:
        resolve_secret(empty, environ={}, interactive=False, prompt=_no_prompt)
    assert "empty" in blank.value.message


def test_first_column_of_csv_with_header() -> None:
    """The first column of a CSV is read; the header row, blank lines and comments are skipped."""
    text = 'phone,name\n+989100000001,Ali\n\n# a comment\n"+98 910 000 0002",Sara\n۰۹۱۲۳۴۵۶۷۸۹,X\n'
    assert list(numbers_of(io.StringIO(text))) == [
        "+989100000001",
        "+98 910 000 0002",
        "۰۹۱۲۳۴۵۶۷۸۹",
    ]


def test_first_column_of_plain_list_and_other_delimiters() -> None:
    """A plain list has no header to skip; semicolons and tabs also separate columns."""
    assert list(numbers_of(io.StringIO("+989100000001\nnot-a-number\n"))) == [
        "+989100000001",
        "not-a-number",
    ]
    assert list(numbers_of(io.StringIO("+989100000001;a\n+989100000002;b\n"))) == [
        "+989100000001",
        "+989100000002",
    ]
    assert list(numbers_of(io.StringIO("Phone\tName\n+989100000003\tc\n"))) == ["+989100000003"]


def test_open_numbers_unreadable(tmp_path: Path) -> None:
    """A missing file, a directory or a binary file is a usage error before anything starts."""
    for path in (tmp_path / "missing.txt", tmp_path):
        with pytest.raises(CLIError) as caught:
            open_numbers(str(path))
        assert caught.value.exit_code == ExitCode.USAGE
    # (Starting FF FE, the old sample here is now UTF-16 text: a PNG's head is binary in any.)
    binary = tmp_path / "binary.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10")
    with pytest.raises(CLIError):
        open_numbers(str(binary))


def test_open_numbers_reads_a_bom_file(tmp_path: Path) -> None:
    """A UTF-8 file with a byte-order mark (as spreadsheet programs write) reads cleanly."""
    path = tmp_path / "numbers.csv"
    path.write_bytes("\ufeffphone\n+989100000001\n".encode())
    with open_numbers(str(path)) as reader:
        assert list(reader.numbers()) == ["+989100000001"]


def test_secret_file_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    """A secret file that is not UTF-8 is a usage error (exit 2) that shows none of its bytes."""
    secret_file = tmp_path / "secret"
    secret_file.write_bytes("x9qzé-latin1".encode("latin-1"))
    with pytest.raises(CLIError) as caught:
        resolve_secret(secret_file, environ={}, interactive=False, prompt=_no_prompt)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "UTF-8" in caught.value.message
    assert "x9qz" not in caught.value.message
    assert caught.value.__suppress_context__


def test_first_column_reads_lazily() -> None:
    """Numbers are taken one line at a time: the first comes before the file is read through."""
    read: list[str] = []

    def lines() -> Iterator[str]:
        for index in range(1_000_000):
            line = f"+98910{index:07d}\r\n"
            read.append(line)
            yield line

    numbers = numbers_of(cast(TextIO, _Lines(lines())))
    assert next(numbers) == "+989100000000"
    assert next(numbers) == "+989100000001"
    assert len(read) == 2  # a pipe: the dialect is sniffed from two rows, not the whole file


class _Lines:
    """A text stream that yields the given lines, for watching how far it is read."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines

    def __iter__(self) -> Iterator[str]:
        return self._lines


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX only")
def test_open_numbers_reads_a_named_pipe(tmp_path: Path) -> None:
    """A pipe given as a path (``<(grep ... file)`` in a shell) is read, not refused."""
    fifo = tmp_path / "numbers"
    os.mkfifo(fifo)

    def write() -> None:
        with fifo.open("w", encoding="utf-8") as pipe:
            pipe.write("phone\r\n+989100000001\r\n+989100000002\r\n")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with open_numbers(str(fifo)) as reader:
            assert list(reader.numbers()) == ["+989100000001", "+989100000002"]
    finally:
        writer.join(10)
