"""CrawlProgress: a live status line on the terminal while `koege-archive crawl` runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler

__all__ = ["CrawlProgress"]


class CrawlProgress:
    """Redraws one status line on stderr twice a second (enabled by the CLI on a terminal)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._console = Console(stderr=True)
        self._status = self._console.status("starting…")
        self._loop = task.LoopingCall(self._draw)
        crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the extension if ``KOEGE_PROGRESS_ENABLED``."""
        if not crawler.settings.getbool("KOEGE_PROGRESS_ENABLED"):
            raise NotConfigured
        return cls(crawler)

    def _draw(self) -> None:
        get = self.crawler.stats.get_value
        self._status.update(
            f"fetched {get('downloader/response_count', 0)} · listings {get('koege/listing/ok', 0)}"
            f" · new {get('koege/storage/new', 0)} · changed {get('koege/storage/changed', 0)}"
            f" · unchanged {get('koege/storage/unchanged', 0)} · failed {get('koege/article/failed', 0)}"
        )

    def _opened(self, spider: Spider) -> None:
        self._status.start()
        self._loop.start(0.5)

    def _closed(self, spider: Spider) -> None:
        if self._loop.running:
            self._loop.stop()
        self._status.stop()
