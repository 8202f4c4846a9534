"""Article extraction: HTML to title, lead, body text and raw date strings (trafilatura + page signals).

``extract_fields`` is the pure, picklable core that the pipeline runs in worker processes;
``extract_article`` is the facade for people and tools outside Scrapy (extraction and dates).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import re
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from hashlib import sha256
from importlib.metadata import version as _dist_version
from typing import TYPE_CHECKING, Any

from koege_spider.items import ArticleItem
from pipelines.page_signals import read_signals, unbox_fact_boxes

if TYPE_CHECKING:
    import datetime as dt
    from typing import Self

    from scrapy.crawler import Crawler

    from archive.neardup import MinHasher
    from koege_spider.items import AttachmentItem
    from koege_spider.sites import SiteProfile
    from pipelines.article_dates import DatedArticle

__all__ = [
    "ExtractedPage",
    "ExtractionPipeline",
    "ExtractionRules",
    "content_hash",
    "extract_article",
    "extract_fields",
    "extractor_name",
]

logger = logging.getLogger(__name__)

# Lines that are never article text on any municipal site (cookie banners, skip links).
_GENERIC_BOILERPLATE = (
    r"^Skip til (hoved ?indhold(et)?|indhold)",
    r"^(Spring|Gå) til (hoved)?indhold",
    r"^Vi bruger cookies",
    r"^(Ja tak|Nej tak|Accepter|Afvis) (til )?(alle )?cookies",
    r"^Læs (mere )?om (vores )?cookie",
    r"^You are here",
    r"^Til toppen$",
    r"^Contact our Honeypot department",
    # A date label whose date sits in its own element ("Publiceret" + <span data-date>).
    r"^(Publiceret|Offentliggjort|Udgivet|Dato)( den)?:?$",
)
# A date label in front of a line that is otherwise the page's date line.
_DATE_LABEL = re.compile(r"^(Publiceret|Offentliggjort|Udgivet|Dato)( den)?:?\s+", re.IGNORECASE)
# Containers that are never the article on any site, removed before trafilatura reads the page.
_GENERIC_PRUNE = (
    "//*[contains(@class, 'cookie') or contains(@id, 'cookie') or contains(@class, 'consent') "
    "or contains(@id, 'consent')]",
)
_WS = re.compile(r"[ \t\u00a0]+")
# How many leading lines of the body may sit above a repeated title (labels, kickers).
_TITLE_WINDOW = 3


@dataclass(frozen=True, slots=True)
class ExtractionRules:
    """The picklable part of a profile that extraction needs (sent to worker processes)."""

    title_suffixes: tuple[str, ...] = ()
    published_xpaths: tuple[str, ...] = ()
    published_patterns: tuple[str, ...] = ()
    updated_xpaths: tuple[str, ...] = ()
    lead_xpaths: tuple[str, ...] = ()
    prune_xpath: tuple[str, ...] = ()
    boilerplate: tuple[str, ...] = ()
    url_date_pattern: str | None = None
    default_language: str | None = None

    @classmethod
    def from_profile(cls, profile: SiteProfile) -> Self:
        """Take the extraction rules out of a site profile.

        Args:
            profile: the site.

        Returns:
            The rules.
        """
        art = profile.article
        return cls(
            title_suffixes=art.title_suffixes,
            published_xpaths=art.published_xpaths,
            published_patterns=tuple(p.pattern for p in art.published_patterns),
            updated_xpaths=art.updated_xpaths,
            lead_xpaths=art.lead_xpaths,
            prune_xpath=art.prune_xpath,
            boilerplate=tuple(p.pattern for p in art.boilerplate),
            url_date_pattern=art.url_date_pattern.pattern if art.url_date_pattern else None,
            default_language=profile.language,
        )


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """What extraction read from one page, before dates are interpreted."""

    title: str | None
    lead: str | None
    text: str
    language: str | None
    fingerprint: str
    published_candidates: tuple[tuple[str, str], ...] = ()
    updated_candidates: tuple[tuple[str, str], ...] = ()
    updated_by: str | None = None
    contact: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def extractor_name() -> str:
    """Name and version of the extraction stack, recorded with every version."""
    return f"koege-archive/{_dist_version('koege-archive')} trafilatura/{_dist_version('trafilatura')}"


def _normalise(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def content_hash(title: str | None, lead: str | None, text: str) -> str:
    """SHA-256 (hex) of the normalised text of a version: title, lead and body.

    Whitespace and Unicode normalisation differences do not change the hash.

    Args:
        title: the title.
        lead: the lead.
        text: the body.

    Returns:
        64 hex digits.
    """
    joined = "\n".join((_normalise(title), _normalise(lead), _normalise(text)))
    return sha256(joined.encode("utf-8")).hexdigest()


def _strip_suffix(title: str | None, suffixes: tuple[str, ...]) -> str | None:
    if not title:
        return None
    for suffix in suffixes:
        if title.endswith(suffix):
            return title[: -len(suffix)].strip() or None
    return title.strip() or None


def _first_text(root: Any, xpaths: tuple[str, ...]) -> str | None:
    for xp in xpaths:
        for hit in root.xpath(xp):
            text = _normalise(str(hit) if isinstance(hit, str) else hit.text_content())
            if text:
                return text
    return None


def _same(a: str, b: str) -> bool:
    return _normalise(a).casefold() == _normalise(b).casefold()


def _clean_lines(
    body: str, *, title: str | None, drop_exact: set[str], boilerplate: list[re.Pattern[str]]
) -> list[str]:
    drop = {_normalise(d).casefold() for d in drop_exact}
    lines = []
    for raw in body.splitlines():
        line = _WS.sub(" ", raw).strip()
        if not line or _normalise(line).casefold() in drop or any(p.search(line) for p in boilerplate):
            continue
        if _normalise(_DATE_LABEL.sub("", line)).casefold() in drop:
            continue
        lines.append(line)
    # A label above the heading ("Pressemeddelelse", "Nyhed") is no article text: when the title
    # comes among the first lines, what precedes it goes with it.
    head = next((i for i, ln in enumerate(lines[:_TITLE_WINDOW]) if title and _same(ln, title)), 0)
    del lines[:head]
    # A leading breadcrumb ("Hjem … <Titel>") or the title itself repeats the heading.
    while lines and title and (_same(lines[0], title) or (lines[0].startswith("Hjem") and lines[0].endswith(title))):
        lines.pop(0)
    return lines


def extract_fields(
    html: str, url: str | None = None, rules: ExtractionRules | None = None, *, min_words: int = 15
) -> ExtractedPage | None:
    """Extract one page: body text via trafilatura, the rest from the page's own signals.

    Args:
        html: the decoded page.
        url: the page's canonical URL (for URL-based dates and trafilatura's hints).
        rules: the site's extraction rules (generic rules when None).
        min_words: fewer words of prose (text outside headings and link lists) than this means
            the page holds no article (an overview page, an error page in disguise).

    Returns:
        The extraction, or None when the page holds no article text.
    """
    from trafilatura import bare_extraction
    from trafilatura.utils import load_html

    rules = rules or ExtractionRules()
    root = load_html(html)
    if root is None:
        return None
    unbox_fact_boxes(root)
    signals = read_signals(root, published_xpaths=rules.published_xpaths, updated_xpaths=rules.updated_xpaths)
    meta_title = signals.meta.get("og:title") or signals.title
    title = _strip_suffix(signals.h1, rules.title_suffixes) or _strip_suffix(meta_title, rules.title_suffixes)
    lead_hint = _first_text(root, rules.lead_xpaths)

    doc = bare_extraction(
        root,
        url=url,
        with_metadata=False,
        include_comments=False,
        include_tables=True,
        # trafilatura's own extractor only: the readability/jusText fallbacks cost about a tenth
        # of the time and found nothing more on municipal pages (the golden tests check this).
        fast=True,
        deduplicate=False,
        prune_xpath=[*_GENERIC_PRUNE, *rules.prune_xpath],
    )
    body = getattr(doc, "text", None) or ""
    boilerplate = [re.compile(p) for p in (*_GENERIC_BOILERPLATE, *rules.boilerplate)]
    drop = {s for s in (signals.dateline, signals.updated_line, signals.contact_line) if s is not None}
    lines = _clean_lines(body, title=title, drop_exact=drop, boilerplate=boilerplate)

    if signals.prose_words < min_words:
        return None
    lead = lead_hint or signals.lead_candidate
    if lead:
        lines = [ln for ln in lines if not _same(ln, lead)]
    elif len(lines) > 1 and len(lines[0].split()) >= 8:
        lead = lines.pop(0)
    if not lines and lead:  # a one-paragraph notice: its only paragraph is its text
        lines, lead = [lead], None
    text = "\n".join(lines)
    if not text:
        return None

    published = [
        ("pattern", m.group(1).strip())
        for p in rules.published_patterns
        if (m := re.search(p, html)) is not None and m.group(1).strip()
    ][:1] + list(signals.published_candidates)
    if rules.url_date_pattern and url:
        from urllib.parse import urlsplit

        m = re.search(rules.url_date_pattern, urlsplit(url).path, re.IGNORECASE)
        if m:
            published.append(("url", f"{m['year']}-{m['month']}"))
    language = signals.language or rules.default_language
    return ExtractedPage(
        title=title,
        lead=lead,
        text=text,
        language=language,
        fingerprint=content_hash(title, lead, text),
        published_candidates=tuple(published),
        updated_candidates=tuple(signals.updated_candidates),
        updated_by=signals.updated_by,
        contact=signals.contact,
    )


@functools.cache
def _hasher() -> MinHasher:
    from archive.neardup import MinHasher

    return MinHasher()


def extract_for_archive(
    html: str,
    url: str | None,
    rules: ExtractionRules,
    *,
    min_words: int = 15,
    index: bool = True,
    sign: bool = True,
) -> tuple[ExtractedPage | None, tuple[str, str, str] | None, bytes | None]:
    """Extract a page and prepare what the archive derives from its text, in one worker call.

    The search index's stems and the near-duplicate signature depend only on the extracted
    text, so they are computed where the extraction ran (a worker process) instead of on the
    crawl's thread.

    Args:
        html: the decoded page.
        url: its canonical URL.
        rules: the site's extraction rules.
        min_words: see :func:`extract_fields`.
        index: prepare the stems of title, lead and text (SQLite's index).
        sign: prepare the MinHash signature of the text.

    Returns:
        (the extraction or None, the stems or None, the signature or None).
    """
    page = extract_fields(html, url, rules, min_words=min_words)
    if page is None or not page.text:
        return page, None, None
    terms = None
    if index:
        from archive.fts import index_terms

        terms = index_terms(page.title, page.lead, page.text)
    signature = _hasher().signature_bytes(page.text) if sign else None
    return page, terms, signature


def extract_article(
    html: str,
    url: str | None = None,
    *,
    fetched_at: dt.datetime | None = None,
    profile: SiteProfile | None = None,
) -> DatedArticle | None:
    """Extract an article and read its dates, without Scrapy: what the pipelines do, in one call.

    Args:
        html: the page's HTML.
        url: its URL; used to find the site profile when ``profile`` is not given.
        fetched_at: when the page was fetched (the reference for year-less dates).
        profile: the site's profile (looked up from ``url`` when None; generic rules otherwise).

    Returns:
        The article with ``title``, ``lead``, ``text``, ``published``, ``updated``,
        ``updated_by``, ``contact``, ``language`` (and precision/source of each date), or None
        when the page holds no article.
    """
    from pipelines.article_dates import date_article

    if profile is None and url is not None:
        profile = _profile_for_url(url)
    rules = ExtractionRules.from_profile(profile) if profile is not None else ExtractionRules()
    page = extract_fields(html, url, rules)
    if page is None:
        return None
    return date_article(page, fetched_at=fetched_at)


def _profile_for_url(url: str) -> SiteProfile | None:
    from urllib.parse import urlsplit

    from koege_spider.sites import load_profiles

    host = (urlsplit(url).hostname or "").lower()
    return next((p for p in load_profiles().values() if host in p.hosts), None)


def _warm_up() -> None:
    import trafilatura  # noqa: F401  (import cost paid while the first pages download)


def _worker_context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Replaces the default preload of __main__ (the console script, which would drag the CLI,
    # SQLAlchemy and Alembic into every worker).
    context.set_forkserver_preload(["pipelines.extraction", "trafilatura"])
    return context


class ExtractionPipeline:
    """Runs :func:`extract_fields` in a process pool so extraction uses every core.

    Settings: ``KOEGE_EXTRACTION_WORKERS`` (0 = in the crawl process; default: one per CPU
    beyond the first, at least one).
    """

    def __init__(
        self, crawler: Crawler, *, workers: int, min_words: int, index: bool = True, sign: bool = True
    ) -> None:
        self.crawler = crawler
        self.workers = workers
        self.min_words = min_words
        self.index = index
        self.sign = sign
        self._pool: ProcessPoolExecutor | None = None
        self._rules: dict[str, ExtractionRules] = {}
        self._extractor = extractor_name()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the pipeline from the crawl's settings."""
        workers = crawler.settings.getint("KOEGE_EXTRACTION_WORKERS", -1)
        if workers < 0:
            # The crawl process itself keeps one core busy (downloads, parsing, storage);
            # measured on 2 cores, one worker beside it beat two competing with it.
            workers = max(1, (os.cpu_count() or 2) - 1)
        return cls(
            crawler,
            workers=workers,
            min_words=crawler.settings.getint("KOEGE_EXTRACTION_MIN_WORDS"),
            # What the archive derives from each text is prepared in the same worker call:
            # SQLite's index stems, and the near-duplicate signature when linking is on.
            index=str(crawler.settings.get("KOEGE_ARCHIVE_DB", "")).startswith("sqlite"),
            sign=crawler.settings.getbool("KOEGE_NEARDUP_ENABLED"),
        )

    def open_spider(self) -> None:
        """Nothing to do yet: the worker processes start with the first page to extract.

        A recrawl in which nothing changed extracts nothing and so never pays for them (starting
        them, and waiting at the end for their imports, cost a second of a two-second recrawl).
        """

    def _start_pool(self) -> ProcessPoolExecutor:
        """Start the worker processes.

        They fork from a fresh server process that imported only extraction (not the crawl,
        the archive or the command line), so they share nothing with the reactor and stay small.
        """
        self._pool = ProcessPoolExecutor(self.workers, mp_context=_worker_context())
        for _ in range(self.workers - 1):
            self._pool.submit(_warm_up)  # the first page warms one; the others in the meantime
        return self._pool

    def close_spider(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _rules_for(self, site: str) -> ExtractionRules:
        if site not in self._rules:
            from koege_spider.sites import load_profile

            self._rules[site] = ExtractionRules.from_profile(load_profile(site))
        return self._rules[site]

    async def _run(
        self, item: ArticleItem, rules: ExtractionRules
    ) -> tuple[ExtractedPage | None, tuple[str, str, str] | None, bytes | None]:
        args = (item.html, item.canonical_url, rules)
        run = functools.partial(extract_for_archive, min_words=self.min_words, index=self.index, sign=self.sign)
        if self.workers <= 0:
            return run(*args)
        try:
            future = (self._pool or self._start_pool()).submit(run, *args)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            # A worker died (out of memory, a crash in lxml): restart the pool, retry once here.
            self.crawler.stats.inc_value("koege/extraction/pool_restarted")
            logger.warning("Extraction worker died on %s; restarting the pool", item.url)
            self.close_spider()
            return run(*args)

    async def process_item(self, item: ArticleItem | AttachmentItem) -> ArticleItem | AttachmentItem:
        """Fill the extraction fields of an item (an attachment passes untouched).

        Raises:
            DropItem: ``empty extraction`` when the page holds no article text.
        """
        if not isinstance(item, ArticleItem):
            return item
        from scrapy.exceptions import DropItem

        stats = self.crawler.stats
        page, item.index_terms, item.signature = await self._run(item, self._rules_for(item.site))
        if page is None or not page.text:
            stats.inc_value("koege/extraction/dropped/no_article")
            raise DropItem("no_article")
        item.title, item.lead, item.text = page.title, page.lead, page.text
        item.language, item.fingerprint = page.language, page.fingerprint
        item.published_candidates = list(page.published_candidates)
        if item.listing_date_text:  # the date a listing or feed showed: the last resort
            item.published_candidates.append(("listing", item.listing_date_text))
        item.updated_candidates = list(page.updated_candidates)
        item.updated_by, item.contact = page.updated_by, page.contact
        item.extractor = self._extractor
        stats.inc_value("koege/extraction/ok")
        if not page.title:
            stats.inc_value("koege/extraction/no_title")
        return item
