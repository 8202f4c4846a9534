"""SiteAutoThrottle: AutoThrottle that never goes below a site's own delay."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.extensions.throttle import AutoThrottle

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["SiteAutoThrottle"]


class SiteAutoThrottle(AutoThrottle):
    """Scrapy's AutoThrottle lowers a slot's delay down to ``DOWNLOAD_DELAY``; this keeps the
    per-site delay from ``DOWNLOAD_SLOTS`` as the floor, so a profile's delay is a promise."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        slots = crawler.settings.getdict("DOWNLOAD_SLOTS")
        self._floors = {key: float(conf.get("delay", 0.0)) for key, conf in slots.items()}

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._get_slot(request, spider)
        if key is None or slot is None:
            return
        slot.delay = max(slot.delay, self._floors.get(key, 0.0))
