"""WarcCaptureMiddleware: every HTTP exchange of a crawl written to WARC files, as the server sent it.

It sits at 950, next to the downloader: responses reach it before decompression (590) and
redirects (600), so each record holds the bytes that came over the wire and every hop of a
redirect is its own exchange. Pages, listings, sitemaps, robots.txt, files and error answers are
all written; a payload identical to the last full record of the same URL becomes a ``revisit``
record, as does a 304. Where each record lies goes into ``request.meta["koege_warc"]`` for the
storage stage, which makes it durable (``before_archive_commit``) before its rows commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from http import HTTPStatus
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured

from archive.captures import WarcError, WarcStore, payload_digest, recover_open_files, warc_folder
from archive.db import ArchiveError, open_archive
from archive.models import Resource
from archive.store import record_resources
from koege_spider.signals import before_archive_commit

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from archive.captures import CaptureLocation
    from archive.db import Archive

__all__ = ["WarcCaptureMiddleware"]

logger = logging.getLogger(__name__)

#: How many new full records may wait before the URL → record memory is written to the archive.
_RESOURCE_BATCH = 500


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class WarcCaptureMiddleware:
    """Writes each exchange as WARC request/response (or revisit) records."""

    def __init__(
        self,
        crawler: Crawler,
        *,
        db_url: str,
        data_dir: str | None,
        max_bytes: int,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.crawler = crawler
        self.db_url = db_url
        self.data_dir = data_dir
        self.max_bytes = max_bytes
        self.clock = clock
        self._archive: Archive | None = None
        self._store: WarcStore | None = None
        self._last: dict[str, tuple[str, dt.datetime]] = {}
        self._unsaved: list[tuple[str, CaptureLocation, dt.datetime]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the middleware from ``KOEGE_WARC_*``, ``KOEGE_ARCHIVE_DB`` and ``KOEGE_ARCHIVE_DATA``.

        Raises:
            NotConfigured: when ``KOEGE_WARC_ENABLED`` is off.
        """
        settings = crawler.settings
        if not settings.getbool("KOEGE_WARC_ENABLED"):
            raise NotConfigured
        middleware = cls(
            crawler,
            db_url=settings.get("KOEGE_ARCHIVE_DB"),
            data_dir=settings.get("KOEGE_ARCHIVE_DATA") or None,
            max_bytes=int(settings.getfloat("KOEGE_WARC_MAX_MB") * 1_000_000),
        )
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(middleware.sync, signal=before_archive_commit)
        return middleware

    # --- lifecycle --------------------------------------------------------------------------
    def spider_opened(self, spider: Spider) -> None:
        """Repair what a crashed crawl left, and load the last full record of every URL."""
        try:
            self._archive = open_archive(self.db_url, data_dir=self.data_dir)
            folder = warc_folder(self._archive)
        except (ArchiveError, WarcError) as exc:
            logger.error("WARC capture unavailable: %s", exc)
            return
        stats = self.crawler.stats
        for report in recover_open_files(folder):
            stats.inc_value(f"koege/warc/recovered_{report.action}")
            logger.warning(
                "WARC file %s left unfinished by an earlier crawl: %s (%d whole records kept, %d bytes %s)",
                report.file,
                report.action,
                report.good_records,
                report.removed_bytes,
                "moved to quarantine" if report.action == "quarantined" else "cut",
            )
        with self._archive.reading() as session:
            self._last = {
                url: (digest, fetched)
                for url, digest, fetched in session.execute(
                    Resource.__table__.select().with_only_columns(
                        Resource.url, Resource.warc_digest, Resource.fetched_at
                    )
                )
            }
        self._store = WarcStore(folder, max_bytes=self.max_bytes, info=self._info())

    def _info(self) -> dict[str, str]:
        settings = self.crawler.settings
        return {
            "software": f"koege-archive/{settings.get('KOEGE_VERSION')} (Scrapy)",
            "http-header-user-agent": str(settings.get("USER_AGENT")),
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "operator": str(settings.get("KOEGE_CONTACT")),
        }

    def spider_closed(self, spider: Spider) -> None:
        """Finish the WARC file and remember the last full record of each URL."""
        if self._store is not None:
            self._store.close()
        self._save_resources()
        if self._archive is not None:
            self._archive.close()

    def sync(self) -> None:
        """Make every record written so far durable (sent before each archive commit)."""
        if self._store is not None:
            self._store.sync()

    def _save_resources(self) -> None:
        if not self._unsaved or self._archive is None:
            return
        unsaved, self._unsaved = self._unsaved, []
        try:
            with self._archive.engine.execution_options(koege_write=True).begin() as conn:
                record_resources(conn, unsaved, sqlite=self._archive.is_sqlite)
        except Exception as exc:  # noqa: BLE001 - only the revisit memory is lost: full records next time
            self.crawler.stats.inc_value("koege/warc/resources_not_saved", len(unsaved))
            logger.warning("Could not remember %d WARC records for revisits: %s", len(unsaved), exc)

    # --- capture ----------------------------------------------------------------------------
    def process_response(self, request: Request, response: Response) -> Response:
        """Write the exchange and note where its record lies in the request's meta."""
        if self._store is None:
            return response
        stats = self.crawler.stats
        if self._store.info.get("isPartOf") is None and stats.get_value("koege/run/id") is not None:
            self._store.info["isPartOf"] = f"koege-archive crawl run {stats.get_value('koege/run/id')}"
        fetched_at = self.clock()
        url = response.url
        body = response.body
        last = self._last.get(url)
        not_modified = response.status == 304
        digest = None
        if not_modified:
            revisit_of = (url, last[1]) if last is not None else None
        else:
            digest = payload_digest(body)
            revisit_of = (url, last[1]) if last is not None and last[0] == digest else None
        try:
            location = self._store.write_exchange(
                url=url,
                fetched_at=fetched_at,
                status=response.status,
                reason=_reason(response.status),
                response_headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, vs in response.headers.items() for v in vs
                ],
                body=b"" if not_modified else body,
                request_method=request.method,
                request_headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, vs in request.headers.items() for v in vs
                ],
                revisit_of=revisit_of,
                not_modified=not_modified,
                digest=digest,
            )
        except OSError as exc:
            stats.inc_value("koege/warc/write_failed")
            logger.error("Could not write the WARC record of %s: %s", url, exc)
            request.meta.pop("koege_warc", None)
            return response
        if not_modified and last is not None:
            # A 304 carries no payload: the capture is of the payload its revisit record refers to.
            location = replace(location, payload_digest=last[0])
        request.meta["koege_warc"] = location
        stats.inc_value("koege/warc/revisits" if location.revisit else "koege/warc/responses")
        stats.inc_value("koege/warc/bytes", location.length)
        if not location.revisit:
            self._last[url] = (location.payload_digest, fetched_at)
            self._unsaved.append((url, location, fetched_at))
            if len(self._unsaved) >= _RESOURCE_BATCH:
                self._store.sync()
                self._save_resources()
        return response
