"""MirrorRebaseMiddleware: keep every request of a mirror crawl on the mirror, redirects included."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler

__all__ = ["MirrorRebaseMiddleware"]


class MirrorRebaseMiddleware:
    """Rewrites a request for one of the site's hosts to the mirror origin (``--base-url``).

    The spider already asks for mirror URLs; this catches what it does not create itself,
    such as a redirect whose ``Location`` names the canonical host (``https://www.koege.dk/…``).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the middleware."""
        return cls(crawler)

    def process_request(self, request: Request) -> Request | None:
        """Return the rebased request when the URL left the mirror, else None."""
        site = request.meta.get("koege_site")
        urls = getattr(self.crawler.spider, "site_urls", {}).get(site) if site else None
        if urls is None or urls.mirror_origin is None:
            return None
        rebased = urls.fetch_url(request.url)
        if rebased == request.url:
            return None
        self.crawler.stats.inc_value("koege/mirror/rebased")
        return request.replace(url=rebased)
