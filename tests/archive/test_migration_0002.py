"""Schema 0002 (recrawls, events, duplicates): an archive of schema 0001 with rows upgrades whole."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from tests.conftest import run_cli

T0 = dt.datetime(2024, 3, 1, 9, 30)
BODY = "<html><body><h1>Grøn vækst</h1><p>Brødtekst om vækst</p></body></html>".encode()
DIGEST = hashlib.sha256(BODY).hexdigest()
URL = "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/groen-vaekst"

# One of each row a 0001 archive holds, written with plain SQL as the 0001 software wrote them.
ROWS_0001 = [
    "INSERT INTO sites (id, key, name, canonical_origin) VALUES (1, 'koege', 'Køge Kommune', 'https://www.koege.dk')",
    "INSERT INTO crawl_runs (id, sites, started_at, finished_at, status, finish_reason, software_version,"
    " pages_fetched, listings_read, new, changed, unchanged, failed, skipped, skipped_reasons, stats)"
    " VALUES (1, 'koege', :t0, :t0, 'finished', 'finished', '0.1.0', 40, 5, 39, 0, 0, 1, 3, '{}', '{}')",
    "INSERT INTO payloads (digest, length, compression, data) VALUES (:digest, :length, 'zlib', :blob)",
    "INSERT INTO documents (id, site_id, url, first_seen, last_seen, latest_version) VALUES (1, 1, :url, :t0, :t0, 1)",
    "INSERT INTO captures (id, run_id, document_id, url, canonical_url, fetched_at, http_status, headers,"
    " content_type, encoding, payload_digest)"
    " VALUES (1, 1, 1, :url, :url, :t0, 200, :headers, 'text/html', 'utf-8', :digest)",
    "INSERT INTO versions (id, document_id, version, title, lead, text, published, content_hash, first_seen,"
    " last_seen, capture_id, run_id, extractor) VALUES (1, 1, 1, 'Grøn vækst', 'Manchet', 'Brødtekst om vækst',"
    " '2024-03-01', 'h1', :t0, :t0, 1, 1, 'test')",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def old_archive(request: pytest.FixtureRequest, archive_url: str) -> str:
    """An archive at schema 0001 holding one document, version, capture, payload, run and site."""
    url = archive_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", "archive:migrations")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        params = {
            "t0": T0,
            "url": URL,
            "blob": zlib.compress(BODY),
            "digest": DIGEST,
            "length": len(BODY),
            "headers": json.dumps({"Etag": '"abc123"', "Last-Modified": "Fri, 01 Mar 2024 08:00:00 GMT"}),
        }
        for statement in ROWS_0001:
            conn.execute(text(statement), params)
    engine.dispose()
    return url


def _count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(n)


def test_commands_refuse_a_0001_archive_with_the_upgrade_advice(old_archive: str) -> None:
    for args in (["runs"], ["history", URL], ["duplicates"], ["export", "--format", "jsonl"]):
        result = run_cli(*args, "--db", old_archive)
        assert result.returncode == 1, (args, result.stderr)
        assert "koege-archive db upgrade" in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_takes_0001_to_0002_keeping_every_row(old_archive: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    tables = ["sites", "crawl_runs", "documents", "captures", "versions"]
    before = {t: _count(old_archive, t) for t in tables}
    result = run_cli("db", "upgrade", "--db", old_archive, "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    # To the newest schema (later revisions keep 0002's rows too; 0004 moves payloads into WARC).
    assert "from schema 0001 to " in result.stderr
    assert {t: _count(old_archive, t) for t in tables} == before

    engine = create_engine(old_archive)
    with engine.connect() as conn:
        run = conn.execute(text("SELECT new, not_modified, removed, restored FROM crawl_runs")).one()
        doc = conn.execute(
            text("SELECT etag, last_modified, payload_digest, last_status, removed_at FROM documents")
        ).one()
        version = conn.execute(text("SELECT title, text FROM versions")).one()
    engine.dispose()
    assert tuple(run) == (39, 0, 0, 0)
    # The validators come from the latest capture: the first recrawl is already conditional.
    assert tuple(doc) == ('"abc123"', "Fri, 01 Mar 2024 08:00:00 GMT", DIGEST, 200, None)
    assert tuple(version) == ("Grøn vækst", "Brødtekst om vækst")

    # The upgraded archive is usable by every command, and the old document has its history.
    history = run_cli("history", URL, "--format", "json", "--db", old_archive, "--data-dir", str(data_dir))
    assert history.returncode == 0, history.stderr
    assert [v["version"] for v in json.loads(history.stdout)["versions"]] == [1]
    runs = run_cli("runs", "--format", "json", "--db", old_archive)
    assert json.loads(runs.stdout)[0]["new"] == 39
    again = run_cli("db", "upgrade", "--db", old_archive, "--data-dir", str(data_dir))
    assert again.returncode == 0 and "already at schema " in again.stderr
