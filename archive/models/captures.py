"""What the servers sent: captures of article pages, other exchanges, attachments, and our readings.

The bytes themselves live in WARC files (``archive.captures``); rows here say where
(file, offset, length) and what digest the record carries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from archive.models.base import Base, UTCDateTime


class Capture(Base):
    """One HTTP exchange of an article page: what was fetched, when, and where its WARC record lies.

    ``revisit`` captures point to a ``revisit`` record (the payload was identical to an earlier
    capture, or the server answered 304); the bytes are those of the record it refers to.
    ``source`` is ``crawl``, ``import`` (a WARC file made by another tool) or ``migrated``
    (a body kept in the database before schema 0004).
    """

    __tablename__ = "captures"
    __table_args__ = (
        Index("ix_captures_canonical_url_fetched_at", "canonical_url", "fetched_at"),
        Index("ix_captures_warc_file_warc_offset", "warc_file", "warc_offset"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    canonical_url: Mapped[str] = mapped_column(String(2000))
    fetched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    http_status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    content_type: Mapped[str | None] = mapped_column(String(200))
    encoding: Mapped[str | None] = mapped_column(String(50))
    warc_file: Mapped[str | None] = mapped_column(String(300))
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)
    #: ``WARC-Payload-Digest`` of the body as sent (``sha1:<base32>``); for a revisit, the
    #: digest of the payload it refers to.
    warc_digest: Mapped[str | None] = mapped_column(String(100))
    warc_record_id: Mapped[str | None] = mapped_column(String(100))
    revisit: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    source: Mapped[str] = mapped_column(String(20), default="crawl", server_default="crawl")


class Resource(Base):
    """The last full WARC record of every URL fetched (pages, listings, sitemaps, robots.txt, files).

    A later exchange with the same payload digest is written as a ``revisit`` record pointing here.
    """

    __tablename__ = "resources"

    url: Mapped[str] = mapped_column(String(2000), primary_key=True)
    warc_digest: Mapped[str] = mapped_column(String(100))
    fetched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    warc_record_id: Mapped[str] = mapped_column(String(100))
    warc_file: Mapped[str] = mapped_column(String(300), index=True)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)


class Extraction(Base):
    """One reading of a version's capture: which extractor and profile produced which fields.

    The crawl's own reading is the version's row; ``koege-archive reextract`` adds a row here each
    time a newer extractor or profile reads the same capture differently (never a new version).
    """

    __tablename__ = "extractions"
    __table_args__ = (
        Index("ix_extractions_version_id_extracted_at", "version_id", "extracted_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    extracted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    extractor: Mapped[str] = mapped_column(String(100))
    profile_version: Mapped[int | None] = mapped_column(Integer)
    #: The fields this reading gave (title, lead, text, dates…) and, under ``previous``, what
    #: the version said before.
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    changed: Mapped[list[str]] = mapped_column(JSON, default=list)


class Attachment(Base):
    """A file (PDF…) linked from an article, captured into WARC, with the text read from it."""

    __tablename__ = "attachments"
    __table_args__ = (
        UniqueConstraint("document_id", "url", "warc_digest", name="uq_attachments_document_url_digest"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    fetched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    http_status: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    length: Mapped[int] = mapped_column(BigInteger)
    warc_file: Mapped[str | None] = mapped_column(String(300))
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)
    warc_digest: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int | None] = mapped_column(Integer)
    #: Why no text was read (``encrypted``, ``unreadable``, ``not_pdf``), if so.
    text_error: Mapped[str | None] = mapped_column(String(200))
