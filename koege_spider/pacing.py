"""PacingMiddleware: the server's own pacing requests, honoured per download slot.

- ``Crawl-delay`` from robots.txt (announced by RobotsPolicyMiddleware through the
  ``crawl_delay_found`` signal) becomes a floor of the delay of every slot that fetches from
  that host; AutoThrottle may raise the delay, never lower it below the floor.
- ``Retry-After`` on a 429 or 503 answer holds the whole slot (the municipality, across its
  alias hosts) for that long; Scrapy's RetryMiddleware then retries the request after the hold.
  A server asking for more than ``KOEGE_PACING_RETRY_AFTER_MAX`` seconds is left alone for the rest of
  the run: the slot's further requests fail as skipped ``server_busy``.

Scrapy ignores both (TRAPS.md; Scrapy #3849). The slot's delay is changed where Scrapy's
downloader reads it: on ``request_reached_downloader`` (before the slot's queue is processed)
and on ``response_downloaded`` (after AutoThrottle adjusted it, before the queue moves on).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.httpobj import urlparse_cached

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Self

    from scrapy import Request
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["PacingMiddleware", "ServerBusy", "crawl_delay_found", "parse_retry_after"]

logger = logging.getLogger(__name__)

# Sent by RobotsPolicyMiddleware: crawl_delay_found(host=str, delay=float).
crawl_delay_found = object()

_RETRY_STATUSES = (429, 503)
# A slot with no delay never looks at its last-request time; a hold needs it to.
_TINY_DELAY = 0.001


class ServerBusy(IgnoreRequest):
    """A request refused because its server asked the crawl to stay away longer than allowed."""

    koege_reason = "server_busy"


def parse_retry_after(value: str, now: dt.datetime) -> float | None:
    """Read a ``Retry-After`` header (RFC 9110 §10.2.3): seconds, or an HTTP date.

    Args:
        value: the header's value.
        now: the current time (aware), for HTTP dates.

    Returns:
        Seconds to wait (0 for a date in the past), or None when the value is unreadable.
    """
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


class PacingMiddleware:
    """Crawl-delay floors and Retry-After holds per download slot (a downloader middleware).

    Settings: ``KOEGE_PACING_CRAWL_DELAY_MAX`` (a larger Crawl-delay is capped to it; 0, or a
    ``DOWNLOAD_DELAY`` given on the command line, ignores Crawl-delay),
    ``KOEGE_PACING_RETRY_AFTER_MAX``. Stats: ``koege/politeness/retry_after``,
    ``koege/politeness/retry_after_max_seconds``, ``koege/politeness/server_busy/<slot>``.
    """

    def __init__(
        self,
        crawler: Crawler,
        *,
        crawl_delay_max: float,
        retry_after_max: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.crawler = crawler
        self.crawl_delay_max = crawl_delay_max
        self.retry_after_max = retry_after_max
        self._clock = clock
        self._wall_clock = wall_clock
        self._host_floor: dict[str, float] = {}
        self._slot_floor: dict[str, float] = {}
        self._hold_until: dict[str, float] = {}
        self._closed: set[str] = set()
        crawler.signals.connect(self._crawl_delay_found, signal=crawl_delay_found)
        crawler.signals.connect(self._request_reached, signal=signals.request_reached_downloader)
        crawler.signals.connect(self._response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the middleware from the crawl's settings."""
        settings = crawler.settings
        if not settings.getbool("KOEGE_PACING_ENABLED"):
            raise NotConfigured
        # A delay given on the command line replaces every delay, Crawl-delay included (the
        # contract's way to turn politeness delays off for mirrors and benchmarks).
        delay_from_cmdline = (settings.getpriority("DOWNLOAD_DELAY") or 0) >= SETTINGS_PRIORITIES["cmdline"]
        return cls(
            crawler,
            crawl_delay_max=0.0 if delay_from_cmdline else settings.getfloat("KOEGE_PACING_CRAWL_DELAY_MAX"),
            retry_after_max=settings.getfloat("KOEGE_PACING_RETRY_AFTER_MAX"),
        )

    # --- the downloader's slots ---------------------------------------------------------------
    def _slot(self, request: Request) -> tuple[str, Slot] | tuple[None, None]:
        engine = getattr(self.crawler, "engine", None)
        downloader = getattr(engine, "downloader", None)
        key = request.meta.get("download_slot")
        if downloader is None or key is None or key not in downloader.slots:
            return None, None
        return key, downloader.slots[key]

    def _apply(self, key: str, slot: Slot) -> None:
        floor = self._slot_floor.get(key)
        if floor:
            slot.delay = max(slot.delay, floor)
            slot.jitter = 0.0  # the floor is a promise, not an average
        until = self._hold_until.get(key)
        if until is not None:
            if until <= self._clock():
                del self._hold_until[key]
                return
            slot.lastseen = max(slot.lastseen, until)
            slot.delay = max(slot.delay, _TINY_DELAY)

    # --- signals --------------------------------------------------------------------------------
    def _crawl_delay_found(self, host: str, delay: float) -> None:
        if self.crawl_delay_max <= 0:
            return
        if delay > self.crawl_delay_max:
            logger.warning(
                "robots.txt of %s asks for Crawl-delay %.0f s; capped at %.0f s", host, delay, self.crawl_delay_max
            )
        self._host_floor[host] = min(delay, self.crawl_delay_max)

    def _request_reached(self, request: Request, spider: object = None) -> None:
        key, slot = self._slot(request)
        if key is None or slot is None:
            return
        host_floor = self._host_floor.get(urlparse_cached(request).hostname or "")
        if host_floor:
            self._slot_floor[key] = max(self._slot_floor.get(key, 0.0), host_floor)
        self._apply(key, slot)

    def _response_downloaded(self, response: Response, request: Request, spider: object = None) -> None:
        key, slot = self._slot(request)
        if key is None or slot is None:
            return
        if response.status in _RETRY_STATUSES and (header := response.headers.get("Retry-After")):
            self._hold(key, response, header.decode("latin-1"))
        self._apply(key, slot)

    def _hold(self, key: str, response: Response, header: str) -> None:
        seconds = parse_retry_after(header, self._wall_clock())
        if seconds is None:
            return
        stats = self.crawler.stats
        stats.inc_value("koege/politeness/retry_after")
        stats.max_value("koege/politeness/retry_after_max_seconds", seconds)
        if seconds > self.retry_after_max:
            if key not in self._closed:
                logger.warning(
                    "%s asks to come back in %.0f s (Retry-After on HTTP %d), more than KOEGE_PACING_RETRY_AFTER_MAX "
                    "(%.0f s): no more requests to it in this run",
                    key,
                    seconds,
                    response.status,
                    self.retry_after_max,
                )
            self._closed.add(key)
            return
        logger.info(
            "%s asks to wait %.1f s (HTTP %d, Retry-After); holding its requests", key, seconds, response.status
        )
        until = self._clock() + seconds
        self._hold_until[key] = max(self._hold_until.get(key, 0.0), until)

    # --- the middleware ---------------------------------------------------------------------------
    def process_request(self, request: Request) -> None:
        """Refuse requests to a server that asked to be left alone for longer than allowed.

        Raises:
            ServerBusy: for such a request.
        """
        key = request.meta.get("download_slot") or urlparse_cached(request).hostname
        if key in self._closed:
            self.crawler.stats.inc_value(f"koege/politeness/server_busy/{key}")
            raise ServerBusy(f"{key} asked to be left alone (Retry-After beyond KOEGE_PACING_RETRY_AFTER_MAX)")
