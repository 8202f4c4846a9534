"""Page objects: what the spider reads from a listing, a sitemap, robots.txt or an article response."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from scrapy.http import TextResponse
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from koege_spider.items import ArticleItem
from koege_spider.urls import is_article_url

if TYPE_CHECKING:
    import datetime as dt

    from scrapy.http import Response

    from koege_spider.urls import SiteUrls

__all__ = [
    "ArticlePage",
    "ListingPage",
    "SitemapPage",
    "decode_html",
    "robots_sitemaps",
]

# UTF-8 bytes of æ ø å Æ Ø Å read as Latin-1 (a wrong charset header): "Ã¦", "Ã¸", "Ã¥" …
_MOJIBAKE = re.compile("Ã[¦¸¥†˜…]")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_BLOCKED_MAX_BYTES = 200


def decode_html(response: TextResponse) -> tuple[str, str]:
    """Decode a page once, repairing UTF-8 served under a Latin-1 charset header.

    Args:
        response: the page.

    Returns:
        (text, encoding used).
    """
    text = response.text
    if _MOJIBAKE.search(text):
        try:
            return response.body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    return text, response.encoding


def _header(response: Response, name: str) -> str:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else ""


class ListingPage:
    """A news listing page: article links and the next pages of the same listing."""

    def __init__(self, response: TextResponse, urls: SiteUrls, pagination_params: tuple[str, ...]) -> None:
        self.response = response
        self.urls = urls
        self.pagination_params = pagination_params
        self._canonical_links: list[str] | None = None

    def _links(self) -> list[str]:
        """Canonical URLs of every on-site link, in page order, once each (computed once)."""
        if self._canonical_links is None:
            hrefs = self.response.xpath("//a[@href]/@href | //link[@rel='next']/@href").getall()
            here = urlsplit(self.response.url).path.rstrip("/")
            seen: dict[str, None] = {}
            for href in dict.fromkeys(h.strip() for h in hrefs):
                if not href or href.startswith(("mailto:", "tel:", "javascript:", "#")):
                    continue
                absolute = self.response.urljoin(href)
                # Canonicalising is the costly step: do it only for links that can matter
                # (an article path, or this listing's own path with a page parameter).
                path = unquote(urlsplit(absolute).path).rstrip("/") or "/"
                if path != here and not self.urls.may_be_article(path):
                    continue
                if self.urls.on_site(absolute):
                    seen.setdefault(self.urls.canonical(absolute), None)
            self._canonical_links = list(seen)
        return self._canonical_links

    def article_links(self) -> list[str]:
        """Canonical URLs of the articles this page links to, in page order."""
        return [u for u in self._links() if is_article_url(u, self.urls.profile)]

    def next_pages(self) -> list[str]:
        """Canonical URLs of further pages of this listing (same path, a pagination parameter)."""
        here_url = self.urls.canonical(self.response.url)
        here = urlsplit(here_url).path
        pages = []
        for url in self._links():
            parts = urlsplit(url)
            if parts.path != here or not parts.query or url == here_url:
                continue
            params = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True)]
            if params and all(k in self.pagination_params for k in params):
                pages.append(url)
        return pages


@dataclass(frozen=True, slots=True)
class SitemapPage:
    """A sitemap or sitemap index (gzipped or not)."""

    response: Response
    max_size: int

    def entries(self) -> tuple[str, list[str]]:
        """Return the sitemap's type (``urlset``/``sitemapindex``, or ``""`` if unreadable) and locs."""
        body = self.response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=self.max_size)
            except OSError:
                return "", []
        try:
            sitemap = Sitemap(body)
        except Exception:  # lxml raises several types on garbage; a bad sitemap is just unreadable
            return "", []
        return sitemap.type or "", [entry["loc"] for entry in sitemap if entry.get("loc")]


def robots_sitemaps(response: TextResponse) -> list[str]:
    """The ``Sitemap:`` URLs of a robots.txt."""
    return list(sitemap_urls_from_robots(response.body, base_url=response.url))


class ArticlePage:
    """An article response, turned into an item (no extraction happens here)."""

    def __init__(self, response: Response, urls: SiteUrls, site: str) -> None:
        self.response = response
        self.urls = urls
        self.site = site
        self.canonical_url = urls.canonical(response.url)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lowercased."""
        return _header(self.response, "Content-Type").split(";")[0].strip().lower()

    def skip_reason(self) -> str | None:
        """Why this response is not an article page, or None when it may be one."""
        if not isinstance(self.response, TextResponse) or (self.content_type and self.content_type not in _HTML_TYPES):
            return "not_html"
        body = self.response.body
        if len(body) <= _BLOCKED_MAX_BYTES and b"access denied" in body.lower():
            return "blocked"
        if not is_article_url(self.canonical_url, self.urls.profile):
            return "not_article_url"
        return None

    def item(self, *, fetched_at: dt.datetime) -> ArticleItem:
        """Build the item the pipelines work on.

        Args:
            fetched_at: when the response arrived (UTC).

        Returns:
            The item with the spider's fields filled.
        """
        assert isinstance(self.response, TextResponse)
        html, encoding = decode_html(self.response)
        headers = {
            k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in sorted(self.response.headers.items())
        }
        return ArticleItem(
            url=self.response.url,
            canonical_url=self.canonical_url,
            site=self.site,
            fetched_at=fetched_at,
            http_status=self.response.status,
            html=html,
            body=self.response.body,
            headers=headers,
            content_type=self.content_type or None,
            encoding=encoding,
        )
