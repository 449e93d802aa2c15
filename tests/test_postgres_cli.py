"""The command line with a PostgreSQL campaign: run, resume and status take a postgresql:// URL."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from loopback import serving
from postgres_support import campaign_url

from miogram_async.cli import cli
from miogram_async.testing import AccountConfig, FakeMioGram

SECRET = "pg-cli-secret-6d0e"
#: Put in the URL: the server trusts its socket, so it connects, and it must never be printed.
DB_PASSWORD = "db-pw-4a7c19"


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake account whose numbers all exist."""
    return FakeMioGram(AccountConfig(secret=SECRET))


@pytest.fixture
def url(fake: FakeMioGram) -> Iterator[str]:
    """The fake's loopback URL for the duration of the test."""
    with serving(fake) as served:
        yield served


def invoke(args: list[str]) -> Result:
    """Run ``miogram ARGS``; neither the secret nor the database password is ever shown."""
    result = CliRunner().invoke(
        cli, args, env={"MIOGRAM_SECRET": SECRET, "MIOGRAM_BASE_URL": None}, catch_exceptions=False
    )
    for hidden in (SECRET, DB_PASSWORD):
        assert hidden not in result.stdout
        assert hidden not in result.stderr
    return result


def with_password(server_url: str, name: str) -> str:
    """The campaign URL of *name* on *server_url*, with `DB_PASSWORD` in it."""
    parts = urllib.parse.urlsplit(campaign_url(server_url, name))
    user = parts.netloc.partition("@")[0].partition(":")[0]
    host = parts.netloc.partition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:{DB_PASSWORD}@{host}"))


def test_run_resume_and_status_with_a_database_url(
    tmp_path: Path, fake: FakeMioGram, url: str, postgres_url: str
) -> None:
    """A campaign made, resumed and read through a postgresql:// URL, its password never shown."""
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("".join(f"+98937{i:07d}\n" for i in range(25)) + "junk\n")
    journal = with_password(postgres_url, "cli")
    run = ["--base-url", url, "campaign", "run", str(numbers), "-m", "hi", "--journal", journal]
    ran = invoke([*run, "--chunk-size", "10", "--json"])
    assert ran.exit_code == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert document["counts"]["delivered"] == 25
    assert document["counts"]["invalid"] == 1
    assert document["complete"] is True
    assert str(document["journal"]).endswith("campaign=cli")
    assert len(fake.deliveries) == 25
    resumed = invoke(["--base-url", url, "campaign", "resume", journal, "--json"])
    assert resumed.exit_code == 0, resumed.stderr
    assert len(fake.deliveries) == 25  # nothing left to send
    shown = invoke(["campaign", "status", journal, "--json"])
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["counts"] == document["counts"]
    exported = invoke(["campaign", "status", journal, "--export", "csv"])
    assert exported.stdout.count("\n") == 27  # the header and 26 input items


def test_a_missing_database_campaign_is_a_usage_error(postgres_url: str) -> None:
    """Resuming a campaign the database does not hold exits 2 and names it, without a password."""
    result = invoke(["campaign", "status", with_password(postgres_url, "absent")])
    assert result.exit_code == 2
    assert "no campaign" in result.stderr
