"""The archive's read path for researchers: search, documents and their versions, runs, counts."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, text

from archive.models import CrawlRun, Document, Site, Version

if TYPE_CHECKING:
    from collections.abc import Iterator

    from archive.db import Archive

__all__ = [
    "EXPORT_COLUMNS",
    "DocumentView",
    "QueryError",
    "SearchHit",
    "archive_counts",
    "export_rows",
    "find_document",
    "get_run",
    "list_runs",
    "search",
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

_TERM = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"[\wæøåÆØÅ]+(?:[-'][\wæøåÆØÅ]+)*", re.UNICODE)


class QueryError(ValueError):
    """A search or filter the archive cannot run; the message says how to phrase it."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result."""

    id: int
    url: str
    site: str
    title: str | None
    published: str | None
    snippet: str
    score: float


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


def _fts_query(query: str) -> tuple[str, list[str]]:
    """Turn what a person typed into a safe FTS5 query (terms ANDed, "phrases", prefix*)."""
    parts: list[str] = []
    words: list[str] = []
    for phrase, bare in _TERM.findall(query):
        if phrase:
            tokens = _WORD.findall(phrase)
            if tokens:
                parts.append('"' + " ".join(tokens) + '"')
                words.extend(tokens)
            continue
        prefix = bare.endswith("*")
        for token in _WORD.findall(bare):
            parts.append(f'"{token}"' + ("*" if prefix else ""))
            words.append(token)
    return " AND ".join(parts), words


def search(
    archive: Archive,
    query: str,
    *,
    site: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Full-text search over the latest version of each document, best first.

    Terms are ANDed; ``"quoted words"`` are phrases; ``word*`` matches prefixes. Any input is
    safe: characters that are not part of words are ignored.

    Args:
        archive: the open archive.
        query: what the person typed.
        site: only this profile key.
        since: only documents published on or after this ISO date.
        until: only documents published on or before this ISO date.
        limit: at most this many hits.

    Returns:
        The hits.

    Raises:
        QueryError: when the query holds no searchable word.
    """
    fts, words = _fts_query(query)
    if not fts:
        raise QueryError('the query holds no word to search for; try e.g. affald or "grøn vækst"')
    filters = []
    params: dict[str, Any] = {"limit": limit}
    if site:
        filters.append("s.key = :site")
        params["site"] = site
    if since:
        filters.append("v.published >= :since")
        params["since"] = since
    if until:
        filters.append("substr(v.published, 1, :ulen) <= :until")
        params.update(until=until, ulen=len(until))
    where = "".join(f" AND {f}" for f in filters)
    with archive.reading() as session:
        if archive.is_sqlite:
            params["q"] = fts
            rows = session.execute(
                text(
                    "SELECT d.id, d.url, s.key, v.title, v.published, "
                    "snippet(documents_fts, -1, '[', ']', '…', 16) AS snip, bm25(documents_fts) AS rank "
                    "FROM documents_fts JOIN documents d ON d.id = documents_fts.rowid "
                    "JOIN sites s ON s.id = d.site_id "
                    "JOIN versions v ON v.document_id = d.id AND v.version = d.latest_version "
                    f"WHERE documents_fts MATCH :q{where} ORDER BY rank LIMIT :limit"
                ),
                params,
            ).all()
            return [SearchHit(r[0], r[1], r[2], r[3], r[4], r[5], round(-float(r[6]), 4)) for r in rows]
        return _search_portable(session, words, filters=(site, since, until), limit=limit)


def _search_portable(session: Any, words: list[str], *, filters: tuple[Any, ...], limit: int) -> list[SearchHit]:
    site, since, until = filters
    stmt = (
        select(Document.id, Document.url, Site.key, Version.title, Version.published, Version.text)
        .join(Site, Site.id == Document.site_id)
        .join(
            Version,
            (Version.document_id == Document.id) & (Version.version == Document.latest_version),
        )
    )
    for word in words:
        pattern = f"%{word}%"
        stmt = stmt.where(
            or_(
                Version.title.ilike(pattern),
                Version.lead.ilike(pattern),
                Version.text.ilike(pattern),
            )
        )
    if site:
        stmt = stmt.where(Site.key == site)
    if since:
        stmt = stmt.where(Version.published >= since)
    if until:
        stmt = stmt.where(func.substr(Version.published, 1, len(until)) <= until)
    hits = []
    for doc_id, url, key, title, published, body in session.execute(
        stmt.order_by(Version.published.desc()).limit(limit)
    ):
        lower = body.lower()
        at = min((lower.find(w.lower()) for w in words if w.lower() in lower), default=0)
        snippet = body[max(0, at - 60) : at + 100].replace("\n", " ")
        hits.append(SearchHit(doc_id, url, key, title, published, snippet, 1.0))
    return hits


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
        "capture_id": v.capture_id,
    }


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
            if doc is None:
                from archive.models import Capture

                doc_id = session.scalar(select(Capture.document_id).where(Capture.url == url_or_id).limit(1))
                doc = session.get(Document, doc_id) if doc_id else None
        if doc is None:
            return None
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


def export_rows(
    archive: Archive,
    *,
    all_versions: bool = False,
    site: str | None = None,
    since: str | None = None,
    until: str | None = None,
    batch_size: int = 500,
) -> Iterator[dict[str, Any]]:
    """Stream export rows in the contract's column order, by document id then version.

    Args:
        archive: the open archive.
        all_versions: one row per content version instead of per document (latest version).
        site: only this profile key.
        since: only versions published on or after this ISO date.
        until: only versions published on or before this ISO date.
        batch_size: rows fetched from the database at a time (memory stays bounded).

    Yields:
        One dict per row, keys in :data:`EXPORT_COLUMNS` order.
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
            Document.first_seen,
            Document.last_seen,
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
    with archive.reading() as session:
        for row in session.execute(stmt.execution_options(yield_per=batch_size)):
            values = list(row)
            values[-2], values[-1] = utc_iso(values[-2]), utc_iso(values[-1])
            yield dict(zip(EXPORT_COLUMNS, values, strict=True))
