"""CrawlRunRecorder: a crawl_runs row written when the spider opens and finished when it closes.

The row names the crawl's process (pid, host): a run killed hard is marked ``interrupted`` when
the next run starts, which says so in its log. While the crawl runs, the recorder counts its
quality figures per site (:mod:`koege_spider.quality`) and stores them with the run. Before it
finishes the row, it signs the run's new texts and links them to their near-duplicates
(``archive.duplicates``), so ``koege-archive duplicates`` is current after every crawl.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import CloseSpider
from sqlalchemy.exc import SQLAlchemyError

from archive.db import ArchiveError, open_archive
from archive.runs import RunCounts, finish_run, start_run, unfinished_last_runs
from archive.store import WriteFailed
from koege_spider.items import ArticleItem
from koege_spider.quality import RunFigures

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from archive.db import Archive

__all__ = ["CrawlRunRecorder", "run_counts", "run_verdict"]

logger = logging.getLogger(__name__)

_SKIP_PREFIXES = ("koege/skipped/", "koege/extraction/dropped/")


def run_counts(stats: dict[str, Any]) -> RunCounts:
    """Summarise a crawl's stats as run totals.

    Args:
        stats: the crawl's stats.

    Returns:
        The totals.
    """
    reasons: dict[str, int] = {}
    for key, value in stats.items():
        for prefix in _SKIP_PREFIXES:
            if key.startswith(prefix):
                reasons[key[len(prefix) :]] = reasons.get(key[len(prefix) :], 0) + int(value)
    return RunCounts(
        pages_fetched=int(stats.get("downloader/response_count", 0)),
        listings_read=int(stats.get("koege/listing/ok", 0)) + int(stats.get("koege/sitemap/ok", 0)),
        new=int(stats.get("koege/storage/new", 0)) + int(stats.get("koege/storage/duplicate", 0)),
        changed=int(stats.get("koege/storage/changed", 0)),
        # Fetched again with the same content: extracted and compared, or an identical payload.
        unchanged=int(stats.get("koege/storage/unchanged", 0)) + int(stats.get("koege/recrawl/unchanged", 0)),
        not_modified=int(stats.get("koege/recrawl/not_modified", 0)),
        removed=int(stats.get("koege/recrawl/removed", 0)),
        restored=int(stats.get("koege/recrawl/restored", 0)),
        failed=int(stats.get("koege/article/failed", 0)),
        skipped=sum(reasons.values()),
        skipped_reasons=reasons,
    )


def run_verdict(reason: str, counts: RunCounts, stats: dict[str, Any]) -> tuple[str, str | None]:
    """Decide whether a run succeeded, and say why not.

    A run fails when it stopped early, when no listing or sitemap could be read, or when the
    archive could not be written. A run in which nothing changed is a success.

    Args:
        reason: Scrapy's finish reason.
        counts: the run's totals.
        stats: the crawl's stats.

    Returns:
        (``finished``, ``failed`` or ``interrupted`` (stopped by a signal), a message saying what
        went wrong and what to do).
    """
    if stats.get("koege/storage/write_failed") or reason == "archive_unavailable":
        error = stats.get("koege/storage/error") or stats.get("koege/run/error") or "the archive could not be opened"
        return "failed", f"{error}. Free disk space or fix the --db location, then crawl again."
    if counts.listings_read == 0:
        last = stats.get("koege/listing/last_error")
        detail = f" (last error: {last})" if last else ""
        return "failed", (f"no listing or sitemap could be read{detail}. Check the network, the site, or --base-url.")
    if reason == "shutdown":
        return (
            "interrupted",
            "stopped by Ctrl-C or SIGTERM before it was done; run the same crawl again to continue where it stopped.",
        )
    if reason != "finished":
        return (
            "failed",
            f"the crawl stopped before it was done ({reason}); run it again to continue.",
        )
    return "finished", None


class CrawlRunRecorder:
    """Records every crawl in the archive, so a run killed hard is visible as unfinished."""

    def __init__(self, crawler: Crawler, db_url: str, version: str, neardup_threshold: float | None = None) -> None:
        self.crawler = crawler
        self.db_url = db_url
        self.version = version
        self.neardup_threshold = neardup_threshold
        self.run_id: int | None = None
        self.figures = RunFigures()
        self._archive: Archive | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.spider_error, signal=signals.spider_error)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the recorder from ``KOEGE_ARCHIVE_DB`` and ``KOEGE_NEARDUP_*``."""
        settings = crawler.settings
        threshold = settings.getfloat("KOEGE_NEARDUP_THRESHOLD") if settings.getbool("KOEGE_NEARDUP_ENABLED") else None
        return cls(crawler, settings.get("KOEGE_ARCHIVE_DB"), settings.get("KOEGE_VERSION"), threshold)

    def spider_opened(self, spider: Spider) -> None:
        """Write the run row (status ``running``).

        Raises:
            CloseSpider: ``archive_unavailable`` when the archive cannot be written.
        """
        sites = sorted(getattr(spider, "profiles", {}) or [spider.name])
        try:
            self._archive = open_archive(self.db_url)
            self._report_unfinished(sites)
            self.run_id = start_run(
                self._archive,
                sites=sites,
                software_version=self.version,
                base_url=getattr(spider, "base_url", None),
                log_file=self.crawler.settings.get("LOG_FILE"),
            )
        except (ArchiveError, WriteFailed) as exc:
            logger.error("Cannot record the crawl in the archive: %s", exc)
            self.crawler.stats.set_value("koege/run/error", str(exc))
            raise CloseSpider("archive_unavailable") from exc
        self.crawler.stats.set_value("koege/run/id", self.run_id)

    def _report_unfinished(self, sites: list[str]) -> None:
        """Mark runs killed hard as interrupted; say so when a site's last run did not finish."""
        assert self._archive is not None
        for previous in unfinished_last_runs(self._archive, sites):
            state = "is still running" if previous.status == "running" else "did not finish"
            logger.warning(
                "The last run of %s (run %d, started %s) %s (%s); this run completes its work: what that run "
                "archived is kept and not fetched again, the rest is fetched now.",
                previous.sites,
                previous.id,
                previous.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                state,
                previous.status,
            )
            self.crawler.stats.set_value("koege/run/previous_unfinished", previous.id)

    # --- quality figures --------------------------------------------------------------------
    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        """Count a page of a site."""
        site = request.meta.get("koege_site")
        if site is not None:
            self.figures.response(site, response.status)

    def item_scraped(self, item: Any, response: Response, spider: Spider) -> None:
        """Count an archived article and what it lacks (files linked from articles are not articles)."""
        site = getattr(item, "site", None)
        if site is not None and isinstance(item, ArticleItem):
            self.figures.article(site, title=item.title, published=item.published, text=item.text)

    def item_dropped(self, item: Any, response: Response, exception: BaseException, spider: Spider) -> None:
        """Count an article page from which no text could be extracted."""
        site = getattr(item, "site", None)
        if site is not None and str(exception) == "no_article":
            self.figures.empty_article(site)

    def spider_error(self, failure: Any, response: Response, spider: Spider) -> None:
        """Count a page that broke its callback."""
        site = response.meta.get("koege_site") if response is not None else None
        if site is not None:
            self.figures.error(site)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Finish the run row with the counts and the verdict."""
        if self._archive is None or self.run_id is None:
            return
        self._link_near_duplicates()
        stats = self.crawler.stats.get_stats()
        counts = run_counts(stats)
        status, message = run_verdict(reason, counts, stats)
        try:
            finish_run(
                self._archive,
                self.run_id,
                status=status,
                finish_reason=reason,
                counts=counts,
                stats=stats,
                message=message,
                figures=self.figures.all(),
            )
        except WriteFailed as exc:
            logger.error("Could not record the end of run %s: %s", self.run_id, exc)
        finally:
            self._archive.close()

    def _link_near_duplicates(self) -> None:
        stats = self.crawler.stats
        if self.neardup_threshold is None or self._archive is None or stats.get_value("koege/storage/write_failed"):
            return
        from archive.duplicates import link_near_duplicates  # NumPy only when a run ends

        try:
            report = link_near_duplicates(self._archive, run_id=self.run_id, threshold=self.neardup_threshold)
        except SQLAlchemyError as exc:
            # The links are derived data: the next run (or `koege-archive duplicates`) adds them.
            stats.inc_value("koege/neardup/failed")
            logger.warning("Near-duplicates not linked this time: %s", getattr(exc, "orig", None) or exc)
            return
        stats.set_value("koege/neardup/signed", report.signed)
        stats.set_value("koege/neardup/linked", report.linked)
