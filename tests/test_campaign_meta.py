"""A campaign's settings (`CampaignMeta`): the journal's meta rows, read back through cattrs."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from miogram_async.campaign import Campaign, CampaignError, CampaignKind, MediaRef
from miogram_async.campaign.storage import JOURNAL_VERSION, CampaignMeta, Journal

NUMBERS = [f"+98912{i:07d}" for i in range(5)]


def meta_rows(path: Path) -> dict[str, str]:
    """The journal's meta table as stored."""
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    finally:
        conn.close()


def set_rows(path: Path, changes: dict[str, str | None]) -> None:
    """Replace (or, for None, delete) meta rows of a closed journal, as another writer would."""
    conn = sqlite3.connect(path)
    try:
        for key, value in changes.items():
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            if value is not None:
                conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
        conn.commit()
    finally:
        conn.close()


def test_a_media_campaign_keeps_one_text_row_per_setting(tmp_path: Path) -> None:
    """The rows are the journal's key/value layout: JSON agents, decimal numbers, flat media."""
    photo = tmp_path / "pic.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + bytes(range(256)))
    path = tmp_path / "c.db"
    Campaign.create(
        path, NUMBERS, kind="photo", media=photo, file_format=".JPG", chunk_size=7, robots=["A1"]
    ).close()
    rows = meta_rows(path)
    created_at = rows.pop("created_at")
    assert float(created_at) > 0
    assert rows == {
        "format": "miogram-campaign",
        "schema_version": str(JOURNAL_VERSION),
        "kind": "photo",
        "chunk_size": "7",
        "robots": '["A1"]',
        "media_path": str(photo.absolute()),
        "media_sha256": hashlib.sha256(photo.read_bytes()).hexdigest(),
        "media_size": str(photo.stat().st_size),
        "file_format": "jpg",
        "default_region": "IR",
    }


def test_rows_read_back_as_the_settings_they_spell(tmp_path: Path) -> None:
    """Rows written by another writer (agents "all", no region, no file format) read as such."""
    path = tmp_path / "c.db"
    Campaign.create(path, NUMBERS, message="Hi", chunk_size=3).close()
    set_rows(path, {"robots": '"all"', "default_region": None, "chunk_size": "12"})
    with Campaign.open(path, read_only=True) as campaign:
        assert (campaign.kind, campaign.chunk_size, campaign.robots) == (
            CampaignKind.MESSAGE,
            12,
            "all",
        )
        assert campaign.message == "Hi"
        assert campaign.media is None
    set_rows(path, {"robots": '["A1", "A2"]'})
    with Campaign.open(path) as campaign:
        assert campaign.robots == ["A1", "A2"]


def test_the_settings_round_trip_through_the_rows(tmp_path: Path) -> None:
    """What a storage is created with is what it reads back, media reference included."""
    media = MediaRef(path="/srv/a.zip", sha256="ab" * 32, size=3, file_format=None)
    meta = CampaignMeta(
        kind=CampaignKind.FILE, chunk_size=9, robots=("A1", "A2"), created_at=1.25, media=media
    )
    journal = Journal.create(tmp_path / "c.db", meta=meta, inputs=NUMBERS, normalize=str)
    journal.close()
    reopened = Journal.open(tmp_path / "c.db", read_only=True)
    try:
        assert reopened.meta == meta
    finally:
        reopened.close()
    assert "file_format" not in meta_rows(tmp_path / "c.db")


@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"chunk_size": None}, "chunk_size"),
        ({"kind": "fax"}, "kind"),
        ({"robots": "{"}, "robots"),
        ({"kind": "video"}, "media.path"),
    ],
)
def test_an_incomplete_journal_is_named_and_left_untouched(
    tmp_path: Path, read_only: bool, changes: dict[str, str | None], named: str
) -> None:
    """A missing or unreadable setting is a CampaignError naming it; the file stays as it was."""
    path = tmp_path / "c.db"
    Campaign.create(path, NUMBERS, message="Hi").close()
    set_rows(path, changes)
    before = path.read_bytes()
    with pytest.raises(CampaignError, match="is incomplete") as refused:
        Campaign.open(path, read_only=read_only)
    assert named in str(refused.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.db"]
