"""The archive's read path for researchers: documents and their versions, captures, runs, counts.

Search lives in :mod:`archive.search`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, func, select

from archive.models import Capture, CrawlRun, Document, Resource, Site, Suppression, Version
from archive.querylang import QueryError
from archive.rowstream import RowStream
from archive.suppression import suppressed_ids

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlalchemy.sql.selectable import TextualSelect

    from archive.db import Archive

__all__ = [
    "EXPORT_COLUMNS",
    "CaptureView",
    "DocumentView",
    "QueryError",
    "archive_counts",
    "capture_bytes",
    "export_rows",
    "find_document",
    "get_run",
    "list_runs",
    "utc_iso",
]

#: Export columns, in the contract's order (../shared/CONTRACT.md).
EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "version",
    "url",
    "site",
    "title",
    "lead",
    "text",
    "published",
    "updated",
    "published_precision",
    "published_source",
    "updated_by",
    "contact",
    "language",
    "content_hash",
    "first_seen",
    "last_seen",
)


@dataclass(frozen=True, slots=True)
class DocumentView:
    """A document with all its versions, oldest first."""

    id: int
    url: str
    site: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    duplicate_of: str | None
    versions: list[dict[str, Any]]


def utc_iso(value: dt.datetime | None) -> str | None:
    """Format a timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC), or None."""
    return None if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class CaptureView:
    """One capture as the server sent it, with what is needed to serve it.

    ``body`` is the payload with any ``Content-Encoding`` undone (what a browser shows);
    ``raw`` is the payload exactly as it came over the wire, as its WARC record holds it.
    """

    id: int
    url: str
    fetched_at: dt.datetime
    http_status: int
    content_type: str | None
    encoding: str | None
    body: bytes
    raw: bytes = b""
    warc_file: str | None = None
    warc_offset: int | None = None
    warc_digest: str | None = None
    revisit: bool = False


def capture_bytes(archive: Archive, capture_id: int) -> CaptureView | None:
    """Read one capture's bytes from its WARC record (the one place that knows where captures are kept).

    A revisit record holds no payload: the bytes come from the full record it refers to (the
    earlier capture of the same URL with the same payload digest).

    Args:
        archive: the open archive.
        capture_id: the capture's id (a version's ``capture_id``).

    Returns:
        The capture, or None when there is no such capture or its bytes were not kept
        (purged by a takedown, or a 304 with nothing to refer to).

    Raises:
        WarcError: when the WARC file is missing or damaged (the message names the file).
    """
    from archive.captures import decode_payload, read_capture, warc_folder

    with archive.reading() as session:
        capture = session.get(Capture, capture_id)
        if capture is None or capture.warc_file is None or capture.warc_offset is None:
            return None
        if capture.document_id is not None and _suppressed(session, capture.document_id):
            return None
        place = _full_record_of(session, capture) if capture.revisit else (capture.warc_file, capture.warc_offset)
        if place is None or place[0] is None or place[1] is None:
            return None
        stored = read_capture(warc_folder(archive), place[0], place[1])
        return CaptureView(
            capture.id,
            capture.url,
            capture.fetched_at,
            capture.http_status,
            capture.content_type,
            capture.encoding,
            decode_payload(stored.body, stored.headers),
            stored.body,
            capture.warc_file,
            capture.warc_offset,
            capture.warc_digest,
            capture.revisit,
        )


def _full_record_of(session: Session, capture: Capture) -> tuple[str | None, int | None] | None:
    """Where the full record of a revisit lies: the latest full capture of the same payload at or
    before it, else the URL's last full record (one written for an exchange that made no capture)."""
    query = select(Capture).where(
        Capture.revisit.is_(False),
        Capture.warc_file.is_not(None),
        Capture.fetched_at <= capture.fetched_at,
    )
    if capture.warc_digest and capture.http_status != 304:
        query = query.where(Capture.warc_digest == capture.warc_digest)
    else:
        query = query.where(Capture.canonical_url == capture.canonical_url, Capture.http_status == 200)
    found = session.scalars(query.order_by(Capture.fetched_at.desc(), Capture.id.desc()).limit(1)).first()
    if found is not None:
        return found.warc_file, found.warc_offset
    if capture.warc_digest and capture.http_status != 304:
        last = session.get(Resource, capture.url)
        if last is not None and last.warc_digest == capture.warc_digest and last.fetched_at <= capture.fetched_at:
            return last.warc_file, last.warc_offset
    return None


def __getattr__(name: str) -> Any:
    # Search moved to archive.search; old imports keep working.
    if name in ("search", "SearchHit"):
        import importlib

        return getattr(importlib.import_module("archive.search"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _version_dict(v: Version) -> dict[str, Any]:
    return {
        "version": v.version,
        "title": v.title,
        "lead": v.lead,
        "text": v.text,
        "published": v.published,
        "published_precision": v.published_precision,
        "published_source": v.published_source,
        "published_raw": v.published_raw,
        "updated": v.updated,
        "updated_precision": v.updated_precision,
        "updated_source": v.updated_source,
        "updated_by": v.updated_by,
        "contact": v.contact,
        "language": v.language,
        "content_hash": v.content_hash,
        "first_seen": utc_iso(v.first_seen),
        "last_seen": utc_iso(v.last_seen),
        "extractor": v.extractor,
        "profile_version": v.profile_version,
        "capture_id": v.capture_id,
        "capture": _capture_dict(v.capture) if v.capture is not None else None,
    }


def _capture_dict(c: Capture) -> dict[str, Any]:
    """Where a version's capture lies: provenance a citation can name."""
    return {
        "url": c.url,
        "fetched_at": utc_iso(c.fetched_at),
        "http_status": c.http_status,
        "warc_file": c.warc_file,
        "warc_offset": c.warc_offset,
        "warc_length": c.warc_length,
        "warc_digest": c.warc_digest,
        "warc_record_id": c.warc_record_id,
        "revisit": c.revisit,
        "source": c.source,
    }


def _suppressed(session: Any, document_id: int) -> bool:
    return session.scalar(suppressed_ids().where(Suppression.document_id == document_id).limit(1)) is not None


def find_document(archive: Archive, url_or_id: str) -> DocumentView | None:
    """Look a document up by its id or by any URL that canonicalises to it.

    Args:
        archive: the open archive.
        url_or_id: a document id, or a URL (canonical, or as fetched).

    Returns:
        The document with its versions, or None.
    """
    with archive.reading() as session:
        if url_or_id.isdigit():
            doc = session.get(Document, int(url_or_id))
        else:
            candidates = [url_or_id, url_or_id.rstrip("/"), url_or_id.split("#")[0]]
            doc = session.scalar(select(Document).where(Document.url.in_(candidates)))
            if doc is None:  # a redirect source or a URL whose page names another as canonical
                from archive.models import UrlAlias

                alias_of = session.scalar(select(UrlAlias.document_id).where(UrlAlias.url.in_(candidates)).limit(1))
                doc = session.get(Document, alias_of) if alias_of else None
            if doc is None:
                from archive.models import Capture

                doc_id = session.scalar(select(Capture.document_id).where(Capture.url == url_or_id).limit(1))
                doc = session.get(Document, doc_id) if doc_id else None
        if doc is None or _suppressed(session, doc.id):
            return None  # a suppressed document is shown nowhere (archive.suppression)
        original = session.get(Document, doc.duplicate_of_id) if doc.duplicate_of_id else None
        return DocumentView(
            id=doc.id,
            url=doc.url,
            site=doc.site.key,
            first_seen=doc.first_seen,
            last_seen=doc.last_seen,
            duplicate_of=original.url if original else None,
            versions=[_version_dict(v) for v in doc.versions],
        )


def list_runs(archive: Archive, *, limit: int = 20) -> list[CrawlRun]:
    """The most recent crawl runs, newest first."""
    with archive.reading() as session:
        return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)))


def get_run(archive: Archive, run_id: int) -> CrawlRun | None:
    """One crawl run by id."""
    with archive.reading() as session:
        return session.get(CrawlRun, run_id)


def archive_counts(archive: Archive) -> dict[str, dict[str, int]]:
    """Documents and versions per site."""
    with archive.reading() as session:
        rows = session.execute(
            select(Site.key, func.count(func.distinct(Document.id)), func.count(Version.id))
            .join(Document, Document.site_id == Site.id)
            .join(Version, Version.document_id == Document.id)
            .group_by(Site.key)
            .order_by(Site.key)
        ).all()
    return {key: {"documents": docs, "versions": versions} for key, docs, versions in rows}


def _utc_text(archive: Archive, column: Any) -> Any:
    """A UTC timestamp column formatted ``YYYY-MM-DDTHH:MM:SSZ`` by the database (as utc_iso does)."""
    if archive.is_sqlite:
        # SQLAlchemy stores a DateTime on SQLite as "YYYY-MM-DD HH:MM:SS.ffffff": cutting the
        # text costs a fraction of strftime's parsing (two per row, 100,000s of rows).
        return func.substr(column, 1, 10, type_=String) + "T" + func.substr(column, 12, 8, type_=String) + "Z"
    return func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')


def export_rows(
    archive: Archive,
    *,
    all_versions: bool = False,
    site: str | None = None,
    since: str | None = None,
    until: str | None = None,
    batch_size: int = 1000,
    document_ids: TextualSelect | None = None,
    limit: int | None = None,
) -> RowStream:
    """Stream export rows in the contract's column order, by document id then version.

    The rows are read once, ahead of the consumer on a thread: iterate for dicts, or hand the
    stream to an :mod:`archive.export` writer, which takes it in batches of tuples (fast).

    Args:
        archive: the open archive.
        all_versions: one row per content version instead of per document (latest version).
        site: only this profile key.
        since: only versions published on or after this ISO date.
        until: only versions published on or before this ISO date.
        batch_size: rows fetched from the database at a time (memory stays bounded).
        document_ids: only these documents (e.g. :func:`archive.search.matching_ids`).
        limit: at most this many rows (the first by document id and version).

    Returns:
        The rows: one dict per row when iterated, keys in :data:`EXPORT_COLUMNS` order.
    """
    stmt = (
        select(
            Document.id,
            Version.version,
            Document.url,
            Site.key,
            Version.title,
            Version.lead,
            Version.text,
            Version.published,
            Version.updated,
            Version.published_precision,
            Version.published_source,
            Version.updated_by,
            Version.contact,
            Version.language,
            Version.content_hash,
            _utc_text(archive, Document.first_seen),
            _utc_text(archive, Document.last_seen),
        )
        .join(Site, Site.id == Document.site_id)
        .join(Version, Version.document_id == Document.id)
        .order_by(Document.id, Version.version)
    )
    if not all_versions:
        stmt = stmt.where(Version.version == Document.latest_version)
    if site:
        stmt = stmt.where(Site.key == site)
    if since:
        stmt = stmt.where(Version.published >= since)
    if until:
        stmt = stmt.where(func.substr(Version.published, 1, len(until)) <= until)
    if document_ids is not None:
        stmt = stmt.where(Document.id.in_(document_ids))
    # Suppressed documents are never exported (archive.suppression).
    stmt = stmt.where(Document.id.not_in(suppressed_ids()))
    if limit is not None:
        stmt = stmt.limit(limit)
    # The database gives every value in its final form (timestamps too); no ORM, no row objects.
    return RowStream(archive.engine, stmt, EXPORT_COLUMNS, batch_size=batch_size)
