"""The ``miogram`` command's pure pieces: kind guessing, tables, the progress display, demo data."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from miogram_async import (
    APIConnectionError,
    APIResponseError,
    InvalidSecretError,
    MassProgress,
    MioGramError,
    Outcome,
    ValidationError,
    normalize_phone,
)
from miogram_async.cli import ExitCode
from miogram_async.cli._context import translate_error
from miogram_async.cli._demo_data import demo_numbers
from miogram_async.cli._progress import CampaignDisplay, summary_table
from miogram_async.cli._single import guess_kind


def render(renderable: object) -> str:
    """Render *renderable* as plain text, 100 columns wide."""
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(renderable)
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue()


def test_exit_codes_are_the_documented_ones() -> None:
    """The exit codes scripts branch on keep their values."""
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "SERVICE_ERROR": 1,
        "USAGE": 2,
        "PARTIAL": 3,
        "NOT_DELIVERED": 4,
        "INTERRUPTED": 130,
    }


def test_guess_kind_from_file_names() -> None:
    """Images are photos, videos videos, audio audio, text text, PDFs documents, the rest files."""
    names = ["a.jpg", "a.PNG", "a.mp4", "a.mp3", "a.txt", "a.pdf", "a.docx", "a.zip", "noext"]
    assert [guess_kind(Path(name)) for name in names] == [
        "photo",
        "photo",
        "video",
        "audio",
        "text",
        "document",
        "document",
        "file",
        "file",
    ]


def test_translate_error_exit_codes() -> None:
    """Validation is a usage error (2); service, connection and reply errors are 1."""
    cases: list[tuple[MioGramError, ExitCode, str]] = [
        (ValidationError("bad phone"), ExitCode.USAGE, "validation"),
        (
            InvalidSecretError(801, "Invalid Secret", "APIGetLimits"),
            ExitCode.SERVICE_ERROR,
            "api_error",
        ),
        (APIConnectionError("refused", sent=False), ExitCode.SERVICE_ERROR, "connection"),
        (APIResponseError("not JSON", 502, "<html>"), ExitCode.SERVICE_ERROR, "bad_reply"),
    ]
    for error, code, kind in cases:
        translated = translate_error(error)
        assert (translated.exit_code, translated.kind) == (code, kind)


def test_summary_table_shows_only_what_occurred() -> None:
    """Rows for the outcomes that occurred, with shares and a total; details follow the table."""
    text = render(
        summary_table(
            {"delivered": 75, "undelivered": 25, "failed": 0},
            title="Summary",
            details={"journal": "/tmp/j.sqlite"},
        )
    )
    assert "delivered" in text
    assert "75.0%" in text
    assert "25.0%" in text
    assert "failed" not in text
    assert "100" in text
    assert "journal: /tmp/j.sqlite" in text


def test_progress_display_renders_counts() -> None:
    """A snapshot shows done/total, the rate and the running counts per outcome."""
    console = Console(file=io.StringIO(), width=100, color_system=None)
    by_outcome = dict.fromkeys(Outcome, 0) | {Outcome.DELIVERED: 40, Outcome.UNDELIVERED: 10}
    snapshot = MassProgress(
        done=50,
        total=200,
        by_outcome=by_outcome,
        chunks_done=5,
        chunks_in_flight=2,
        rate=25.0,
        elapsed=2.0,
        eta=6.0,
    )
    with CampaignDisplay(console, title="sending") as display:
        display.update(snapshot)
    output = console.file
    assert isinstance(output, io.StringIO)
    text = output.getvalue()
    assert "50/200" in text
    assert "25.0/s" in text
    assert "0:00:06" in text
    assert "delivered 40" in text
    assert "undelivered 10" in text
    assert "s/number" not in text  # no pace measured yet
    assert display.last == snapshot


def test_progress_display_shows_the_pace_and_the_chunk_size() -> None:
    """Once measured, the gateway's pace and the latest chunk's size follow the counts (E49)."""
    console = Console(file=io.StringIO(), width=120, color_system=None)
    snapshot = MassProgress(
        done=12,
        total=400,
        by_outcome=dict.fromkeys(Outcome, 0) | {Outcome.DELIVERED: 12},
        chunks_done=2,
        chunks_in_flight=0,
        rate=0.5,
        elapsed=24.0,
        eta=776.0,
        chunk_size=8,
        pace=2.04,
    )
    with CampaignDisplay(console, title="sending") as display:
        display.update(snapshot)
    output = console.file
    assert isinstance(output, io.StringIO)
    assert "delivered 12  2.04 s/number, chunks of 8" in output.getvalue()


def test_demo_numbers_are_repeatable_and_mixed() -> None:
    """The demo list is the same for a seed and holds malformed and repeated numbers."""
    first = list(demo_numbers(2000, seed=7))
    assert first == list(demo_numbers(2000, seed=7))
    valid: list[str] = []
    invalid = 0
    for number in first:
        try:
            valid.append(normalize_phone(number))
        except ValidationError:
            invalid += 1
    repeats = len(valid) - len(set(valid))
    assert 10 < invalid < 60
    assert 20 < repeats < 100


def test_main_without_the_cli_extra() -> None:
    """Without rich (or click) installed, main() says which extra to install and exits 2."""
    code = (
        "import sys; sys.modules['rich'] = None\n"
        "from miogram_async.cli import main\n"
        "main(['--help'])\n"
    )
    process = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert process.returncode == 2
    assert "pip install 'miogram-async[cli]'" in process.stderr
    assert process.stdout == ""
