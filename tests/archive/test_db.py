"""Opening archives: schema created on first use, old or foreign schemas refused with advice."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from archive.db import (
    ArchiveUnavailable,
    SchemaOutdated,
    SchemaTooNew,
    open_archive,
    upgrade_archive,
)


def test_first_use_creates_schema_and_wal(archive_url: str) -> None:
    archive = open_archive(archive_url)
    with archive.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        expected = {"documents", "versions", "captures", "crawl_runs", "sites", "resources", "extractions"}
        expected.add("attachments")
        assert expected <= tables
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert archive.data_dir == Path(archive_url.removeprefix("sqlite:///")).parent
    archive.close()


def test_a_newer_archive_is_refused(archive_url: str) -> None:
    open_archive(archive_url).close()
    path = archive_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(SchemaTooNew, match="newer koege-archive"):
        open_archive(archive_url)


def test_a_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE recipes (id INTEGER)")
    with pytest.raises(SchemaOutdated, match="not a koege-archive archive"):
        open_archive(f"sqlite:///{path}")


def test_upgrade_keeps_rows_and_is_idempotent(archive_url: str) -> None:
    archive = open_archive(archive_url)
    with archive.writing() as session:
        session.execute(
            text("INSERT INTO sites (key, name, canonical_origin) VALUES ('koege', 'Køge', 'https://www.koege.dk')")
        )
    archive.close()
    before, after = upgrade_archive(archive_url)
    assert before == after
    archive = open_archive(archive_url)
    with archive.reading() as session:
        assert session.execute(text("SELECT key FROM sites")).scalars().all() == ["koege"]
    archive.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("nosuchdb://x/y", "cannot use"),
        ("sqlite:////proc/koege/archive.sqlite", "cannot create the folder"),
    ],
)
def test_bad_archive_urls_say_what_to_do(url: str, message: str) -> None:
    with pytest.raises(ArchiveUnavailable, match=message):
        open_archive(url)


def test_missing_archive_is_not_created_when_reading(tmp_path: Path) -> None:
    with pytest.raises(ArchiveUnavailable, match="no archive at"):
        open_archive(f"sqlite:///{tmp_path / 'none.sqlite'}", create=False)
