"""An article's own dates: pick the published and updated date from the page's candidates.

Candidates come from extraction, best first (profile selectors, meta tags, JSON-LD, the date
line, the URL's date folder). The first one that reads as a date wins; its source and raw text
are kept. Dates in the body are never candidates. Values are written in the export format:
``YYYY-MM-DDTHH:MM:SS+01:00`` with a time, ``YYYY-MM-DD`` for a day, ``YYYY-MM`` for a month.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from koege_spider.items import ArticleItem
from pipelines.dates import COPENHAGEN, DanishDate, parse_danish_date, parse_machine_date

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

    from koege_spider.items import AttachmentItem
    from pipelines.extraction import ExtractedPage

__all__ = [
    "ChosenDate",
    "DanishDatePipeline",
    "DatedArticle",
    "choose_date",
    "date_article",
    "export_iso",
]

_MACHINE_SOURCES = ("meta:", "jsonld", "selector:", "time")
# A published date more than this far after the fetch is a misreading, not a date.
_FUTURE_SLACK = dt.timedelta(days=2)


@dataclass(frozen=True, slots=True)
class ChosenDate:
    """The date read from one candidate."""

    value: str
    precision: str
    source: str
    raw: str


@dataclass(frozen=True, slots=True)
class DatedArticle:
    """An extracted article with its dates read (what ``extract_article`` returns)."""

    title: str | None
    lead: str | None
    text: str
    language: str | None
    content_hash: str
    published: str | None
    published_precision: str | None
    published_source: str | None
    published_raw: str | None
    updated: str | None
    updated_precision: str | None
    updated_source: str | None
    updated_raw: str | None
    updated_by: str | None
    contact: str | None


def export_iso(date: DanishDate) -> str:
    """Format a date as the export contract says (Europe/Copenhagen, seconds and offset).

    Args:
        date: a parsed date.

    Returns:
        ``YYYY-MM-DDTHH:MM:SS+01:00``, ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``.
    """
    start = date.start
    if isinstance(start, dt.datetime):
        aware = start if start.tzinfo else start.replace(tzinfo=COPENHAGEN)
        return aware.astimezone(COPENHAGEN).isoformat(timespec="seconds")
    if date.precision == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if date.precision == "year":
        return f"{start.year:04d}"
    return start.isoformat()


def _read(source: str, raw: str, relative_to: dt.datetime | None) -> DanishDate | None:
    if source == "url":
        year, _, month = raw.partition("-")
        if year.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
            return DanishDate(
                start=dt.date(int(year), int(month), 1),
                end=None,
                precision="month",
                text=raw,
                start_pos=0,
                end_pos=len(raw),
            )
        return None
    if source.startswith(_MACHINE_SOURCES):
        return parse_machine_date(raw)
    return parse_danish_date(raw, relative_to=relative_to)


def _too_late(date: DanishDate, fetched_at: dt.datetime | None) -> bool:
    if fetched_at is None:
        return False
    start = date.start
    limit = fetched_at.astimezone(COPENHAGEN) + _FUTURE_SLACK
    if isinstance(start, dt.datetime):
        return start > limit
    return start > limit.date()


def choose_date(
    candidates: list[tuple[str, str]] | tuple[tuple[str, str], ...],
    *,
    fetched_at: dt.datetime | None,
) -> ChosenDate | None:
    """Read the first candidate that is a plausible date.

    Args:
        candidates: (source, raw text) pairs, best first.
        fetched_at: when the page was fetched; dates well after it are rejected, and year-less
            dates are resolved against it.

    Returns:
        The chosen date, or None when no candidate reads as one.
    """
    for source, raw in candidates:
        date = _read(source, raw, fetched_at)
        if date is None or _too_late(date, fetched_at):
            continue
        return ChosenDate(value=export_iso(date), precision=date.precision, source=source, raw=raw)
    return None


def date_article(page: ExtractedPage, *, fetched_at: dt.datetime | None = None) -> DatedArticle:
    """Read the dates of an extracted page.

    Args:
        page: the extraction.
        fetched_at: when the page was fetched.

    Returns:
        The article with its dates.
    """
    published = choose_date(page.published_candidates, fetched_at=fetched_at)
    updated = choose_date(page.updated_candidates, fetched_at=fetched_at)
    return DatedArticle(
        title=page.title,
        lead=page.lead,
        text=page.text,
        language=page.language,
        content_hash=page.fingerprint,
        published=published.value if published else None,
        published_precision=published.precision if published else None,
        published_source=published.source if published else None,
        published_raw=published.raw if published else None,
        updated=updated.value if updated else None,
        updated_precision=updated.precision if updated else None,
        updated_source=updated.source if updated else None,
        updated_raw=updated.raw if updated else None,
        updated_by=page.updated_by,
        contact=page.contact,
    )


class DanishDatePipeline:
    """Reads the published and updated dates of each item from its candidates."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the pipeline."""
        return cls(crawler)

    def process_item(self, item: ArticleItem | AttachmentItem) -> ArticleItem | AttachmentItem:
        """Set ``published*`` and ``updated*`` on the item; count what could not be read (an
        attachment passes untouched)."""
        if not isinstance(item, ArticleItem):
            return item
        stats = self.crawler.stats
        published = choose_date(item.published_candidates, fetched_at=item.fetched_at)
        updated = choose_date(item.updated_candidates, fetched_at=item.fetched_at)
        if published is not None:
            item.published, item.published_precision = published.value, published.precision
            item.published_source, item.published_raw = published.source, published.raw
            stats.inc_value(f"koege/dates/published/{published.source.split(':')[0]}")
        else:
            stats.inc_value("koege/dates/published/none")
        if updated is not None:
            item.updated, item.updated_precision = updated.value, updated.precision
            item.updated_source, item.updated_raw = updated.source, updated.raw
        if item.published_candidates and published is None:
            stats.inc_value("koege/dates/unparsed")
        return item
