"""The archive's write and read paths, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from archive.captures import WarcStore, warc_folder
from archive.db import open_archive
from archive.models import Capture
from archive.queries import EXPORT_COLUMNS, QueryError, capture_bytes, export_rows, find_document, search
from archive.store import ArchiveWriter, CaptureRecord, VersionRecord, known_documents, record_resources

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
URL = "https://www.koege.dk/Service/Nyheder/2018/02/Groen-vaekst.aspx"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, archive_url: str) -> str:
    if request.param == "sqlite":
        return archive_url
    return request.getfixturevalue("postgres_url")


def _capture(url: str, body: bytes, at: dt.datetime) -> CaptureRecord:
    return CaptureRecord(url, url, at, 200, {"Content-Type": "text/html"}, "text/html", "utf-8", body)


def _version(text: str, **kw: str) -> VersionRecord:
    return VersionRecord(
        title=kw.get("title", f"Nyhed: {text[:20]}"),
        lead="Et internationalt projekt.",
        text=text,
        content_hash=f"hash-{text}",
        extractor="test",
        published=kw.get("published", "2018-02-05"),
        published_precision="day",
        published_source="dateline",
    )


def _write(db_url: str, pages: list[tuple[str, str, bytes, dt.datetime, str]]) -> None:
    archive = open_archive(db_url)
    writer = ArchiveWriter(archive, batch_size=2)
    writer.ensure_site("koege", "Køge Kommune", "https://www.koege.dk")
    for url, text, body, at, outcome in pages:
        version = None if outcome == "unchanged" else _version(text)
        writer.add(
            site_key="koege",
            run_id=None,
            capture=_capture(url, body, at),
            version=version,
            outcome=outcome,
        )
    writer.flush()
    writer.close()
    archive.close()


def test_versions_are_kept_and_unchanged_pages_only_move_last_seen(db_url: str) -> None:
    t1, t2, t3 = T0, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2)
    _write(db_url, [(URL, "Første tekst om grøn vækst", b"<html>1</html>", t1, "new")])
    _write(db_url, [(URL, "Første tekst om grøn vækst", b"<html>1</html>", t2, "unchanged")])
    _write(db_url, [(URL, "Anden tekst om blå vækst", b"<html>2</html>", t3, "changed")])
    archive = open_archive(db_url)
    doc = find_document(archive, URL)
    assert doc is not None
    assert [v["version"] for v in doc.versions] == [1, 2]
    assert doc.versions[0]["text"] == "Første tekst om grøn vækst"
    assert doc.versions[0]["last_seen"] == "2026-11-02T08:00:00Z"
    assert doc.first_seen == t1 and doc.last_seen == t3
    assert known_documents(archive, "koege")[URL].version == 2
    with archive.reading() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == 3
        # Identical bodies are stored once: the second capture is a WARC revisit record.
        revisits = session.scalars(select(Capture.revisit).order_by(Capture.id)).all()
        assert revisits == [False, True, False]
    # Each capture reads back from its WARC record, the revisit through the record it refers to.
    assert [capture_bytes(archive, i).body for i in (1, 2, 3)] == [
        b"<html>1</html>",
        b"<html>1</html>",
        b"<html>2</html>",
    ]
    archive.close()


def test_export_rows_follow_the_contract(db_url: str) -> None:
    _write(
        db_url,
        [
            (URL, "Første tekst", b"a", T0, "new"),
            (URL, "Anden tekst", b"b", T0 + dt.timedelta(hours=1), "changed"),
        ],
    )
    archive = open_archive(db_url)
    latest = list(export_rows(archive))
    every = list(export_rows(archive, all_versions=True))
    archive.close()
    assert len(latest) == 1 and len(every) == 2
    row = latest[0]
    assert tuple(row) == EXPORT_COLUMNS
    assert row["version"] == 2 and row["text"] == "Anden tekst" and row["site"] == "koege"
    assert row["first_seen"] == "2026-11-01T08:00:00Z" and row["last_seen"] == "2026-11-01T09:00:00Z"
    assert [r["version"] for r in every] == [1, 2]


def test_search_finds_danish_words_and_is_safe(db_url: str) -> None:
    other = URL.replace("Groen-vaekst", "Affald")
    _write(
        db_url,
        [
            (URL, "Projektet handler om grøn vækst i Køge.", b"a", T0, "new"),
            (other, "Den nye affaldsordning starter i maj.", b"b", T0, "new"),
        ],
    )
    archive = open_archive(db_url)
    try:
        assert [h.url for h in search(archive, '"grøn vækst"')] == [URL]
        assert [h.url for h in search(archive, "affaldsordning")] == [other]
        assert search(archive, "vækst affaldsordning") == []
        for hostile in [
            '"',
            "NEAR(",
            "x' OR 1=1; DROP TABLE documents;--",
            "a" * 10_000,
            "*",
            'grøn" OR "',
        ]:
            with contextlib.suppress(QueryError):
                search(archive, hostile)
        with pytest.raises(QueryError):
            search(archive, "   ")
        assert search(archive, "vækst")  # the table survived the hostile queries
    finally:
        archive.close()


def test_a_page_seen_again_in_the_same_batch_as_its_new_version_moves_last_seen(db_url: str) -> None:
    t1, t2 = T0, T0 + dt.timedelta(hours=5)
    archive = open_archive(db_url)
    writer = ArchiveWriter(archive, batch_size=10)
    writer.ensure_site("koege", "Køge Kommune", "https://www.koege.dk")
    writer.add(
        site_key="koege", run_id=None, capture=_capture(URL, b"<p>1</p>", t1), version=_version("Tekst"), outcome="new"
    )
    writer.add(site_key="koege", run_id=None, capture=_capture(URL, b"<p>1</p>", t2), version=None, outcome="unchanged")
    writer.flush()
    writer.close()
    doc = find_document(archive, URL)
    archive.close()
    assert doc is not None and [v["last_seen"] for v in doc.versions] == ["2026-11-01T13:00:00Z"]


def test_a_revisit_whose_original_made_no_capture_reads_from_the_urls_last_record(db_url: str) -> None:
    """A crawl may first fetch a page that is not archived (no article then), and later archive it
    from a revisit record: its bytes come from the URL's last full record."""
    body = b"<html><p>Samme side</p></html>"
    archive = open_archive(db_url)
    store = WarcStore(warc_folder(archive))
    first = store.write_exchange(url=URL, fetched_at=T0, status=200, reason="OK", response_headers=[], body=body)
    again = store.write_exchange(
        url=URL,
        fetched_at=T0 + dt.timedelta(days=1),
        status=200,
        reason="OK",
        response_headers=[],
        body=body,
        revisit_of=(URL, T0),
    )
    store.close()
    with archive.engine.begin() as conn:
        record_resources(conn, [(URL, first, T0)], sqlite=archive.is_sqlite)
    writer = ArchiveWriter(archive)
    writer.ensure_site("koege", "Køge Kommune", "https://www.koege.dk")
    capture = dataclasses.replace(_capture(URL, body, T0 + dt.timedelta(days=1)), warc=again)
    writer.add(site_key="koege", run_id=None, capture=capture, version=_version("Samme side"), outcome="new")
    writer.flush()
    with archive.reading() as session:
        (capture_id,) = session.scalars(select(Capture.id)).all()
    view = capture_bytes(archive, capture_id)
    archive.close()
    assert view is not None and view.revisit and view.body == body
