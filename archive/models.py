"""SQLAlchemy 2 models of the archive: sites, runs, documents, versions, captures, events, duplicates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "Capture",
    "CrawlRun",
    "Document",
    "DocumentEvent",
    "DocumentSignature",
    "NearDuplicate",
    "Payload",
    "SignatureBucket",
    "Site",
    "UTCDateTime",
    "UrlAlias",
    "Version",
]


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as naive UTC and returned as aware UTC.

    SQLite keeps no offset in ``DateTime(timezone=True)``; storing UTC everywhere and
    converting at the edges keeps SQLite and PostgreSQL identical.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with constraint names Alembic can address on every backend."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


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


class Payload(Base):
    """Raw response bodies, stored once per SHA-256 digest, zlib-compressed."""

    __tablename__ = "payloads"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    length: Mapped[int] = mapped_column(Integer)
    compression: Mapped[str] = mapped_column(String(10), default="zlib")
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Capture(Base):
    """One HTTP exchange of an article page: what was fetched, when, and what came back."""

    __tablename__ = "captures"
    __table_args__ = (
        Index("ix_captures_canonical_url_fetched_at", "canonical_url", "fetched_at"),
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
    payload_digest: Mapped[str | None] = mapped_column(ForeignKey("payloads.digest"))

    payload: Mapped[Payload | None] = relationship()


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


class DocumentEvent(Base):
    """A dated change in a document's life on the server: ``removed``, ``restored`` or ``moved``."""

    __tablename__ = "document_events"
    __table_args__ = (
        Index("ix_document_events_document_id_at", "document_id", "at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    http_status: Mapped[int | None] = mapped_column(Integer)
    # The URL the event is about (for ``moved``, the old URL); ``detail`` says the rest.
    url: Mapped[str] = mapped_column(String(2000))
    detail: Mapped[str | None] = mapped_column(Text)


class UrlAlias(Base):
    """Another URL that leads to a document: a redirect source, a trusted rel=canonical, a move."""

    __tablename__ = "url_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DocumentSignature(Base):
    """The MinHash signature of a document's latest text (near-duplicate detection)."""

    __tablename__ = "document_signatures"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class SignatureBucket(Base):
    """One LSH band of a signature: documents sharing a bucket are near-duplicate candidates."""

    __tablename__ = "signature_buckets"

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True, index=True)


class NearDuplicate(Base):
    """A link between two documents whose texts nearly match (``document_id < other_id``).

    Links are never deleted with the documents' content: both documents stay in the archive.
    """

    __tablename__ = "near_duplicates"
    __table_args__ = (
        UniqueConstraint("document_id", "other_id", name="uq_near_duplicates_pair"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    similarity: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(20))
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
