"""MoreDiscovery: the NewsSpider's feeds, listing cards, JSON listing APIs and POSTed listings.

Discovery order per site: a feed where one exists (the profile's, or one a listing page
announces), the listing pages, then sitemaps. Every kind of listing read counts as
``koege/listing/ok`` (the run's "listings read"), and has its own ``koege/<kind>/…`` stats.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from parsel import Selector
from scrapy.http import TextResponse

from koege_spider.feeds import feed_links, parse_feed
from koege_spider.listings import (
    JsonListingPage,
    card_links,
    choose_links,
    csrf_token,
    expand_years,
    json_listing_url,
    post_listing_body,
    post_listing_is_last,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    import scrapy
    from scrapy.http import Response

    from koege_spider.sites import SiteProfile
    from koege_spider.urls import SiteUrls

__all__ = ["MoreDiscovery"]

logger = logging.getLogger(__name__)


class MoreDiscovery:
    """Callbacks mixed into NewsSpider; they use its ``_request`` and ``_article_requests``."""

    profiles: dict[str, SiteProfile]
    site_urls: dict[str, SiteUrls]
    crawler: Any

    if TYPE_CHECKING:  # provided by NewsSpider

        def _request(self, site: str, url: str, callback: Any, errback: Any, **meta: Any) -> scrapy.Request: ...
        def listing_failed(self, failure: Any) -> None: ...
        def article_failed(self, failure: Any) -> None: ...
        def parse_article(self, response: Response) -> Any: ...

    # --- seeds ----------------------------------------------------------------------------
    @staticmethod
    def listing_paths(paths: tuple[str, ...], years: int) -> list[str]:
        """Listing paths with ``{year}`` expanded for today's date (the spider's one clock read)."""
        return expand_years(paths, years, dt.datetime.now(dt.UTC).date())

    def extra_seeds(self, site: str) -> Iterator[scrapy.Request]:
        """The profile's feeds and the first page of its JSON listing API."""
        profile, urls = self.profiles[site], self.site_urls[site]
        for feed in profile.discovery.feeds:
            yield self._request(site, urls.absolute(feed), self.parse_feed, self.listing_failed)
        rules = profile.json_listing
        if rules is not None:
            yield self._request(
                site,
                json_listing_url(urls.absolute(rules.url), rules, rules.first_page),
                self.parse_json_listing,
                self.listing_failed,
                koege_json_page=rules.first_page,
            )

    def article_requests(self, site: str, dated: list[tuple[str, str | None]]) -> Iterator[scrapy.Request]:
        """Requests for canonical article URLs, each carrying the date its listing showed."""
        for link, date in dated:
            meta = {"koege_listing_date": date} if date else {}
            yield self._request(site, link, self.parse_article, self.article_failed, **meta)

    # --- listing pages: cards, announced feeds, POSTed pages ------------------------------
    def listing_response(self, site: str, response: TextResponse) -> TextResponse:
        """The response as the site sees it: a mirror's ``/_ext/<host>/`` page gets its real URL
        back, so that its relative links resolve on the external host."""
        real = self.site_urls[site].real_url(response.url)
        return response if real == response.url else response.replace(url=real)

    def listing_links(self, site: str, response: TextResponse, generic: list[str]) -> list[tuple[str, str | None]]:
        """(article URL, card date) of a listing page: its cards' links, else every article link."""
        profile = self.profiles[site]
        found = card_links(response.selector, response.url, self.site_urls[site], profile.listing)
        if found:
            self.crawler.stats.inc_value("koege/listing/cards", len(found))
        return choose_links(generic, found)

    def listing_extras(self, site: str, response: TextResponse) -> Iterator[scrapy.Request]:
        """From a listing's first page: the feeds it announces and the POSTed listing pages."""
        profile, urls = self.profiles[site], self.site_urls[site]
        if profile.discovery.feed_autodiscovery:
            for feed in feed_links(response):
                if urls.on_site(feed):
                    self.crawler.stats.inc_value("koege/feed/discovered")
                    yield self._request(site, urls.canonical(feed), self.parse_feed, self.listing_failed)
        rules = profile.post_listing
        if rules is None:
            return
        token = csrf_token(response.selector, rules)
        if rules.csrf_selector is not None and token is None:
            return
        yield self._post_listing_request(site, rules.first_page, token)

    def _post_listing_request(self, site: str, page: int, token: str | None) -> scrapy.Request:
        rules = self.profiles[site].post_listing
        assert rules is not None
        urls = self.site_urls[site]
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Requested-With": "XMLHttpRequest"}
        if token is not None:
            headers[rules.csrf_header] = token
        return self._request(
            site,
            urls.absolute(rules.url),
            self.parse_post_listing,
            self.listing_failed,
            koege_post_page=page,
            koege_csrf=token,
        ).replace(method="POST", body=post_listing_body(rules, page), headers=headers)

    # --- callbacks ------------------------------------------------------------------------
    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        """Follow a feed's entries that are article URLs of the site."""
        site = response.meta["koege_site"]
        stats = self.crawler.stats
        urls = self.site_urls[site]
        kind, entries = parse_feed(response.body)
        if not kind:
            stats.inc_value("koege/feed/unreadable")
            logger.warning("Unreadable feed at %s", response.url)
            return
        stats.inc_value("koege/feed/ok")
        stats.inc_value("koege/listing/ok")
        dated: dict[str, str | None] = {}
        base = urls.real_url(response.url)
        for entry in entries:
            link = urljoin(base, entry.link)
            if not urls.on_site(link) or not urls.is_article(link):
                stats.inc_value("koege/feed/not_article")
                continue
            dated.setdefault(urls.canonical(link), entry.date)
        stats.inc_value("koege/feed/links", len(dated))
        yield from self.article_requests(site, list(dated.items()))

    def parse_json_listing(self, response: Response) -> Iterator[scrapy.Request]:
        """Follow a JSON listing page's articles and its next page."""
        site = response.meta["koege_site"]
        stats = self.crawler.stats
        rules = self.profiles[site].json_listing
        assert rules is not None
        urls = self.site_urls[site]
        page = JsonListingPage.from_body(response.body, rules)
        if page is None:
            stats.inc_value("koege/json_listing/unreadable")
            logger.warning("The JSON listing at %s is not JSON", response.url)
            return
        stats.inc_value("koege/json_listing/ok")
        stats.inc_value("koege/listing/ok")
        dated: dict[str, str | None] = {}
        for link, date in page.entries():
            absolute = urls.absolute(link)
            if urls.on_site(absolute) and urls.is_article(absolute):
                dated.setdefault(urls.canonical(absolute), date)
        stats.inc_value("koege/json_listing/links", len(dated))
        yield from self.article_requests(site, list(dated.items()))
        number = response.meta["koege_json_page"]
        total = page.total_pages()
        last = rules.first_page + rules.max_pages - 1
        if total is not None:
            last = min(last, rules.first_page + total - 1)
        if dated and number < last:
            yield self._request(
                site,
                json_listing_url(urls.absolute(rules.url), rules, number + 1),
                self.parse_json_listing,
                self.listing_failed,
                koege_json_page=number + 1,
                koege_required=False,
            )

    def parse_post_listing(self, response: Response) -> Iterator[scrapy.Request]:
        """Follow a POSTed listing page's cards and ask for the next page."""
        site = response.meta["koege_site"]
        stats = self.crawler.stats
        rules = self.profiles[site].post_listing
        assert rules is not None
        if not isinstance(response, TextResponse):
            stats.inc_value("koege/post_listing/unreadable")
            return
        html = Selector(text=response.text)
        base = self.site_urls[site].real_url(response.url)
        found = card_links(html, base, self.site_urls[site], self.profiles[site].listing)
        stats.inc_value("koege/post_listing/ok")
        stats.inc_value("koege/listing/ok")
        stats.inc_value("koege/post_listing/links", len(found))
        yield from self.article_requests(site, found)
        number = response.meta["koege_post_page"]
        if found and not post_listing_is_last(html, rules) and number < rules.first_page + rules.max_pages - 1:
            yield self._post_listing_request(site, number + 1, response.meta.get("koege_csrf"))
