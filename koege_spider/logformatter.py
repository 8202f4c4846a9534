"""ArticleLogFormatter: log items by URL, never the whole page they carry."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.logformatter import LogFormatter

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.http import Response
    from scrapy.logformatter import LogFormatterResult
    from twisted.python.failure import Failure

__all__ = ["ArticleLogFormatter"]


def _url(item: Any) -> str:
    return str(getattr(item, "url", None) or item)[:500]


class ArticleLogFormatter(LogFormatter):
    """Scrapy logs an item's repr; ours holds the page's HTML and bytes, so name its URL instead.

    A dropped item is an expected, counted outcome (a page without an article): INFO, not WARNING.
    """

    def scraped(self, item: Any, response: Response | Failure | None, spider: Spider) -> LogFormatterResult:
        """One line per archived page."""
        return {"level": logging.DEBUG, "msg": "Scraped %(url)s", "args": {"url": _url(item)}}

    def dropped(
        self, item: Any, exception: BaseException, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult:
        """One line per page that was not archived, with the reason."""
        return {
            "level": logging.INFO,
            "msg": "Not archived (%(reason)s): %(url)s",
            "args": {"reason": exception, "url": _url(item)},
        }

    def item_error(
        self, item: Any, exception: BaseException, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult:
        """A pipeline failed on a page (a bug): the URL, and the traceback from the caller."""
        return {"level": logging.ERROR, "msg": "Error processing %(url)s", "args": {"url": _url(item)}}
