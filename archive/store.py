"""The archive's write path: runs, documents, versions and captures, written in batches."""

from __future__ import annotations

import datetime as dt
import time
import zlib
from dataclasses import dataclass, field
from hashlib import sha256
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from archive.models import Capture, CrawlRun, Document, Payload, Site, Version

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from archive.db import Archive

__all__ = [
    "ArchiveWriter",
    "CaptureRecord",
    "KnownDocument",
    "Outcome",
    "RunCounts",
    "VersionRecord",
    "WriteFailed",
    "finish_run",
    "known_documents",
    "start_run",
]

Outcome = Literal["new", "changed", "unchanged", "duplicate"]


class WriteFailed(Exception):
    """Writing to the archive failed (disk full, locked, constraint); nothing was half-written."""


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """One fetched page as it came from the server."""

    url: str
    canonical_url: str
    fetched_at: dt.datetime
    http_status: int
    headers: dict[str, str]
    content_type: str | None
    encoding: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """What extraction and dating made of one capture."""

    title: str | None
    lead: str | None
    text: str
    content_hash: str
    extractor: str
    published: str | None = None
    published_precision: str | None = None
    published_source: str | None = None
    published_raw: str | None = None
    updated: str | None = None
    updated_precision: str | None = None
    updated_source: str | None = None
    updated_raw: str | None = None
    updated_by: str | None = None
    contact: str | None = None
    language: str | None = None
    profile_version: int | None = None


@dataclass(frozen=True, slots=True)
class KnownDocument:
    """What the archive already holds for a URL: enough to classify a new capture."""

    id: int
    content_hash: str
    version: int


@dataclass(slots=True)
class RunCounts:
    """Totals of one crawl run."""

    pages_fetched: int = 0
    listings_read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Pending:
    site_key: str
    run_id: int | None
    capture: CaptureRecord
    version: VersionRecord | None
    outcome: Outcome
    duplicate_of: str | None


@dataclass(slots=True)
class _DocState:
    id: int
    latest_version: int
    last_seen: dt.datetime
    dirty: bool = False


@dataclass(slots=True)
class _VersionState:
    id: int
    content_hash: str
    last_seen: dt.datetime


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def start_run(
    archive: Archive,
    *,
    sites: list[str],
    software_version: str,
    base_url: str | None = None,
    log_file: str | None = None,
    started_at: dt.datetime | None = None,
) -> int:
    """Record the start of a crawl run (status ``running``).

    Args:
        archive: the open archive.
        sites: profile keys crawled.
        software_version: koege-archive's version.
        base_url: the mirror origin, if crawling one.
        log_file: where the crawl's log is written, if to a file.
        started_at: the start time (now by default).

    Returns:
        The run id.

    Raises:
        WriteFailed: when the archive cannot be written.
    """
    try:
        with archive.writing() as session:
            run = CrawlRun(
                sites=",".join(sites),
                started_at=started_at or _utcnow(),
                status="running",
                base_url=base_url,
                log_file=log_file,
                software_version=software_version,
                skipped_reasons={},
                stats={},
            )
            session.add(run)
            session.flush()
            return run.id
    except OperationalError as exc:
        raise WriteFailed(f"cannot record the crawl run: {exc.orig}") from exc


def finish_run(
    archive: Archive,
    run_id: int,
    *,
    status: str,
    finish_reason: str,
    counts: RunCounts,
    stats: dict[str, Any],
    message: str | None = None,
    finished_at: dt.datetime | None = None,
) -> None:
    """Record the end of a crawl run with its counts.

    Args:
        archive: the open archive.
        run_id: the id :func:`start_run` returned.
        status: ``finished`` or ``failed``.
        finish_reason: Scrapy's finish reason (``finished``, ``shutdown``, …).
        counts: the run's totals.
        stats: the crawl's stats (values made JSON-safe here).
        message: what went wrong, for a failed run.
        finished_at: the end time (now by default).

    Raises:
        WriteFailed: when the archive cannot be written.
    """
    safe_stats = {
        k: (v if isinstance(v, int | float | str | bool) or v is None else str(v)) for k, v in sorted(stats.items())
    }
    try:
        with archive.writing() as session:
            session.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id)
                .values(
                    status=status,
                    finish_reason=finish_reason,
                    finished_at=finished_at or _utcnow(),
                    message=message,
                    pages_fetched=counts.pages_fetched,
                    listings_read=counts.listings_read,
                    new=counts.new,
                    changed=counts.changed,
                    unchanged=counts.unchanged,
                    failed=counts.failed,
                    skipped=counts.skipped,
                    skipped_reasons=dict(sorted(counts.skipped_reasons.items())),
                    stats=safe_stats,
                )
            )
    except OperationalError as exc:
        raise WriteFailed(f"cannot record the end of run {run_id}: {exc.orig}") from exc


def known_documents(archive: Archive, site_key: str) -> dict[str, KnownDocument]:
    """Return the latest content hash of every document of a site, by URL.

    Args:
        archive: the open archive.
        site_key: profile key.

    Returns:
        Known documents by canonical URL.
    """
    stmt = (
        select(Document.url, Document.id, Version.content_hash, Version.version)
        .join(Site, Site.id == Document.site_id)
        .join(
            Version,
            (Version.document_id == Document.id) & (Version.version == Document.latest_version),
        )
        .where(Site.key == site_key)
    )
    with archive.reading() as session:
        return {url: KnownDocument(id=doc_id, content_hash=h, version=v) for url, doc_id, h, v in session.execute(stmt)}


class ArchiveWriter:
    """Buffers archived pages and writes them in short ``BEGIN IMMEDIATE`` transactions.

    Use one per crawl: :meth:`ensure_site`, :meth:`known_documents`, then :meth:`add` per page;
    writes happen every ``batch_size`` pages or ``max_seconds``, and on :meth:`flush`.
    """

    def __init__(self, archive: Archive, *, batch_size: int = 50, max_seconds: float = 10.0) -> None:
        """Prepare a writer.

        Args:
            archive: the open archive.
            batch_size: pages per transaction.
            max_seconds: longest time a page waits in the buffer.
        """
        self._archive = archive
        self._sessions = archive.write_sessionmaker()
        self._engine = archive.engine.execution_options(koege_write=True)
        self._batch_size = batch_size
        self._max_seconds = max_seconds
        self._pending: list[_Pending] = []
        self._oldest: float | None = None
        self._site_ids: dict[str, int] = {}
        self._fts = archive.is_sqlite

    def ensure_site(self, key: str, name: str, canonical_origin: str) -> int:
        """Create or update the site row of a profile.

        Args:
            key: profile key.
            name: human name.
            canonical_origin: ``https://www.koege.dk``.

        Returns:
            The site id.

        Raises:
            WriteFailed: when the archive cannot be written.
        """
        try:
            with self._sessions() as session, session.begin():
                site = session.scalar(select(Site).where(Site.key == key))
                if site is None:
                    site = Site(key=key, name=name, canonical_origin=canonical_origin)
                    session.add(site)
                else:
                    site.name, site.canonical_origin = name, canonical_origin
                session.flush()
                self._site_ids[key] = site.id
                return site.id
        except OperationalError as exc:
            raise WriteFailed(f"cannot write to the archive: {exc.orig}") from exc

    def add(
        self,
        *,
        site_key: str,
        run_id: int | None,
        capture: CaptureRecord,
        version: VersionRecord | None,
        outcome: Outcome,
        duplicate_of: str | None = None,
    ) -> None:
        """Queue one archived page; writes the batch when it is full or old enough.

        Args:
            site_key: profile key (``ensure_site`` must have been called).
            run_id: the crawl run.
            capture: what the server sent.
            version: the extraction (required for ``new``/``changed``/``duplicate``).
            outcome: how dedup classified the page.
            duplicate_of: for ``duplicate``, the URL of the document with the same text.

        Raises:
            WriteFailed: when a batch could not be written.
        """
        if outcome != "unchanged" and version is None:
            raise ValueError(f"a {outcome} page needs a version")
        self._pending.append(_Pending(site_key, run_id, capture, version, outcome, duplicate_of))
        if self._oldest is None:
            self._oldest = time.monotonic()
        if len(self._pending) >= self._batch_size or time.monotonic() - self._oldest >= self._max_seconds:
            self.flush()

    def flush(self) -> int:
        """Write every queued page in one transaction.

        Returns:
            The number of pages written.

        Raises:
            WriteFailed: when the transaction failed; the queued pages are kept for a retry.
        """
        if not self._pending:
            return 0
        batch = self._pending
        try:
            with self._engine.begin() as conn:
                self._write_batch(conn, batch)
        except (OperationalError, IntegrityError, OSError) as exc:
            reason = getattr(exc, "orig", None) or exc
            raise WriteFailed(f"could not write {len(batch)} pages to the archive: {reason}") from exc
        self._pending = []
        self._oldest = None
        return len(batch)

    def _write_batch(self, conn: Connection, batch: list[_Pending]) -> None:
        # Core statements executed many rows at a time, not the ORM unit of work: this runs on
        # the crawl's reactor thread, where every millisecond per page is a millisecond of crawl.
        urls = {p.capture.canonical_url for p in batch} | {p.duplicate_of for p in batch if p.duplicate_of}
        docs = {
            url: _DocState(doc_id, latest, last_seen)
            for doc_id, url, latest, last_seen in conn.execute(
                select(Document.id, Document.url, Document.latest_version, Document.last_seen).where(
                    Document.url.in_(urls)
                )
            )
        }
        latest = {
            doc_id: _VersionState(vid, content_hash, last_seen)
            for vid, doc_id, content_hash, last_seen in conn.execute(
                select(Version.id, Version.document_id, Version.content_hash, Version.last_seen)
                .join(Document, Document.id == Version.document_id)
                .where(Document.url.in_(urls), Version.version == Document.latest_version)
            )
        }
        self._insert_documents(conn, batch, docs)
        digests = self._insert_payloads(conn, batch)
        capture_ids = (
            conn.execute(
                insert(Capture).returning(Capture.id, sort_by_parameter_order=True),
                [
                    {
                        "run_id": p.run_id,
                        "document_id": docs[p.capture.canonical_url].id,
                        "url": p.capture.url,
                        "canonical_url": p.capture.canonical_url,
                        "fetched_at": p.capture.fetched_at,
                        "http_status": p.capture.http_status,
                        "headers": p.capture.headers,
                        "content_type": p.capture.content_type,
                        "encoding": p.capture.encoding,
                        "payload_digest": digest,
                    }
                    for p, digest in zip(batch, digests, strict=True)
                ],
            )
            .scalars()
            .all()
        )
        versions: list[dict[str, Any]] = []
        seen_again: dict[int, dt.datetime] = {}
        for page, capture_id in zip(batch, capture_ids, strict=True):
            cap, version = page.capture, page.version
            doc = docs[cap.canonical_url]
            if cap.fetched_at > doc.last_seen:
                doc.last_seen, doc.dirty = cap.fetched_at, True
            current = latest.get(doc.id)
            if page.outcome == "unchanged" or (
                current is not None and version is not None and current.content_hash == version.content_hash
            ):
                if current is not None and cap.fetched_at > current.last_seen:
                    current.last_seen = seen_again[current.id] = cap.fetched_at
                continue
            assert version is not None
            doc.latest_version += 1
            doc.dirty = True
            versions.append(
                {
                    "document_id": doc.id,
                    "version": doc.latest_version,
                    "first_seen": cap.fetched_at,
                    "last_seen": cap.fetched_at,
                    "capture_id": capture_id,
                    "run_id": page.run_id,
                    **{f: getattr(version, f) for f in VersionRecord.__slots__},
                }
            )
            latest[doc.id] = _VersionState(0, version.content_hash, cap.fetched_at)
        if versions:
            conn.execute(insert(Version), versions)
            if self._fts:
                self._index_texts(conn, versions)
        if seen_again:
            conn.execute(
                update(Version).where(Version.id == bindparam("b_id")).values(last_seen=bindparam("b_seen")),
                [{"b_id": vid, "b_seen": seen} for vid, seen in seen_again.items()],
            )
        dirty = [{"b_id": d.id, "b_seen": d.last_seen, "b_latest": d.latest_version} for d in docs.values() if d.dirty]
        if dirty:
            conn.execute(
                update(Document)
                .where(Document.id == bindparam("b_id"))
                .values(last_seen=bindparam("b_seen"), latest_version=bindparam("b_latest")),
                dirty,
            )

    def _insert_documents(self, conn: Connection, batch: list[_Pending], docs: dict[str, _DocState]) -> None:
        new: dict[str, dict[str, Any]] = {}
        for page in batch:
            cap = page.capture
            if cap.canonical_url in docs or cap.canonical_url in new:
                continue
            if page.outcome == "unchanged":
                raise WriteFailed(f"an unchanged page has no document in the archive: {cap.canonical_url}")
            new[cap.canonical_url] = {
                "site_id": self._site_ids[page.site_key],
                "url": cap.canonical_url,
                "first_seen": cap.fetched_at,
                "last_seen": cap.fetched_at,
                "latest_version": 0,
                "duplicate_of_id": None,
                "duplicate_of": page.duplicate_of,
            }
        if not new:
            return
        rows = list(new.values())
        for row in rows:
            original = docs.get(row.pop("duplicate_of") or "")
            row["duplicate_of_id"] = original.id if original else None
        ids = conn.execute(insert(Document).returning(Document.id, sort_by_parameter_order=True), rows).scalars().all()
        for row, doc_id in zip(rows, ids, strict=True):
            docs[row["url"]] = _DocState(doc_id, 0, row["first_seen"])
        # A duplicate whose original arrived in this same batch.
        late = [
            {"b_id": docs[p.capture.canonical_url].id, "b_dup": docs[p.duplicate_of].id}
            for p in batch
            if p.duplicate_of
            and p.duplicate_of in docs
            and p.capture.canonical_url in new
            and new[p.capture.canonical_url]["duplicate_of_id"] is None
        ]
        if late:
            conn.execute(
                update(Document).where(Document.id == bindparam("b_id")).values(duplicate_of_id=bindparam("b_dup")),
                late,
            )

    def _insert_payloads(self, conn: Connection, batch: list[_Pending]) -> list[str]:
        digests = [sha256(page.capture.body).hexdigest() for page in batch]
        rows = {
            digest: {
                "digest": digest,
                "length": len(p.capture.body),
                "compression": "zlib",
                "data": zlib.compress(p.capture.body, 6),
            }
            for digest, p in zip(digests, batch, strict=True)
        }
        if self._archive.is_sqlite:
            conn.execute(insert(Payload).prefix_with("OR IGNORE"), list(rows.values()))
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(
                pg_insert(Payload).on_conflict_do_nothing(index_elements=["digest"]),
                list(rows.values()),
            )
        return digests

    @staticmethod
    def _index_texts(conn: Connection, versions: list[dict[str, Any]]) -> None:
        # The search index (Danish stems) is derived data owned by archive.fts.
        from archive.fts import index_new_versions

        index_new_versions(conn, versions)

    def drop_pending(self) -> int:
        """Forget queued pages (after a failed flush the caller gave up on).

        Returns:
            How many were dropped.
        """
        n = len(self._pending)
        self._pending = []
        self._oldest = None
        return n
