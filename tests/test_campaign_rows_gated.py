"""
A message per row (issue 20) through the send gate (issue 19), settled from the agents' histories
(issue 18): Mass passes of shared texts and single sends of the others start only once the gate
lets them through, the settle reads each number's own text through the campaign's gate, exports
never carry a live formula, and a row's text holding the secret never makes a journal.
"""

from __future__ import annotations

import collections
import csv
import io
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import anyio
import openpyxl
import pytest
from chunk_layout import layout
from click.testing import CliRunner
from loopback import serving
from postgres_support import campaign_url

from miogram_async import FileSendGate, MioGram, PostgresSendGate
from miogram_async._gates.default import machine_gate_folder, machine_gate_name
from miogram_async.campaign import Campaign, NumbersFile, NumberState
from miogram_async.campaign._rows import RowTextError
from miogram_async.cli import cli
from miogram_async.testing import (
    AccountConfig,
    FakeMioGram,
    FaultKind,
    FaultRule,
    Faults,
    LimitsConfig,
    TimeModel,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock, POSIX signals")

SECRET = "rows-through-the-gate-secret-7d1f"
MIOGRAM = (sys.executable, "-m", "miogram_async")
SHARED = 10  # rows that share the text "Hi team"
OWN = 10  # rows whose text is theirs alone


def number(n: int) -> str:
    """The normalised number of row *n* of `mixed_rows`."""
    return f"+98912{n:07d}"


def mixed_rows(path: Path) -> dict[str, str]:
    """A ``who,phone`` file: `SHARED` rows of ``team``, then `OWN` rows of their own; the texts."""
    whos = ["team"] * SHARED + [f"solo {n}" for n in range(SHARED, SHARED + OWN)]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["who", "phone"])
        for n, who in enumerate(whos):
            writer.writerow([who, f"0912{n:07d}"])
    return {number(n): f"Hi {who}" for n, who in enumerate(whos)}


def sent_to(fake: FakeMioGram) -> set[str]:
    """Every number a send request of the fake carried."""
    numbers: set[str] = set()
    for request in fake.requests:
        if request.func.startswith("Send"):
            numbers.update(request.elements["Phone"].split(","))
    return numbers


def states(campaign: Campaign) -> dict[str, dict[str, str]]:
    """The CSV export's rows by number."""
    out = io.StringIO()
    campaign.export(out)
    return {row["number"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}


@pytest.mark.slow
async def test_a_per_row_run_killed_at_the_gate_among_its_single_sends_leaves_them_pending(
    tmp_path: Path,
) -> None:
    """
    SIGKILLed while a single send waits at the host's gate, after the Mass pass: every number no
    request carried is pending (none in doubt), and a resume gives each number its text once.
    """
    texts = mixed_rows(tmp_path / "mixed.csv")
    journal = tmp_path / "mixed.sqlite"
    # A number takes 0.1 s: the Mass pass of ten takes a second, a single send a tenth.
    fake = FakeMioGram(
        AccountConfig(secret=SECRET), time_model=TimeModel.realistic(scale=0.1, pace=1.0)
    )
    environment = {**os.environ, "MIOGRAM_SECRET": SECRET, "PYTHONPATH": os.pathsep.join(sys.path)}
    async with fake.serve() as base_url:
        folder = machine_gate_folder()
        assert isinstance(folder, Path)
        # The worker's machine-wide gate, tried every millisecond: it gets in between two of the
        # worker's requests (the worker waits for its rate limit's token before its gate).
        gate = FileSendGate(folder, name=machine_gate_name(base_url), poll=0.001, max_poll=0.001)
        worker = await anyio.open_process(
            [
                *MIOGRAM,
                "--base-url",
                base_url,
                "campaign",
                "run",
                str(tmp_path / "mixed.csv"),
                "-m",
                "Hi {who}",
                "-j",
                str(journal),
                # A request a second: the worker's requests leave gaps at its gate.
                "--rate",
                "1",
            ],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with anyio.fail_after(60):
                # The Mass pass's last chunk is at the gateway (a small first chunk goes before it
                # while the pace is unknown, E49): take the gate the single sends need next.
                shared = {number(n) for n in range(SHARED)}
                while not shared <= sent_to(fake):  # noqa: ASYNC110 - polling the fake
                    await anyio.sleep(0.01)
                await gate.acquire()
            try:
                # The worker's next single send has its token (a second) and waits at the gate.
                await anyio.sleep(2.0)
                assert worker.returncode is None
                worker.send_signal(signal.SIGKILL)
                await worker.wait()
            finally:
                await gate.release(0.0)
        finally:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
        carried = sent_to(fake)
        assert {number(n) for n in range(SHARED)} <= carried  # the Mass pass went
        with Campaign.open(journal) as campaign:
            left = states(campaign)
            status = campaign.status()
            never = set(texts) - carried
            # Killed at the gate among the single sends: some of them never left.
            assert never
            assert never <= {number(n) for n in range(SHARED, SHARED + OWN)}
            assert {left[n]["state"] for n in never} == {NumberState.PENDING}
            # Only what a request carried may be in doubt.
            in_doubt = {n for n, row in left.items() if row["state"] != NumberState.PENDING}
            assert in_doubt <= carried
            assert status.pending == len(never)
            async with MioGram(SECRET, base_url=base_url, max_retries=0) as client:
                summary = await campaign.run(client)
    assert summary.status.delivered == len(texts)
    delivered = collections.Counter((d.number, d.text) for d in fake.deliveries)
    assert delivered == collections.Counter(texts.items())  # each its own text, once
    assert fake.max_state_changing_in_flight == 1


async def test_a_single_send_and_a_mass_chunk_answered_999_settle_from_each_numbers_own_text(
    tmp_path: Path,
) -> None:
    """
    The first Mass chunk of the shared text dies after its first number and one single send after
    its number: the run's settle finds each delivered number's own text in its agent's history
    (DELIVERED), the rest of that chunk ABSENT, and a resend of those gives each its own text once.
    """
    texts = mixed_rows(tmp_path / "mixed.csv")
    # The shared text's chunks: a small first one on each agent while the pace is unknown (E49).
    first = layout(SHARED, agents=2)[0]
    handed = 1
    fake = FakeMioGram(
        AccountConfig(secret=SECRET, agents=("Agent1", "Agent2")),
        faults=Faults.of(
            FaultRule(
                kind=FaultKind.GATEWAY_DIES, funcs={"SendMessageMass"}, times=1, handed=handed
            ),
            FaultRule(
                kind=FaultKind.GATEWAY_DIES, funcs={"SendMessage"}, after=4, times=1, handed=1
            ),
        ),
    )
    with NumbersFile(tmp_path / "mixed.csv") as numbers:
        campaign = Campaign.create(tmp_path / "c.sqlite", numbers, message="Hi {who}")
    with campaign:
        async with fake.client() as client:
            summary = await campaign.run(client)
            await fake.wait_idle()
            after_settle = states(campaign)
            delivered_first = {d.number: d.text for d in fake.deliveries}
            again = await campaign.run(client, resend_absent=True)
            await fake.wait_idle()
    mass_delivered = {number(n) for n in range(handed)}
    single_999 = number(SHARED + 4)  # the fifth single send
    assert delivered_first == {n: texts[n] for n in delivered_first}
    assert mass_delivered | {single_999} <= set(delivered_first)
    assert summary.settled is not None
    assert summary.settled.delivered == handed + 1
    assert summary.settled.absent == first - handed
    for settled in [*mass_delivered, single_999]:
        row = after_settle[settled]
        assert row["state"] == NumberState.DELIVERED
        assert row["error"].startswith("history of Agent")
        assert row["message"] == texts[settled]
    absent = {n for n, row in after_settle.items() if row["state"] == NumberState.ABSENT}
    assert absent == {number(n) for n in range(handed, first)}
    assert summary.status.by_state[NumberState.UNKNOWN] == 0
    assert again.sent == len(absent)
    delivered = collections.Counter((d.number, d.text) for d in fake.deliveries)
    assert delivered == collections.Counter(texts.items())
    assert fake.max_state_changing_in_flight == 1


async def test_a_postgres_per_row_settle_reads_through_the_campaigns_gate(
    tmp_path: Path, postgres_url: str
) -> None:
    """Campaign.settle of a PostgreSQL campaign: no history read while its database gate is held."""
    texts = mixed_rows(tmp_path / "mixed.csv")
    fake = FakeMioGram(
        AccountConfig(secret=SECRET),
        faults=Faults.of(
            FaultRule(kind=FaultKind.GATEWAY_DIES, funcs={"SendMessage"}, times=1, handed=1)
        ),
    )
    url = campaign_url(postgres_url, "rows-settle-gate")
    with NumbersFile(tmp_path / "mixed.csv") as numbers:
        Campaign.create(url, numbers, message="Hi {who}", overwrite=True).close()
    with Campaign.open(url) as campaign:
        async with fake.client() as client:
            first = await campaign.run(client, settle=False)
            assert first.status.by_state[NumberState.UNKNOWN] == 1
            reads_before = sum(1 for r in fake.requests if r.func == "GetHistory")
            summaries = []
            async with PostgresSendGate(postgres_url) as held:
                await held.acquire()  # another worker's request is in flight
                released = False
                try:
                    async with anyio.create_task_group() as group:

                        async def settle() -> None:
                            summaries.append(await campaign.settle(client))

                        group.start_soon(settle)
                        await anyio.sleep(0.5)
                        # Waiting at the campaign's gate: no history read has left.
                        reads = sum(1 for r in fake.requests if r.func == "GetHistory")
                        assert reads == reads_before
                        released = True
                        await held.release(0.0)
                finally:
                    if not released:
                        await held.release(0.0)
    (summary,) = summaries
    assert summary.settled is not None
    assert summary.settled.delivered == 1
    unknown = number(SHARED)  # the first single send, answered 999 after it was delivered
    with Campaign.open(url, read_only=True) as reader:
        row = states(reader)[unknown]
    assert row["state"] == NumberState.DELIVERED
    assert row["message"] == texts[unknown]
    assert [r.elements["Phone"] for r in fake.requests if r.func == "GetHistory"][:1] == [unknown]


def test_an_export_of_a_per_row_campaign_never_carries_a_live_formula(tmp_path: Path) -> None:
    """Cells, headers and row texts starting with = or @: quoted in CSV, text cells in .xlsx."""
    path = tmp_path / "hostile.csv"
    cells = [
        ('=HYPERLINK("http://evil.example","x")', "@SUM(1+1)"),
        ("@cmd|' /C calc'!A0", "=1+2"),
        ("plain", "#N/A"),
    ]
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["name", "=note", "phone"])
        for n, (name, note) in enumerate(cells):
            writer.writerow([name, note, f"0912{n:07d}"])
    with NumbersFile(path) as numbers:
        campaign = Campaign.create(tmp_path / "c.sqlite", numbers, message="{name}")
    with campaign:
        out = io.StringIO()
        campaign.export(out)
        campaign.export(tmp_path / "out.xlsx", "xlsx")
    table = list(csv.reader(io.StringIO(out.getvalue())))
    header, rows = table[0], table[1:]
    assert header[-3:] == ["name", "'=note", "message"]
    for (name, note), row in zip(cells, rows, strict=True):
        assert row[-3:] == [
            "'" + name if name[0] in "=@" else name,
            "'" + note if note[0] in "=@" else note,
            "'" + name if name[0] in "=@" else name,  # the row's text: its name
        ]
    assert all(not cell.startswith(("=", "@")) for row in table for cell in row)

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert sheet is not None
    got = [list(row) for row in sheet.iter_rows()]
    assert [cell.value for cell in got[0]][-3:] == ["name", "=note", "message"]
    for (name, note), sheet_row in zip(cells, got[1:], strict=True):
        assert [cell.value for cell in sheet_row][-3:] == [name, note, name]
    # No formula and no error value anywhere: every text is a text cell, shown as written.
    assert not [cell for line in got for cell in line if cell.data_type in ("f", "e")]
    with zipfile.ZipFile(tmp_path / "out.xlsx") as workbook:
        xml = workbook.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    assert 't="e"' not in xml
    assert stat_mode(tmp_path / "out.xlsx") == 0o600


def stat_mode(path: Path) -> int:
    """The permission bits of *path*."""
    return path.stat().st_mode & 0o777


def test_a_template_rendering_the_secret_is_refused_before_a_journal_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row's text holding the secret: create and campaign run name the row; no journal."""
    path = tmp_path / "rows.csv"
    path.write_text(
        f"code,phone\nA-1,09120000001\n{SECRET},09120000002\nB-3,09120000003\n", encoding="utf-8"
    )
    journal = tmp_path / "c.sqlite"
    # The SDK: the secret given, or in the environment; a template or a message column.
    for given, template, column in (
        (SECRET, "Your code is {code}", None),
        (None, None, "code"),
    ):
        if given is None:
            monkeypatch.setenv("MIOGRAM_SECRET", SECRET)
        with NumbersFile(path) as numbers, pytest.raises(RowTextError) as refused:
            Campaign.create(journal, numbers, message=template, message_column=column, secret=given)
        assert refused.value.row == 3
        assert "holds the account's secret" in str(refused.value)
        assert SECRET not in str(refused.value)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]
    monkeypatch.delenv("MIOGRAM_SECRET")

    # The CLI, with the secret from a file (not in the environment): refused, nothing sent.
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    secret_file.chmod(0o600)
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    with serving(fake) as url:
        result = CliRunner().invoke(
            cli,
            [
                "--base-url",
                url,
                "--secret-file",
                str(secret_file),
                "campaign",
                "run",
                str(path),
                "-m",
                "Your code is {code}",
                "-j",
                str(journal),
            ],
            env={"MIOGRAM_SECRET": None, "MIOGRAM_SEND_GATE": None, "MIOGRAM_BASE_URL": None},
            catch_exceptions=False,
        )
    assert result.exit_code == 2, result.output
    assert "row 3" in result.stderr
    assert "holds the account's secret" in result.stderr
    assert "no campaign was created" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert not journal.exists()
    assert not [r for r in fake.requests if r.func.startswith("Send")]


async def test_a_single_send_over_the_accounts_limit_fails_alone_and_is_recorded(
    tmp_path: Path,
) -> None:
    """A row's text over the limit, found as it is sent: FAILED in the journal, nothing sent."""
    path = tmp_path / "rows.csv"
    long = "x" * 30
    path.write_text(
        f"who,phone\nA,09120000001\nA,09120000002\n{long},09120000003\nB,09120000004\n",
        encoding="utf-8",
    )
    fake = FakeMioGram(AccountConfig(secret=SECRET, limits=LimitsConfig(message=20)))
    with NumbersFile(path) as numbers:
        campaign = Campaign.create(tmp_path / "c.sqlite", numbers, message="Hi {who}")
    with campaign:
        async with fake.client(check_limits=True) as client:
            summary = await campaign.run(client)
        left = states(campaign)
    too_long = number(3)  # the third row
    assert left[too_long]["state"] == NumberState.FAILED  # not left pending for every resume
    assert "at most 20 UTF-8 bytes" in left[too_long]["error"]
    assert summary.status.by_state[NumberState.FAILED] == 1
    assert summary.status.delivered == 3
    assert too_long not in sent_to(fake)
    assert summary.status.chunks_in_doubt == 0


def test_campaign_check_names_a_row_holding_the_secret_without_showing_it(tmp_path: Path) -> None:
    """campaign check with the secret: the row holding it is a problem (exit 2), never shown."""
    path = tmp_path / "rows.csv"
    path.write_text(
        f"code,phone\n{SECRET},09120000001\nA-2,09120000002\nB-3,09120000003\n", encoding="utf-8"
    )
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    with serving(fake) as url:
        result = CliRunner().invoke(
            cli,
            ["--base-url", url, "campaign", "check", str(path), "-m", "Your code is {code}"],
            env={"MIOGRAM_SECRET": SECRET, "MIOGRAM_SEND_GATE": None, "MIOGRAM_BASE_URL": None},
            catch_exceptions=False,
        )
    assert result.exit_code == 2, result.output
    assert "message problem: row 2: its message holds the account's secret" in result.stdout
    assert "message (row 3): Your code is A-2" in result.stdout  # the first one it may show
    assert "a run would be refused" in result.stdout
    assert SECRET not in result.stdout + result.stderr
    assert not [r for r in fake.requests if r.func.startswith("Send")]
