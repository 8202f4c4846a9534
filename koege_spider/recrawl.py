"""Recrawl: what the archive knows about each URL, turned into cheap requests and observations.

Three Scrapy components share one :class:`Recrawl` extension (the state of this run):

- :class:`RevisitMiddleware` (spider middleware) lets through only the article requests worth
  making (:func:`koege_spider.revisit.decide`) and stops a listing's pagination once its pages
  hold nothing new or due;
- :class:`koege_spider.conditional.ConditionalRequestMiddleware` (downloader middleware) sends
  ``If-None-Match`` / ``If-Modified-Since`` for known documents and turns a 304, a payload
  identical to the last capture, or a 404/410 of a known document into an observation;
- :class:`Recrawl` loads the archive's state per site, writes the observations through
  :class:`archive.store.ArchiveWriter`, revisits due documents no listing linked (so a withdrawn
  article is noticed), and records a complete listing walk.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider

from archive.db import ArchiveError, open_archive
from archive.lifecycle import page_states
from archive.runs import listings_walked, mark_listings_walked
from archive.store import ArchiveWriter, CaptureRecord, WriteFailed
from koege_spider.revisit import RevisitPolicy, Verdict, decide, keep_paginating, parse_since
from koege_spider.signals import commit_hook
from koege_spider.urls import path_and_query

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from archive.db import Archive
    from archive.lifecycle import PageState
    from koege_spider.spiders.news import NewsSpider

__all__ = ["Recrawl", "RevisitMiddleware", "is_article_request", "recrawl_of", "spider_of"]

logger = logging.getLogger(__name__)

# Meta keys of the spider's next-page requests (HTML, JSON and POSTed listings).
_PAGINATION_KEYS = ("koege_listing_page", "koege_json_page", "koege_post_page")


def is_article_request(request: Request) -> bool:
    """True for a request the spider makes for an article page."""
    return getattr(request.callback, "__name__", None) == "parse_article"


def spider_of(crawler: Crawler) -> NewsSpider:
    """The running news spider (its profiles and URL views)."""
    assert crawler.spider is not None
    return cast("NewsSpider", crawler.spider)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Recrawl:
    """The recrawl state of one run (an extension; settings ``KOEGE_RECRAWL_*`` and ``KOEGE_SINCE``)."""

    def __init__(
        self,
        crawler: Crawler,
        db_url: str,
        policy: RevisitPolicy,
        *,
        batch_size: int = 50,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.crawler = crawler
        self.db_url = db_url
        self.policy = policy
        self.batch_size = batch_size
        self.clock = clock
        self.started_at = clock()
        self._archive: Archive | None = None
        self._writer: ArchiveWriter | None = None
        self._states: dict[str, dict[str, PageState]] = {}
        self._walked: dict[str, bool] = {}
        self._cut: set[str] = set()
        self._requested: dict[str, set[int]] = {}
        self._passed_over: dict[str, set[int]] = {}
        self._swept = False
        self._redirects: list[tuple[str, str, str, dt.datetime]] = []
        self._failed = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the extension from the crawl's settings.

        Raises:
            ValueError: when ``KOEGE_SINCE`` is not a date.
        """
        settings = crawler.settings
        policy = RevisitPolicy(
            enabled=settings.getbool("KOEGE_RECRAWL_ENABLED"),
            revisit_after=dt.timedelta(hours=settings.getfloat("KOEGE_RECRAWL_REVISIT_HOURS")),
            fresh_pages=settings.getint("KOEGE_RECRAWL_FRESH_PAGES"),
            since=parse_since(settings.get("KOEGE_SINCE")),
        )
        return cls(
            crawler,
            settings.get("KOEGE_ARCHIVE_DB"),
            policy,
            batch_size=settings.getint("KOEGE_STORAGE_BATCH_SIZE"),
        )

    # --- lifecycle ------------------------------------------------------------------------
    def spider_opened(self, spider: Spider) -> None:
        """Open the archive (a failure leaves every request as it is; the run recorder reports it)."""
        self.started_at = self.clock()
        try:
            self._archive = open_archive(self.db_url, data_dir=self.crawler.settings.get("KOEGE_ARCHIVE_DATA") or None)
        except ArchiveError as exc:
            logger.error("Recrawl state unavailable, fetching everything: %s", exc)
            return
        self._writer = ArchiveWriter(self._archive, batch_size=self.batch_size, before_commit=commit_hook(self.crawler))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Write the observations still queued; record a complete listing walk per site."""
        if self._archive is None:
            return
        try:
            if self._writer is not None and not self._failed:
                self._writer.flush()
                run_id = self.crawler.stats.get_value("koege/run/id")
                self._writer.record_aliases(self._redirects, run_id=run_id)
            stats = self.crawler.stats
            cut_short = any(
                key in ("koege/listing/failed", "koege/listing/page_cap_reached")
                or key.startswith("koege/skipped/budget")
                for key in stats.get_stats()
            )
            complete = reason == "finished" and not self._failed and not cut_short
            for site in sorted(getattr(spider, "profiles", {})):
                if complete and site not in self._cut and self.policy.since is None:
                    mark_listings_walked(self._archive, site, self.started_at)
        except WriteFailed as exc:
            self._fail(exc)
        finally:
            if self._writer is not None:
                self._writer.close()
            self._archive.close()

    def _fail(self, exc: WriteFailed) -> None:
        self._failed = True
        lost = self._writer.drop_pending() if self._writer is not None else 0
        stats = self.crawler.stats
        stats.inc_value("koege/storage/write_failed")
        stats.set_value("koege/storage/error", str(exc))
        logger.error("%s (%d observations not written)", exc, lost)

    # --- state ----------------------------------------------------------------------------
    def states(self, site: str) -> dict[str, PageState]:
        """What the archive knows about the site's URLs (loaded once per run)."""
        if site not in self._states:
            if self._archive is None:
                self._states[site], self._walked[site] = {}, False
            else:
                self._states[site] = page_states(self._archive, site)
                self._walked[site] = listings_walked(self._archive, site)
        return self._states[site]

    def state(self, site: str, url: str) -> PageState | None:
        """What the archive knows about one canonical URL of a site."""
        return self.states(site).get(url)

    def verdict(self, site: str, url: str, *, lastmod: str | None, listing_page: int | None) -> Verdict:
        """Whether to fetch an article URL now (and remember that it was asked for)."""
        profile = spider_of(self.crawler).profiles[site]
        known = self.state(site, url)
        verdict = decide(
            known,
            now=self.clock(),
            policy=self.policy,
            tz=ZoneInfo(profile.timezone),
            lastmod=lastmod,
            listing_page=listing_page,
            url_month=_url_month(url, profile),
        )
        if known is not None and verdict.reason != "older_than_since":
            requested = self._requested.setdefault(site, set())
            passed_over = self._passed_over.setdefault(site, set())
            if verdict.fetch:
                requested.add(known.document_id)
                passed_over.discard(known.document_id)
            elif known.document_id not in requested:
                passed_over.add(known.document_id)
            # Known documents left alone in this run (each counted once).
            total = sum(len(ids) for ids in self._passed_over.values())
            self.crawler.stats.set_value("koege/recrawl/not_revisited", total)
        return verdict

    def walked_before(self, site: str) -> bool:
        """A finished run once followed every listing of the site to its end."""
        self.states(site)
        return self._walked.get(site, False)

    def pagination_cut(self, site: str) -> None:
        """Note that a listing's pagination was stopped early in this run."""
        self._cut.add(site)

    # --- observations ---------------------------------------------------------------------
    def observe(self, site: str, known: PageState, request: Request, response: Response, outcome: str) -> None:
        """Record an answer that needs no extraction (``not_modified``, ``unchanged``, ``removed``)."""
        if self._writer is None or self._failed:
            return
        headers = {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in sorted(response.headers.items())}
        content_type = headers.get("Content-Type", "").split(";")[0].strip().lower() or None
        canonical = spider_of(self.crawler).site_urls[site].canonical
        sources = [canonical(u) for u in request.meta.get("redirect_urls", [])]
        capture = CaptureRecord(
            url=response.url,
            canonical_url=known.url,
            fetched_at=self.clock(),
            http_status=response.status,
            headers=headers,
            content_type=content_type,
            encoding=None,
            body=response.body,
            aliases=tuple(dict.fromkeys((alias, "redirect") for alias in sources if alias != known.url)),
            sitemap_lastmod=request.meta.get("koege_lastmod"),
            warc=request.meta.get("koege_warc"),
        )
        try:
            self._writer.add(
                site_key=site,
                run_id=self.crawler.stats.get_value("koege/run/id"),
                capture=capture,
                version=None,
                outcome=outcome,  # type: ignore[arg-type]
            )
        except WriteFailed as exc:
            self._fail(exc)

    def request_dropped(self, request: Request, spider: Spider) -> None:
        """Remember where a redirect led when its target was already fetched in this run (the
        duplicate filter drops the redirected request, so no response tells it)."""
        site = request.meta.get("koege_site")
        sources = request.meta.get("redirect_urls")
        if not site or not sources or not is_article_request(request):
            return
        canonical = spider_of(self.crawler).site_urls[site].canonical
        target = canonical(request.url)
        for source in dict.fromkeys(canonical(u) for u in sources):
            if source != target:
                self._redirects.append((source, target, "redirect", self.clock()))

    # --- revisiting what no listing linked -----------------------------------------------------
    def spider_idle(self, spider: Spider) -> None:
        """Once per run, when discovery is done: check due documents no listing or sitemap linked.

        Raises:
            DontCloseSpider: when such requests were scheduled.
        """
        if self._swept or self._archive is None or not self.policy.enabled:
            return
        self._swept = True
        stats = self.crawler.stats
        if not (stats.get_value("koege/listing/ok") or stats.get_value("koege/sitemap/ok")):
            return  # the site did not answer: checking every due document would only fail too
        engine = self.crawler.engine
        scheduled = 0
        for site in sorted(getattr(spider, "profiles", {})):
            for request in self._sweep_requests(spider, site):
                engine.crawl(request)
                scheduled += 1
        if scheduled:
            self.crawler.stats.inc_value("koege/recrawl/swept", scheduled)
            raise DontCloseSpider

    def _sweep_requests(self, spider: Any, site: str) -> Iterator[Request]:
        # Documents a listing or sitemap linked were judged already; the rest are judged now.
        judged = self._requested.setdefault(site, set()) | self._passed_over.setdefault(site, set())
        urls = []
        for url, known in sorted(self.states(site).items()):
            if known.alias_of is not None or known.document_id in judged:
                continue
            verdict = self.verdict(site, url, lastmod=None, listing_page=None)
            if verdict.reason == "due":
                urls.append((url, None))
        yield from spider.article_requests(site, urls)


def _url_month(url: str, profile: Any) -> tuple[int, int] | None:
    pattern = profile.article.url_date_pattern
    match = pattern.search(path_and_query(url)) if pattern is not None else None
    if match is None:
        return None
    try:
        return int(match["year"]), int(match["month"])
    except (TypeError, ValueError):
        return None


def recrawl_of(crawler: Crawler) -> Recrawl | None:
    """The run's :class:`Recrawl` extension (None when it is switched off)."""
    return crawler.get_extension(Recrawl)


class RevisitMiddleware:
    """Lets through the article requests worth making; stops pagination that holds nothing new."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the middleware."""
        return cls(crawler)

    def _listing_page(self, response: Response, site: str) -> int | None:
        meta = response.meta
        callback = getattr(response.request, "callback", None) if response.request is not None else None
        if getattr(callback, "__name__", None) == "parse_sitemap":
            return None
        if "koege_listing_page" in meta:
            return int(meta["koege_listing_page"])
        profile = spider_of(self.crawler).profiles[site]
        for key, rules in (("koege_json_page", profile.json_listing), ("koege_post_page", profile.post_listing)):
            if key in meta and rules is not None:
                return int(meta[key]) - rules.first_page + 1
        return 1  # the first page of a listing, or a feed

    def _filter(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        recrawl = recrawl_of(self.crawler)
        site = response.meta.get("koege_site")
        if recrawl is None or site is None:
            yield from result
            return
        urls = spider_of(self.crawler).site_urls[site]
        stats = self.crawler.stats
        page = self._listing_page(response, site)
        verdicts: list[Verdict] = []
        next_pages: list[Request] = []
        for entry in result:
            if isinstance(entry, Request) and is_article_request(entry):
                verdict = recrawl.verdict(
                    site, urls.canonical(entry.url), lastmod=entry.meta.get("koege_lastmod"), listing_page=page
                )
                verdicts.append(verdict)
                if verdict.fetch:
                    stats.inc_value(f"koege/recrawl/fetch/{verdict.reason}")
                    yield entry
                elif verdict.reason == "older_than_since":
                    stats.inc_value("koege/skipped/older_than_since")
                else:
                    stats.inc_value(f"koege/recrawl/skip/{verdict.reason}")
            elif isinstance(entry, Request) and any(k in entry.meta for k in _PAGINATION_KEYS):
                next_pages.append(entry)
            else:
                yield entry
        if not next_pages:
            return
        if keep_paginating(verdicts, walked_before=recrawl.walked_before(site)):
            yield from next_pages
            return
        recrawl.pagination_cut(site)
        stats.inc_value("koege/recrawl/pagination_stopped")

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        """Filter a callback's output (synchronous callbacks)."""
        yield from self._filter(response, result)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Filter a callback's output (asynchronous callbacks)."""
        collected = [entry async for entry in result]
        for entry in self._filter(response, collected):
            yield entry
