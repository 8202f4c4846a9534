"""Crawl runs in the archive: a row written when a run starts, finished with its counts.

A run records the process that crawls (pid and host), so a run whose process is gone without
finishing it (``kill -9``, a power cut) is marked ``interrupted`` by the next look at the runs.
Each finished run stores its quality figures per site (:class:`SiteFigures`).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from archive.models import CrawlRun, RunQuality, Site
from archive.store import WriteFailed

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from archive.db import Archive

__all__ = [
    "RunCounts",
    "SiteFigures",
    "finish_run",
    "first_run_since",
    "unfinished_last_runs",
    "last_run",
    "listings_walked",
    "mark_interrupted_runs",
    "mark_listings_walked",
    "process_alive",
    "run_quality",
    "running_runs",
    "start_run",
    "this_host",
]


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


@dataclass(slots=True)
class SiteFigures:
    """What one run brought back from one site (stored in ``run_quality``; see its model)."""

    site: str
    pages: int = 0
    listings_read: int = 0
    listings_empty: int = 0
    listing_links: int = 0
    articles: int = 0
    missing_title: int = 0
    missing_published: int = 0
    missing_text: int = 0
    not_found: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The figures as a plain dict (column name → count)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def this_host() -> str:
    """The name of this machine, as runs record it."""
    return socket.gethostname()


def _boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def _proc_stat(pid: int) -> tuple[str, float | None] | None:
    """(state, start time as a Unix time) of a Linux process, or None without /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return "gone", None
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[-1].split()
    boot = _boot_time()
    start = None
    if boot is not None and len(fields) > 19:
        start = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return fields[0], start


def process_alive(pid: int, started_at: dt.datetime | None = None) -> bool:
    """Whether the process of a run on this machine still runs.

    A zombie (killed, not yet reaped) is gone; so is a process that started after the run did
    (the pid was reused).

    Args:
        pid: the run's process id.
        started_at: when the run started; a process younger than that is another one.

    Returns:
        True while the run's process exists.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    except OSError:
        return False
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, start = stat
    if state in ("gone", "Z", "X"):
        return False
    # The clock ticks of /proc are coarse: allow a few seconds.
    return not (started_at is not None and start is not None and start > started_at.timestamp() + 5)


def start_run(
    archive: Archive,
    *,
    sites: list[str],
    software_version: str,
    base_url: str | None = None,
    log_file: str | None = None,
    started_at: dt.datetime | None = None,
    pid: int | None = None,
    host: str | None = None,
) -> int:
    """Record the start of a crawl run (status ``running``).

    Args:
        archive: the open archive.
        sites: profile keys crawled.
        software_version: koege-archive's version.
        base_url: the mirror origin, if crawling one.
        log_file: where the crawl's log is written, if to a file.
        started_at: the start time (now by default).
        pid: the crawling process (this one by default).
        host: the machine it runs on (this one by default).

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
                pid=os.getpid() if pid is None else pid,
                host=this_host() if host is None else host,
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
    figures: Sequence[SiteFigures] = (),
) -> None:
    """Record the end of a crawl run with its counts and its quality figures per site.

    Args:
        archive: the open archive.
        run_id: the id :func:`start_run` returned.
        status: ``finished``, ``failed`` or ``interrupted`` (stopped by a signal).
        finish_reason: Scrapy's finish reason (``finished``, ``shutdown``, …).
        counts: the run's totals.
        stats: the crawl's stats (values made JSON-safe here).
        message: what went wrong, for a failed run.
        finished_at: the end time (now by default).
        figures: the run's figures, one per site.

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
            for figure in sorted(figures, key=lambda f: f.site):
                session.add(RunQuality(run_id=run_id, **figure.as_dict()))
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


def _interrupted_message(run: CrawlRun) -> str:
    return (
        f"the crawl's process (pid {run.pid} on {run.host}) ended without finishing the run "
        "(killed, or the machine stopped); the next crawl of the site completes its work"
    )


def mark_interrupted_runs(
    archive: Archive,
    *,
    host: str | None = None,
    alive: Callable[[int, dt.datetime | None], bool] = process_alive,
) -> list[int]:
    """Mark ``interrupted`` the runs of this machine still ``running`` whose process is gone.

    Runs of other machines, and runs recorded without a pid (before schema 0003), are left as
    they are: from here nobody can tell whether they still run.

    Args:
        archive: the open archive.
        host: this machine's name (default: :func:`this_host`).
        alive: tells whether a pid still runs (for tests).

    Returns:
        The ids of the runs marked, oldest first.
    """
    host = this_host() if host is None else host
    with archive.reading() as session:
        candidates = list(
            session.scalars(
                select(CrawlRun)
                .where(CrawlRun.status == "running", CrawlRun.host == host, CrawlRun.pid.is_not(None))
                .order_by(CrawlRun.id)
            )
        )
    gone = [run for run in candidates if run.pid is not None and not alive(run.pid, run.started_at)]
    if not gone:
        return []
    try:
        with archive.writing() as session:
            for run in gone:
                session.execute(
                    update(CrawlRun)
                    .where(CrawlRun.id == run.id, CrawlRun.status == "running")
                    .values(status="interrupted", finish_reason="process_gone", message=_interrupted_message(run))
                )
    except SQLAlchemyError:
        return []  # a read-only look (a locked or read-only archive) still works; next time then
    return [run.id for run in gone]


def _of_site(site: str | None) -> Any:
    if site is None:
        return True
    # ``sites`` is a comma-separated, sorted list of profile keys.
    return (
        (CrawlRun.sites == site)
        | CrawlRun.sites.like(f"{site},%")
        | CrawlRun.sites.like(f"%,{site}")
        | CrawlRun.sites.like(f"%,{site},%")
    )


def last_run(archive: Archive, *, site: str | None = None) -> CrawlRun | None:
    """The most recent crawl (of one site, when given); imports of WARC files are not crawls.

    Args:
        archive: the open archive.
        site: a profile key, or None for any run.

    Returns:
        The run, or None when there is none.
    """
    not_import = CrawlRun.finish_reason.is_(None) | (CrawlRun.finish_reason != "import")
    with archive.reading() as session:
        return session.scalar(select(CrawlRun).where(_of_site(site), not_import).order_by(CrawlRun.id.desc()).limit(1))


def first_run_since(archive: Archive, *, site: str, at: dt.datetime) -> int | None:
    """The first run of a site started at or after a moment (the run a launched crawl recorded).

    Args:
        archive: the open archive.
        site: a profile key.
        at: the moment.

    Returns:
        The run id, or None.
    """
    with archive.reading() as session:
        return session.scalar(
            select(CrawlRun.id).where(_of_site(site), CrawlRun.started_at >= at).order_by(CrawlRun.id).limit(1)
        )


def unfinished_last_runs(archive: Archive, sites: Sequence[str]) -> list[CrawlRun]:
    """The sites' last runs that did not finish (interrupted, or still running), after marking
    the runs whose process is gone as interrupted.

    Args:
        archive: the open archive.
        sites: profile keys.

    Returns:
        The last runs of the sites that are ``interrupted`` or ``running`` (each once).
    """
    mark_interrupted_runs(archive)
    found: dict[int, CrawlRun] = {}
    for site in sorted(sites):
        run = last_run(archive, site=site)
        if run is not None and run.status in ("interrupted", "running"):
            found.setdefault(run.id, run)  # a run of several sites is named once
    return list(found.values())


def running_runs(archive: Archive, *, site: str | None = None) -> list[CrawlRun]:
    """Runs still ``running`` (of one site, when given), oldest first.

    Args:
        archive: the open archive.
        site: a profile key, or None for any run.

    Returns:
        The runs.
    """
    with archive.reading() as session:
        return list(
            session.scalars(select(CrawlRun).where(CrawlRun.status == "running", _of_site(site)).order_by(CrawlRun.id))
        )


def run_quality(archive: Archive, run_id: int) -> list[SiteFigures]:
    """The quality figures a run stored, one per site (none for a run that did not finish).

    Args:
        archive: the open archive.
        run_id: the run.

    Returns:
        The figures, by site.
    """
    with archive.reading() as session:
        rows = session.scalars(select(RunQuality).where(RunQuality.run_id == run_id).order_by(RunQuality.site))
        names = [f.name for f in fields(SiteFigures)]
        return [SiteFigures(**{name: getattr(row, name) for name in names}) for row in rows]
