"""A document's life on the server and its relatives: events, aliases, near-duplicates."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from archive.models.base import Base, UTCDateTime


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
