"""Schema 0003 (schedules, run quality, process of a run, suppressions): a 0002 archive upgrades whole."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from archive.models import Base

T0 = dt.datetime(2025, 5, 1, 9, 30)
BODY = "<html><body><h1>Grøn vækst</h1><p>Brødtekst om vækst</p></body></html>".encode()
DIGEST = hashlib.sha256(BODY).hexdigest()
URL = "https://www.koege.dk/nyheder/2025/maj/groen-vaekst"
NEW_TABLES = ("schedules", "run_quality", "suppressions", "suppression_audit")

# One of each row a 0002 archive holds, written with plain SQL as the 0002 software wrote them.
ROWS_0002 = [
    "INSERT INTO sites (id, key, name, canonical_origin, listings_walked_at)"
    " VALUES (1, 'koege', 'Køge Kommune', 'https://www.koege.dk', :t0)",
    "INSERT INTO crawl_runs (id, sites, started_at, finished_at, status, finish_reason, software_version,"
    " pages_fetched, listings_read, new, changed, unchanged, not_modified, removed, restored, failed, skipped,"
    " skipped_reasons, stats)"
    " VALUES (1, 'koege', :t0, :t0, 'finished', 'finished', '0.2.0', 40, 5, 39, 0, 0, 0, 0, 0, 1, 3, '{}', '{}')",
    "INSERT INTO crawl_runs (id, sites, started_at, status, software_version, pages_fetched, listings_read, new,"
    " changed, unchanged, failed, skipped, skipped_reasons, stats)"
    " VALUES (2, 'koege', :t0, 'running', '0.2.0', 0, 0, 0, 0, 0, 0, 0, '{}', '{}')",
    "INSERT INTO payloads (digest, length, compression, data) VALUES (:digest, :length, 'zlib', :blob)",
    "INSERT INTO documents (id, site_id, url, first_seen, last_seen, latest_version, etag, last_status)"
    " VALUES (1, 1, :url, :t0, :t0, 1, '\"e1\"', 200)",
    "INSERT INTO captures (id, run_id, document_id, url, canonical_url, fetched_at, http_status, headers,"
    " content_type, encoding, payload_digest)"
    " VALUES (1, 1, 1, :url, :url, :t0, 200, '{}', 'text/html', 'utf-8', :digest)",
    "INSERT INTO versions (id, document_id, version, title, lead, text, published, content_hash, first_seen,"
    " last_seen, capture_id, run_id, extractor) VALUES (1, 1, 1, 'Grøn vækst', 'Manchet', 'Brødtekst om vækst',"
    " '2025-05-01', 'h1', :t0, :t0, 1, 1, 'test')",
    "INSERT INTO document_events (id, document_id, kind, at, run_id, http_status, url)"
    " VALUES (1, 1, 'removed', :t0, 1, 404, :url)",
]
OLD_TABLES = ("sites", "crawl_runs", "payloads", "documents", "captures", "versions", "document_events")


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "archive:migrations")
    return cfg


def _migrate(url: str, revision: str) -> None:
    engine = create_engine(url)
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_0002(request: pytest.FixtureRequest, archive_url: str) -> str:
    """An archive at schema 0002 holding a site, two runs (one unfinished), a document and its rows."""
    url = archive_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    _migrate(url, "0002")
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in ROWS_0002:
            conn.execute(
                text(statement),
                {"t0": T0, "url": URL, "blob": zlib.compress(BODY), "digest": DIGEST, "length": len(BODY)},
            )
    engine.dispose()
    return url


def _rows(url: str, table: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
    engine.dispose()
    return rows


def test_0003_keeps_every_row_and_adds_the_operations_tables(archive_0002: str) -> None:
    before = {t: _rows(archive_0002, t) for t in OLD_TABLES}
    _migrate(archive_0002, "0003")

    engine = create_engine(archive_0002)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0003"
        runs = conn.execute(text("SELECT id, status, new, pid, host FROM crawl_runs ORDER BY id")).all()
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    # Old rows are untouched apart from the two new, empty columns of crawl_runs.
    for table in OLD_TABLES:
        after = _rows(archive_0002, table)
        if table == "crawl_runs":
            after = [row[:-2] for row in after]
        assert after == before[table], table
    assert [tuple(r) for r in runs] == [(1, "finished", 39, None, None), (2, "running", 0, None, None)]
    assert set(NEW_TABLES) <= tables

    # The new tables take rows as the software writes them.
    engine = create_engine(archive_0002)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO schedules (site, every_seconds, crawl_args, created_at, created_by)"
                " VALUES ('koege', 3600, :args, :t0, 'arkivar')"
            ),
            {"args": json.dumps(["--base-url", "http://127.0.0.1:1"]), "t0": T0},
        )
        conn.execute(
            text(
                "INSERT INTO run_quality (run_id, site, pages, listings_read, listings_empty, listing_links, articles,"
                " missing_title, missing_published, missing_text, not_found, errors)"
                " VALUES (1, 'koege', 40, 5, 0, 39, 39, 0, 1, 0, 1, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO suppressions (document_id, url, reason, suppressed_by, suppressed_at)"
                " VALUES (1, :url, 'GDPR', 'arkivar', :t0)"
            ),
            {"url": URL, "t0": T0},
        )
        conn.execute(
            text(
                "INSERT INTO suppression_audit (suppression_id, document_id, url, action, by, at, reason)"
                " VALUES (1, 1, :url, 'suppress', 'arkivar', :t0, 'GDPR')"
            ),
            {"url": URL, "t0": T0},
        )
        with pytest.raises(Exception, match="(?i)unique"), conn.begin_nested():
            conn.execute(
                text(
                    "INSERT INTO schedules (site, cron, crawl_args, created_at, created_by)"
                    " VALUES ('koege', '0 6 * * *', '[]', :t0, 'arkivar')"
                ),
                {"t0": T0},
            )
    engine.dispose()


def test_0003_matches_the_models_of_its_tables(archive_url: str) -> None:
    """The migration creates exactly what archive.models.ops and CrawlRun.pid/host declare."""
    Path(archive_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    _migrate(archive_url, "0003")
    engine = create_engine(archive_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, Base.metadata)
    engine.dispose()

    def _about_0003(diff: object) -> bool:
        flat = json.dumps(diff, default=str)
        return any(f"'{t}'" in flat or f'"{t}"' in flat or f"{t}." in flat for t in NEW_TABLES) or any(
            f"crawl_runs.{c}" in flat or f"'{c}'" in flat for c in ("pid", "host")
        )

    assert [d for d in diffs if _about_0003(d)] == []


def test_0003_downgrades_to_0002(archive_0002: str) -> None:
    _migrate(archive_0002, "0003")
    engine = create_engine(archive_0002)
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        columns = {c["name"] for c in inspect(conn).get_columns("crawl_runs")}
    engine.dispose()
    assert not set(NEW_TABLES) & tables
    assert {"pid", "host"}.isdisjoint(columns)
    assert len(_rows(archive_0002, "documents")) == 1
