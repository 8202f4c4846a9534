"""The read side of attachments: the files (PDFs) a document links to, and their captured bytes.

The crawl writes them through ``archive.store`` (``ArchiveWriter.add_attachment``); their text is
searchable with the document (``archive.fts``). Files of a suppressed document are never given out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select

from archive.models import Attachment, Suppression

if TYPE_CHECKING:
    from archive.db import Archive

__all__ = ["AttachmentBytes", "AttachmentView", "attachment_bytes", "document_attachments", "file_name"]


@dataclass(frozen=True, slots=True)
class AttachmentView:
    """One file linked from a document, as archived (one row per distinct capture of the file)."""

    id: int
    url: str
    #: The file name from the URL (decoded), e.g. ``Badevandsprofil Køge Sydstrand 2022.pdf``.
    name: str
    title: str | None
    pages: int | None
    #: Size in bytes of the file as fetched.
    length: int
    content_type: str | None
    fetched_at: dt.datetime
    http_status: int
    text_error: str | None
    #: Whether the raw file is kept in a WARC record (``attachment_bytes`` can give it back).
    captured: bool

    def as_json(self) -> dict[str, Any]:
        """The file as ``show --format json`` gives it."""
        return {
            "id": self.id,
            "url": self.url,
            "name": self.name,
            "title": self.title,
            "pages": self.pages,
            "length": self.length,
            "content_type": self.content_type,
            "fetched_at": self.fetched_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "text_error": self.text_error,
        }


@dataclass(frozen=True, slots=True)
class AttachmentBytes:
    """A file's bytes as captured (content encoding undone), with what is needed to serve it."""

    id: int
    url: str
    name: str
    content_type: str | None
    body: bytes


def file_name(url: str) -> str:
    """The last path segment of a URL, decoded (``…/Tilsynsrapport%202024.pdf`` → ``Tilsynsrapport 2024.pdf``)."""
    path = urlsplit(url).path.rstrip("/")
    return unquote(path.rsplit("/", 1)[-1]) or url


def _suppressed(session: Any, document_id: int) -> bool:
    found = session.scalar(
        select(Suppression.id).where(Suppression.document_id == document_id, Suppression.lifted_at.is_(None)).limit(1)
    )
    return found is not None


def document_attachments(archive: Archive, document_id: int) -> list[AttachmentView]:
    """The files a document links to, in the order they were archived.

    Args:
        archive: the open archive.
        document_id: the document.

    Returns:
        One entry per archived capture of each file (a file changed on the server appears twice);
        empty for a suppressed document.
    """
    with archive.reading() as session:
        if _suppressed(session, document_id):
            return []
        rows = session.scalars(
            select(Attachment).where(Attachment.document_id == document_id).order_by(Attachment.id)
        ).all()
        return [
            AttachmentView(
                id=row.id,
                url=row.url,
                name=file_name(row.url),
                title=row.title,
                pages=row.pages,
                length=row.length,
                content_type=row.content_type,
                fetched_at=row.fetched_at,
                http_status=row.http_status,
                text_error=row.text_error,
                captured=row.warc_file is not None and row.warc_offset is not None,
            )
            for row in rows
        ]


def attachment_bytes(archive: Archive, attachment_id: int) -> AttachmentBytes | None:
    """Read a file's bytes back from its WARC record.

    A ``revisit`` record (the same file fetched again) holds no payload: the bytes come from
    another capture of the same URL with the same digest.

    Args:
        archive: the open archive.
        attachment_id: the attachment's id.

    Returns:
        The file, or None when there is no such attachment, it was not captured, or its
        document is suppressed.

    Raises:
        WarcError: when the WARC file is missing or damaged (the message names the file).
    """
    from archive.captures import decode_payload, read_capture, warc_folder

    with archive.reading() as session:
        row = session.get(Attachment, attachment_id)
        if row is None or _suppressed(session, row.document_id):
            return None
        candidates = [row] + list(
            session.scalars(
                select(Attachment)
                .where(
                    Attachment.url == row.url,
                    Attachment.warc_digest == row.warc_digest,
                    Attachment.id != row.id,
                )
                .order_by(Attachment.fetched_at, Attachment.id)
            )
        )
        folder = warc_folder(archive)
        for found in candidates:
            if found.warc_file is None or found.warc_offset is None:
                continue
            stored = read_capture(folder, found.warc_file, found.warc_offset)
            if stored.record_type == "response":
                return AttachmentBytes(
                    row.id,
                    row.url,
                    file_name(row.url),
                    row.content_type,
                    decode_payload(stored.body, stored.headers),
                )
    return None
