"""Page objects: what the spider reads from a listing, a sitemap, robots.txt or an article response."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from scrapy.http import TextResponse
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from koege_spider.items import ArticleItem
from koege_spider.urls import is_article_url

if TYPE_CHECKING:
    import datetime as dt

    from scrapy.http import Response

    from koege_spider.urls import CanonicalVotes, SiteUrls

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
# rel=canonical is read from the first part of the page with patterns, not a parser.
_HEAD_CHARS = 65536
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_ATTR_REL = re.compile(r"""\brel\s*=\s*(["']?)([^"'>]*)\1""", re.IGNORECASE)
_ATTR_HREF = re.compile(r"""\bhref\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_A_HREF = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
# Links that are not the article's content: the site's navigation, header, footer and side boxes.
_CONTENT_LINKS = (
    "//a[@href][not(ancestor::nav or ancestor::footer or ancestor::aside or ancestor::header[not(ancestor::article)])]"
)


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


def _meta(response: Response) -> dict[str, Any]:
    """The meta of the request behind a response ({} for a response built without one)."""
    return response.request.meta if response.request is not None else {}


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

    def _sitemap(self) -> Sitemap | None:
        body = self.response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=self.max_size)
            except OSError:
                return None
        try:
            return Sitemap(body)
        except Exception:  # lxml raises several types on garbage; a bad sitemap is just unreadable
            return None

    def entries(self) -> tuple[str, list[str]]:
        """Return the sitemap's type (``urlset``/``sitemapindex``, or ``""`` if unreadable) and locs."""
        kind, dated = self.dated_entries()
        return kind, [loc for loc, _ in dated]

    def dated_entries(self) -> tuple[str, list[tuple[str, str | None]]]:
        """Like :meth:`entries`, each loc with its ``<lastmod>`` as written (None when absent)."""
        sitemap = self._sitemap()
        if sitemap is None:
            return "", []
        found = [(e["loc"], (e.get("lastmod") or "").strip() or None) for e in sitemap if e.get("loc")]
        return sitemap.type or "", found


def robots_sitemaps(response: TextResponse) -> list[str]:
    """The ``Sitemap:`` URLs of a robots.txt."""
    return list(sitemap_urls_from_robots(response.body, base_url=response.url))


def _link_path(href: str) -> str:
    """The decoded path of a link (what ``unquote(urlsplit(href).path)`` gives), without parsing it."""
    href = href.strip()
    scheme = _SCHEME.match(href)
    if scheme is not None:
        href = href[scheme.end() :]
    if href.startswith("//"):
        slash = href.find("/", 2)
        href = href[slash:] if slash != -1 else ""
    for mark in ("#", "?"):
        cut = href.find(mark)
        if cut != -1:
            href = href[:cut]
    return unquote(href) if "%" in href else href


class ArticlePage:
    """An article response, turned into an item (no extraction happens here).

    With ``votes``, a trustworthy ``<link rel="canonical">`` names the document, and the URL
    fetched becomes an alias of it; the sources of redirects are aliases too.
    """

    def __init__(self, response: Response, urls: SiteUrls, site: str, votes: CanonicalVotes | None = None) -> None:
        self.response = response
        self.urls = urls
        self.site = site
        self.canonical_url = urls.canonical(response.url)
        self.aliases: list[tuple[str, str]] = []
        for source in _meta(response).get("redirect_urls", []):
            alias = urls.canonical(source)
            if alias != self.canonical_url and all(alias != a for a, _ in self.aliases):
                self.aliases.append((alias, "redirect"))
        declared = self.declared_canonical() if votes is not None else None
        trusted = votes.trusted(self.canonical_url, declared, urls) if votes is not None and declared else None
        if trusted is not None and trusted != self.canonical_url:
            self.aliases = [(a, r) for a, r in self.aliases if a != trusted]
            self.aliases.append((self.canonical_url, "rel_canonical"))
            self.canonical_url = trusted

    def declared_canonical(self) -> str | None:
        """The absolute URL of the page's ``<link rel="canonical">``, or None (read from the head
        with a pattern: the crawl process never parses an article's HTML)."""
        if not isinstance(self.response, TextResponse):
            return None
        head = self.response.text[:_HEAD_CHARS]
        for tag in _LINK_TAG.findall(head):
            rel = _ATTR_REL.search(tag)
            href = _ATTR_HREF.search(tag)
            if rel and href and "canonical" in rel.group(2).lower().split():
                return self.response.urljoin(html.unescape(href.group(2).strip()))
        return None

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

    def attachment_links(self) -> list[str]:
        """Canonical URLs of the files the article's content links to, on its own site, in page order.

        A file is a link whose decoded path matches the profile's ``[article] attachment_pattern``
        (PDFs by default). Links in the site's navigation, header, footer and side boxes, and in
        the profile's ``prune_xpath`` parts, are not the article's. The page is parsed only when a
        pattern over its raw HTML finds a candidate link.

        Returns:
            The URLs, each once.
        """
        if not isinstance(self.response, TextResponse):
            return []
        pattern = self.urls.profile.article.attachment_pattern

        def wanted(href: str) -> bool:
            return bool(pattern.search(_link_path(href)))

        # Every link of every article passes here: the raw scan stays cheap (no URL parsing).
        if not any(wanted(html.unescape(m[2]) if "&" in m[2] else m[2]) for m in _A_HREF.finditer(self.response.text)):
            return []
        pruned = {node.root for xpath in self.urls.profile.article.prune_xpath for node in self.response.xpath(xpath)}
        found: dict[str, None] = {}
        for anchor in self.response.xpath(_CONTENT_LINKS):
            href = (anchor.attrib.get("href") or "").strip()
            if not href or not wanted(href) or href.startswith(("mailto:", "javascript:", "#")):
                continue
            if pruned and any(node in pruned for node in (anchor.root, *anchor.root.iterancestors())):
                continue
            absolute = self.response.urljoin(href)
            if self.urls.on_site(absolute):
                url = self.urls.canonical(absolute)
                if url != self.canonical_url:
                    found.setdefault(url, None)
        return list(found)

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
            aliases=list(self.aliases),
            sitemap_lastmod=_meta(self.response).get("koege_lastmod"),
            warc=_meta(self.response).get("koege_warc"),
        )
