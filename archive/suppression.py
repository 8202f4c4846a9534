"""Takedowns: documents hidden from search, exports and the web page, with an audit trail.

A suppression (a GDPR request, a name that must go) hides a document everywhere people read the
archive, and stops crawls from fetching its URL again; its versions and raw captures stay, so it
can be lifted (``unsuppress``). A purge removes what the document said for good: the texts of its
versions (title, lead, body, the raw date strings, who updated it, the contact) and the raw
captures (payload rows in the database, or the records in WARC files). What remains is the
document's URL, its dates of capture and the hashes that let a recrawl tell the same page again.
Every suppression, lift and purge is written to the audit trail: who, when, why.
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from archive.db import ArchiveError
from archive.models import (
    Attachment,
    Capture,
    Document,
    DocumentSignature,
    Extraction,
    Resource,
    SignatureBucket,
    Suppression,
    SuppressionAudit,
    Version,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlalchemy.sql import Select

    from archive.db import Archive

__all__ = [
    "AuditEntry",
    "SuppressionError",
    "SuppressionView",
    "audit_trail",
    "find_suppression",
    "list_suppressions",
    "suppress",
    "suppressed_ids",
    "suppressed_urls",
    "unsuppress",
]


class SuppressionError(ArchiveError):
    """A suppression that cannot be made or lifted; the message says what to do."""


@dataclass(frozen=True, slots=True)
class SuppressionView:
    """A suppression as plain values."""

    id: int
    document_id: int
    url: str
    reason: str
    suppressed_by: str
    suppressed_at: dt.datetime
    lifted_at: dt.datetime | None
    lifted_by: str | None
    purged_at: dt.datetime | None
    purged_by: str | None

    @classmethod
    def of(cls, row: Suppression) -> SuppressionView:
        """Copy a row."""
        return cls(
            row.id,
            row.document_id,
            row.url,
            row.reason,
            row.suppressed_by,
            row.suppressed_at,
            row.lifted_at,
            row.lifted_by,
            row.purged_at,
            row.purged_by,
        )

    @property
    def active(self) -> bool:
        """True while the document is hidden."""
        return self.lifted_at is None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit trail."""

    suppression_id: int
    document_id: int
    url: str
    action: str
    by: str
    at: dt.datetime
    reason: str | None
    detail: str | None


def suppressed_ids() -> Select[Any]:
    """The ids of every hidden document, as a subquery (``Document.id.not_in(suppressed_ids())``)."""
    return select(Suppression.document_id).where(Suppression.lifted_at.is_(None))


def _who(by: str | None) -> str:
    if by and by.strip():
        return by.strip()
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _document(session: Session, url_or_id: str) -> Document | None:
    from archive.history import find_document_id

    doc_id = find_document_id(session, url_or_id)
    return session.get(Document, doc_id) if doc_id is not None else None


def _active(session: Session, document_id: int) -> Suppression | None:
    return session.scalar(
        select(Suppression).where(Suppression.document_id == document_id, Suppression.lifted_at.is_(None))
    )


def _audit(session: Session, row: Suppression, action: str, by: str, at: dt.datetime, **kw: str | None) -> None:
    session.add(
        SuppressionAudit(
            suppression_id=row.id, document_id=row.document_id, url=row.url, action=action, by=by, at=at, **kw
        )
    )


def find_suppression(archive: Archive, url_or_id: str) -> SuppressionView | None:
    """The active suppression of the document behind an id or URL (any variant), or None.

    Args:
        archive: the open archive.
        url_or_id: a document id, its URL, an alias or a URL it was fetched from.

    Returns:
        The suppression, or None when the document is not hidden (or unknown).
    """
    with archive.reading() as session:
        doc = _document(session, url_or_id)
        row = _active(session, doc.id) if doc is not None else None
        return SuppressionView.of(row) if row is not None else None


def suppress(
    archive: Archive,
    url_or_id: str,
    *,
    reason: str,
    by: str | None = None,
    purge: bool = False,
    now: dt.datetime | None = None,
) -> tuple[SuppressionView, str | None]:
    """Hide a document (and with ``purge``, remove its texts and raw captures), audited.

    Suppressing a document already hidden is refused unless ``purge`` is asked for, which then
    purges it under its existing suppression.

    Args:
        archive: the open archive.
        url_or_id: the document (id, URL, alias, or a URL it was fetched from).
        reason: why (kept in the audit trail; say which request, not the personal data itself).
        by: who (default: the OS user).
        purge: also remove the texts and the raw captures (cannot be undone).
        now: the current time (for tests).

    Returns:
        The suppression, and what the purge removed (None without a purge).

    Raises:
        SuppressionError: no such document, an empty reason, or already suppressed.
    """
    if not reason.strip():
        raise SuppressionError("give a reason (--reason TEXT): the audit trail keeps why a document was hidden")
    who, at = _who(by), now or dt.datetime.now(dt.UTC)
    from archive.fts import drop_documents

    with archive.writing() as session:
        doc = _document(session, url_or_id)
        if doc is None:
            raise SuppressionError(f"no document for {url_or_id!r}; find it with `koege-archive search WORD`")
        row = _active(session, doc.id)
        if row is not None and not purge:
            raise SuppressionError(
                f"document {doc.id} is already suppressed (since {row.suppressed_at:%Y-%m-%d}); "
                "add --purge to remove its texts and captures too"
            )
        if row is None:
            row = Suppression(
                document_id=doc.id, url=doc.url, reason=reason.strip(), suppressed_by=who, suppressed_at=at
            )
            session.add(row)
            session.flush()
            _audit(session, row, "suppress", who, at, reason=reason.strip())
        drop_documents(session.connection(), [doc.id])
        detail = None
        if purge:
            if row.purged_at is not None:
                raise SuppressionError(f"document {doc.id} was purged on {row.purged_at:%Y-%m-%d} already")
            detail = _purge(archive, session, doc)
            row.purged_at, row.purged_by = at, who
            _audit(session, row, "purge", who, at, reason=reason.strip(), detail=detail)
        session.flush()
        return SuppressionView.of(row), detail


def unsuppress(
    archive: Archive,
    url_or_id: str,
    *,
    reason: str | None = None,
    by: str | None = None,
    now: dt.datetime | None = None,
) -> SuppressionView:
    """Lift a suppression: the document is searchable, exported and shown again; audited.

    Args:
        archive: the open archive.
        url_or_id: the document.
        reason: why (optional; kept in the audit trail).
        by: who (default: the OS user).
        now: the current time (for tests).

    Returns:
        The lifted suppression.

    Raises:
        SuppressionError: no such document, not suppressed, or purged (a purge cannot be undone).
    """
    who, at = _who(by), now or dt.datetime.now(dt.UTC)
    from archive.fts import reindex_documents

    with archive.writing() as session:
        doc = _document(session, url_or_id)
        row = _active(session, doc.id) if doc is not None else None
        if doc is None or row is None:
            raise SuppressionError(f"{url_or_id!r} is not suppressed; `koege-archive suppressions` lists them")
        if row.purged_at is not None:
            raise SuppressionError(
                f"document {doc.id} was purged on {row.purged_at:%Y-%m-%d}: its texts and captures are gone, "
                "so there is nothing to show again"
            )
        row.lifted_at, row.lifted_by, row.lift_reason = at, who, (reason or None)
        _audit(session, row, "unsuppress", who, at, reason=reason or None)
        session.flush()
        reindex_documents(session.connection(), [doc.id])
        return SuppressionView.of(row)


def list_suppressions(archive: Archive, *, include_lifted: bool = False) -> list[SuppressionView]:
    """Suppressions, newest first (only active ones unless ``include_lifted``)."""
    stmt = select(Suppression).order_by(Suppression.id.desc())
    if not include_lifted:
        stmt = stmt.where(Suppression.lifted_at.is_(None))
    with archive.reading() as session:
        return [SuppressionView.of(r) for r in session.scalars(stmt)]


def audit_trail(archive: Archive, *, document_id: int | None = None) -> list[AuditEntry]:
    """The audit trail, oldest first (of one document when given)."""
    stmt = select(SuppressionAudit).order_by(SuppressionAudit.id)
    if document_id is not None:
        stmt = stmt.where(SuppressionAudit.document_id == document_id)
    with archive.reading() as session:
        return [
            AuditEntry(r.suppression_id, r.document_id, r.url, r.action, r.by, r.at, r.reason, r.detail)
            for r in session.scalars(stmt)
        ]


def suppressed_urls(archive: Archive, site: str) -> set[str]:
    """The canonical URLs of a site's hidden documents (crawls leave them alone)."""
    from archive.models import Site

    with archive.reading() as session:
        return set(
            session.scalars(
                select(Document.url)
                .join(Site, Site.id == Document.site_id)
                .where(Site.key == site, Document.id.in_(suppressed_ids()))
            )
        )


# --- purge ------------------------------------------------------------------------------------
def _purge(archive: Archive, session: Session, doc: Document) -> str:
    """Remove a document's texts and raw captures inside the caller's transaction; say what went."""
    versions = session.execute(
        update(Version)
        .where(Version.document_id == doc.id)
        .values(
            title=None,
            lead=None,
            text="",
            published_raw=None,
            updated_raw=None,
            updated_by=None,
            contact=None,
        )
    ).rowcount  # type: ignore[attr-defined]
    session.execute(delete(SignatureBucket).where(SignatureBucket.document_id == doc.id))
    session.execute(delete(DocumentSignature).where(DocumentSignature.document_id == doc.id))
    readings = session.execute(
        update(Extraction)
        .where(Extraction.version_id.in_(select(Version.id).where(Version.document_id == doc.id)))
        .values(fields={})
    ).rowcount  # type: ignore[attr-defined]
    attachments = _purge_attachments(archive, session, doc.id)
    captures = _purge_warc(archive, session, doc.id)
    return (
        f"texts of {versions} version(s) and {readings} later reading(s) removed; raw bytes of {captures} "
        f"capture(s) and {attachments} attachment(s) removed"
    )


def _purge_attachments(archive: Archive, session: Session, document_id: int) -> int:
    from archive.captures import WarcError, purge_records, warc_folder

    rows = session.execute(
        select(Attachment.id, Attachment.url, Attachment.warc_file, Attachment.warc_offset).where(
            Attachment.document_id == document_id
        )
    ).all()
    by_file: dict[str, set[int]] = {}
    for _, _, name, offset in rows:
        if name is not None and offset is not None:
            by_file.setdefault(name, set()).add(int(offset))
    for name, offsets in sorted(by_file.items()):
        try:
            moved = purge_records(warc_folder(archive) / name, offsets)
        except (WarcError, OSError) as exc:
            raise SuppressionError(f"cannot purge the attachments in {name}: {exc}; nothing was purged") from exc
        _move_offsets(session, name, moved)
    session.execute(
        update(Attachment)
        .where(Attachment.document_id == document_id)
        .values(title=None, text=None, warc_file=None, warc_offset=None, warc_length=None)
    )
    # No later capture may be written as a revisit of a record that is gone.
    session.execute(delete(Resource).where(Resource.url.in_([url for _, url, _, _ in rows])))
    return len(rows)


def _move_offsets(session: Session, name: str, moved: dict[int, int | None]) -> None:
    """Point every row into a rewritten WARC file at its record's new offset."""
    for table in (Capture, Attachment):
        for old, new in sorted(moved.items()):
            if new is not None and new != old:
                session.execute(
                    update(table).where(table.warc_file == name, table.warc_offset == old).values(warc_offset=new)
                )


def _purge_warc(archive: Archive, session: Session, document_id: int) -> int:
    from archive.captures import WarcError, purge_records, warc_folder

    rows = session.execute(
        select(Capture.url, Capture.warc_file, Capture.warc_offset).where(
            Capture.document_id == document_id, Capture.warc_file.is_not(None)
        )
    ).all()
    by_file: dict[str, set[int]] = {}
    for _, name, offset in rows:
        if offset is not None:
            by_file.setdefault(str(name), set()).add(int(offset))
    for name, offsets in sorted(by_file.items()):
        try:
            moved = purge_records(warc_folder(archive) / name, offsets)
        except (WarcError, OSError) as exc:
            raise SuppressionError(f"cannot purge the captures in {name}: {exc}; nothing was purged") from exc
        session.execute(
            update(Capture)
            .where(Capture.document_id == document_id, Capture.warc_file == name)
            .values(warc_file=None, warc_offset=None, warc_length=None)
        )
        _move_offsets(session, name, moved)
    urls = sorted({url for url, _, _ in rows})
    session.execute(delete(Resource).where(Resource.url.in_(urls)))
    return len(rows)
