"""The ``miogram`` command end to end through click's runner, against the fake on loopback."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from chunk_layout import first_chunk
from click.testing import CliRunner, Result
from loopback import serving

from miogram_async.campaign import Campaign, NumberState
from miogram_async.cli import cli
from miogram_async.cli._context import Settings
from miogram_async.testing import (
    AccountConfig,
    CreditsConfig,
    FakeMioGram,
    FaultKind,
    FaultRule,
    NumberBook,
    UndeliveredReply,
)

SECRET = "s3cr3t-never-printed"
MISSING = "+989100000009"


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake account with two agents, on which MISSING is not on the messenger."""
    return FakeMioGram(
        AccountConfig(
            secret=SECRET,
            username="cli-tester",
            agents=("Agent1", "Agent2"),
            numbers=NumberBook.except_for([MISSING]),
        )
    )


@pytest.fixture
def url(fake: FakeMioGram) -> Iterator[str]:
    """The fake's loopback URL for the duration of the test."""
    with serving(fake) as served:
        yield served


def invoke(args: list[str], *, secret: str | None = SECRET, stdin: str | None = None) -> Result:
    """Run ``miogram ARGS`` with the secret in MIOGRAM_SECRET (or none); check it is never shown."""
    runner = CliRunner()
    env = {"MIOGRAM_SECRET": secret, "MIOGRAM_BASE_URL": None}
    result = runner.invoke(cli, args, env=env, input=stdin, catch_exceptions=False)
    assert SECRET not in result.stdout
    assert SECRET not in result.stderr
    return result


def as_json(result: Result) -> dict[str, object]:
    """stdout parsed as the one JSON document it must be."""
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def test_help_lists_every_command() -> None:
    """--help names every command and the exit codes."""
    result = invoke(["--help"])
    assert result.exit_code == 0
    for command in ("send", "send-file", "account", "campaign", "fake", "demo"):
        assert command in result.stdout
    assert "130 interrupted" in result.stdout


def test_send_json_delivered(fake: FakeMioGram, url: str) -> None:
    """send --json prints {"delivered": true} and the message reaches the fake."""
    result = invoke(["--base-url", url, "send", "+989100000001", "-m", "hello", "--json"])
    assert result.exit_code == 0
    assert as_json(result) == {"ok": True, "phone": "+989100000001", "delivered": True}
    assert [(d.number, d.text) for d in fake.deliveries] == [("+989100000001", "hello")]


def test_send_not_delivered_exit_4(url: str) -> None:
    """A number that is not on the messenger: exit code 4 and delivered false."""
    result = invoke(["--json", "--base-url", url, "send", MISSING, "-m", "hello"])
    assert result.exit_code == 4
    assert as_json(result)["delivered"] is False


def test_send_human_output(url: str) -> None:
    """Without --json, send says in words what happened."""
    result = invoke(["--base-url", url, "send", "+989100000001", "--message", "hi"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "delivered to +989100000001"


def test_missing_secret_exit_2() -> None:
    """No file, no variable and no terminal: exit 2 with a message naming the ways to give it."""
    result = invoke(["send", "+989100000001", "-m", "hi"], secret=None)
    assert result.exit_code == 2
    assert "no secret given" in result.stderr
    assert "MIOGRAM_SECRET" in result.stderr
    assert "--secret-file" in result.stderr
    assert result.stdout == ""


def test_missing_secret_json_error_document() -> None:
    """With --json a missing secret also gives a JSON error document on stdout."""
    result = invoke(["--json", "account"], secret=None)
    assert result.exit_code == 2
    assert as_json(result)["error"] == {
        "kind": "no_secret",
        "message": json.loads(result.stdout)["error"]["message"],
    }


def test_secret_file_is_used(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """--secret-file is read (and wins over the environment); its content is never shown."""
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    result = invoke(
        ["--secret-file", str(secret_file), "--base-url", url, "send", "+989100000001", "-m", "x"],
        secret="wrong-secret",
    )
    assert result.exit_code == 0
    assert len(fake.deliveries) == 1


def test_wrong_secret_is_a_service_error(url: str) -> None:
    """A secret the service does not know: exit 1, the service's reason, and no secret shown."""
    result = invoke(["--json", "--base-url", url, "account"], secret="not-the-secret")
    assert result.exit_code == 1
    error = as_json(result)["error"]
    assert isinstance(error, dict)
    assert error["kind"] == "api_error"
    assert "801" in str(error["message"])
    assert "not-the-secret" not in result.stdout + result.stderr


def test_unreachable_service_is_exit_1() -> None:
    """Nothing listening at the URL: exit 1, reported as a connection problem."""
    result = invoke(["--base-url", "http://127.0.0.1:9/dojob.php", "--json", "account"])
    assert result.exit_code == 1
    error = as_json(result)["error"]
    assert isinstance(error, dict)
    assert error["kind"] == "connection"


def test_invalid_phone_is_exit_2(fake: FakeMioGram, url: str) -> None:
    """A malformed number is refused before anything is sent: exit 2."""
    result = invoke(["--base-url", url, "send", "12", "-m", "hi"])
    assert result.exit_code == 2
    assert "12" in result.stderr
    assert fake.deliveries == []


def test_send_file_guesses_photo(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """send-file picks SendPhoto for a .png and reports the kind in JSON."""
    picture = tmp_path / "logo.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    result = invoke(["--base-url", url, "send-file", "+989100000001", str(picture), "--json"])
    assert result.exit_code == 0
    assert as_json(result) == {
        "ok": True,
        "phone": "+989100000001",
        "delivered": True,
        "kind": "photo",
        "file": str(picture),
    }
    assert [d.func for d in fake.deliveries] == ["SendPhoto"]


def test_send_file_explicit_kind_and_format(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """--kind and --format override the guess."""
    notes = tmp_path / "notes.bin"
    notes.write_bytes(b"plain words")
    result = invoke(
        [
            "--base-url",
            url,
            "send-file",
            "+989100000001",
            str(notes),
            "--kind",
            "text",
            "--format",
            "txt",
            "--json",
        ]
    )
    assert result.exit_code == 0
    assert [(d.func, d.misc) for d in fake.deliveries] == [("SendText", "txt")]


def test_account_json(url: str, fake: FakeMioGram) -> None:
    """account --json gathers limits, credits, agents, IPs, ads and username in one document."""
    fake.profile = "documented"  # documented profile: APIGetIP lists the stored IPs (E37)
    result = invoke(["--base-url", url, "account", "--json"])
    assert result.exit_code == 0
    document = as_json(result)
    assert document["ok"] is True
    assert document["robots"] == ["Agent1", "Agent2"]
    assert document["username"] == "cli-tester"
    assert document["ads"] is False
    assert document["ips"] == ["*"]
    credits = document["credits"]
    assert isinstance(credits, dict)
    assert credits["message"] == CreditsConfig().message
    limits = document["limits"]
    assert isinstance(limits, dict)
    assert limits["message"] == 4096
    assert "raw" not in limits


def test_account_table(url: str) -> None:
    """account without --json prints one table with every section."""
    result = invoke(["--base-url", url, "account"])
    assert result.exit_code == 0
    for section in ("limits", "credits", "robots", "ips", "ads", "username", "cli-tester"):
        assert section in result.stdout


def write_numbers(path: Path) -> Path:
    """A CSV with a header, 4 good numbers (one written twice), one malformed and a missing one."""
    path.write_text(
        "phone,name\n"
        "+989100000001,a\n"
        "+989100000002,b\n"
        "0098 910 000 0001,a again\n"
        "not-a-number,c\n"
        f"{MISSING},d\n"
        "+989100000003,e\n",
        encoding="utf-8",
    )
    return path


def test_campaign_run_json(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """A campaign from a CSV: invalid reported INVALID and not sent, repeats sent once, exit 0."""
    numbers = write_numbers(tmp_path / "numbers.csv")
    journal = tmp_path / "c.sqlite"
    result = invoke(
        [
            "--base-url",
            url,
            "campaign",
            "run",
            str(numbers),
            "-m",
            "hi",
            "--journal",
            str(journal),
            "--robots",
            "all",
            "--chunk-size",
            "2",
            "--concurrency",
            "2",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.stderr
    document = as_json(result)
    assert document["counts"] == {
        "pending": 0,
        "sending": 0,
        "delivered": 3,
        "undelivered": 1,
        "failed": 0,
        "unknown": 0,
        "invalid": 1,
        "duplicate": 1,
        "absent": 0,
    }
    assert document["complete"] is True
    assert document["resume"] is None
    assert document["journal"] == str(journal)
    sent = sorted(d.number for d in fake.deliveries)
    assert sent == ["+989100000001", "+989100000002", "+989100000003"]
    assert {d.agent for d in fake.deliveries} == {"Agent1", "Agent2"}


def test_campaign_run_from_stdin(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """NUMBERS '-' reads the list from stdin."""
    journal = tmp_path / "c.sqlite"
    result = invoke(
        ["--base-url", url, "--json", "campaign", "run", "-", "-m", "hi", "-j", str(journal)],
        stdin="+989100000001\n+989100000002\n",
    )
    assert result.exit_code == 0, result.stderr
    assert as_json(result)["total"] == 2
    assert len(fake.deliveries) == 2


def test_campaign_run_human_summary(tmp_path: Path, url: str) -> None:
    """Without --json the run ends with the summary table and the journal's path."""
    numbers = write_numbers(tmp_path / "numbers.csv")
    journal = tmp_path / "c.sqlite"
    result = invoke(
        ["--base-url", url, "campaign", "run", str(numbers), "-m", "hi", "-j", str(journal)]
    )
    assert result.exit_code == 0
    assert "Campaign summary" in result.stdout
    assert "delivered" in result.stdout
    assert "invalid" in result.stdout
    assert str(journal) in result.stdout.replace("\n", "")


def test_campaign_run_unreadable_numbers_file(tmp_path: Path, url: str) -> None:
    """A numbers file that cannot be read: exit 2, and no journal is created."""
    journal = tmp_path / "c.sqlite"
    result = invoke(
        [
            "--base-url",
            url,
            "--json",
            "campaign",
            "run",
            str(tmp_path / "nope.csv"),
            "-m",
            "hi",
            "-j",
            str(journal),
        ]
    )
    assert result.exit_code == 2
    error = as_json(result)["error"]
    assert isinstance(error, dict)
    assert "nope.csv" in str(error["message"])
    assert not journal.exists()


def test_campaign_run_needs_exactly_one_content(tmp_path: Path) -> None:
    """No content option, or two: exit 2 before anything is read."""
    numbers = write_numbers(tmp_path / "numbers.csv")
    journal = tmp_path / "c.sqlite"
    none_given = invoke(["campaign", "run", str(numbers), "-j", str(journal)])
    assert none_given.exit_code == 2
    assert "exactly one of" in none_given.stderr
    two = invoke(
        ["campaign", "run", str(numbers), "-m", "a", "--photo", str(numbers), "-j", str(journal)]
    )
    assert two.exit_code == 2
    assert not journal.exists()


def test_campaign_run_refuses_an_existing_journal(tmp_path: Path) -> None:
    """An existing journal is never overwritten: exit 2 pointing at campaign resume."""
    numbers = write_numbers(tmp_path / "numbers.csv")
    journal = tmp_path / "c.sqlite"
    journal.write_bytes(b"precious")
    result = invoke(["campaign", "run", str(numbers), "-m", "hi", "-j", str(journal)])
    assert result.exit_code == 2
    assert "campaign resume" in result.stderr
    assert journal.read_bytes() == b"precious"


def test_campaign_stopped_by_credit_then_resumed(
    tmp_path: Path, fake: FakeMioGram, url: str
) -> None:
    """Out of credit stops the run (exit 1, resume hint); after a top-up resume completes it."""
    lines = "\n".join(f"+98910000{index:04d}" for index in range(100, 130))
    numbers = tmp_path / "numbers.txt"
    numbers.write_text(lines + "\n", encoding="utf-8")
    journal = tmp_path / "c.sqlite"
    fake.account().credits["Message"] = 10
    first = invoke(
        [
            "--base-url",
            url,
            "--json",
            "campaign",
            "run",
            str(numbers),
            "-m",
            "hi",
            "-j",
            str(journal),
            "--chunk-size",
            "5",
            "--concurrency",
            "1",
        ]
    )
    assert first.exit_code == 1
    document = as_json(first)
    stopped = document["stopped_by"]
    assert isinstance(stopped, dict)
    assert stopped["code"] == 305
    assert document["resume"] == f"miogram --base-url {url} campaign resume {journal}" + (
        " --concurrency 1"
    )
    counts = document["counts"]
    assert isinstance(counts, dict)
    assert counts["pending"] > 0

    fake.account().credits["Message"] = 1000
    second = invoke(["--base-url", url, "--json", "campaign", "resume", str(journal)])
    assert second.exit_code == 0, second.stderr
    assert as_json(second)["complete"] is True
    sent = [d.number for d in fake.deliveries]
    assert sorted(sent) == sorted(lines.split())


def test_campaign_status_json_and_table(tmp_path: Path, url: str) -> None:
    """campaign status reads the journal without a secret: JSON counts, or the table."""
    numbers = write_numbers(tmp_path / "numbers.csv")
    journal = tmp_path / "c.sqlite"
    run = invoke(
        ["--base-url", url, "campaign", "run", str(numbers), "-m", "x", "-j", str(journal)]
    )
    assert run.exit_code == 0
    status = invoke(["campaign", "status", str(journal), "--json"], secret=None)
    assert status.exit_code == 0
    document = as_json(status)
    assert document["total"] == 6
    assert document["complete"] is True
    assert document["runs"] == 1
    table = invoke(["campaign", "status", str(journal)], secret=None)
    assert table.exit_code == 0
    assert "Campaign status" in table.stdout


def test_campaign_status_export(tmp_path: Path, url: str) -> None:
    """--export csv writes every input row with its state, to stdout or to --output."""
    numbers = write_numbers(tmp_path / "numbers.csv")
    journal = tmp_path / "c.sqlite"
    invoke(["--base-url", url, "campaign", "run", str(numbers), "-m", "x", "-j", str(journal)])
    to_stdout = invoke(["campaign", "status", str(journal), "--export", "csv"], secret=None)
    assert to_stdout.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(to_stdout.stdout)))
    states = {row["input"]: row["state"] for row in rows}
    assert states["not-a-number"] == "invalid"
    assert states[MISSING] == "undelivered"
    assert states["0098 910 000 0001"] == "duplicate"
    out = tmp_path / "export.json"
    to_file = invoke(
        ["campaign", "status", str(journal), "--export", "json", "-o", str(out)], secret=None
    )
    assert to_file.exit_code == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 6


def test_campaign_status_of_a_foreign_file(tmp_path: Path) -> None:
    """A file that is not a journal: exit 2, and the file is left untouched."""
    other = tmp_path / "notes.txt"
    other.write_text("hello", encoding="utf-8")
    result = invoke(["--json", "campaign", "status", str(other)], secret=None)
    assert result.exit_code == 2
    error = as_json(result)["error"]
    assert isinstance(error, dict)
    assert error["kind"] == "campaign"
    assert other.read_text(encoding="utf-8") == "hello"


def test_demo_json_end_to_end(tmp_path: Path) -> None:
    """demo --numbers 300 --json runs a whole campaign in process; every input is accounted for."""
    journal = tmp_path / "demo.sqlite"
    result = invoke(
        ["demo", "--numbers", "300", "--journal", str(journal), "--json"],
        secret=None,
    )
    assert result.exit_code == 0, result.stderr
    document = as_json(result)
    counts = document["counts"]
    assert isinstance(counts, dict)
    assert sum(counts.values()) == 300
    assert counts["delivered"] > 0
    assert counts["undelivered"] > 0
    assert counts["invalid"] > 0
    assert counts["duplicate"] > 0
    assert counts["pending"] == 0
    with Campaign.open(journal) as campaign:
        assert campaign.status().by_state[NumberState.DELIVERED] == counts["delivered"]


def test_lost_reply_is_partial_then_resume_reconciles(
    tmp_path: Path, fake: FakeMioGram, url: str
) -> None:
    """A lost reply without the settle: exit 3 (UNKNOWN), the settle named; resume reconciles."""
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("".join(f"+98910000{i:04d}\n" for i in range(200, 212)), encoding="utf-8")
    journal = tmp_path / "c.sqlite"
    fake.inject(FaultRule(kind=FaultKind.LOST_REPLY, funcs="SendMessageMass", times=1))
    first = invoke(
        ["--base-url", url, "--json", "campaign", "run", str(numbers), "-m", "hi",
         "-j", str(journal), "--chunk-size", "4", "--concurrency", "1", "--no-settle"]
    )  # fmt: skip
    assert first.exit_code == 3, first.stderr
    counts = as_json(first)["counts"]
    assert isinstance(counts, dict)
    lost = first_chunk(4)  # the first chunk's reply was lost (small: the pace unknown, E49)
    assert counts["unknown"] == lost
    assert counts["delivered"] == 12 - lost
    # The next command is the settle, never a resume that would send nothing (issue 18).
    settle = f"miogram --base-url {url} campaign settle {journal}"
    assert as_json(first)["next"] == settle
    assert f"settle them from the agents' histories (sends nothing):  {settle}" in first.stderr
    assert "resume with:" not in first.stderr

    second = invoke(["--base-url", url, "--json", "campaign", "resume", str(journal)])
    assert second.exit_code == 0, second.stderr
    final = as_json(second)["counts"]
    assert isinstance(final, dict)
    assert final["delivered"] == 12
    assert final["unknown"] == 0
    delivered = [delivery.number for delivery in fake.deliveries]
    assert len(delivered) == len(set(delivered)) == 12


def test_photo_campaign(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """--photo runs a SendPhotoMass campaign with the file's extension."""
    numbers = write_numbers(tmp_path / "numbers.csv")
    picture = tmp_path / "card.jpg"
    picture.write_bytes(b"\xff\xd8\xff" + b"\x00" * 64)
    journal = tmp_path / "c.sqlite"
    result = invoke(
        ["--base-url", url, "--json", "campaign", "run", str(numbers), "--photo", str(picture),
         "-j", str(journal), "--rate", "50"]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert as_json(result)["kind"] == "photo"
    assert {(d.func, d.misc) for d in fake.deliveries} == {("SendPhotoMass", "jpg")}


def test_message_file_campaign(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """--message-file sends the file's text (multi-line, UTF-8)."""
    numbers = write_numbers(tmp_path / "numbers.csv")
    text = tmp_path / "message.txt"
    text.write_text("سلام\nsecond line", encoding="utf-8")
    journal = tmp_path / "c.sqlite"
    result = invoke(
        ["--base-url", url, "campaign", "run", str(numbers), "--message-file", str(text),
         "-j", str(journal)]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert {d.text for d in fake.deliveries} == {"سلام\nsecond line"}


def test_send_file_missing_file_is_usage_error(tmp_path: Path) -> None:
    """send-file with a file that does not exist: exit 2 before any secret is needed."""
    result = invoke(["send-file", "+989100000001", str(tmp_path / "nope.png")], secret=None)
    assert result.exit_code == 2
    assert "nope.png" in result.stderr


def test_bad_robots_option(tmp_path: Path) -> None:
    """--robots with no names: exit 2."""
    numbers = write_numbers(tmp_path / "numbers.csv")
    result = invoke(
        ["campaign", "run", str(numbers), "-m", "x", "-j", str(tmp_path / "c"), "--robots", ","]
    )
    assert result.exit_code == 2
    assert "--robots" in result.stderr


def test_secret_prompted_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, fake: FakeMioGram, url: str
) -> None:
    """With no file and no variable, a terminal is asked for the secret, which is not echoed."""
    monkeypatch.setattr("miogram_async.cli._context._stdin_is_tty", lambda: True)
    result = invoke(
        ["--base-url", url, "--json", "send", "+989100000001", "-m", "hi"],
        secret=None,
        stdin=SECRET + "\n",
    )
    assert result.exit_code == 0, result.stderr
    assert "MioGram secret" in result.stderr
    assert len(fake.deliveries) == 1


def test_verbose_logs_requests_without_the_secret(url: str) -> None:
    """-vv logs every request to stderr; the secret is not in the log (checked by invoke)."""
    sdk = logging.getLogger("miogram_async")
    level, handlers = sdk.level, list(sdk.handlers)
    try:
        result = invoke(["-vv", "--base-url", url, "send", "+989100000001", "-m", "hi"])
    finally:
        sdk.handlers[:] = handlers
        sdk.setLevel(level)
    assert result.exit_code == 0
    assert "SendMessage attempt 1" in result.stderr


def test_resume_refuses_a_changed_media_file(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """A media file edited since the campaign was created: exit 2 with the reason, nothing sent."""
    picture = tmp_path / "card.jpg"
    picture.write_bytes(b"\xff\xd8\xff" + b"\x00" * 64)
    journal = tmp_path / "c.sqlite"
    with Campaign.create(journal, ["+989100000001"], kind="photo", media=picture):
        pass
    picture.write_bytes(b"\xff\xd8\xff" + b"\x01" * 64)
    result = invoke(["--base-url", url, "--json", "campaign", "resume", str(journal)])
    assert result.exit_code == 2
    error = as_json(result)["error"]
    assert isinstance(error, dict)
    assert error["kind"] == "campaign"
    assert "changed" in str(error["message"])
    assert fake.deliveries == []


def test_demo_human_output_and_resume_of_a_finished_demo(tmp_path: Path) -> None:
    """demo prints the summary table; run again on its journal it resumes (nothing left: exit 0)."""
    journal = tmp_path / "demo.sqlite"
    args = ["demo", "--numbers", "120", "--journal", str(journal), "--scale", "0"]
    first = invoke(args, secret=None)
    assert first.exit_code == 0, first.stderr
    assert "Demo campaign: 120 numbers" in first.stdout
    assert "campaign of 120 made-up numbers" in first.stderr
    again = invoke(args, secret=None)
    assert again.exit_code == 0
    assert "resuming the demo campaign" in again.stderr
    assert "this run: nothing was sent" in again.stdout


def test_demo_refuses_a_real_campaign_journal(tmp_path: Path) -> None:
    """demo --journal on a journal that is not a demo's: exit 2, the journal is not touched."""
    journal = tmp_path / "real.sqlite"
    with Campaign.create(journal, ["+989100000001"], message="real text"):
        pass
    result = invoke(["demo", "--journal", str(journal), "--scale", "0"], secret=None)
    assert result.exit_code == 2
    assert "not a demo journal" in result.stderr
    with Campaign.open(journal) as campaign:
        assert campaign.status().pending == 1


def test_whatsapp_campaign(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """--whatsapp sends the text with SendMessageWhatsAppMass."""
    numbers = write_numbers(tmp_path / "numbers.csv")
    journal = tmp_path / "c.sqlite"
    result = invoke(
        ["--base-url", url, "--json", "campaign", "run", str(numbers), "-m", "hi", "--whatsapp",
         "-j", str(journal)]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert as_json(result)["kind"] == "whatsapp"
    assert {d.func for d in fake.deliveries} == {"SendMessageWhatsAppMass"}


def test_human_stop_message_and_resume_hint(tmp_path: Path, fake: FakeMioGram, url: str) -> None:
    """Without --json a stopped run names the service's reason and the resume line on stderr."""
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("+989100000001\n+989100000002\n", encoding="utf-8")
    journal = tmp_path / "c.sqlite"
    fake.account().credits["Message"] = 0
    result = invoke(
        ["--base-url", url, "campaign", "run", str(numbers), "-m", "hi", "-j", str(journal)]
    )
    assert result.exit_code == 1
    assert "stopped: the service refused" in result.stderr
    assert f"resume with:  miogram --base-url {url} campaign resume {journal}" in result.stderr
    assert "pending" in result.stdout


def test_account_partial_failure(fake: FakeMioGram, url: str) -> None:
    """One question failing: the rest is still shown, the failure is named, exit 1."""
    fake.inject(FaultRule(kind=FaultKind.HTTP_ERROR, funcs="APIGetAds"))
    result = invoke(["--base-url", url, "account", "--json"])
    assert result.exit_code == 1
    document = as_json(result)
    assert document["ok"] is False
    assert document["username"] == "cli-tester"
    assert document["ads"] is None
    errors = document["errors"]
    assert isinstance(errors, dict)
    assert list(errors) == ["ads"]
    table = invoke(["--base-url", url, "account"])
    assert table.exit_code == 1
    assert "error: unexpected reply" in table.stdout.replace("\n", " ")


def test_status_output_needs_export(tmp_path: Path) -> None:
    """--output without --export is a usage error."""
    result = invoke(["campaign", "status", str(tmp_path / "j"), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "--export" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--json", "send", "+989100000001"],  # a required option missing
        ["--json", "send", "+989100000001", "-m", "x", "--bogus"],  # an unknown option
        ["send", "+989100000001", "-m", "x", "--bogus", "--json"],  # --json after the command
        ["--json", "bogus"],  # an unknown command
        ["--json", "--bogus", "account"],  # an unknown global option
        ["--json", "campaign", "run", "-", "-m", "x", "-j", "j", "--concurrency", "0"],
    ],
    ids=["missing", "unknown-option", "json-after", "unknown-command", "global", "bad-value"],
)
def test_usage_errors_with_json_give_one_json_document(args: list[str]) -> None:
    """A usage error under --json still writes the JSON error document, and exits 2."""
    result = invoke(args)
    assert result.exit_code == 2
    error = as_json(result)["error"]
    assert isinstance(error, dict)
    assert error["kind"] == "usage"
    assert error["message"]
    assert "Usage:" in result.stderr  # the human message stays on stderr


def test_usage_error_without_json_leaves_stdout_empty() -> None:
    """Without --json a usage error writes only to stderr."""
    result = invoke(["send", "+989100000001", "--bogus"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "No such option" in result.stderr


def test_status_json_refuses_a_csv_export_to_stdout(tmp_path: Path) -> None:
    """--json with --export csv and no --output is refused: stdout holds only JSON."""
    journal = tmp_path / "j.sqlite"
    Campaign.create(journal, ["+989100000001"], message="hi").close()
    result = invoke(["--json", "campaign", "status", str(journal), "--export", "csv"])
    assert result.exit_code == 2
    assert "--output" in as_json(result)["error"]["message"]  # type: ignore[index]
    written = invoke(
        ["--json", "campaign", "status", str(journal), "--export", "csv", "-o", str(tmp_path / "o")]
    )
    assert written.exit_code == 0
    assert as_json(written)["total"] == 1
    assert (tmp_path / "o").read_text(encoding="utf-8-sig").startswith("seq,input,number,state")


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_status_export_never_overwrites_the_journal(tmp_path: Path, suffix: str) -> None:
    """--output naming the journal (or its WAL files) is refused; the journal stays readable."""
    journal = tmp_path / "j.sqlite"
    Campaign.create(journal, ["+989100000001"], message="hi").close()
    before = journal.read_bytes()
    target = tmp_path / ".." / tmp_path.name / f"j.sqlite{suffix}"  # another spelling, same file
    result = invoke(["campaign", "status", str(journal), "--export", "csv", "-o", str(target)])
    assert result.exit_code == 2
    assert "journal" in result.stderr
    assert journal.read_bytes() == before
    with Campaign.open(journal) as reopened:
        assert reopened.status().total == 1


def test_campaign_run_journal_in_a_missing_directory(tmp_path: Path) -> None:
    """A journal that cannot be created is an input error (exit 2) with a message, no traceback."""
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("+989100000001\n", encoding="utf-8")
    journal = tmp_path / "missing" / "j.sqlite"
    args = ["--json", "--base-url", "http://127.0.0.1:9/dojob.php", "campaign", "run"]
    result = invoke([*args, str(numbers), "-m", "hi", "--journal", str(journal)])
    assert result.exit_code == 2
    error = as_json(result)["error"]
    assert isinstance(error, dict)
    assert str(journal) in error["message"]
    assert not journal.parent.exists()


def test_demo_journal_in_a_missing_directory(tmp_path: Path) -> None:
    """demo --journal where no journal can be made is exit 2 with a message, no traceback."""
    journal = tmp_path / "missing" / "demo.sqlite"
    result = invoke(["--json", "demo", "--numbers", "10", "--journal", str(journal)])
    assert result.exit_code == 2
    error = as_json(result)["error"]
    assert isinstance(error, dict)
    assert str(journal) in error["message"]


@pytest.mark.parametrize(
    "url", ["notaurl", "ftp://example.com/dojob.php", "http://", "127.0.0.1:8765"]
)
def test_malformed_base_url_is_a_usage_error(url: str) -> None:
    """A --base-url that is not an http(s) URL is refused before anything is sent (exit 2)."""
    result = invoke(["--base-url", url, "send", "+989100000001", "-m", "hi"])
    assert result.exit_code == 2
    assert "--base-url" in result.stderr
    assert "may have reached the service" not in result.stderr


@pytest.mark.parametrize("command", ["send", "send-file"])
def test_number_not_found_reply_is_not_delivered(command: str, tmp_path: Path) -> None:
    """
    The gateway's 307 'Number Not Exist or Wrong' (docs/service.md E6) is exit 4, like a plain
    false.
    """
    fake = FakeMioGram(
        AccountConfig(
            secret=SECRET,
            numbers=NumberBook.except_for([MISSING]),
            undelivered_reply=UndeliveredReply.ERROR_307,
        )
    )
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8 jpeg")
    content = ["-m", "hello"] if command == "send" else [str(photo)]
    with serving(fake) as served:
        result = invoke(["--json", "--base-url", served, command, MISSING, *content])
        human = invoke(["--base-url", served, command, MISSING, *content])
    assert result.exit_code == 4
    assert as_json(result)["delivered"] is False
    assert human.exit_code == 4
    assert "not delivered" in human.stdout
    assert fake.deliveries == []


@pytest.mark.parametrize("raised", [KeyboardInterrupt, click.exceptions.Abort])
def test_ctrl_c_before_the_event_loop_is_exit_130(
    raised: type[BaseException], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C at the secret prompt (click's Abort) or before sending is exit 130, as documented."""

    def interrupted(_settings: object) -> str:
        raise raised

    monkeypatch.setattr(Settings, "secret", interrupted)
    result = invoke(["--json", "send", "+989100000001", "-m", "hi"])
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    assert as_json(result)["error"] == {"kind": "interrupted", "message": "interrupted"}


def test_campaign_run_reads_an_excel_style_csv_from_stdin(
    tmp_path: Path, fake: FakeMioGram, url: str
) -> None:
    """stdin with a BOM, a header, CRLF, blank lines, a comment and Persian digits is read right."""
    text = (
        "\ufeffphone,name\r\n\r\n+۹۸۹۱۰۰۰۰۰۰۰۱,Ali\r\n# left out\r\n"
        '"+98 910 000 0002",Sara\r\n\r\n00989100000001,again\r\nnot-a-phone,x\r\n'
    )
    journal = tmp_path / "c.sqlite"
    runner = CliRunner()
    args = ["--base-url", url, "--json", "campaign", "run", "-", "-m", "hi", "-j", str(journal)]
    result = runner.invoke(
        cli,
        args,
        env={"MIOGRAM_SECRET": SECRET},
        input=text.encode("utf-8"),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    counts = as_json(result)["counts"]
    assert isinstance(counts, dict)
    assert (counts["delivered"], counts["duplicate"], counts["invalid"]) == (2, 1, 1)
    assert sorted(d.number for d in fake.deliveries) == ["+989100000001", "+989100000002"]
