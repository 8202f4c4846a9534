"""Signals read from a page's HTML before extraction: meta tags, title, date line, footer lines."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipelines.dates import find_danish_dates

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lxml.html import HtmlElement

__all__ = ["PageSignals", "is_dateline", "read_signals", "split_updated_by", "unbox_fact_boxes"]

_BLOCKS = frozenset(
    (
        *("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "dt", "dd", "div", "span", "time"),
        *("small", "strong", "em", "b", "address", "blockquote", "section", "article", "header"),
        *("footer", "aside", "nav", "main", "ul", "ol", "dl", "table", "tr", "figure", "figcaption"),
    )
)
_CONTAINERS = frozenset(
    ("p", "div", "li", "ul", "ol", "dl", "table", "tr", "section", "article", "blockquote")
    + ("h1", "h2", "h3", "h4", "h5", "h6")
    # A wrapper around the page's regions (div.navbar on Skanderborg, div#__next) is no block.
    + ("main", "header", "footer", "nav", "aside", "form")
)
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_NEVER_TEXT = frozenset(("script", "style", "noscript", "template", "select", "button"))
_SITE_CHROME = frozenset(("nav", "aside"))
_PAGE_CHROME = frozenset(("header", "footer"))  # chrome unless inside <article>/<main>
_CHROME_CLASS = re.compile(
    r"(^|[\s_-])(nav|menu|breadcrumbs?|footer|cookie|cookies|consent|related|relaterede|"
    r"laes-ogsaa|see-also|share|social|skip|news-list|browser-?warning)([\s_-]|$)",
    re.IGNORECASE,
)
# Labels in front of a page's own date ("Dato: 05. November 2019", "Publiceret 8. maj 2026").
_DATE_LABEL = re.compile(
    r"^(?:(?:Publiceret|Offentliggjort|Udgivet|Dato|Nyhed|Pressemeddelelse)(?:\s+den)?\s*:?\s*)?", re.IGNORECASE
)
# A label alone, its date in the next element ("Publiceret" + <span data-date>): part of the date line.
_LABEL_ONLY = re.compile(r"^(?:Publiceret|Offentliggjort|Udgivet|Dato)(?:\s+den)?\s*:?$", re.IGNORECASE)
# A header line "19.8.2024 13:36:03 CEST | Esbjerg Kommune | Pressemeddelelse" (Via Ritzau).
_HEADER_SEPARATOR = " | "
# How many blocks just before the <h1> may hold the date line (a header above the title).
_PRE_H1_WINDOW = 3
_UPDATED_BY = re.compile(r"^Opdateret af\s+(?P<rest>.+)$", re.IGNORECASE)
_UPDATED = re.compile(
    r"^(?:Senest opdateret|Sidst opdateret|Opdateret|Siden er sidst ændret|Sidst ændret|Last Updated On)"
    r"\s*(?::\s*|\s)(?P<date>.{4,60})$",
    re.IGNORECASE,
)
# Date lines are short; longer blocks are prose that mentions dates.
_DATELINE_MAX = 80
_CONTACT = re.compile(r"^Kontakt(?:person)?\s*:?\s+(?!os\b|til\b|Køge Kommune$)(?P<who>[^\n]{2,80})$", re.IGNORECASE)
_WS = re.compile(r"\s+")
# The first prose block after the heading is the lead (manchet) when it is at least this long.
_LEAD_MIN_WORDS = 8
# Generic machine-readable dates, tried after the profile's own selectors.
_META_PUBLISHED = (
    "cmspagecreated",
    "article:published_time",
    "og:published_time",
    "datepublished",
    "dc.date",
    "dcterms.created",
    "publish-date",
)
_META_UPDATED = (
    "cmspageupdated",
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dcterms.modified",
)


@dataclass(slots=True)
class PageSignals:
    """What the page says about itself outside the article body."""

    language: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    h1: str | None = None
    dateline: str | None = None
    updated_line: str | None = None
    updated_date: str | None = None
    updated_by: str | None = None
    contact_line: str | None = None
    contact: str | None = None
    lead_candidate: str | None = None
    prose_words: int = 0
    published_candidates: list[tuple[str, str]] = field(default_factory=list)
    updated_candidates: list[tuple[str, str]] = field(default_factory=list)


def _norm(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _is_chrome(el: HtmlElement, *, in_article: bool, keep: set[HtmlElement]) -> bool:
    tag = el.tag
    if tag in _NEVER_TEXT:
        return True
    if el in keep:
        return False
    if tag in _SITE_CHROME or (tag in _PAGE_CHROME and not in_article):
        return True
    marker = f"{el.get('class', '')} {el.get('id', '')}"
    return bool(_CHROME_CLASS.search(marker))


@dataclass(frozen=True, slots=True)
class _Block:
    text: str
    after_h1: bool
    heading: bool
    link_share: float  # share of the block's characters that are link text


def _content_lines(root: HtmlElement, h1: HtmlElement | None) -> Iterator[_Block]:
    """Yield each innermost text block outside page chrome, in document order."""
    keep = set(h1.iterancestors()) if h1 is not None else set()
    seen_h1 = h1 is None  # a page without a heading: every block counts as content
    stack: list[tuple[HtmlElement, bool]] = [(root, False)]
    while stack:
        el, in_article = stack.pop()
        if not isinstance(el.tag, str) or _is_chrome(el, in_article=in_article, keep=keep):
            continue
        if el is h1:
            seen_h1 = True
            continue
        children = [c for c in el if isinstance(c.tag, str)]
        if el.tag in _BLOCKS and not any(c.tag in _CONTAINERS for c in children):
            text = _norm(el.text_content())
            if text:
                linked = sum(len(_norm(a.text_content())) for a in el.iter("a"))
                heading = el.tag in _HEADINGS
                yield _Block(text, seen_h1, heading, min(1.0, linked / len(text)))
            continue
        in_article = in_article or el.tag in ("article", "main")
        stack.extend((c, in_article) for c in reversed(children))


def unbox_fact_boxes(root: HtmlElement) -> int:
    """Turn fact boxes laid out as page furniture into plain ``<div>`` blocks, in place.

    A FAKTA box is article text, but two common layouts hide it from extraction: an ``<aside>``
    set inside the running text (trafilatura drops every ``<aside>``), and a table with a single
    cell used as a frame (trafilatura drops lists nested in table cells). An ``<aside>`` counts
    as inside the running text when its parent also holds paragraphs directly; asides with a
    chrome class (related links, sharing) are left alone.

    Args:
        root: the parsed page.

    Returns:
        How many boxes were unboxed.
    """
    changed = 0
    for aside in list(root.iter("aside")):
        parent = aside.getparent()
        marker = f"{aside.get('class', '')} {aside.get('id', '')}"
        if parent is not None and parent.find("p") is not None and not _CHROME_CLASS.search(marker):
            aside.tag = "div"
            changed += 1
    for table in list(root.iter("table")):
        cells = table.xpath("./tr/td | ./tr/th | ./*/tr/td | ./*/tr/th")
        if len(cells) != 1 or table.xpath(".//table"):
            continue
        cell = cells[0]
        box = cell.makeelement("div", {k: v for k, v in table.attrib.items() if k in ("class", "id")})
        box.text = cell.text
        box.extend(list(cell))
        box.tail = table.tail
        table.getparent().replace(table, box)
        changed += 1
    return changed


def _meta(root: HtmlElement) -> dict[str, str]:
    found: dict[str, str] = {}
    for el in root.iter("meta"):
        key = (el.get("name") or el.get("property") or el.get("itemprop") or "").strip().lower()
        content = el.get("content")
        if key and content and key not in found:
            found[key] = content.strip()
    return found


def _jsonld_dates(root: HtmlElement) -> tuple[str | None, str | None]:
    for script in root.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        items = data if isinstance(data, list) else [data]
        items += [g for d in list(items) if isinstance(d, dict) for g in d.get("@graph", []) or []]
        for item in items:
            if isinstance(item, dict) and ("datePublished" in item or "dateModified" in item):
                return item.get("datePublished"), item.get("dateModified")
    return None, None


def _xpath_values(root: HtmlElement, xpath: str) -> Iterator[tuple[str, str]]:
    """Yield (source, value) for a selector hint; a <meta> hit is named after the meta tag."""
    for hit in root.xpath(xpath):
        if isinstance(hit, str):
            parent = hit.getparent() if hasattr(hit, "getparent") else None
            value = str(hit)
        else:
            parent, value = hit, hit.get("datetime") or hit.text_content()
        value = _norm(value)
        if not value:
            continue
        if parent is not None and parent.tag == "meta":
            name = parent.get("name") or parent.get("property") or parent.get("itemprop") or "meta"
            yield f"meta:{name.lower()}", value
        else:
            yield f"selector:{xpath}", value


def _marked_date(h1: HtmlElement | None) -> str | None:
    """The machine-readable date (``<time datetime>``, ``data-date``) between the heading and the
    body: the first one after the ``<h1>`` (or after its wrapper), outside page chrome, before the
    first paragraph of prose. Dates further down (related news, events) are never the page's own."""
    el = h1
    for _ in range(3):  # the heading, its wrapper, the wrapper's wrapper; never beyond the article
        if el is None:
            return None
        for sibling in el.itersiblings():
            for node in sibling.iter():
                if not isinstance(node.tag, str):
                    continue
                if node.tag == "p" and len(node.text_content().split()) >= _LEAD_MIN_WORDS:
                    return None
                value = (node.get("datetime") if node.tag == "time" else node.get("data-date")) or ""
                chrome = any(_is_chrome(a, in_article=True, keep=set()) for a in (node, *node.iterancestors()))
                if value.strip() and not chrome:
                    return value.strip()
        parent = el.getparent()
        if parent is None or parent.tag in ("article", "main", "body"):
            return None
        el = parent
    return None


def _header_date(line: str) -> str | None:
    """The date line inside a ``date | source | kind`` header, or the line itself if it is one."""
    head = line.split(_HEADER_SEPARATOR, 1)[0] if _HEADER_SEPARATOR in line else line
    return line if is_dateline(head) else None


def is_dateline(line: str) -> bool:
    """Tell whether a line is a date and nothing else, optionally labelled.

    ``05.02.18``, ``Dato: 05. November 2019``, ``Tirsdag den 16. april 2024 kl. 16.30`` are;
    ``Borgermøde den 24. juni 2021`` (words around the date) and a year-less ``13. marts`` are not.

    Args:
        line: one block of the page's text.

    Returns:
        True for a date line.
    """
    if len(line) > _DATELINE_MAX or not any(c.isdigit() for c in line):
        return False
    rest = line[_DATE_LABEL.match(line).end() :].strip()  # type: ignore[union-attr]
    found = find_danish_dates(rest)
    return (
        len(found) == 1
        and found[0].precision in ("day", "minute")  # "2022" or "Maj 2022" alone is a heading
        and found[0].start_pos == 0
        and rest[found[0].end_pos :].strip(" .,") == ""
    )


def split_updated_by(rest: str) -> tuple[str, str] | None:
    """Split the text after "Opdateret af" into who and the date at its end.

    Args:
        rest: e.g. ``Kirstine Kryger 01.05.18`` or ``Plan Byg og Miljø 16.06.21``.

    Returns:
        (who, date text), or None when the text does not end in a date.
    """
    found = find_danish_dates(rest)
    if not found or rest[found[-1].end_pos :].strip(" .,") != "":
        return None
    who = rest[: found[-1].start_pos].strip(" ,:-–")
    return (who, found[-1].text) if who else None


def read_signals(
    root: HtmlElement,
    *,
    published_xpaths: tuple[str, ...] = (),
    updated_xpaths: tuple[str, ...] = (),
    dateline_window: int = 12,
) -> PageSignals:
    """Read a page's own statements about itself (not the body text).

    Args:
        root: the parsed page (not modified).
        published_xpaths: a profile's published-date hints, as XPath.
        updated_xpaths: a profile's updated-date hints, as XPath.
        dateline_window: how many content blocks after the ``<h1>`` may hold the date line.

    Returns:
        The signals; candidates are ordered best first, each with its source.
    """
    sig = PageSignals()
    html_el = root if root.tag == "html" else root.getroottree().getroot()
    lang = (html_el.get("lang") or html_el.get("xml:lang") or "").strip()
    sig.language = lang.split("-")[0].lower() or None
    sig.meta = _meta(root)
    h1 = next(root.iter("h1"), None)
    sig.h1 = _norm(h1.text_content()) if h1 is not None else None
    title_el = root.find(".//title")
    sig.title = _norm(title_el.text_content()) if title_el is not None and title_el.text else None

    blocks_after_h1 = 0
    prose_seen = False
    before_h1: list[str] = []
    for block in _content_lines(root, h1):
        if not block.after_h1:
            before_h1 = [*before_h1[1 - _PRE_H1_WINDOW :], block.text]
            continue
        line = block.text
        blocks_after_h1 += 1
        if sig.dateline is None and blocks_after_h1 <= dateline_window and _header_date(line):
            sig.dateline = line
            continue
        if _LABEL_ONLY.match(line):
            continue
        if sig.updated_by is None and (m := _UPDATED_BY.match(line)) and (split := split_updated_by(m["rest"])):
            sig.updated_line, (sig.updated_by, sig.updated_date) = line, split
            continue
        if sig.updated_date is None and (m := _UPDATED.match(line)) and find_danish_dates(m["date"]):
            sig.updated_line, sig.updated_date = line, m["date"].strip()
            continue
        if sig.contact is None and len(line) <= 90 and (m := _CONTACT.match(line)):
            sig.contact_line, sig.contact = line, _norm(m["who"])
            continue
        if block.heading or block.link_share > 0.5:
            continue
        words = len(line.split())
        sig.prose_words += words
        if sig.lead_candidate is None and not prose_seen and words >= _LEAD_MIN_WORDS:
            sig.lead_candidate = line
        prose_seen = True

    for xp in published_xpaths:
        sig.published_candidates.extend(_xpath_values(root, xp))
    for xp in updated_xpaths:
        sig.updated_candidates.extend(_xpath_values(root, xp))
    for key in _META_PUBLISHED:
        if key in sig.meta:
            sig.published_candidates.append((f"meta:{key}", sig.meta[key]))
    for key in _META_UPDATED:
        if key in sig.meta:
            sig.updated_candidates.append((f"meta:{key}", sig.meta[key]))
    ld_published, ld_updated = _jsonld_dates(root)
    if isinstance(ld_published, str):
        sig.published_candidates.append(("jsonld", ld_published))
    if isinstance(ld_updated, str):
        sig.updated_candidates.append(("jsonld", ld_updated))
    if (marked := _marked_date(h1)) is not None:
        sig.published_candidates.append(("time", marked))
    if sig.dateline is None and h1 is not None:
        # A header line above the title ("19.8.2024 13:36:03 CEST | Esbjerg Kommune | …").
        sig.dateline = next((line for line in reversed(before_h1) if _header_date(line)), None)
    if sig.dateline:
        sig.published_candidates.append(("dateline", sig.dateline))
    if sig.updated_date:
        sig.updated_candidates.append(("updated_line", sig.updated_date))
    return sig
