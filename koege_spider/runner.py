"""Run a crawl in this process with the project's settings (the `koege-archive crawl` door)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from koege_spider.spiders.news import NewsSpider

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CrawlOutcome", "crawl_settings", "run_crawl"]


@dataclass(frozen=True, slots=True)
class CrawlOutcome:
    """What a finished crawl left behind: its run id (None if it never started) and stats."""

    run_id: int | None
    stats: dict[str, Any]


def crawl_settings(
    db_url: str,
    overrides: dict[str, str] | None = None,
    *,
    progress: bool = False,
    log_file: Path | None = None,
    data_dir: str | None = None,
) -> Settings:
    """The settings of `scrapy crawl news`, plus this run's choices.

    Args:
        db_url: the archive's URL.
        overrides: ``-s NAME=VALUE`` pairs (command-line priority, as with Scrapy).
        progress: show a live progress line on stderr.
        log_file: write Scrapy's log there instead of stderr (``-s LOG_FILE=…`` still wins).
        data_dir: the archive's data folder (WARC captures), when not the default.

    Returns:
        The settings.
    """
    settings = Settings()
    settings.setmodule("koege_spider.settings", priority="project")
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        settings.set("LOG_FILE", str(log_file), priority="spider")
    settings.set("KOEGE_ARCHIVE_DB", db_url, priority="cmdline")
    if data_dir:
        settings.set("KOEGE_ARCHIVE_DATA", data_dir, priority="cmdline")
    settings.set("KOEGE_PROGRESS_ENABLED", progress, priority="spider")
    if progress:
        extensions = dict(settings.getdict("EXTENSIONS"))
        extensions["koege_spider.progress.CrawlProgress"] = 500
        settings.set("EXTENSIONS", extensions, priority="spider")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def run_crawl(sites: list[str], *, base_url: str | None, settings: Settings) -> CrawlOutcome:
    """Crawl the sites in this process until done (blocks; installs Scrapy's signal handlers).

    Args:
        sites: profile keys.
        base_url: a mirror origin, or None for the live sites.
        settings: from :func:`crawl_settings`.

    Returns:
        The run id and stats.
    """
    process = CrawlerProcess(settings)
    # tldextract (used by the cookies middleware) tries to download the public suffix list on
    # first use; offline that is one harmless, noisy failure.
    logging.getLogger("tldextract").setLevel(logging.ERROR)
    # Every archive open checks the schema; Alembic announces its dialect each time.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    crawler = process.create_crawler(NewsSpider)
    process.crawl(crawler, site=",".join(sites), base_url=base_url)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return CrawlOutcome(run_id=stats.get("koege/run/id"), stats=stats)
