"""A document's history: its content versions, its dated events, its aliases and near-copies.

Versions are content versions: a new one only when the normalised extracted content (title,
lead, text, dates) changed on the server. Events say when the server withdrew the document
(404/410), brought it back, or moved it to another URL. Readings are later extractions of a
version's same capture (``koege-archive reextract``): what changed in our reading, not on the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from archive.diff import word_diff
from archive.models import Capture, Document, DocumentEvent, Extraction, NearDuplicate, Site, UrlAlias, Version
from archive.queries import utc_iso

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from archive.db import Archive
    from archive.diff import DiffPiece

__all__ = [
    "DocumentHistory",
    "document_history",
    "find_document_id",
    "version_diff",
    "version_readings",
    "version_text",
]

# Reading fields shown as "old → new" (the text is summarised by its length in words).
_SHORT_FIELDS = frozenset({"title", "published", "updated", "updated_by", "contact", "language"})


@dataclass(frozen=True, slots=True)
class DocumentHistory:
    """Everything the archive knows about how one document changed, oldest first."""

    id: int
    url: str
    site: str
    first_seen: str | None
    last_seen: str | None
    last_checked: str | None
    removed_at: str | None
    versions: list[dict[str, Any]]
    events: list[dict[str, Any]]
    aliases: list[dict[str, Any]]
    near_duplicates: list[dict[str, Any]]
    duplicate_of: str | None = None
    #: Later readings of the versions' captures, oldest first (see :func:`version_readings`).
    readings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The history as plain JSON-ready values."""
        return {
            "id": self.id,
            "url": self.url,
            "site": self.site,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "last_checked": self.last_checked,
            "removed_at": self.removed_at,
            "duplicate_of": self.duplicate_of,
            "versions": self.versions,
            "events": self.events,
            "aliases": self.aliases,
            "near_duplicates": self.near_duplicates,
            "readings": self.readings,
        }


def find_document_id(session: Session, url_or_id: str) -> int | None:
    """The document behind an id, its URL, an alias URL, or a URL it was fetched from.

    Args:
        session: a reading session.
        url_or_id: what the person gave.

    Returns:
        The document id, or None.
    """
    value = url_or_id.strip()
    if value.isdigit():
        return int(value) if session.get(Document, int(value)) is not None else None
    candidates = list(dict.fromkeys([value, value.split("#")[0], value.split("#")[0].rstrip("/")]))
    for stmt in (
        select(Document.id).where(Document.url.in_(candidates)),
        select(UrlAlias.document_id).where(UrlAlias.url.in_(candidates)),
        select(Capture.document_id).where(Capture.url.in_(candidates), Capture.document_id.is_not(None)),
    ):
        found = session.scalar(stmt.limit(1))
        if found is not None:
            return int(found)
    return None


def _words(text: str | None) -> int:
    return len((text or "").split())


def document_history(archive: Archive, url_or_id: str) -> DocumentHistory | None:
    """Look up a document's history by id, URL, alias URL or fetched URL.

    Args:
        archive: the open archive.
        url_or_id: a document id or a URL.

    Returns:
        The history, or None when no document matches.
    """
    with archive.reading() as session:
        doc_id = find_document_id(session, url_or_id)
        if doc_id is None:
            return None
        doc = session.get(Document, doc_id)
        assert doc is not None
        site = session.scalar(select(Site.key).where(Site.id == doc.site_id))
        versions = [
            {
                "version": v.version,
                "first_seen": utc_iso(v.first_seen),
                "last_seen": utc_iso(v.last_seen),
                "title": v.title,
                "published": v.published,
                "updated": v.updated,
                "words": _words(v.lead) + _words(v.text),
                "content_hash": v.content_hash,
                "capture_id": v.capture_id,
            }
            for v in session.scalars(select(Version).where(Version.document_id == doc_id).order_by(Version.version))
        ]
        events = [
            {"kind": e.kind, "at": utc_iso(e.at), "url": e.url, "http_status": e.http_status, "detail": e.detail}
            for e in session.scalars(
                select(DocumentEvent).where(DocumentEvent.document_id == doc_id).order_by(DocumentEvent.at)
            )
        ]
        aliases = [
            {"url": a.url, "reason": a.reason, "first_seen": utc_iso(a.first_seen), "last_seen": utc_iso(a.last_seen)}
            for a in session.scalars(select(UrlAlias).where(UrlAlias.document_id == doc_id).order_by(UrlAlias.url))
        ]
        links = session.execute(
            select(NearDuplicate.document_id, NearDuplicate.other_id, NearDuplicate.similarity).where(
                or_(NearDuplicate.document_id == doc_id, NearDuplicate.other_id == doc_id)
            )
        ).all()
        others = {(b if a == doc_id else a): s for a, b, s in links}
        urls = dict(session.execute(select(Document.id, Document.url).where(Document.id.in_(sorted(others)))).all())
        original = session.get(Document, doc.duplicate_of_id) if doc.duplicate_of_id else None
        return DocumentHistory(
            id=doc.id,
            url=doc.url,
            site=site or "",
            first_seen=utc_iso(doc.first_seen),
            last_seen=utc_iso(doc.last_seen),
            last_checked=utc_iso(doc.last_checked),
            removed_at=utc_iso(doc.removed_at),
            versions=versions,
            events=events,
            aliases=aliases,
            near_duplicates=[
                {"id": other, "url": urls.get(other), "similarity": round(float(s), 4)}
                for other, s in sorted(others.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            duplicate_of=original.url if original else None,
            readings=version_readings(session, doc_id),
        )


def _change(name: str, old: Any, new: Any) -> dict[str, Any]:
    if name in _SHORT_FIELDS or name.endswith(("_precision", "_source", "_raw")):
        return {"field": name, "from": old, "to": new}
    return {"field": name, "from_words": _words(old), "to_words": _words(new)}


def version_readings(session: Session, document_id: int) -> list[dict[str, Any]]:
    """The later readings of a document's versions (``Extraction`` rows), oldest first.

    Args:
        session: a reading session.
        document_id: the document.

    Returns:
        One dict per reading: ``version``, ``at`` (UTC), ``extractor``, ``profile_version``,
        ``changed`` (field names) and ``changes`` (per field: ``from``/``to``, or for the lead and
        text ``from_words``/``to_words``), plus ``previous_extractor`` and
        ``previous_profile_version`` (what produced the reading it replaced).
    """
    stmt = (
        select(Extraction, Version.version)
        .join(Version, Version.id == Extraction.version_id)
        .where(Version.document_id == document_id)
        .order_by(Version.version, Extraction.extracted_at, Extraction.id)
    )
    readings = []
    for extraction, number in session.execute(stmt):
        fields = extraction.fields or {}
        previous = fields.get("previous") or {}
        readings.append(
            {
                "version": number,
                "at": utc_iso(extraction.extracted_at),
                "extractor": extraction.extractor,
                "profile_version": extraction.profile_version,
                "changed": list(extraction.changed or []),
                "changes": [_change(n, previous.get(n), fields.get(n)) for n in extraction.changed or []],
                "previous_extractor": previous.get("extractor"),
                "previous_profile_version": previous.get("profile_version"),
            }
        )
    return readings


def version_text(version: Version) -> str:
    """The content of a version as one text: the fields a content version is made of."""
    lines = [
        f"title: {version.title or ''}",
        f"published: {version.published or '-'}",
        f"updated: {version.updated or '-'}",
        "",
        version.lead or "",
        "",
        version.text,
    ]
    return "\n".join(lines)


def version_diff(archive: Archive, document_id: int, old: int, new: int) -> list[DiffPiece]:
    """The word-level difference between two versions of a document.

    Args:
        archive: the open archive.
        document_id: the document.
        old: the earlier version number.
        new: the later version number.

    Returns:
        Diff pieces (see :func:`archive.diff.word_diff`).

    Raises:
        LookupError: when a version does not exist (the message lists the ones that do).
    """
    with archive.reading() as session:
        stmt = select(Version).where(Version.document_id == document_id).order_by(Version.version)
        rows = {v.version: v for v in session.scalars(stmt)}
        missing = [n for n in (old, new) if n not in rows]
        if missing:
            have = ", ".join(str(n) for n in rows) or "none"
            raise LookupError(f"document {document_id} has no version {missing[0]} (it has: {have})")
        return word_diff(version_text(rows[old]), version_text(rows[new]))
