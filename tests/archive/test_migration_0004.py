"""Schema 0004: bodies kept in the database move into WARC files, whole, and every row stays."""

from __future__ import annotations

import datetime as dt
import gzip
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
from warcio.archiveiterator import ArchiveIterator

from archive.db import open_archive
from archive.models import Base
from archive.queries import capture_bytes
from tests.conftest import run_cli

T0 = dt.datetime(2025, 5, 1, 9, 30)
URL = "https://www.koege.dk/nyheder/2025/maj/groen-vaekst"
OTHER = "https://www.koege.dk/nyheder/2025/maj/blaa-vaekst"
BODY_1 = "<html><body><h1>Grøn vækst</h1><p>Første udgave.</p></body></html>".encode()
BODY_2 = "<html><body><h1>Grøn vækst</h1><p>Anden udgave.</p></body></html>".encode()
BODY_3 = "<html><body><h1>Blå vækst</h1><p>Havet.</p></body></html>".encode("iso-8859-1")


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "archive:migrations")
    return cfg


# Three bodies, four captures: the first body was captured twice (an unchanged recrawl).
CAPTURES = [
    (1, URL, T0, BODY_1),
    (2, URL, T0 + dt.timedelta(days=1), BODY_1),
    (3, URL, T0 + dt.timedelta(days=2), BODY_2),
    (4, OTHER, T0, BODY_3),
]


def _archive_0003(url: str) -> None:
    engine = create_engine(url)
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.execute(
            text(
                "INSERT INTO sites (id, key, name, canonical_origin) VALUES (1, 'koege', 'Køge', 'https://www.koege.dk')"
            )
        )
        for doc_id, doc_url in ((1, URL), (2, OTHER)):
            conn.execute(
                text(
                    "INSERT INTO documents (id, site_id, url, first_seen, last_seen, latest_version, payload_digest)"
                    " VALUES (:id, 1, :url, :t0, :t0, 1, NULL)"
                ),
                {"id": doc_id, "url": doc_url, "t0": T0},
            )
        for body in {BODY_1, BODY_2, BODY_3}:
            conn.execute(
                text("INSERT INTO payloads (digest, length, compression, data) VALUES (:d, :n, 'zlib', :z)"),
                {"d": _sha(body), "n": len(body), "z": zlib.compress(body)},
            )
        for cap_id, cap_url, at, body in CAPTURES:
            headers = {"Content-Type": "text/html", "Content-Encoding": "gzip", "Etag": f'"{cap_id}"'}
            conn.execute(
                text(
                    "INSERT INTO captures (id, document_id, url, canonical_url, fetched_at, http_status, headers,"
                    " content_type, encoding, payload_digest)"
                    " VALUES (:id, :doc, :url, :url, :at, 200, :h, 'text/html', 'utf-8', :d)"
                ),
                {
                    "id": cap_id,
                    "doc": 1 if cap_url == URL else 2,
                    "url": cap_url,
                    "at": at,
                    "h": json.dumps(headers),
                    "d": _sha(body),
                },
            )
        conn.execute(
            text(
                "INSERT INTO versions (id, document_id, version, text, content_hash, first_seen, last_seen,"
                " capture_id, extractor) VALUES (1, 1, 1, 'Første udgave.', 'h1', :t0, :t0, 1, 'test'),"
                " (2, 1, 2, 'Anden udgave.', 'h2', :t0, :t0, 3, 'test'), (3, 2, 1, 'Havet.', 'h3', :t0, :t0, 4, 'test')"
            ),
            {"t0": T0},
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_0003(request: pytest.FixtureRequest, archive_url: str) -> str:
    url = archive_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    _archive_0003(url)
    return url


def test_0004_moves_every_body_into_warc_and_reads_it_back(archive_0003: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_cli("db", "upgrade", "--db", archive_0003, "--data-dir", str(data))
    assert result.returncode == 0, result.stderr

    engine = create_engine(archive_0003)
    with engine.connect() as conn:
        assert "payloads" not in inspect(conn).get_table_names()
        assert "payload_digest" not in {c["name"] for c in inspect(conn).get_columns("captures")}
        rows = conn.execute(text("SELECT id, warc_file, warc_offset, revisit, source FROM captures ORDER BY id")).all()
        versions = conn.execute(text("SELECT id, capture_id, text FROM versions ORDER BY id")).all()
    engine.dispose()
    assert [(r.id, r.revisit, r.source) for r in rows] == [
        (1, False, "migrated"),
        (2, True, "migrated"),  # the same body again: a revisit record, not a second copy
        (3, False, "migrated"),
        (4, False, "migrated"),
    ]
    assert [tuple(v) for v in versions] == [(1, 1, "Første udgave."), (2, 3, "Anden udgave."), (3, 4, "Havet.")]

    # Every capture reads back byte for byte, the revisit through the record it refers to.
    archive = open_archive(archive_0003, data_dir=data)
    try:
        for cap_id, _url, _at, body in CAPTURES:
            view = capture_bytes(archive, cap_id)
            assert view is not None and view.body == body, cap_id
    finally:
        archive.close()

    # The files are plain WARC: three responses (stored decoded, so without Content-Encoding), one revisit.
    (warc,) = sorted((data / "warc").glob("*.warc.gz"))
    with warc.open("rb") as fh:
        records = [
            (r.rec_type, r.http_headers.get_header("Content-Encoding") if r.http_headers else None)
            for r in ArchiveIterator(fh)
        ]
    kinds = [t for t, _ in records]
    assert (kinds.count("response"), kinds.count("revisit"), kinds.count("request")) == (3, 1, 4)
    assert {enc for t, enc in records if t == "response"} == {None}
    assert gzip.decompress(warc.read_bytes()).count(b"WARC-Type: response") == 3


def test_0004_stops_with_nothing_changed_on_a_damaged_body(archive_0003: str, tmp_path: Path) -> None:
    engine = create_engine(archive_0003)
    with engine.begin() as conn:
        conn.execute(text("UPDATE payloads SET data = :z WHERE digest = :d"), {"z": b"not zlib", "d": _sha(BODY_2)})
    engine.dispose()
    result = run_cli("db", "upgrade", "--db", archive_0003, "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot be read" in result.stderr and "unchanged" in result.stderr
    engine = create_engine(archive_0003)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0003"
        assert conn.execute(text("SELECT count(*) FROM payloads")).scalar_one() == 3
    engine.dispose()


def test_the_head_schema_matches_the_models(archive_url: str, tmp_path: Path) -> None:
    """Migrating an empty archive to head gives exactly the tables and columns the models declare."""
    Path(archive_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(archive_url)
    cfg = _config()
    cfg.attributes["data_dir"] = tmp_path
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert [d for d in diffs if "documents_fts" not in json.dumps(d, default=str)] == []
