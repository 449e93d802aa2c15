"""
A message per row: templates filled from each row, a column's text, every text checked before a
campaign exists, shared texts as Mass requests and the others as single sends, kept compactly.
"""

from __future__ import annotations

import collections
import csv
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from chunk_layout import layout
from click.testing import CliRunner, Result
from loopback import serving
from postgres_support import campaign_url

from miogram_async import MassProgress, MioGram, Outcome, ValidationError
from miogram_async.campaign import Campaign, NumbersFile, NumberState, TemplateError
from miogram_async.campaign._rows import RowTextError
from miogram_async.campaign._template import MessageTemplate
from miogram_async.cli import cli
from miogram_async.testing import AccountConfig, FakeMioGram, LimitsConfig, NumberBook

SECRET = "s3cr3t-per-row-texts"


def customers(path: Path, rows: int, *, cities: int = 10) -> Path:
    """``نام,شهر,شماره تماس`` with a distinct name, one of *cities* cities and number per row."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["نام", "شهر", "شماره تماس"])
        for n in range(rows):
            writer.writerow([f"مشتری {n}", f"شهر {n % cities}", f"0912{n:07d}"])
    return path


def number(n: int) -> str:
    """The normalised number of row *n* of `customers`."""
    return f"+98912{n:07d}"


@pytest.fixture
def fake() -> FakeMioGram:
    """A fake account on which every number is on the messenger."""
    return FakeMioGram(AccountConfig(secret=SECRET, agents=("Agent1", "Agent2")))


@pytest.fixture
def url(fake: FakeMioGram) -> Iterator[str]:
    """The fake's loopback URL for the duration of the test."""
    with serving(fake) as served:
        yield served


def invoke(args: list[str]) -> Result:
    """``miogram ARGS`` with the secret in the environment; it never shows the secret."""
    result = CliRunner().invoke(
        cli, args, env={"MIOGRAM_SECRET": SECRET, "MIOGRAM_BASE_URL": None}, catch_exceptions=False
    )
    assert SECRET not in result.stdout + result.stderr
    return result


def test_a_template_campaign_of_300_rows_gives_every_number_its_own_text_once(
    tmp_path: Path, fake: FakeMioGram, url: str
) -> None:
    """campaign run -m 'سلام {نام}' on 300 rows: the fake delivered each number its text, once."""
    numbers = customers(tmp_path / "customers.csv", 300)
    result = invoke(
        ["--base-url", url, "--json", "campaign", "run", str(numbers), "-m", "سلام {نام}"]
    )
    assert result.exit_code == 0, result.stderr
    delivered = collections.Counter((d.number, d.text) for d in fake.deliveries)
    assert delivered == collections.Counter({(number(n), f"سلام مشتری {n}"): 1 for n in range(300)})
    assert [r.func for r in fake.requests if r.func.startswith("Send")] == ["SendMessage"] * 300
    assert fake.max_state_changing_in_flight == 1
    with Campaign.open(tmp_path / "customers.sqlite") as campaign:  # the default journal
        assert campaign.status().delivered == 300
        assert campaign.template == "سلام {نام}"


async def test_rows_that_share_a_text_go_as_mass_requests_of_that_text(tmp_path: Path) -> None:
    """A {شهر} template over 10 cities: ten Mass passes, a request never mixing two texts."""
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    with NumbersFile(customers(tmp_path / "c.csv", 95)) as numbers:
        campaign = Campaign.create(
            tmp_path / "c.sqlite", numbers, message="خبر {شهر}", chunk_size=4
        )
    async with fake.client() as client:
        summary = await campaign.run(client)
    campaign.close()
    assert summary.status.delivered == 95
    sends = [r for r in fake.requests if r.func.startswith("Send")]
    assert {r.func for r in sends} == {"SendMessageMass"}
    expected = {number(n): f"خبر شهر {n % 10}" for n in range(95)}
    for request in sends:
        texts = {expected[phone] for phone in request.elements["Phone"].split(",")}
        assert texts == {request.elements["Message"]}
    assert {(d.number, d.text) for d in fake.deliveries} == set(expected.items())
    assert len(fake.deliveries) == 95


async def test_shared_and_own_texts_in_one_campaign(tmp_path: Path) -> None:
    """One text shared by ten rows, the rest alone: a Mass pass, then one send each for the rest."""
    path = tmp_path / "mixed.csv"
    rows = [("A" if n % 3 == 0 else f"solo {n}", f"0912{n:07d}") for n in range(30)]
    path.write_text("name,phone\n" + "".join(f"{a},{b}\n" for a, b in rows), encoding="utf-8")
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    with NumbersFile(path) as numbers:
        campaign = Campaign.create(tmp_path / "m.sqlite", numbers, message="Hi {name}")
    assert campaign.message == "Hi A"  # the text most numbers get is the campaign's message
    snapshots: list[MassProgress] = []
    async with fake.client() as client:
        summary = await campaign.run(client, on_progress=snapshots.append)
    assert summary.status.delivered == 30
    funcs = collections.Counter(r.func for r in fake.requests if r.func.startswith("Send"))
    # The shared text's ten numbers: a small first chunk while the pace is unknown (E49).
    mass = len(layout(10))
    assert funcs == {"SendMessageMass": mass, "SendMessage": 20}
    assert snapshots[-1].done == snapshots[-1].total == 30  # one progress over both passes
    assert snapshots[-1].by_outcome[Outcome.DELIVERED] == 30
    texts = campaign.texts([number(0), number(1), "+989990000000"])
    assert texts == {number(0): "Hi A", number(1): "Hi solo 1"}
    campaign.close()
    conn = sqlite3.connect(tmp_path / "m.sqlite")
    chunk_ids = conn.execute("SELECT run, idx FROM chunks").fetchall()
    conn.close()
    assert len(chunk_ids) == len(set(chunk_ids)) == mass + 20  # one journal, chunks numbered on


def test_placeholders_name_columns_with_spaces_persian_letters_or_a_position() -> None:
    """Placeholders with spaces, Persian letters, a position, a folded name; {{ }} are braces."""
    columns = ["ردیف", "نام مشتری", "Phone No.", "column 4"]
    template = MessageTemplate.parse("{{code}} {نام مشتری} {phone no} {2} {column 4}", columns)
    assert template.render(["1", " علی ", "0912", "x"]) == "{code} علی 0912 علی x"
    assert MessageTemplate.parse("{{}}", columns).literal() == "{}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi {city}", "names no column of the file; its columns are 'name', 'phone'"),
        ("Hi {name", "a lone '{' at character 4"),
        ("Hi name}", "a lone '}' at character 8"),
        ("Hi {}", "an empty placeholder"),
    ],
)
def test_a_template_that_does_not_fit_is_refused_before_a_journal_exists(
    tmp_path: Path, text: str, expected: str
) -> None:
    """An unknown placeholder or a lone brace: TemplateError saying what, and no journal file."""
    path = tmp_path / "n.csv"
    path.write_text("name,phone\nAli,09120000001\n", encoding="utf-8")
    with NumbersFile(path) as numbers, pytest.raises(TemplateError, match=expected):
        Campaign.create(tmp_path / "j.sqlite", numbers, message=text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.csv"]


def test_a_row_text_over_the_limit_or_empty_names_its_row_and_no_campaign_is_left(
    tmp_path: Path,
) -> None:
    """A row's text longer than message_limit, or an empty --message-column cell, names the row."""
    path = tmp_path / "n.csv"
    path.write_text(
        "name,phone,text\nAli,09120000001,hi\nSara,09120000002,\n"
        + "Long" * 10
        + ",09120000003,x\n",
        encoding="utf-8",
    )
    with (
        NumbersFile(path) as numbers,
        pytest.raises(RowTextError, match=r"row 4: .*at most 20") as too_long,
    ):
        Campaign.create(
            tmp_path / "j.sqlite", numbers, message="Hello dear {name}", message_limit=20
        )
    assert too_long.value.row == 4
    with (
        NumbersFile(path) as numbers,
        pytest.raises(RowTextError, match="row 3: its message is empty"),
    ):
        Campaign.create(tmp_path / "j.sqlite", numbers, message_column="text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.csv"]


def test_a_row_without_a_number_needs_no_text(tmp_path: Path) -> None:
    """An empty phone cell is invalid whatever its text: an empty text there stops nothing."""
    path = tmp_path / "n.csv"
    path.write_text("phone,text,name\n09120000001,hi,a\n,,b\n09120000002,yo,c\n", encoding="utf-8")
    with NumbersFile(path) as numbers:
        campaign = Campaign.create(tmp_path / "j.sqlite", numbers, message_column="text")
    with campaign:
        assert campaign.status().by_state[NumberState.INVALID] == 1
        assert campaign.texts([number(1), number(2)]) == {number(1): "hi", number(2): "yo"}
        assert campaign.message_column == "text"


def test_message_column_with_a_plain_list_or_a_media_campaign_is_refused(tmp_path: Path) -> None:
    """A column's text needs a numbers file; a media campaign has no text per row."""
    with pytest.raises(TemplateError, match="takes a NumbersFile"):
        Campaign.create(tmp_path / "a.sqlite", ["+989120000001"], message_column="text")
    path = tmp_path / "n.csv"
    path.write_text("phone,text\n09120000001,hi\n", encoding="utf-8")
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff")
    with NumbersFile(path) as numbers, pytest.raises(ValidationError, match="takes media="):
        Campaign.create(
            tmp_path / "b.sqlite", numbers, message_column="text", kind="photo", media=photo
        )


def test_a_plain_list_keeps_its_braces_and_a_file_unescapes_them(tmp_path: Path) -> None:
    """Numbers without columns send the message as given; from a file {{x}} is the literal {x}."""
    with Campaign.create(tmp_path / "a.sqlite", ["+989120000001"], message="code {x}") as plain:
        assert plain.message == "code {x}"
        assert plain.template is None
    path = tmp_path / "n.csv"
    path.write_text("phone\n09120000001\n", encoding="utf-8")
    with (
        NumbersFile(path) as numbers,
        Campaign.create(tmp_path / "b.sqlite", numbers, message="code {{x}}") as escaped,
    ):
        assert escaped.message == "code {x}"
        assert not escaped.per_row


def tables(path: Path) -> dict[str, int]:
    """Rows of the texts and extras tables of the journal at *path*."""
    conn = sqlite3.connect(path)
    try:
        return {
            name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for name in ("texts", "extras")
        }
    finally:
        conn.close()


def test_one_shared_text_costs_no_row_per_number(tmp_path: Path) -> None:
    """A plain list, or a file whose rows all make the same text: no text row, no extra row."""
    Campaign.create(tmp_path / "a.sqlite", [number(n) for n in range(500)], message="hi").close()
    assert tables(tmp_path / "a.sqlite") == {"texts": 0, "extras": 0}
    path = tmp_path / "same.csv"
    path.write_text(
        "phone,text\n" + "".join(f"0912{n:07d},same\n" for n in range(500)), encoding="utf-8"
    )
    with NumbersFile(path) as numbers:
        campaign = Campaign.create(
            tmp_path / "b.sqlite", numbers, message_column="text", keep_columns=False
        )
    with campaign:
        assert campaign.message == "same"
        assert campaign.texts([number(7)]) == {number(7): "same"}
    assert tables(tmp_path / "b.sqlite") == {"texts": 0, "extras": 0}
    with NumbersFile(customers(tmp_path / "c.csv", 500)) as numbers:
        Campaign.create(tmp_path / "c.sqlite", numbers, message="Hi {نام}").close()
    assert tables(tmp_path / "c.sqlite") == {"texts": 500, "extras": 500}


async def test_a_single_send_to_a_number_not_on_the_messenger_is_undelivered(
    tmp_path: Path,
) -> None:
    """A row's text to a missing number: 307 or false, recorded UNDELIVERED, never FAILED."""
    missing = number(1)
    fake = FakeMioGram(AccountConfig(secret=SECRET, numbers=NumberBook.except_for([missing])))
    with NumbersFile(customers(tmp_path / "c.csv", 3)) as numbers:
        campaign = Campaign.create(tmp_path / "c.sqlite", numbers, message="Hi {نام}")
    async with MioGram(secret=SECRET, transport=fake.transport(), max_retries=0) as client:
        summary = await campaign.run(client)
    campaign.close()
    assert summary.status.by_state[NumberState.UNDELIVERED] == 1
    assert summary.status.delivered == 2


async def test_a_per_row_campaign_stopped_midway_resumes_each_number_once(tmp_path: Path) -> None:
    """Cancelled after some single sends, a resume sends the rest: each number its text once."""
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    with NumbersFile(customers(tmp_path / "c.csv", 40, cities=40)) as numbers:
        campaign = Campaign.create(tmp_path / "c.sqlite", numbers, message="Hi {نام} {شهر}")

    async def stop_after_ten(snapshot: MassProgress) -> None:
        if snapshot.done >= 10:
            scope.cancel()

    async with fake.client() as client:
        with anyio.CancelScope() as scope:
            await campaign.run(client, on_progress=stop_after_ten)
        assert 10 <= campaign.status().delivered < 40
        summary = await campaign.run(client)
    campaign.close()
    assert summary.status.delivered == 40
    counts = collections.Counter((d.number, d.text) for d in fake.deliveries)
    assert counts == collections.Counter(
        {(number(n), f"Hi مشتری {n} شهر {n}"): 1 for n in range(40)}
    )


async def test_per_row_texts_in_postgresql(tmp_path: Path, postgres_url: str) -> None:
    """The same campaign kept in PostgreSQL: texts per number, Mass and single passes, export."""
    fake = FakeMioGram(AccountConfig(secret=SECRET))
    path = tmp_path / "mixed.csv"
    rows = [("A" if n % 3 == 0 else f"solo {n}", f"0912{n:07d}") for n in range(30)]
    path.write_text(
        "name,phone\n" + "".join(f"{a},{b}\n" for a, b in rows) + "X,\n", encoding="utf-8"
    )
    target = campaign_url(postgres_url, "per-row")
    with NumbersFile(path) as numbers:
        campaign = Campaign.create(target, numbers, message="Hi {name}", overwrite=True)
    assert campaign.message == "Hi A"
    assert campaign.texts([number(0), number(2)]) == {number(0): "Hi A", number(2): "Hi solo 2"}
    async with fake.client() as client:
        summary = await campaign.run(client)
    out = io.StringIO()
    campaign.export(out)
    campaign.close()
    assert summary.status.delivered == 30
    assert collections.Counter((d.number, d.text) for d in fake.deliveries) == collections.Counter(
        {(number(n), "Hi A" if n % 3 == 0 else f"Hi solo {n}"): 1 for n in range(30)}
    )
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["name"] for row in exported] == [name for name, _ in rows] + ["X"]
    assert exported[1]["message"] == "Hi solo 1"
    assert exported[-1]["state"] == "invalid"
    assert exported[-1]["message"] == ""


def test_the_command_checks_each_row_against_the_account_limit(tmp_path: Path) -> None:
    """campaign run: a row's text over APIGetLimits' message limit exits 2 naming it; no journal."""
    fake = FakeMioGram(AccountConfig(secret=SECRET, limits=LimitsConfig(message=40)))
    path = tmp_path / "c.csv"
    path.write_text(
        "name,phone\nAli,09120000001\n" + "Sara " * 8 + ",09120000002\n", encoding="utf-8"
    )
    with serving(fake) as url:
        result = invoke(["--base-url", url, "campaign", "run", str(path), "-m", "Dear {name}!"])
    assert result.exit_code == 2
    assert (
        "row 3: expected a message of at most 40 UTF-8 bytes, got 45 bytes; shorten it"
        in result.stderr
    )
    assert "no campaign was created" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv"]
    assert not [r for r in fake.requests if r.func.startswith("Send")]


def test_short_rows_keep_their_cells_in_place(tmp_path: Path) -> None:
    """A row shorter than the header keeps its cells under their columns, the missing ones empty."""
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,phone,c\nx,y,09120000001,z\nonly\np,q,09120000002\n", encoding="utf-8")
    with (
        NumbersFile(path) as numbers,
        Campaign.create(tmp_path / "r.sqlite", numbers, message="hi") as campaign,
    ):
        out = io.StringIO()
        campaign.export(out)
        assert campaign.columns == ("a", "b", "c")
    rows = [
        (row["input"], row["a"], row["b"], row["c"])
        for row in csv.DictReader(io.StringIO(out.getvalue()))
    ]
    assert rows == [
        ("09120000001", "x", "y", "z"),
        ("", "only", "", ""),
        ("09120000002", "p", "q", ""),
    ]
