"""The PostgreSQL connection settings the send gate and the campaign storage share (`_pg`)."""

from __future__ import annotations

from pathlib import Path

from miogram_async._base.pg import KEEPALIVES, connect, is_database_url, redact, split_param


def test_a_database_url_is_told_from_a_path() -> None:
    """postgresql:// and postgres:// (any case) name a database; paths and other URLs do not."""
    assert is_database_url("postgresql://db/app")
    assert is_database_url("POSTGRES://db/app")
    assert not is_database_url("journal.db")
    assert not is_database_url(Path("postgresql:/db"))
    assert not is_database_url("mysql://db/app")


def test_redact_drops_the_password_from_the_user_part_and_the_query() -> None:
    """The shown URL keeps user, host, path and other parameters, in order, and appends more."""
    url = "postgresql://me:hunter2@db:5432/app?sslmode=require&password=s3cret&application_name=x"
    shown = redact(url, append=[("campaign", "spring")])
    assert "hunter2" not in shown
    assert "s3cret" not in shown
    assert shown == (
        "postgresql://me@db:5432/app?sslmode=require&application_name=x&campaign=spring"
    )
    assert redact("postgresql://db/app") == "postgresql://db/app"


def test_split_param_takes_every_occurrence_out() -> None:
    """A parameter libpq must not see is removed, its values returned in order."""
    rest, values = split_param(
        "postgresql://db/app?campaign=a&sslmode=require&campaign=b", "campaign"
    )
    assert rest == "postgresql://db/app?sslmode=require"
    assert values == ["a", "b"]
    assert split_param("postgresql://db/app", "campaign") == ("postgresql://db/app", [])


def test_connect_asks_for_keepalives_and_commits_each_statement(postgres_url: str) -> None:
    """The connection carries the client keepalives, autocommits, and the server took the SETs."""
    conn = connect(postgres_url)
    try:
        parameters = conn.info.get_parameters()
        assert {key: parameters.get(key) for key in KEEPALIVES} == dict(KEEPALIVES)
        assert conn.autocommit
        # Over this unix socket the server reads them as 0, but says the session set them.
        sources = conn.execute(
            "SELECT name, source FROM pg_settings WHERE name LIKE 'tcp_keepalives_%'"
        ).fetchall()
        assert sorted(sources) == [
            ("tcp_keepalives_count", "session"),
            ("tcp_keepalives_idle", "session"),
            ("tcp_keepalives_interval", "session"),
        ]
    finally:
        conn.close()
