"""NewsSpider ("news"): profile-driven discovery of news articles through listings and sitemaps."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from koege_spider.items import AttachmentItem
from koege_spider.pages import ArticlePage, ListingPage, SitemapPage, robots_sitemaps
from koege_spider.sites import SiteProfile, load_profile
from koege_spider.spiders.discovery import MoreDiscovery
from koege_spider.urls import CanonicalVotes, SiteUrls

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.http import Response
    from twisted.python.failure import Failure

    from koege_spider.items import ArticleItem

__all__ = ["CrawlArgs", "NewsSpider"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CrawlArgs:
    """The spider's arguments, validated (``-a site=koege -a base_url=http://127.0.0.1:8000``)."""

    sites: tuple[str, ...]
    base_url: str | None = None

    @classmethod
    def parse(cls, site: str | None, base_url: str | None) -> CrawlArgs:
        """Validate raw spider arguments.

        Args:
            site: one profile key or several separated by commas.
            base_url: a mirror origin, or None.

        Returns:
            The arguments.

        Raises:
            ValueError: with a message naming what is wrong.
        """
        names = tuple(s.strip() for s in (site or "").split(",") if s.strip())
        if not names:
            raise ValueError("no site given: use -a site=koege")
        return cls(sites=names, base_url=base_url or None)


class NewsSpider(MoreDiscovery, scrapy.Spider):
    """Crawls the feeds, listings, robots.txt sitemaps and profile sitemaps of each site.

    The spider fetches and follows links; it never extracts bodies or parses dates.
    """

    name = "news"

    def __init__(self, site: str | None = None, base_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        args = CrawlArgs.parse(site, base_url)
        self.profiles: dict[str, SiteProfile] = {name: load_profile(name) for name in args.sites}
        self.site_urls: dict[str, SiteUrls] = {
            name: SiteUrls.for_profile(profile, args.base_url) for name, profile in self.profiles.items()
        }
        self.base_url = args.base_url
        self.allowed_domains = sorted({d for urls in self.site_urls.values() for d in urls.allowed_domains})
        self.canonical_votes = CanonicalVotes()
        # Attachment URL → the articles that link it (the list travels in the request's meta, so
        # an article parsed while the file is being fetched is linked too), and the files already
        # answered this run (fetched once; a later article gets a reference to the same capture).
        self._attachment_links: dict[str, list[str]] = {}
        self._attachments_answered: dict[str, AttachmentItem] = {}

    # --- requests -------------------------------------------------------------------------
    def _request(self, site: str, url: str, callback: Any, errback: Any, **meta: Any) -> scrapy.Request:
        urls = self.site_urls[site]
        return scrapy.Request(
            urls.fetch_url(url),
            callback=callback,
            errback=errback,
            meta={"koege_site": site, "download_slot": site, **meta},
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Seed each site's listings, optional listings, robots.txt and sitemaps."""
        for site, profile in self.profiles.items():
            urls = self.site_urls[site]
            disc = profile.discovery
            for path in self.listing_paths(disc.listings, disc.listing_years):
                yield self._request(
                    site,
                    urls.absolute(path),
                    self.parse_listing,
                    self.listing_failed,
                    koege_required=True,
                )
            for path in self.listing_paths(disc.optional_listings, disc.listing_years):
                yield self._request(
                    site,
                    urls.absolute(path),
                    self.parse_listing,
                    self.listing_failed,
                    koege_required=False,
                )
            if disc.robots_sitemaps:
                yield self._request(site, urls.absolute("/robots.txt"), self.parse_robots, self.listing_failed)
            for path in disc.sitemaps:
                yield self._request(site, urls.absolute(path), self.parse_sitemap, self.listing_failed)
            for request in self.extra_seeds(site):
                yield request

    def _article_requests(
        self, site: str, links: list[str], lastmods: dict[str, str | None] | None = None
    ) -> Iterator[scrapy.Request]:
        for link in links:
            lastmod = (lastmods or {}).get(link)
            meta = {"koege_lastmod": lastmod} if lastmod else {}
            yield self._request(site, link, self.parse_article, self.article_failed, **meta)

    # --- callbacks ------------------------------------------------------------------------
    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        """Follow a listing's articles and its further pages."""
        site = response.meta["koege_site"]
        stats = self.crawler.stats
        if not isinstance(response, TextResponse):
            stats.inc_value("koege/listing/not_html")
            return
        profile = self.profiles[site]
        response = self.listing_response(site, response)
        page = ListingPage(response, self.site_urls[site], profile.discovery.pagination_params)
        links = self.listing_links(site, response, page.article_links())
        stats.inc_value("koege/listing/ok")
        stats.inc_value("koege/listing/links", len(links))
        if not links:
            stats.inc_value("koege/listing/empty")
            logger.warning("Listing %s links no articles", response.url)
        yield from self.article_requests(site, links)
        depth = response.meta.get("koege_listing_page", 1)
        if depth == 1:
            yield from self.listing_extras(site, response)
        if depth < profile.discovery.max_listing_pages:
            for url in page.next_pages():
                yield self._request(
                    site,
                    url,
                    self.parse_listing,
                    self.listing_failed,
                    koege_required=False,
                    koege_listing_page=depth + 1,
                )
        else:
            stats.inc_value("koege/listing/page_cap_reached")

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        """Follow the ``Sitemap:`` lines of robots.txt."""
        site = response.meta["koege_site"]
        if not isinstance(response, TextResponse):
            return
        urls = self.site_urls[site]
        for sitemap in robots_sitemaps(response):
            if urls.on_site(sitemap):
                yield self._request(site, urls.canonical(sitemap), self.parse_sitemap, self.listing_failed)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        """Follow a sitemap index's sitemaps and a sitemap's article URLs."""
        site = response.meta["koege_site"]
        stats = self.crawler.stats
        urls = self.site_urls[site]
        kind, dated = SitemapPage(response, self.settings.getint("DOWNLOAD_MAXSIZE")).dated_entries()
        if not kind:
            stats.inc_value("koege/sitemap/unreadable")
            logger.warning("Unreadable sitemap at %s", response.url)
            return
        stats.inc_value("koege/sitemap/ok")
        lastmods = {urls.canonical(loc): lastmod for loc, lastmod in dated if urls.on_site(loc)}
        on_site = list(lastmods)
        if kind == "sitemapindex":
            for loc in on_site:
                yield self._request(site, loc, self.parse_sitemap, self.listing_failed)
            return
        articles = [u for u in dict.fromkeys(on_site) if urls.is_article(u)]
        stats.inc_value("koege/sitemap/links", len(articles))
        yield from self._article_requests(site, articles, lastmods)

    def parse_article(self, response: Response) -> Iterator[ArticleItem | AttachmentItem | scrapy.Request]:
        """Turn an article response into an item, or count why it is skipped."""
        site = response.meta["koege_site"]
        if response.meta.get("koege_observed"):
            return  # a 304, an identical payload or a removal: recorded without extraction (recrawl)
        page = ArticlePage(response, self.site_urls[site], site, votes=self.canonical_votes)
        reason = page.skip_reason()
        if reason is not None:
            self.crawler.stats.inc_value(f"koege/skipped/{reason}")
            logger.info("Skipped %s: %s", response.url, reason)
            return
        self.crawler.stats.inc_value("koege/article/fetched")
        item = page.item(fetched_at=dt.datetime.now(dt.UTC))
        item.listing_date_text = response.meta.get("koege_listing_date")
        yield item
        yield from self._attachments_of(site, page)

    def _attachments_of(self, site: str, page: ArticlePage) -> Iterator[scrapy.Request | AttachmentItem]:
        """Requests for the files an article links to, each file once per run.

        Only new or changed pages reach this point: a 304 or an identical payload is observed
        without a callback's output, so the files of unchanged articles are not fetched again.
        """
        stats = self.crawler.stats
        for url in page.attachment_links():
            linked = self._attachment_links.get(url)
            if linked is None:
                linked = self._attachment_links[url] = [page.canonical_url]
                stats.inc_value("koege/attachment/requested")
                yield self._request(
                    site,
                    url,
                    self.parse_attachment,
                    self.attachment_failed,
                    koege_attachment_url=url,
                    koege_attachment_of=linked,
                )
            elif page.canonical_url not in linked:
                linked.append(page.canonical_url)
                answered = self._attachments_answered.get(url)
                if answered is not None:
                    stats.inc_value("koege/attachment/reused")
                    yield replace(answered, article_url=page.canonical_url)

    def parse_attachment(self, response: Response) -> Iterator[AttachmentItem]:
        """Turn a file linked from articles into one item per article that links it.

        The first item carries the body; the others refer to the same capture (``reused``).
        """
        site = response.meta["koege_site"]
        url = response.meta["koege_attachment_url"]
        header = response.headers.get("Content-Type")
        answer = AttachmentItem(
            article_url="",
            url=url,
            site=site,
            fetched_at=dt.datetime.now(dt.UTC),
            http_status=response.status,
            content_type=header.decode("latin-1") if header else None,
            body=b"",
            warc=response.meta.get("koege_warc"),
            reused=True,
        )
        # Remembered before the linking articles are read: one that comes later gets its own copy.
        self._attachments_answered[url] = answer
        articles = list(response.meta["koege_attachment_of"])
        self.crawler.stats.inc_value("koege/attachment/fetched")
        for number, article_url in enumerate(articles):
            if number == 0:
                yield replace(answer, article_url=article_url, body=response.body, reused=False)
            else:
                yield replace(answer, article_url=article_url)

    # --- errbacks -------------------------------------------------------------------------
    @staticmethod
    def _describe(failure: Failure) -> str:
        if failure.check(HttpError):
            return f"HTTP {failure.value.response.status}"
        return f"{type(failure.value).__name__}: {failure.getErrorMessage()}"

    @staticmethod
    def _ignored_reason(failure: Failure) -> str:
        # Politeness components name their own reason (robots_unavailable, budget_pages, …).
        reason = getattr(failure.value, "koege_reason", None)
        if reason:
            return str(reason)
        return "robots_disallowed" if "robots.txt" in failure.getErrorMessage() else "filtered"

    def listing_failed(self, failure: Failure) -> None:
        """Count a listing, robots.txt or sitemap that could not be read."""
        request = failure.request  # type: ignore[attr-defined]
        stats = self.crawler.stats
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            stats.inc_value(f"koege/skipped/{self._ignored_reason(failure)}")
            stats.set_value("koege/listing/last_error", f"{request.url}: {failure.getErrorMessage()}")
            return
        if not request.meta.get("koege_required", True) and failure.check(HttpError):
            stats.inc_value("koege/listing/absent")
            logger.info("Optional listing absent: %s (%s)", request.url, self._describe(failure))
            return
        stats.inc_value("koege/listing/failed")
        stats.set_value("koege/listing/last_error", f"{request.url}: {self._describe(failure)}")
        logger.warning("Could not read %s: %s", request.url, self._describe(failure))

    def attachment_failed(self, failure: Failure) -> None:
        """Count a file linked from an article that could not be fetched (the article is archived)."""
        request = failure.request  # type: ignore[attr-defined]
        stats = self.crawler.stats
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            stats.inc_value(f"koege/attachment/skipped/{self._ignored_reason(failure)}")
            logger.info("Attachment not fetched (%s): %s", self._ignored_reason(failure), request.url)
            return
        stats.inc_value("koege/attachment/failed")
        logger.warning("Could not fetch the attachment %s: %s", request.url, self._describe(failure))

    def article_failed(self, failure: Failure) -> None:
        """Count an article that could not be fetched."""
        request = failure.request  # type: ignore[attr-defined]
        stats = self.crawler.stats
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            reason = self._ignored_reason(failure)
            stats.inc_value(f"koege/skipped/{reason}")
            logger.info("Not fetched (%s): %s", reason, request.url)
            return
        if failure.check(HttpError):
            stats.inc_value(f"koege/article/http_{failure.value.response.status}")
        stats.inc_value("koege/article/failed")
        logger.warning("Could not fetch %s: %s", request.url, self._describe(failure))
