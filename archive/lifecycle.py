"""A document's life on the server: validators, removed/restored/moved events and URL aliases.

The write helpers run inside :class:`archive.store.ArchiveWriter`'s transaction, so what the
server said (ETag, Last-Modified, the payload digest, a 404) is stored together with the capture
and the content it belongs to. :func:`page_states` is the crawl's read side: what it needs to
send conditional requests and decide what to revisit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import bindparam, insert, select, update

from archive.models import Document, DocumentEvent, Site, UrlAlias, Version

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable

    from sqlalchemy.engine import Connection

    from archive.db import Archive
    from archive.store import CaptureRecord

__all__ = [
    "REMOVED_STATUSES",
    "DocState",
    "LifeLog",
    "PageState",
    "follow_moves",
    "header",
    "load_states",
    "page_states",
    "record_aliases",
    "write_states",
]

#: HTTP statuses that mean a known document was withdrawn.
REMOVED_STATUSES = frozenset({404, 410})
_PARAMS = 800


def header(headers: dict[str, str] | None, name: str) -> str | None:
    """A response header by case-insensitive name, or None."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return value
    return None


@dataclass(slots=True)
class DocState:
    """One document as the writer holds it during a batch (written back when ``dirty``)."""

    id: int
    url: str
    latest_version: int
    last_seen: dt.datetime
    etag: str | None = None
    last_modified: str | None = None
    sitemap_lastmod: str | None = None
    payload_digest: str | None = None
    last_checked: dt.datetime | None = None
    last_status: int | None = None
    removed_at: dt.datetime | None = None
    dirty: bool = False

    def answered(
        self,
        *,
        at: dt.datetime,
        status: int,
        headers: dict[str, str],
        digest: str | None,
        sitemap_lastmod: str | None,
        run_id: int | None,
        url: str,
        log: LifeLog,
    ) -> None:
        """Apply one answer of the server for this document's URL.

        A 404/410 marks the document removed (once, with an event); any other answer (200 with
        content, 304) means it is there: seen again, validators refreshed, and ``restored``
        recorded if it had been removed.
        """
        self.dirty = True
        if self.last_checked is not None and at < self.last_checked:
            # An older answer (an imported capture from before the last check) says nothing
            # about the document now: its validators, removal and digest stay as they are.
            return
        self.last_checked, self.last_status = at, status
        if status in REMOVED_STATUSES:
            if self.removed_at is None:
                self.removed_at = at
                log.event(self.id, "removed", at=at, run_id=run_id, status=status, url=url)
            return
        if self.removed_at is not None:
            log.event(self.id, "restored", at=at, run_id=run_id, status=status, url=url)
            self.removed_at = None
        if at > self.last_seen:
            self.last_seen = at
        self.etag = header(headers, "etag") or (self.etag if status == 304 else None)
        self.last_modified = header(headers, "last-modified") or (self.last_modified if status == 304 else None)
        if digest is not None:
            self.payload_digest = digest
        if sitemap_lastmod is not None:
            self.sitemap_lastmod = sitemap_lastmod


@dataclass(frozen=True, slots=True)
class PageState:
    """What the crawl knows about a URL before fetching it again."""

    document_id: int
    url: str
    etag: str | None
    last_modified: str | None
    sitemap_lastmod: str | None
    payload_digest: str | None
    last_checked: dt.datetime | None
    removed: bool
    published: str | None
    alias_of: str | None = None


class LifeLog:
    """Events and aliases gathered during one batch, written at its end."""

    def __init__(self) -> None:
        """Start empty."""
        self.events: list[dict[str, Any]] = []
        self.aliases: dict[str, dict[str, Any]] = {}

    def event(
        self,
        document_id: int,
        kind: Literal["removed", "restored", "moved"],
        *,
        at: dt.datetime,
        run_id: int | None,
        url: str,
        status: int | None = None,
        detail: str | None = None,
    ) -> None:
        """Record a dated event of a document."""
        self.events.append(
            {
                "document_id": document_id,
                "kind": kind,
                "at": at,
                "run_id": run_id,
                "http_status": status,
                "url": url,
                "detail": detail,
            }
        )

    def alias(self, url: str, document_id: int, reason: str, at: dt.datetime) -> None:
        """Record that ``url`` leads to a document (first reason wins within a batch)."""
        entry = self.aliases.setdefault(
            url, {"url": url, "document_id": document_id, "reason": reason, "first_seen": at, "last_seen": at}
        )
        entry["last_seen"] = max(entry["last_seen"], at)

    def write(self, conn: Connection) -> None:
        """Insert the events; insert new aliases and move ``last_seen`` of known ones."""
        if self.events:
            conn.execute(insert(DocumentEvent), sorted(self.events, key=lambda e: (e["at"], e["document_id"])))
        if not self.aliases:
            return
        urls = list(self.aliases)
        known: set[str] = set()
        for i in range(0, len(urls), _PARAMS):
            known |= set(conn.scalars(select(UrlAlias.url).where(UrlAlias.url.in_(urls[i : i + _PARAMS]))))
        fresh = [a for u, a in self.aliases.items() if u not in known]
        if fresh:
            conn.execute(insert(UrlAlias), fresh)
        seen = [{"b_url": u, "b_seen": self.aliases[u]["last_seen"]} for u in sorted(known)]
        if seen:
            conn.execute(
                update(UrlAlias)
                .where(UrlAlias.url == bindparam("b_url"), UrlAlias.last_seen < bindparam("b_seen"))
                .values(last_seen=bindparam("b_seen")),
                seen,
            )


_STATE_COLUMNS = (
    Document.id,
    Document.url,
    Document.latest_version,
    Document.last_seen,
    Document.etag,
    Document.last_modified,
    Document.sitemap_lastmod,
    Document.payload_digest,
    Document.last_checked,
    Document.last_status,
    Document.removed_at,
)


def load_states(conn: Connection, urls: Iterable[str]) -> dict[str, DocState]:
    """The documents behind URLs, by document URL or alias URL (both keys share one state).

    Args:
        conn: a connection inside the writer's transaction.
        urls: canonical URLs and alias URLs of a batch.

    Returns:
        States by every given URL that leads to a document.
    """
    wanted = sorted(set(urls))
    found: dict[str, DocState] = {}
    by_id: dict[int, DocState] = {}
    for i in range(0, len(wanted), _PARAMS):
        part = wanted[i : i + _PARAMS]
        for row in conn.execute(select(*_STATE_COLUMNS).where(Document.url.in_(part))):
            state = DocState(*row)
            found[state.url] = by_id.setdefault(state.id, state)
        aliases = dict(conn.execute(select(UrlAlias.url, UrlAlias.document_id).where(UrlAlias.url.in_(part))).all())
        missing = sorted({d for u, d in aliases.items() if u not in found} - set(by_id))
        if missing:
            for row in conn.execute(select(*_STATE_COLUMNS).where(Document.id.in_(missing))):
                by_id.setdefault(row[0], DocState(*row))
        for url, doc_id in aliases.items():
            if url not in found and doc_id in by_id:
                found[url] = by_id[doc_id]
    return found


def follow_moves(pages: Iterable[tuple[CaptureRecord, int | None]], docs: dict[str, DocState], log: LifeLog) -> None:
    """Keep one document when a known URL now leads elsewhere (a redirect, a rel=canonical).

    When the new URL has no document yet, the old document takes it (its versions and id stay)
    and the old URL becomes an alias; when both URLs have documents, the old one gets a ``moved``
    event naming where its URL leads now.

    Args:
        pages: the batch's captures with their run ids.
        docs: the batch's documents by URL (updated in place).
        log: where events and aliases are gathered.
    """
    for cap, run_id in pages:
        for alias, _reason in cap.aliases:
            old = docs.get(alias)
            if old is None or old.url != alias:
                continue  # not a document's own URL (unknown, or already an alias)
            target = docs.get(cap.canonical_url)
            if target is None:
                old.url, old.dirty = cap.canonical_url, True
                docs[cap.canonical_url] = old
                log.alias(alias, old.id, "moved", cap.fetched_at)
                log.event(
                    old.id, "moved", at=cap.fetched_at, run_id=run_id, url=alias, detail=f"moved to {cap.canonical_url}"
                )
            elif target.id != old.id:
                _now_leads_to(old, target, alias=alias, at=cap.fetched_at, run_id=run_id, log=log)


def _now_leads_to(
    old: DocState, target: DocState, *, alias: str, at: dt.datetime, run_id: int | None, log: LifeLog
) -> None:
    # Two documents: the old one's URL now leads to the other (said once).
    if old.last_status == 301:
        return
    old.last_status, old.dirty = 301, True
    log.event(
        old.id, "moved", at=at, run_id=run_id, url=alias, detail=f"now leads to {target.url} (document {target.id})"
    )


def record_aliases(conn: Connection, aliases: list[tuple[str, str, str, dt.datetime]], *, run_id: int | None) -> int:
    """Record URLs that led to documents without a capture of their own.

    Args:
        conn: a connection inside a write transaction.
        aliases: (alias URL, document URL, reason, when seen).
        run_id: the crawl run.

    Returns:
        How many of them led to a document in the archive.
    """
    docs = load_states(conn, [u for a, t, _, _ in aliases for u in (a, t)])
    log = LifeLog()
    found = 0
    for alias, target, reason, at in aliases:
        doc, holder = docs.get(target), docs.get(alias)
        if doc is None or alias == doc.url:
            continue
        found += 1
        if holder is None or holder.id == doc.id:
            log.alias(alias, doc.id, reason, at)
        elif holder.url == alias:
            _now_leads_to(holder, doc, alias=alias, at=at, run_id=run_id, log=log)
    write_states(conn, {d.id: d for d in docs.values()}.values())
    log.write(conn)
    return found


def write_states(conn: Connection, states: Iterable[DocState]) -> None:
    """Write back every changed document (URL, versions, last seen, validators, removal)."""
    rows = {s.id: s for s in states if s.dirty}
    if not rows:
        return
    conn.execute(
        update(Document)
        .where(Document.id == bindparam("b_id"))
        .values(
            url=bindparam("b_url"),
            latest_version=bindparam("b_latest"),
            last_seen=bindparam("b_seen"),
            etag=bindparam("b_etag"),
            last_modified=bindparam("b_modified"),
            sitemap_lastmod=bindparam("b_lastmod"),
            payload_digest=bindparam("b_digest"),
            last_checked=bindparam("b_checked"),
            last_status=bindparam("b_status"),
            removed_at=bindparam("b_removed"),
        ),
        [
            {
                "b_id": s.id,
                "b_url": s.url,
                "b_latest": s.latest_version,
                "b_seen": s.last_seen,
                "b_etag": s.etag,
                "b_modified": s.last_modified,
                "b_lastmod": s.sitemap_lastmod,
                "b_digest": s.payload_digest,
                "b_checked": s.last_checked,
                "b_status": s.last_status,
                "b_removed": s.removed_at,
            }
            for s in sorted(rows.values(), key=lambda s: s.id)
        ],
    )


def page_states(archive: Archive, site_key: str) -> dict[str, PageState]:
    """What the crawl needs to know about every document of a site, by URL and alias URL.

    Args:
        archive: the open archive.
        site_key: profile key.

    Returns:
        States by canonical URL; alias URLs map to their document's state with ``alias_of`` set.
    """
    stmt = (
        select(
            Document.id,
            Document.url,
            Document.etag,
            Document.last_modified,
            Document.sitemap_lastmod,
            Document.payload_digest,
            Document.last_checked,
            Document.removed_at,
            Version.published,
        )
        .join(Site, Site.id == Document.site_id)
        .join(Version, (Version.document_id == Document.id) & (Version.version == Document.latest_version))
        .where(Site.key == site_key)
    )
    states: dict[str, PageState] = {}
    with archive.reading() as session:
        for doc_id, url, etag, modified, lastmod, digest, checked, removed_at, published in session.execute(stmt):
            states[url] = PageState(
                int(doc_id), url, etag, modified, lastmod, digest, checked, removed_at is not None, published
            )
        by_id = {s.document_id: s for s in states.values()}
        aliases = session.execute(
            select(UrlAlias.url, UrlAlias.document_id)
            .join(Document, Document.id == UrlAlias.document_id)
            .join(Site, Site.id == Document.site_id)
            .where(Site.key == site_key)
        ).all()
    for url, doc_id in aliases:
        target = by_id.get(int(doc_id))
        if target is not None and url not in states:
            states[url] = PageState(
                target.document_id,
                target.url,
                None,
                None,
                target.sitemap_lastmod,
                None,
                target.last_checked,
                target.removed,
                target.published,
                alias_of=target.url,
            )
    return states
