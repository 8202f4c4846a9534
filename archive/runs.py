"""Crawl runs in the archive: a row written when a run starts, finished with its counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from archive.models import CrawlRun, Site
from archive.store import WriteFailed

if TYPE_CHECKING:
    from archive.db import Archive

__all__ = ["RunCounts", "finish_run", "listings_walked", "mark_listings_walked", "start_run"]


@dataclass(slots=True)
class RunCounts:
    """Totals of one crawl run."""

    pages_fetched: int = 0
    listings_read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    not_modified: int = 0
    removed: int = 0
    restored: int = 0
    failed: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def start_run(
    archive: Archive,
    *,
    sites: list[str],
    software_version: str,
    base_url: str | None = None,
    log_file: str | None = None,
    started_at: dt.datetime | None = None,
) -> int:
    """Record the start of a crawl run (status ``running``).

    Args:
        archive: the open archive.
        sites: profile keys crawled.
        software_version: koege-archive's version.
        base_url: the mirror origin, if crawling one.
        log_file: where the crawl's log is written, if to a file.
        started_at: the start time (now by default).

    Returns:
        The run id.

    Raises:
        WriteFailed: when the archive cannot be written.
    """
    try:
        with archive.writing() as session:
            run = CrawlRun(
                sites=",".join(sites),
                started_at=started_at or _utcnow(),
                status="running",
                base_url=base_url,
                log_file=log_file,
                software_version=software_version,
                skipped_reasons={},
                stats={},
            )
            session.add(run)
            session.flush()
            return run.id
    except OperationalError as exc:
        raise WriteFailed(f"cannot record the crawl run: {exc.orig}") from exc


def finish_run(
    archive: Archive,
    run_id: int,
    *,
    status: str,
    finish_reason: str,
    counts: RunCounts,
    stats: dict[str, Any],
    message: str | None = None,
    finished_at: dt.datetime | None = None,
) -> None:
    """Record the end of a crawl run with its counts.

    Args:
        archive: the open archive.
        run_id: the id :func:`start_run` returned.
        status: ``finished`` or ``failed``.
        finish_reason: Scrapy's finish reason (``finished``, ``shutdown``, …).
        counts: the run's totals.
        stats: the crawl's stats (values made JSON-safe here).
        message: what went wrong, for a failed run.
        finished_at: the end time (now by default).

    Raises:
        WriteFailed: when the archive cannot be written.
    """
    safe_stats = {
        k: (v if isinstance(v, int | float | str | bool) or v is None else str(v)) for k, v in sorted(stats.items())
    }
    try:
        with archive.writing() as session:
            session.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id)
                .values(
                    status=status,
                    finish_reason=finish_reason,
                    finished_at=finished_at or _utcnow(),
                    message=message,
                    pages_fetched=counts.pages_fetched,
                    listings_read=counts.listings_read,
                    new=counts.new,
                    changed=counts.changed,
                    unchanged=counts.unchanged,
                    not_modified=counts.not_modified,
                    removed=counts.removed,
                    restored=counts.restored,
                    failed=counts.failed,
                    skipped=counts.skipped,
                    skipped_reasons=dict(sorted(counts.skipped_reasons.items())),
                    stats=safe_stats,
                )
            )
    except OperationalError as exc:
        raise WriteFailed(f"cannot record the end of run {run_id}: {exc.orig}") from exc


def mark_listings_walked(archive: Archive, site_key: str, at: dt.datetime) -> None:
    """Record that a finished run followed every listing of a site to its last page.

    Args:
        archive: the open archive.
        site_key: profile key.
        at: when that run started.

    Raises:
        WriteFailed: when the archive cannot be written.
    """
    try:
        with archive.writing() as session:
            session.execute(update(Site).where(Site.key == site_key).values(listings_walked_at=at))
    except OperationalError as exc:
        raise WriteFailed(f"cannot record the listing walk of {site_key}: {exc.orig}") from exc


def listings_walked(archive: Archive, site_key: str) -> bool:
    """Whether a finished run once followed every listing of a site to its last page.

    Args:
        archive: the open archive.
        site_key: profile key.

    Returns:
        True when it did.
    """
    with archive.reading() as session:
        return session.scalar(select(Site.listings_walked_at).where(Site.key == site_key)) is not None
