"""What the server said, kept with the content: validators, observations, removal, moves, aliases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from archive.db import open_archive
from archive.history import document_history
from archive.lifecycle import page_states
from archive.models import Capture, Version
from archive.queries import export_rows
from archive.store import ArchiveWriter, CaptureRecord, VersionRecord, known_documents

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
OLD = "https://www.koege.dk/Service/Nyheder/2021/11/Ny-affaldsordning.aspx"
NEW = "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/ny-affaldsordning"
HEADERS = {"Etag": '"v1"', "Last-Modified": "Mon, 01 Nov 2026 07:00:00 GMT", "Content-Type": "text/html"}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, archive_url: str) -> str:
    return archive_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def _page(
    url: str,
    at: dt.datetime,
    *,
    status: int = 200,
    body: bytes = b"<html>v1</html>",
    headers: dict[str, str] | None = None,
    aliases: tuple[tuple[str, str], ...] = (),
    lastmod: str | None = None,
) -> CaptureRecord:
    return CaptureRecord(
        url, url, at, status, HEADERS if headers is None else headers, "text/html", "utf-8", body, aliases, lastmod
    )


def _text(text: str) -> VersionRecord:
    return VersionRecord(title="Ny affaldsordning", lead=None, text=text, content_hash=f"h-{text}", extractor="t")


def _write(db_url: str, *pages: tuple[CaptureRecord, VersionRecord | None, str]) -> None:
    archive = open_archive(db_url)
    writer = ArchiveWriter(archive, batch_size=100)
    writer.ensure_site("koege", "Køge Kommune", "https://www.koege.dk")
    for capture, version, outcome in pages:
        writer.add(site_key="koege", run_id=None, capture=capture, version=version, outcome=outcome)  # type: ignore[arg-type]
    writer.flush()
    archive.close()


def test_observations_move_last_seen_keep_validators_and_add_no_version(db_url: str) -> None:
    day = dt.timedelta(days=1)
    _write(db_url, (_page(NEW, T0, lastmod="2026-11-01"), _text("Første tekst"), "new"))
    _write(
        db_url,
        (_page(NEW, T0 + day, status=304, body=b"", headers={"Etag": '"v1"'}), None, "not_modified"),
        (_page(NEW, T0 + 2 * day), None, "unchanged"),
    )
    archive = open_archive(db_url)
    state = page_states(archive, "koege")[NEW]
    assert (state.etag, state.last_modified, state.sitemap_lastmod) == ('"v1"', HEADERS["Last-Modified"], "2026-11-01")
    assert state.last_checked == T0 + 2 * day and not state.removed
    (row,) = list(export_rows(archive, all_versions=True))
    assert (
        row["version"] == 1
        and row["first_seen"] == "2026-11-01T08:00:00Z"
        and row["last_seen"] == "2026-11-03T08:00:00Z"
    )
    with archive.reading() as session:
        statuses = session.scalars(select(Capture.http_status).order_by(Capture.id)).all()
        assert statuses == [200, 304, 200]
        # A 304 has no body (written outside a crawl, no record either); the identical payload
        # seen again is a revisit of the first capture's record.
        located = session.execute(select(Capture.warc_file.is_not(None), Capture.revisit).order_by(Capture.id)).all()
        assert [tuple(r) for r in located] == [(True, False), (False, False), (True, True)]
    archive.close()


def test_a_404_removes_once_and_an_answer_restores(db_url: str) -> None:
    day = dt.timedelta(days=1)
    _write(db_url, (_page(NEW, T0), _text("Første tekst"), "new"))
    gone = _page(NEW, T0 + day, status=404, body=b"<h1>Siden findes ikke</h1>", headers={})
    _write(db_url, (gone, None, "removed"))
    _write(db_url, (_page(NEW, T0 + 2 * day, status=410, body=b"", headers={}), None, "removed"))
    archive = open_archive(db_url)
    assert page_states(archive, "koege")[NEW].removed and known_documents(archive, "koege")[NEW].removed
    archive.close()
    # It comes back with new text: restored, and a second version.
    _write(db_url, (_page(NEW, T0 + 3 * day, body=b"v2"), _text("Anden tekst"), "changed"))
    archive = open_archive(db_url)
    history = document_history(archive, NEW)
    assert history is not None
    assert [(e["kind"], e["http_status"], e["at"]) for e in history.events] == [
        ("removed", 404, "2026-11-02T08:00:00Z"),
        ("restored", 200, "2026-11-04T08:00:00Z"),
    ]
    assert [v["version"] for v in history.versions] == [1, 2] and history.removed_at is None
    # The document was never seen while it was gone.
    assert history.versions[0]["last_seen"] == "2026-11-01T08:00:00Z"
    archive.close()


def test_a_known_url_that_now_redirects_keeps_its_document_under_the_new_url(db_url: str) -> None:
    _write(db_url, (_page(OLD, T0), _text("Første tekst"), "new"))
    archive = open_archive(db_url)
    old_id = known_documents(archive, "koege")[OLD].id
    archive.close()
    moved = _page(NEW, T0 + dt.timedelta(days=1), aliases=((OLD, "redirect"),))
    _write(db_url, (moved, _text("Første tekst"), "unchanged"))
    archive = open_archive(db_url)
    (row,) = list(export_rows(archive))
    assert (row["id"], row["url"], row["version"]) == (old_id, NEW, 1)
    history = document_history(archive, OLD)  # the old URL still finds it
    assert history is not None and history.url == NEW
    assert [(e["kind"], e["url"]) for e in history.events] == [("moved", OLD)]
    assert [(a["url"], a["reason"]) for a in history.aliases] == [(OLD, "moved")]
    assert known_documents(archive, "koege")[OLD].id == old_id
    assert page_states(archive, "koege")[OLD].alias_of == NEW
    archive.close()


def test_redirect_sources_and_rel_canonical_become_aliases_of_one_document(db_url: str) -> None:
    variant = NEW + "-print"
    first = _page(NEW, T0, aliases=((OLD, "redirect"), (variant, "rel_canonical")))
    _write(db_url, (first, _text("Tekst"), "new"))
    _write(db_url, (_page(NEW, T0 + dt.timedelta(hours=5), aliases=((OLD, "redirect"),)), None, "unchanged"))
    archive = open_archive(db_url)
    history = document_history(archive, variant)
    assert history is not None and history.url == NEW and history.events == []
    assert {a["url"]: (a["reason"], a["last_seen"]) for a in history.aliases} == {
        OLD: ("redirect", "2026-11-01T13:00:00Z"),
        variant: ("rel_canonical", "2026-11-01T08:00:00Z"),
    }
    with archive.reading() as session:
        assert session.scalar(select(func.count()).select_from(Version)) == 1
    archive.close()


def test_a_changed_date_with_the_same_text_is_a_new_version(db_url: str) -> None:
    first = VersionRecord(
        title="T", lead=None, text="Samme tekst", content_hash="h", extractor="t", updated="2026-11-01"
    )
    later = VersionRecord(
        title="T", lead=None, text="Samme tekst", content_hash="h", extractor="t", updated="2026-11-05"
    )
    _write(db_url, (_page(NEW, T0), first, "new"))
    _write(db_url, (_page(NEW, T0 + dt.timedelta(days=1), body=b"x"), first, "unchanged"))
    _write(db_url, (_page(NEW, T0 + dt.timedelta(days=5), body=b"y"), later, "changed"))
    archive = open_archive(db_url)
    assert [(r["version"], r["updated"]) for r in export_rows(archive, all_versions=True)] == [
        (1, "2026-11-01"),
        (2, "2026-11-05"),
    ]
    archive.close()
