"""RSS and Atom feeds: their entries (link, title, date) and the feed links an HTML page announces."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

if TYPE_CHECKING:
    from scrapy.http import TextResponse

__all__ = ["FEED_TYPES", "FeedEntry", "feed_links", "parse_feed"]

# Media types of feeds announced with <link rel="alternate" type="…">.
FEED_TYPES = ("application/rss+xml", "application/atom+xml")
_ATOM = "{http://www.w3.org/2005/Atom}"
_DC = "{http://purl.org/dc/elements/1.1/}"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed: where it points, its title, and its date as the feed gives it.

    ``date`` is ISO 8601 when the feed's date could be read (RSS gives RFC 822 dates, which
    the Danish date reader does not know), else the feed's own text.
    """

    link: str
    title: str | None = None
    date: str | None = None


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    text = "".join(el.itertext()).strip()
    return text or None


def _iso(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return value.strip()
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.isoformat()


def parse_feed(body: bytes) -> tuple[str, list[FeedEntry]]:
    """Read an RSS 2.0, RSS 1.0 (RDF) or Atom feed.

    Args:
        body: the raw feed.

    Returns:
        The feed's kind (``rss``, ``atom``, or ``""`` when the body is not a feed) and its
        entries in feed order; entries without a link are left out.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(body.strip(), parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        return "", []
    if root is None:
        return "", []
    tag = etree.QName(root).localname.lower()
    entries: list[FeedEntry] = []
    if tag == "feed":
        for entry in root.iter(f"{_ATOM}entry"):
            links = entry.findall(f"{_ATOM}link")
            href = next((ln.get("href") for ln in links if ln.get("rel", "alternate") == "alternate"), None)
            date = _text(entry.find(f"{_ATOM}published")) or _text(entry.find(f"{_ATOM}updated"))
            if href:
                entries.append(FeedEntry(href.strip(), _text(entry.find(f"{_ATOM}title")), date))
        return "atom", entries
    if tag not in ("rss", "rdf"):
        return "", []
    for item in root.iter("item", "{http://purl.org/rss/1.0/}item"):
        link = _text(item.find("link")) or _text(item.find("{http://purl.org/rss/1.0/}link"))
        guid = item.find("guid")
        if not link and guid is not None and guid.get("isPermaLink", "true") == "true":
            link = _text(guid)
        date = _iso(_text(item.find("pubDate"))) or _text(item.find(f"{_DC}date"))
        if link:
            entries.append(FeedEntry(link, _text(item.find("title")), date))
    return "rss", entries


def feed_links(response: TextResponse) -> list[str]:
    """The absolute URLs of the RSS/Atom feeds a page announces in ``<link rel="alternate">``.

    Args:
        response: an HTML page.

    Returns:
        Feed URLs in page order, once each.
    """
    hrefs = []
    for link in response.xpath("//link[@href and @type]"):
        rel = (link.attrib.get("rel") or "").lower().split()
        kind = (link.attrib.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES:
            hrefs.append(response.urljoin(link.attrib["href"].strip()))
    return list(dict.fromkeys(hrefs))
