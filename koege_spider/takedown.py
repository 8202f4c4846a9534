"""SuppressedUrlsMiddleware: crawls leave suppressed documents alone (a takedown is not undone by a recrawl).

A document hidden with ``koege-archive suppress`` (``archive.suppression``) is not fetched again
while its suppression lasts: its article requests fail as skipped ``suppressed``. As a downloader
middleware it also sees the requests the recrawl sweep schedules past the spider middlewares.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import IgnoreRequest

from archive.db import ArchiveError, open_archive
from archive.suppression import suppressed_urls

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

__all__ = ["Suppressed", "SuppressedUrlsMiddleware"]

logger = logging.getLogger(__name__)


class Suppressed(IgnoreRequest):
    """A request for a suppressed document."""

    koege_reason = "suppressed"


class SuppressedUrlsMiddleware:
    """Refuses requests for the canonical URLs of suppressed documents (loaded once per run)."""

    def __init__(self, crawler: Crawler, db_url: str) -> None:
        self.crawler = crawler
        self.db_url = db_url
        self._urls: dict[str, set[str]] = {}
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the middleware from ``KOEGE_ARCHIVE_DB``."""
        return cls(crawler, crawler.settings.get("KOEGE_ARCHIVE_DB"))

    def spider_opened(self, spider: Spider) -> None:
        """Read the suppressed URLs of every site crawled."""
        try:
            archive = open_archive(self.db_url)
        except ArchiveError:
            return  # the run recorder reports an unusable archive
        try:
            for site in sorted(getattr(spider, "profiles", {})):
                self._urls[site] = suppressed_urls(archive, site)
        finally:
            archive.close()

    def process_request(self, request: Request) -> None:
        """Refuse a request for a suppressed document.

        Raises:
            Suppressed: when the request's canonical URL belongs to a suppressed document.
        """
        site = request.meta.get("koege_site")
        urls = self._urls.get(site) if site else None
        if not urls:
            return
        spider = self.crawler.spider
        canonical = spider.site_urls[site].canonical(request.url)  # type: ignore[union-attr]
        if canonical in urls:
            self.crawler.stats.inc_value("koege/takedown/suppressed")
            raise Suppressed(f"{canonical} is suppressed")
