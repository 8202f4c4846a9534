"""Running the archive unattended: schedules, per-run quality figures, suppressions and their audit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from archive.models.base import Base, UTCDateTime


class Schedule(Base):
    """When a site is crawled: every N seconds or by a cron expression (one schedule per site).

    ``last_started_at`` is the scheduler's memory across restarts: a run missed while it was down
    is run once when it comes back, not once per missed slot.
    """

    __tablename__ = "schedules"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(64), unique=True)
    every_seconds: Mapped[int | None] = mapped_column(Integer)
    cron: Mapped[str | None] = mapped_column(String(200))
    # Extra arguments passed to `koege-archive crawl` (e.g. --base-url for a mirror).
    crawl_args: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    last_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_exit_code: Mapped[int | None] = mapped_column(Integer)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))


class RunQuality(Base):
    """What one run brought back from one site: pages, listings, articles and what they lacked.

    Counts, not shares: the shares are computed when read, so nothing is rounded away.
    ``listings_read`` counts listing, feed and sitemap pages read, ``listings_empty`` those that
    linked no article, ``listing_links`` the article links they held (before the revisit policy
    chose which to fetch). ``articles`` counts the article pages extracted in the run (archived or
    dropped as empty); the ``missing_*`` counts are among those.
    """

    __tablename__ = "run_quality"
    __table_args__ = (
        UniqueConstraint("run_id", "site", name="uq_run_quality_run_site"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    listings_read: Mapped[int] = mapped_column(Integer, default=0)
    listings_empty: Mapped[int] = mapped_column(Integer, default=0)
    listing_links: Mapped[int] = mapped_column(Integer, default=0)
    articles: Mapped[int] = mapped_column(Integer, default=0)
    missing_title: Mapped[int] = mapped_column(Integer, default=0)
    missing_published: Mapped[int] = mapped_column(Integer, default=0)
    missing_text: Mapped[int] = mapped_column(Integer, default=0)
    not_found: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)


class Suppression(Base):
    """A document hidden from search, exports and the web page (a takedown, a GDPR request).

    Active while ``lifted_at`` is null. A purge is recorded here and in the audit trail; the
    document row and its URL stay, so the archive still knows what it no longer holds.
    """

    __tablename__ = "suppressions"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    reason: Mapped[str] = mapped_column(Text)
    suppressed_by: Mapped[str] = mapped_column(String(200))
    suppressed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(200))
    lift_reason: Mapped[str | None] = mapped_column(Text)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    purged_by: Mapped[str | None] = mapped_column(String(200))


class SuppressionAudit(Base):
    """The append-only audit trail of suppressions: who did what, when and why."""

    __tablename__ = "suppression_audit"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    suppression_id: Mapped[int] = mapped_column(ForeignKey("suppressions.id"), index=True)
    document_id: Mapped[int] = mapped_column(Integer, index=True)
    url: Mapped[str] = mapped_column(String(2000))
    action: Mapped[str] = mapped_column(String(20))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
