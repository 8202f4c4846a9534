"""Takedowns: a suppressed document disappears from search, exports, show/history and the web page."""

from __future__ import annotations

import gzip
import json
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from archive.cli import cli
from archive.db import open_archive
from archive.models import Capture, Resource, Version
from archive.queries import capture_bytes
from archive.web import create_app
from tests.archive.corpus import DOCS, KOEGE, build_corpus

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

AFFALD = KOEGE + next(d.path for d in DOCS if d.key == "affald")


@pytest.fixture(params=["sqlite", "postgresql"])
def corpus(request: pytest.FixtureRequest, archive_url: str) -> tuple[str, dict[str, int]]:
    """The test corpus in SQLite (FTS5 index) and PostgreSQL (tsvector index)."""
    url = archive_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    return url, build_corpus(url)


def _cli(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def _search_ids(db: str, query: str) -> list[int]:
    result = _cli("search", query, "--format", "json", "--db", db)
    assert result.exit_code == 0, result.output
    return [hit["id"] for hit in json.loads(result.stdout)]


def _export_ids(db: str, *extra: str) -> list[int]:
    result = _cli("export", "--format", "jsonl", *extra, "--db", db)
    assert result.exit_code == 0, result.output
    return [json.loads(line)["id"] for line in result.stdout.splitlines()]


def _suppress(db: str, target: str, *extra: str) -> object:
    return _cli("suppress", target, "--reason", "GDPR-anmodning 2026-114", "--by", "J. Jensen", *extra, "--db", db)


def test_a_suppressed_document_is_gone_from_search_export_show_and_history(corpus) -> None:
    db, ids = corpus
    doc = ids["affald"]
    assert doc in _search_ids(db, "affald*")  # the index is built, with the document in it
    assert doc in _export_ids(db)

    result = _suppress(db, AFFALD)
    assert result.exit_code == 0, result.output
    assert f"Document {doc} suppressed by J. Jensen" in result.stderr

    assert doc not in _search_ids(db, "affald*")
    assert doc not in _search_ids(db, "haveaffald")
    assert ids["roskilde"] in _search_ids(db, "haveaffald")  # the others are still found
    assert doc not in _export_ids(db)
    assert doc not in _export_ids(db, "-q", "affald*")
    assert doc not in _export_ids(db, "--all-versions")
    assert len(_export_ids(db)) == len(DOCS) - 1

    for command in ("show", "history"):
        shown = _cli(command, str(doc), "--db", db)
        assert shown.exit_code == 0, shown.output
        assert f"Document {doc} is suppressed" in shown.stdout
        assert "Affaldsordningen" not in shown.stdout and "haveaffald" not in shown.stdout
        as_json = json.loads(_cli(command, AFFALD, "--format", "json", "--db", db).stdout)
        assert as_json == {"id": doc, "url": AFFALD, "suppressed": True, "suppressed_at": as_json["suppressed_at"]}

    # The captures stay (no purge): the raw page is still in the archive.
    archive = open_archive(db)
    with archive.reading() as session:
        assert session.scalar(select(func.count()).select_from(Capture).where(Capture.document_id == doc)) == 1
        assert session.scalar(select(func.count()).select_from(Version).where(Version.text != "")) == 12
    archive.close()

    listed = json.loads(_cli("suppressions", "--format", "json", "--db", db).stdout)
    assert [(s["document"], s["reason"], s["suppressed_by"]) for s in listed] == [
        (doc, "GDPR-anmodning 2026-114", "J. Jensen")
    ]
    again = _suppress(db, str(doc))
    assert again.exit_code == 1 and "already suppressed" in again.stderr


def test_unsuppress_brings_it_back_and_everything_is_audited(corpus) -> None:
    db, ids = corpus
    doc = ids["affald"]
    _search_ids(db, "affald*")
    assert _suppress(db, AFFALD).exit_code == 0
    lifted = _cli("unsuppress", str(doc), "--reason", "Anmodning trukket tilbage", "--by", "K. Kryger", "--db", db)
    assert lifted.exit_code == 0, lifted.output
    assert doc in _search_ids(db, "affald*")  # back in the index without a rebuild
    assert doc in _export_ids(db)
    assert "Affaldsordningen ændres" in _cli("show", str(doc), "--db", db).stdout
    assert json.loads(_cli("suppressions", "--format", "json", "--db", db).stdout) == []

    trail = json.loads(_cli("suppressions", "--audit", "--format", "json", "--db", db).stdout)
    assert [(e["action"], e["by"], e["reason"]) for e in trail] == [
        ("suppress", "J. Jensen", "GDPR-anmodning 2026-114"),
        ("unsuppress", "K. Kryger", "Anmodning trukket tilbage"),
    ]
    not_hidden = _cli("unsuppress", str(doc), "--db", db)
    assert not_hidden.exit_code == 1 and "is not suppressed" in not_hidden.stderr


def test_purge_removes_texts_and_raw_captures_for_good(corpus) -> None:
    db, ids = corpus
    doc = ids["budget"]  # two versions, two captures with different bodies
    archive = open_archive(db)
    with archive.reading() as session:
        located = session.execute(
            select(Capture.id, Capture.warc_file, Capture.url).where(Capture.document_id == doc)
        ).all()
        others = session.scalars(select(Capture.id).where(Capture.document_id != doc)).all()
    assert len(located) == 2 and all(f for _, f, _ in located)
    assert b"millioner" in capture_bytes(archive, located[0][0]).body
    archive.close()
    result = _suppress(db, str(doc), "--purge")
    assert result.exit_code == 0, result.output
    assert "texts of 2 version(s) and 0 later reading(s) removed; raw bytes of 2 capture(s)" in result.stderr

    archive = open_archive(db)
    with archive.reading() as session:
        texts = session.execute(select(Version.title, Version.text).where(Version.document_id == doc)).all()
        files = session.scalars(select(Capture.warc_file).where(Capture.document_id == doc)).all()
        remembered = session.scalars(select(Resource.url).where(Resource.url.in_([u for _, _, u in located]))).all()
    assert [tuple(t) for t in texts] == [(None, ""), (None, "")]
    assert files == [None, None] and remembered == []
    # The records are gone from the WARC files; every other capture still reads back whole.
    assert capture_bytes(archive, located[0][0]) is None
    folder = archive.data_dir / "warc"
    for name in sorted({f for _, f, _ in located}):
        data = gzip.decompress((folder / name).read_bytes())
        assert b"millioner" not in data
    assert all(capture_bytes(archive, i) is not None for i in others)
    archive.close()

    # Even a rebuilt index has nothing of it, and the purge cannot be undone.
    rebuilt = _cli("search", "millioner", "--reindex", "--format", "json", "--db", db)
    assert json.loads(rebuilt.stdout) == []
    refused = _cli("unsuppress", str(doc), "--db", db)
    assert refused.exit_code == 1 and "purged" in refused.stderr
    trail = json.loads(_cli("suppressions", "--audit", "--format", "json", "--db", db).stdout)
    assert [e["action"] for e in trail] == ["suppress", "purge"]
    assert trail[1]["by"] == "J. Jensen" and "2 version(s)" in trail[1]["detail"]


def test_suppressing_what_is_not_there_says_so(corpus) -> None:
    db, _ids = corpus
    missing = _suppress(db, KOEGE + "/findes/ikke")
    assert missing.exit_code == 1 and "no document for" in missing.stderr
    no_reason = _cli("suppress", "1", "--db", db)
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    blank = _cli("suppress", "1", "--reason", "  ", "--db", db)
    assert blank.exit_code == 1 and "give a reason" in blank.stderr


@pytest.fixture
def web(corpus, tmp_path: Path) -> Iterator[tuple[TestClient, str, dict[str, int]]]:
    db, ids = corpus
    assert _suppress(db, AFFALD).exit_code == 0
    app = create_app(db, export_dir=tmp_path / "exports", allowed_hosts=["testserver"])
    with TestClient(app) as client:
        yield client, db, ids


def test_the_web_page_and_api_show_nothing_of_a_suppressed_document(web) -> None:
    client, db, ids = web
    doc = ids["affald"]
    archive = open_archive(db)
    with archive.reading() as session:
        capture = session.scalar(select(Capture.id).where(Capture.document_id == doc))
    archive.close()
    assert client.get(f"/artikel/{doc}").status_code == 404
    assert client.get(f"/api/documents/{doc}").status_code == 404
    assert client.get(f"/capture/{capture}").status_code == 404
    page = client.get("/", params={"q": "affald*"})
    assert page.status_code == 200 and "Affaldsordningen" not in page.text
    hits = client.get("/api/search", params={"q": "affald*"}).json()["hits"]
    assert doc not in [h["id"] for h in hits] and hits
    exported = client.get("/api/export", params={"format": "jsonl"}).json()
    assert exported["rows"] == len(DOCS) - 1
    # Other documents are untouched.
    assert client.get(f"/artikel/{ids['roskilde']}").status_code == 200


def _add_copies(db: str) -> None:
    """Two pages with the same long press release (a near-duplicate pair)."""
    import datetime as dt
    import hashlib

    from archive.store import ArchiveWriter, CaptureRecord, VersionRecord

    text = " ".join(f"Kommunen informerer borgerne om punkt {n} i den nye plan for havnen." for n in range(40))
    archive = open_archive(db)
    writer = ArchiveWriter(archive)
    writer.ensure_site("koege", "Køge Kommune", KOEGE)
    for n, path in enumerate(("/nyheder/havneplan", "/nyheder/havneplan-kopi")):
        url = KOEGE + path
        at = dt.datetime(2024, 5, 1, 8, n, tzinfo=dt.UTC)
        body = f"<html><body><p>{text} {n}</p></body></html>".encode()
        writer.add(
            site_key="koege",
            run_id=None,
            capture=CaptureRecord(url, url, at, 200, {}, "text/html", "utf-8", body),
            version=VersionRecord(
                title="Havneplan",
                lead=None,
                text=f"{text} {n}",
                content_hash=hashlib.sha256(f"{text} {n}".encode()).hexdigest(),
                extractor="test",
            ),
            outcome="new",
        )
    writer.flush()
    writer.close()
    archive.close()


def test_near_duplicate_clusters_leave_out_suppressed_documents(corpus) -> None:
    db, _ids = corpus
    _add_copies(db)
    before = json.loads(_cli("duplicates", "--format", "json", "--db", db).stdout)
    assert [len(c["documents"]) for c in before] == [2]
    copy = before[0]["documents"][1]["id"]
    assert _suppress(db, str(copy)).exit_code == 0
    # A cluster of one is no cluster: nothing of the suppressed copy is listed.
    assert json.loads(_cli("duplicates", "--format", "json", "--db", db).stdout) == []
