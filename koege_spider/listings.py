"""Listings beyond plain link pages: listing cards with dates, JSON listing APIs, POSTed listings,
and listing paths per year."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    import datetime as dt

    from parsel import Selector

    from koege_spider.sites import CardRules, JsonListingRules, PostListingRules
    from koege_spider.urls import SiteUrls

__all__ = [
    "JsonListingPage",
    "card_links",
    "choose_links",
    "csrf_token",
    "expand_years",
    "json_listing_url",
    "post_listing_body",
    "post_listing_is_last",
]


def expand_years(paths: tuple[str, ...], years: int, today: dt.date) -> list[str]:
    """Expand ``{year}`` in listing paths to this year and the ``years - 1`` before it.

    Args:
        paths: listing paths or URLs, some with ``{year}``.
        years: how many years back (1 = this year only).
        today: the date the crawl runs.

    Returns:
        The paths, newest year first; paths without a placeholder unchanged.
    """
    out: list[str] = []
    for path in paths:
        if "{year}" not in path:
            out.append(path)
            continue
        out += [path.replace("{year}", str(today.year - back)) for back in range(max(1, years))]
    return list(dict.fromkeys(out))


def _text(node: Selector) -> str | None:
    text = " ".join(" ".join(node.xpath(".//text()").getall()).split())
    return text or None


def card_links(html: Selector, base_url: str, urls: SiteUrls, cards: CardRules) -> list[tuple[str, str | None]]:
    """The article links of a listing's cards, each with the date its card shows.

    Args:
        html: the listing page (or a POSTed listing's HTML answer).
        base_url: the URL links are relative to.
        urls: the site's URL view.
        cards: the profile's ``[listing]`` selectors.

    Returns:
        (canonical article URL, card date text or None) in page order, once each; links that
        are not article URLs of the site are left out. Without an item selector, nothing.
    """
    if cards.item is None:
        return []
    from urllib.parse import urljoin

    found: dict[str, str | None] = {}
    for card in html.css(cards.item):
        date = None
        if cards.date:
            hit = card.css(cards.date)
            date = _text(hit[0]) if hit else None
        for href in card.css(cards.link).xpath("@href").getall():
            absolute = urljoin(base_url, href.strip())
            if not urls.on_site(absolute):
                continue
            canonical = urls.canonical(absolute)
            if urls.is_article(canonical) and canonical not in found:
                found[canonical] = date
    return list(found.items())


def choose_links(generic: list[str], cards: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """The article links a listing page gives: its cards' when it has any (the profile's verified
    selectors; menus and teasers elsewhere on the page are not the listing), else every
    article link on the page.

    Args:
        generic: every article URL the page links to, in page order.
        cards: (article URL, date) from :func:`card_links`.

    Returns:
        (article URL, date or None), once each.
    """
    return cards if cards else [(link, None) for link in generic]


def json_listing_url(origin_url: str, rules: JsonListingRules, page: int) -> str:
    """The URL of one page of a JSON listing API.

    Args:
        origin_url: the API URL resolved against the site (``https://www.hillerod.dk/api/news-list``).
        rules: the profile's ``[json_listing]``.
        page: the page number.

    Returns:
        The URL with the profile's parameters and the page parameter.
    """
    query = urlencode([*rules.params, (rules.page_param, str(page))])
    return f"{origin_url}{'&' if '?' in origin_url else '?'}{query}"


def _field(item: dict[str, Any], name: str | None) -> Any:
    if not name:
        return None
    value: Any = item
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@dataclass(frozen=True, slots=True)
class JsonListingPage:
    """One page of a JSON listing API's answer."""

    data: Any
    rules: JsonListingRules

    @classmethod
    def from_body(cls, body: bytes, rules: JsonListingRules) -> JsonListingPage | None:
        """Parse an answer; None when it is not JSON."""
        try:
            return cls(json.loads(body), rules)
        except (ValueError, UnicodeDecodeError):
            return None

    def entries(self) -> list[tuple[str, str | None]]:
        """(link as given, date text or None) of every item that has a link."""
        items = _field(self.data, self.rules.items_field) if isinstance(self.data, dict) else self.data
        out = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            link = _field(item, self.rules.url_field)
            date = _field(item, self.rules.date_field)
            if isinstance(link, str) and link.strip():
                out.append((link.strip(), str(date) if date not in (None, "") else None))
        return out

    def total_pages(self) -> int | None:
        """The number of pages the API reports, if it reports one."""
        value = _field(self.data, self.rules.total_pages_field) if isinstance(self.data, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def csrf_token(html: Selector, rules: PostListingRules) -> str | None:
    """The anti-forgery token a POSTed listing needs, read from the listing page."""
    if rules.csrf_selector is None:
        return None
    hit = html.css(rules.csrf_selector)
    if not hit:
        return None
    value = hit[0].attrib.get("value") or hit[0].attrib.get("content")
    return value or None


def post_listing_body(rules: PostListingRules, page: int) -> bytes:
    """The JSON body of one POSTed listing page."""
    return json.dumps({**dict(rules.body), rules.page_field: page}, ensure_ascii=False, sort_keys=True).encode()


def post_listing_is_last(html: Selector, rules: PostListingRules) -> bool:
    """Whether a POSTed listing's answer says it is the last page (or holds nothing)."""
    if rules.last_selector is not None and html.css(rules.last_selector):
        return True
    return not html.xpath("//a[@href]")
