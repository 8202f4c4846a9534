"""ArticleItem and AttachmentItem: the contract between the spider and the pipelines.

Each stage owns the fields it sets (STYLE.md §3) and never overwrites another stage's fields:

============================================  ===========
fields                                        set by
============================================  ===========
url … listing_date_text, headers, body,       spider (page objects)
aliases, sitemap_lastmod
text, title, lead, language, fingerprint,     extraction
published/updated_candidates (source, raw),
updated_by, contact, extractor
published/updated (+ raw, precision, source)  dates (picks the first candidate it can read)
dedup_status, duplicate_of                    dedup
============================================  ===========

An :class:`AttachmentItem` is a file (PDF…) linked from an article; the spider sets its fields
up to ``warc``, the attachments pipeline the reading of it (title, text, pages, text_error).
The article, dates and dedup stages pass it on untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime as dt

    from archive.captures import CaptureLocation

__all__ = ["ArticleItem", "AttachmentItem"]


@dataclass(slots=True)
class ArticleItem:
    """One fetched article page on its way through the pipelines."""

    # spider
    url: str
    canonical_url: str
    site: str
    fetched_at: dt.datetime
    http_status: int
    html: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    encoding: str | None = None
    listing_date_text: str | None = None
    # other URLs that led here: (canonical URL, "redirect" or "rel_canonical")
    aliases: list[tuple[str, str]] = field(default_factory=list)
    sitemap_lastmod: str | None = None
    # where the exchange's WARC record lies (archive.captures.CaptureLocation), if it was written
    warc: CaptureLocation | None = None
    # extraction
    text: str | None = None
    title: str | None = None
    lead: str | None = None
    language: str | None = None
    fingerprint: str | None = None
    published_candidates: list[tuple[str, str]] = field(default_factory=list)
    updated_candidates: list[tuple[str, str]] = field(default_factory=list)
    updated_by: str | None = None
    contact: str | None = None
    extractor: str | None = None
    # prepared by extraction for the archive: search-index stems (title, lead, text), MinHash
    # signature of the text (b"" when too short); None when not prepared
    index_terms: tuple[str, str, str] | None = None
    signature: bytes | None = None
    # dates (which candidate won, its raw string, and the value read from it)
    published_raw: str | None = None
    updated_raw: str | None = None
    published: str | None = None
    published_precision: str | None = None
    published_source: str | None = None
    updated: str | None = None
    updated_precision: str | None = None
    updated_source: str | None = None
    # dedup
    dedup_status: str | None = None
    duplicate_of: str | None = None


@dataclass(slots=True)
class AttachmentItem:
    """One file linked from an article's content, fetched once per run, on its way to the archive."""

    # spider
    article_url: str  # the canonical URL of the article that links it
    url: str  # the canonical URL of the file
    site: str
    fetched_at: dt.datetime
    http_status: int
    content_type: str | None
    body: bytes
    # where the exchange's WARC record lies, if it was written
    warc: CaptureLocation | None = None
    # True: the file was fetched earlier in this run for another article; ``body`` is empty and
    # the archive links this article to the reading of that same capture.
    reused: bool = False
    # attachments pipeline
    title: str | None = None
    text: str | None = None
    pages: int | None = None
    text_error: str | None = None
