"""Sites, crawl runs, documents and their content versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.models.base import Base, UTCDateTime
from archive.models.captures import Capture


class Site(Base):
    """A crawled site (one per profile key)."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    canonical_origin: Mapped[str] = mapped_column(String(200))
    # When a finished run last followed every listing to its last page: until then a recrawl
    # never stops paginating early (an interrupted first crawl would leave old pages unseen).
    listings_walked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CrawlRun(Base):
    """One crawl: written as ``running`` when it starts, finished when it ends.

    A run killed hard stays ``running`` with no end time, which is how the next run knows.
    """

    __tablename__ = "crawl_runs"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    sites: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")
    finish_reason: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(Text)
    base_url: Mapped[str | None] = mapped_column(String(500))
    log_file: Mapped[str | None] = mapped_column(String(1000))
    software_version: Mapped[str] = mapped_column(String(50))
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    listings_read: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    not_modified: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    removed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    restored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    skipped_reasons: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The crawl's process, so the next run can tell a run killed hard (``interrupted``) from one
    # still going; a run on another host is never judged from here.
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))


class Document(Base):
    """One article, whatever URL variant or alias host it was reached by.

    ``id`` is never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL).
    """

    __tablename__ = "documents"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    # What the server last said about the URL, written in the same transaction as the capture
    # that established it, so a failed write never leaves validators ahead of the content.
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    sitemap_lastmod: Mapped[str | None] = mapped_column(String(40))
    payload_digest: Mapped[str | None] = mapped_column(String(64))
    last_checked: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    # Set while the server answers 404/410 for the document (its versions stay).
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site] = relationship()
    versions: Mapped[list[Version]] = relationship(back_populates="document", order_by="Version.version")


class Version(Base):
    """One content version of a document: a new one only when the extracted text changed."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("document_id", "version", name="uq_versions_document_version"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    lead: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(40), index=True)
    published_precision: Mapped[str | None] = mapped_column(String(10))
    published_source: Mapped[str | None] = mapped_column(String(100))
    published_raw: Mapped[str | None] = mapped_column(Text)
    updated: Mapped[str | None] = mapped_column(String(40))
    updated_precision: Mapped[str | None] = mapped_column(String(10))
    updated_source: Mapped[str | None] = mapped_column(String(100))
    updated_raw: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(300))
    contact: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(10))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    extractor: Mapped[str] = mapped_column(String(100))
    profile_version: Mapped[int | None] = mapped_column(Integer)

    document: Mapped[Document] = relationship(back_populates="versions")
    capture: Mapped[Capture | None] = relationship()
