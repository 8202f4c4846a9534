"""The archive's write path: documents, versions, captures and what the server said, in batches."""

from __future__ import annotations

import time
from dataclasses import dataclass
from hashlib import sha256
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from archive.lifecycle import DocState, LifeLog, follow_moves, load_states, record_aliases, write_states
from archive.models import Attachment, Capture, Document, Resource, Site, UrlAlias, Version

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterable

    from sqlalchemy.engine import Connection

    from archive.captures import CaptureLocation, WarcStore
    from archive.db import Archive

__all__ = [
    "ArchiveWriter",
    "AttachmentRecord",
    "CaptureRecord",
    "KnownDocument",
    "Outcome",
    "VersionRecord",
    "WriteFailed",
    "known_documents",
    "record_resources",
    "resource_digests",
]

#: How a page is archived: the first four come from dedup (a fetched and extracted page); the
#: last two are observations made without extraction (a 304 answer; a 404/410 on a known page).
#: ``unchanged`` is also the observation of a payload identical to the last capture.
Outcome = Literal["new", "changed", "unchanged", "duplicate", "not_modified", "removed"]
_WITHOUT_VERSION = ("unchanged", "not_modified", "removed")


#: The fields of a VersionRecord that are columns of ``versions`` (the rest is prepared data).
_PREPARED = ("index_terms", "signature")


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
    #: Other URLs that led here: (canonical URL, ``redirect`` or ``rel_canonical``).
    aliases: tuple[tuple[str, str], ...] = ()
    #: The ``<lastmod>`` a sitemap gave for the URL when it was fetched.
    sitemap_lastmod: str | None = None
    #: Where the crawl wrote the exchange's WARC record; None: the writer writes ``body`` itself.
    warc: CaptureLocation | None = None
    #: ``crawl`` or ``import`` (a WARC file made by another tool).
    source: str = "crawl"


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
    #: Prepared off the crawl's thread (extraction workers), optional: the search index's stems
    #: of title, lead and text, and the near-duplicate signature (``b""``: too short).
    index_terms: tuple[str, str, str] | None = None
    signature: bytes | None = None


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    """A file linked from an article, as fetched, with the text read from it.

    ``reused``: the file was fetched earlier in the same run for another article; its reading
    (title, text, pages, length) is copied from the row of that same capture (same URL and digest).
    """

    article_url: str
    url: str
    fetched_at: dt.datetime
    http_status: int
    content_type: str | None
    length: int
    #: ``sha1:<base32>`` of the payload (the WARC record's when there is one).
    digest: str
    warc: CaptureLocation | None = None
    title: str | None = None
    text: str | None = None
    pages: int | None = None
    text_error: str | None = None
    reused: bool = False


_VERSION_COLUMNS = tuple(f for f in VersionRecord.__slots__ if f not in _PREPARED)


@dataclass(frozen=True, slots=True)
class KnownDocument:
    """What the archive already holds for a URL: enough to classify a new capture."""

    id: int
    content_hash: str
    version: int
    removed: bool = False
    published: str | None = None
    updated: str | None = None


@dataclass(frozen=True, slots=True)
class _Pending:
    site_key: str
    run_id: int | None
    capture: CaptureRecord
    version: VersionRecord | None
    outcome: Outcome
    duplicate_of: str | None


@dataclass(slots=True)
class _VersionState:
    id: int
    content_hash: str
    last_seen: dt.datetime
    published: str | None = None
    updated: str | None = None
    #: The row of a version added in the current batch (not in the database yet).
    pending: dict[str, Any] | None = None

    def same_content(self, version: VersionRecord) -> bool:
        """A content version is the normalised text (title, lead, body) and the dates."""
        return (self.content_hash, self.published, self.updated) == (
            version.content_hash,
            version.published,
            version.updated,
        )


def known_documents(archive: Archive, site_key: str) -> dict[str, KnownDocument]:
    """Return the latest content hash of every document of a site, by URL and by alias URL.

    Args:
        archive: the open archive.
        site_key: profile key.

    Returns:
        Known documents by canonical URL; an alias URL (a redirect source, a trusted
        rel=canonical) maps to the document it leads to.
    """
    stmt = (
        select(
            Document.url,
            Document.id,
            Version.content_hash,
            Version.version,
            Document.removed_at,
            Version.published,
            Version.updated,
        )
        .join(Site, Site.id == Document.site_id)
        .join(
            Version,
            (Version.document_id == Document.id) & (Version.version == Document.latest_version),
        )
        .where(Site.key == site_key)
    )
    with archive.reading() as session:
        rows = session.execute(stmt)
        known = {
            url: KnownDocument(doc_id, h, v, removed_at is not None, published, updated)
            for url, doc_id, h, v, removed_at, published, updated in rows
        }
        by_id = {doc.id: doc for doc in known.values()}
        for url, doc_id in session.execute(
            select(UrlAlias.url, UrlAlias.document_id)
            .join(Document, Document.id == UrlAlias.document_id)
            .join(Site, Site.id == Document.site_id)
            .where(Site.key == site_key)
        ):
            if url not in known and doc_id in by_id:
                known[url] = by_id[doc_id]
        return known


class ArchiveWriter:
    """Buffers archived pages and writes them in short ``BEGIN IMMEDIATE`` transactions.

    Use one per crawl: :meth:`ensure_site`, then :meth:`add` per page; writes happen every
    ``batch_size`` pages or ``max_seconds``, and on :meth:`flush`. Each capture is written with
    what it says about its document (validators, removal, a move) in the same transaction.
    """

    def __init__(
        self,
        archive: Archive,
        *,
        batch_size: int = 50,
        max_seconds: float = 10.0,
        before_commit: Callable[[], None] | None = None,
        warc_info: dict[str, str] | None = None,
    ) -> None:
        """Prepare a writer.

        Args:
            archive: the open archive.
            batch_size: pages per transaction.
            max_seconds: longest time a page waits in the buffer.
            before_commit: called inside each transaction just before it commits: whoever
                wrote WARC records the rows point to makes them durable there (an exception
                rolls the batch back).
            warc_info: ``warcinfo`` fields of the WARC files the writer writes itself (for
                captures that come without a WARC record: imports, tools).
        """
        self._archive = archive
        self._sessions = archive.write_sessionmaker()
        self._engine = archive.engine.execution_options(koege_write=True)
        self._batch_size = batch_size
        self._max_seconds = max_seconds
        self._pending: list[_Pending] = []
        self._attachments: list[tuple[int | None, AttachmentRecord]] = []
        self._oldest: float | None = None
        self._site_ids: dict[str, int] = {}
        self._fts = archive.is_sqlite
        self._before_commit = before_commit
        self._warc_info = dict(warc_info or {})
        self._store: WarcStore | None = None

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
            outcome: how dedup classified the page, or an observation made without extraction
                (``unchanged`` for an identical payload, ``not_modified`` for a 304,
                ``removed`` for a 404/410 of a known document).
            duplicate_of: for ``duplicate``, the URL of the document with the same text.

        Raises:
            WriteFailed: when a batch could not be written.
        """
        if outcome not in _WITHOUT_VERSION and version is None:
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
        if not self._pending and not self._attachments:
            return 0
        batch = self._pending
        try:
            with self._engine.begin() as conn:
                if batch:
                    self._write_batch(conn, batch)
                waiting = self._write_attachments(conn) if self._attachments else []
                # Records on disk before the rows that point at them (a crash in between leaves
                # records nobody points to, never rows pointing at nothing).
                if self._store is not None:
                    self._store.sync()
                if self._before_commit is not None:
                    self._before_commit()
        except (OperationalError, IntegrityError, OSError) as exc:
            reason = getattr(exc, "orig", None) or exc
            raise WriteFailed(f"could not write {len(batch)} pages to the archive: {reason}") from exc
        self._pending = []
        self._attachments = waiting
        self._oldest = None
        return len(batch)

    def _write_batch(self, conn: Connection, batch: list[_Pending]) -> None:
        # Core statements executed many rows at a time, not the ORM unit of work: this runs on
        # the crawl's reactor thread, where every millisecond per page is a millisecond of crawl.
        urls = {p.capture.canonical_url for p in batch} | {p.duplicate_of for p in batch if p.duplicate_of}
        urls |= {alias for p in batch for alias, _ in p.capture.aliases}
        docs = load_states(conn, urls)
        log = LifeLog()
        follow_moves([(p.capture, p.run_id) for p in batch], docs, log)
        # An observation is about a document the archive holds; one it lost meanwhile is moot.
        batch = [p for p in batch if p.outcome not in ("not_modified", "removed") or p.capture.canonical_url in docs]
        if not batch:
            return
        ids = sorted({d.id for d in docs.values()})
        latest = {
            doc_id: _VersionState(vid, content_hash, last_seen, published, updated)
            for vid, doc_id, content_hash, last_seen, published, updated in conn.execute(
                select(
                    Version.id,
                    Version.document_id,
                    Version.content_hash,
                    Version.last_seen,
                    Version.published,
                    Version.updated,
                )
                .join(Document, Document.id == Version.document_id)
                .where(Document.id.in_(ids), Version.version == Document.latest_version)
            )
        }
        self._insert_documents(conn, batch, docs)
        # A 304 carries no body; everything else is known by the digest of what it decoded to.
        digests = [None if p.outcome == "not_modified" else sha256(p.capture.body).hexdigest() for p in batch]
        locations = self._locate(conn, batch)
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
                        "warc_file": loc.file if loc else None,
                        "warc_offset": loc.offset if loc else None,
                        "warc_length": loc.length if loc else None,
                        "warc_digest": loc.payload_digest if loc else None,
                        "warc_record_id": loc.record_id if loc else None,
                        "revisit": loc.revisit if loc else False,
                        "source": p.capture.source,
                    }
                    for p, loc in zip(batch, locations, strict=True)
                ],
            )
            .scalars()
            .all()
        )
        versions: list[dict[str, Any]] = []
        prepared_terms: dict[int, tuple[str, str, str]] = {}
        prepared_signatures: dict[int, tuple[int, bytes]] = {}
        seen_again: dict[int, dt.datetime] = {}
        for page, capture_id, digest in zip(batch, capture_ids, digests, strict=True):
            cap, version = page.capture, page.version
            doc = docs[cap.canonical_url]
            removed = page.outcome == "removed"
            doc.answered(
                at=cap.fetched_at,
                status=cap.http_status,
                headers=cap.headers,
                digest=None if removed else digest,
                sitemap_lastmod=cap.sitemap_lastmod,
                run_id=page.run_id,
                url=cap.canonical_url,
                log=log,
            )
            for alias, reason in cap.aliases:
                holder = docs.get(alias)
                if alias != doc.url and (holder is None or holder.id == doc.id):
                    log.alias(alias, doc.id, reason, cap.fetched_at)
            if removed:
                continue
            current = latest.get(doc.id)
            if page.outcome in _WITHOUT_VERSION or (
                current is not None and version is not None and current.same_content(version)
            ):
                if current is not None and cap.fetched_at > current.last_seen:
                    current.last_seen = cap.fetched_at
                    if current.pending is not None:  # a version written in this same batch
                        current.pending["last_seen"] = cap.fetched_at
                    else:
                        seen_again[current.id] = cap.fetched_at
                continue
            assert version is not None
            doc.latest_version += 1
            versions.append(
                {
                    "document_id": doc.id,
                    "version": doc.latest_version,
                    "first_seen": cap.fetched_at,
                    "last_seen": cap.fetched_at,
                    "capture_id": capture_id,
                    "run_id": page.run_id,
                    **{f: getattr(version, f) for f in _VERSION_COLUMNS},
                }
            )
            if version.index_terms is not None:
                prepared_terms[doc.id] = version.index_terms
            if version.signature is not None:
                prepared_signatures[doc.id] = (doc.latest_version, version.signature)
            latest[doc.id] = _VersionState(
                0, version.content_hash, cap.fetched_at, version.published, version.updated, pending=versions[-1]
            )
        if versions:
            conn.execute(insert(Version), versions)
            if self._fts:
                self._index_texts(conn, versions, prepared_terms)
            if prepared_signatures:
                from archive.duplicates import store_signatures

                store_signatures(conn, prepared_signatures)
        if seen_again:
            conn.execute(
                update(Version).where(Version.id == bindparam("b_id")).values(last_seen=bindparam("b_seen")),
                [{"b_id": vid, "b_seen": seen} for vid, seen in seen_again.items()],
            )
        write_states(conn, {d.id: d for d in docs.values()}.values())
        log.write(conn)

    def _insert_documents(self, conn: Connection, batch: list[_Pending], docs: dict[str, DocState]) -> None:
        new: dict[str, dict[str, Any]] = {}
        for page in batch:
            cap = page.capture
            if cap.canonical_url in docs or cap.canonical_url in new:
                continue
            if page.outcome in _WITHOUT_VERSION:
                raise WriteFailed(f"a page seen again has no document in the archive: {cap.canonical_url}")
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
            docs[row["url"]] = DocState(doc_id, row["url"], 0, row["first_seen"])
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

    def _locate(self, conn: Connection, batch: list[_Pending]) -> list[CaptureLocation | None]:
        """Where each capture's WARC record lies; writes the ones that came without a record."""
        locations: list[CaptureLocation | None] = [p.capture.warc for p in batch]
        unwritten = [i for i, p in enumerate(batch) if p.capture.warc is None and p.outcome != "not_modified"]
        if not unwritten:
            return locations
        from archive.captures import payload_digest

        store = self._own_store()
        urls = {batch[i].capture.url for i in unwritten}
        earlier = resource_digests(conn, urls)
        fresh: list[tuple[str, CaptureLocation, dt.datetime]] = []
        for i in unwritten:
            cap = batch[i].capture
            digest = payload_digest(cap.body)
            before = earlier.get(cap.url)
            # A revisit refers back in time: a capture older than the URL's last full record
            # (an import of an earlier crawl) is written in full.
            revisit_of = (
                (cap.url, before[1])
                if before is not None and before[0] == digest and before[1] <= cap.fetched_at
                else None
            )
            loc = store.write_exchange(
                url=cap.url,
                fetched_at=cap.fetched_at,
                status=cap.http_status,
                reason="",
                response_headers=sorted(cap.headers.items()),
                body=cap.body,
                revisit_of=revisit_of,
            )
            locations[i] = loc
            if not loc.revisit and (before is None or before[1] <= cap.fetched_at):
                earlier[cap.url] = (digest, cap.fetched_at)
                fresh.append((cap.url, loc, cap.fetched_at))
        record_resources(conn, fresh, sqlite=self._archive.is_sqlite)
        return locations

    def _own_store(self) -> WarcStore:
        if self._store is None:
            from archive.captures import WarcStore, warc_folder

            self._store = WarcStore(warc_folder(self._archive), info=self._warc_info)
        return self._store

    def close(self) -> None:
        """Close the WARC file the writer wrote itself (queued pages must be flushed first)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    @staticmethod
    def _index_texts(
        conn: Connection, versions: list[dict[str, Any]], prepared: dict[int, tuple[str, str, str]]
    ) -> None:
        # The search index (Danish stems) is derived data owned by archive.fts.
        from archive.fts import index_new_versions

        index_new_versions(conn, versions, prepared=prepared)

    def add_attachment(self, attachment: AttachmentRecord, *, run_id: int | None) -> None:
        """Queue a file linked from an article; it is written with the next batch.

        A file is written in the same transaction as its article's document or a later one: while
        the document is not in the archive, the file waits in the queue (after the last
        :meth:`flush`, :meth:`pending_attachments` counts the files of articles never archived).
        The same file seen again for the same document (same URL and digest) adds no row.

        Args:
            attachment: the file and its reading.
            run_id: the crawl run.

        Raises:
            WriteFailed: when a batch could not be written.
        """
        self._attachments.append((run_id, attachment))
        if self._oldest is None:
            self._oldest = time.monotonic()
        if time.monotonic() - self._oldest >= self._max_seconds:
            self.flush()

    def pending_attachments(self) -> int:
        """How many queued files wait for their article's document (after a final :meth:`flush`:
        files of articles that were never archived)."""
        return len(self._attachments)

    def _write_attachments(self, conn: Connection) -> list[tuple[int | None, AttachmentRecord]]:
        """Write the queued files whose document exists; return the ones that must wait."""
        queued = self._attachments
        urls = sorted({a.article_url for _, a in queued})
        docs: dict[str, int] = {}
        for start in range(0, len(urls), 500):
            chunk = urls[start : start + 500]
            for url, doc_id in conn.execute(select(Document.url, Document.id).where(Document.url.in_(chunk))):
                docs[url] = doc_id
            for url, doc_id in conn.execute(select(UrlAlias.url, UrlAlias.document_id).where(UrlAlias.url.in_(chunk))):
                docs.setdefault(url, doc_id)
        # A reused file copies the reading of the same capture: a full record queued with it, else
        # the row written for it earlier.
        _Reading = tuple[str | None, str | None, int | None, str | None, int]
        readings: dict[tuple[str, str], _Reading] = {
            (a.url, a.digest): (a.title, a.text, a.pages, a.text_error, a.length) for _, a in queued if not a.reused
        }
        for url, digest in sorted({(a.url, a.digest) for _, a in queued if a.reused} - set(readings)):
            row = conn.execute(
                select(Attachment.title, Attachment.text, Attachment.pages, Attachment.text_error, Attachment.length)
                .where(Attachment.url == url, Attachment.warc_digest == digest)
                .order_by(Attachment.id.desc())
                .limit(1)
            ).first()
            if row is not None:
                readings[(url, digest)] = tuple(row)  # type: ignore[assignment]
        rows: list[dict[str, Any]] = []
        waiting: list[tuple[int | None, AttachmentRecord]] = []
        for run_id, att in queued:
            document_id = docs.get(att.article_url)
            reading = readings.get((att.url, att.digest))
            if document_id is None or reading is None:
                waiting.append((run_id, att))
                continue
            title, text, pages, text_error, length = reading
            loc = att.warc
            rows.append(
                {
                    "document_id": document_id,
                    "url": att.url,
                    "fetched_at": att.fetched_at,
                    "run_id": run_id,
                    "http_status": att.http_status,
                    "content_type": att.content_type,
                    "length": length,
                    "warc_file": loc.file if loc else None,
                    "warc_offset": loc.offset if loc else None,
                    "warc_length": loc.length if loc else None,
                    "warc_digest": att.digest,
                    "title": title,
                    "text": text,
                    "pages": pages,
                    "text_error": text_error,
                }
            )
        if rows:
            if self._archive.is_sqlite:
                from sqlalchemy.dialects.sqlite import insert as upsert
            else:
                from sqlalchemy.dialects.postgresql import insert as upsert  # type: ignore[assignment]
            stmt = upsert(Attachment).on_conflict_do_nothing(index_elements=["document_id", "url", "warc_digest"])
            added = sorted(set(conn.execute(stmt.returning(Attachment.document_id), rows).scalars().all()))
            if added:
                # Their text is searchable with the article (archive.fts owns the index).
                from archive.fts import reindex_documents

                reindex_documents(conn, added)
        return waiting

    def record_aliases(self, aliases: list[tuple[str, str, str, dt.datetime]], *, run_id: int | None) -> int:
        """Record URLs that led to documents without a capture of their own (e.g. a redirect to a
        page this run had already fetched).

        Args:
            aliases: (alias URL, document URL, reason, when seen).
            run_id: the crawl run.

        Returns:
            How many aliases led to a document in the archive.

        Raises:
            WriteFailed: when the archive cannot be written.
        """
        if not aliases:
            return 0
        try:
            with self._engine.begin() as conn:
                found = record_aliases(conn, aliases, run_id=run_id)
        except (OperationalError, IntegrityError) as exc:
            raise WriteFailed(f"could not record {len(aliases)} aliases: {getattr(exc, 'orig', exc)}") from exc
        return found

    def drop_pending(self) -> int:
        """Forget queued pages (after a failed flush the caller gave up on).

        Returns:
            How many were dropped.
        """
        n = len(self._pending)
        self._pending = []
        self._attachments = []
        self._oldest = None
        return n


def resource_digests(conn: Connection, urls: Iterable[str]) -> dict[str, tuple[str, dt.datetime]]:
    """The payload digest and date of the last full WARC record of each URL the archive holds.

    Args:
        conn: a connection.
        urls: fetched URLs.

    Returns:
        URL → (``sha1:…`` digest, when it was fetched).
    """
    found: dict[str, tuple[str, dt.datetime]] = {}
    wanted = sorted(set(urls))
    for start in range(0, len(wanted), 500):
        for url, digest, fetched in conn.execute(
            select(Resource.url, Resource.warc_digest, Resource.fetched_at).where(
                Resource.url.in_(wanted[start : start + 500])
            )
        ):
            found[url] = (digest, fetched)
    return found


def record_resources(
    conn: Connection, records: Iterable[tuple[str, CaptureLocation, dt.datetime]], *, sqlite: bool
) -> None:
    """Remember the last full WARC record of each URL (later identical payloads become revisits).

    Args:
        conn: a connection inside a transaction.
        records: (fetched URL, where its response record lies, when it was fetched).
        sqlite: whether the archive is SQLite (else PostgreSQL).
    """
    rows = {
        url: {
            "url": url,
            "warc_digest": loc.payload_digest,
            "fetched_at": fetched,
            "warc_record_id": loc.record_id,
            "warc_file": loc.file,
            "warc_offset": loc.offset,
        }
        for url, loc, fetched in records
        if not loc.revisit
    }
    if not rows:
        return
    if sqlite:
        from sqlalchemy.dialects.sqlite import insert as upsert
    else:
        from sqlalchemy.dialects.postgresql import insert as upsert  # type: ignore[assignment]
    stmt = upsert(Resource)
    stmt = stmt.on_conflict_do_update(
        index_elements=["url"],
        set_={c: stmt.excluded[c] for c in ("warc_digest", "fetched_at", "warc_record_id", "warc_file", "warc_offset")},
    )
    conn.execute(stmt, list(rows.values()))
