"""What the servers sent: captures (and, until schema 0003, payloads kept in the database)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.models.base import Base, UTCDateTime


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
