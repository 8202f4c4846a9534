"""Quality figures of a run, per site: pages, listings (empty or not), articles and what they lacked.

:class:`RunFigures` counts (plain Python, no Scrapy); :class:`ListingQualityMiddleware` sees each
listing's article links before the revisit policy filters them, and hands them to the run
recorder's :class:`RunFigures`. The recorder stores the figures with the run
(``archive.runs.finish_run``), where ``koege-archive health`` compares them with the site's history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import Request

from archive.runs import SiteFigures

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["ListingQualityMiddleware", "RunFigures"]

# Callbacks whose pages are not listings: articles, files linked from them, and robots.txt (read
# for its Sitemap: lines).
_NOT_LISTINGS = frozenset({"parse_article", "parse_attachment", "parse_robots"})
_NOT_FOUND = frozenset({404, 410})


def _callback_name(request: Request | None) -> str | None:
    return getattr(getattr(request, "callback", None), "__name__", None)


class RunFigures:
    """The figures of one run, per site."""

    def __init__(self) -> None:
        self._sites: dict[str, SiteFigures] = {}

    def site(self, key: str) -> SiteFigures:
        """The figures of one site (created empty on first use)."""
        if key not in self._sites:
            self._sites[key] = SiteFigures(site=key)
        return self._sites[key]

    def all(self) -> list[SiteFigures]:
        """Every site's figures, by site key."""
        return [self._sites[k] for k in sorted(self._sites)]

    def response(self, site: str, status: int) -> None:
        """Count a page the site answered (any status)."""
        figures = self.site(site)
        figures.pages += 1
        if status in _NOT_FOUND:
            figures.not_found += 1
        elif status >= 500:
            figures.errors += 1

    def listing(self, site: str, article_links: int) -> None:
        """Count a listing, feed or sitemap page read, and the article links it held."""
        figures = self.site(site)
        figures.listings_read += 1
        figures.listing_links += article_links
        if article_links == 0:
            figures.listings_empty += 1

    def article(self, site: str, *, title: str | None, published: str | None, text: str | None) -> None:
        """Count an extracted article and the fields it lacks."""
        figures = self.site(site)
        figures.articles += 1
        figures.missing_title += not (title or "").strip()
        figures.missing_published += not published
        figures.missing_text += not (text or "").strip()

    def empty_article(self, site: str) -> None:
        """Count an article page from which no text could be extracted (nothing archived)."""
        figures = self.site(site)
        figures.articles += 1
        figures.missing_text += 1

    def error(self, site: str) -> None:
        """Count a page that broke its callback."""
        self.site(site).errors += 1


class ListingQualityMiddleware:
    """Counts each listing page's article links before the revisit policy thins them out.

    Its number must be higher than ``RevisitMiddleware``'s (750): callback output passes the
    spider middlewares from the highest number down.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the middleware."""
        return cls(crawler)

    def _figures(self) -> RunFigures | None:
        from koege_spider.extensions import CrawlRunRecorder

        recorder = self.crawler.get_extension(CrawlRunRecorder)
        return recorder.figures if recorder is not None else None

    def _count(self, response: Response, output: list[Any]) -> None:
        site = response.meta.get("koege_site")
        name = _callback_name(response.request)
        figures = self._figures()
        if figures is None or site is None or name is None or name in _NOT_LISTINGS or response.status >= 300:
            return
        requests = [r for r in output if isinstance(r, Request)]
        articles = sum(1 for r in requests if _callback_name(r) == "parse_article")
        if name == "parse_sitemap" and not articles and any(_callback_name(r) == "parse_sitemap" for r in requests):
            return  # a sitemap index: its sitemaps are counted when read
        figures.listing(site, articles)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        """Count a callback's output and pass it on unchanged."""
        output = list(result)
        self._count(response, output)
        yield from output

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Count a callback's output and pass it on unchanged (asynchronous callbacks)."""
        output = [entry async for entry in result]
        self._count(response, output)
        for entry in output:
            yield entry
