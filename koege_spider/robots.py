"""RobotsPolicyMiddleware: robots.txt as RFC 9309 reads it, and its Crawl-delay honoured.

Scrapy's own middleware treats a robots.txt that answers 5xx (or cannot be fetched at all) as
"allow everything" and ignores ``Crawl-delay``. RFC 9309 §2.3.1.3–4 says an unreachable
robots.txt means complete disallow; a 4xx means there are no rules. This middleware keeps
Scrapy's machinery (one robots.txt per host, fetched once, before the first page) and changes
only those readings.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler

from koege_spider.pacing import crawl_delay_found

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.robotstxt import RobotParser

__all__ = ["RobotsPolicyMiddleware", "RobotsUnavailable", "robots_rules_for_status"]

logger = logging.getLogger(__name__)

_DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


class RobotsUnavailable(IgnoreRequest):
    """A request refused because its host's robots.txt could not be read (stay out for now)."""

    koege_reason = "robots_unavailable"


def robots_rules_for_status(status: int, body: bytes) -> tuple[bytes, str]:
    """The robots.txt rules to apply for an answer, per RFC 9309.

    Args:
        status: the HTTP status of the (final, after redirects and retries) robots.txt answer.
        body: its body.

    Returns:
        (the rules, a word for the stats: ``ok``, ``absent`` or ``unavailable``).
    """
    if status >= 500:
        return _DISALLOW_ALL, "unavailable"
    if status >= 400:
        return b"", "absent"
    return body, "ok"


class RobotsPolicyMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with RFC 9309's reading of errors, plus Crawl-delay.

    Stats: ``koege/robots/<ok|absent|unavailable|unreachable>``, ``koege/robots/crawl_delay/<host>``.
    Requests refused because robots.txt could not be read fail with :class:`RobotsUnavailable`
    (counted by the spider as skipped ``robots_unavailable``).
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._unavailable: dict[str, str] = {}

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        """Refuse every request to a host whose robots.txt could not be read; else Scrapy's rules."""
        netloc = urlparse_cached(request).netloc
        why = self._unavailable.get(netloc)
        if why is not None:
            self._stats.inc_value("robotstxt/forbidden")
            raise RobotsUnavailable(f"robots.txt of {netloc} unavailable ({why}): staying out of the host for this run")
        super().process_request_2(rp, request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        body, verdict = robots_rules_for_status(response.status, response.body)
        self._stats.inc_value(f"koege/robots/{verdict}")
        if verdict == "unavailable":
            self._unavailable[netloc] = f"HTTP {response.status}"
            logger.warning(
                "robots.txt of %s answered HTTP %d: nothing on that host is fetched in this run (RFC 9309)",
                netloc,
                response.status,
            )
        rp = build_from_crawler(self._parserimpl, self.crawler, body)
        self._announce_crawl_delay(rp, netloc, request)
        await self.crawler.signals.send_catch_log_async(signal=signals.robots_parsed, robotparser=rp, request=request)
        rp_dfd = self._parsers[netloc]
        self._parsers[netloc] = rp
        rp_dfd.callback(rp)  # type: ignore[union-attr]

    def _announce_crawl_delay(self, rp: RobotParser, netloc: str, request: Request) -> None:
        reader = getattr(rp, "crawl_delay", None)
        if reader is None:
            return
        agent = self._robotstxt_useragent or request.headers.get(b"User-Agent", self._default_useragent)
        try:
            delay = reader(agent)
        except (TypeError, ValueError):
            return
        if delay:
            host = urlparse_cached(request).hostname or netloc
            self._stats.set_value(f"koege/robots/crawl_delay/{host}", float(delay))
            self.crawler.signals.send_catch_log(signal=crawl_delay_found, host=host, delay=float(delay))

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest):
            super()._robots_error(exc, netloc)
            return
        # Unreachable (DNS, refused, timeout): RFC 9309 says complete disallow.
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._stats.inc_value("koege/robots/unreachable")
        self._unavailable[netloc] = type(exc).__name__
        rp = build_from_crawler(self._parserimpl, self.crawler, _DISALLOW_ALL)
        rp_dfd = self._parsers[netloc]
        self._parsers[netloc] = rp
        rp_dfd.callback(rp)  # type: ignore[union-attr]
