"""Storage: write each classified item to the archive through ``archive.store``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import CloseSpider
from scrapy.utils.defer import deferred_from_coro

from archive.db import ArchiveError, open_archive
from archive.store import ArchiveWriter, CaptureRecord, VersionRecord, WriteFailed
from koege_spider.items import AttachmentItem
from koege_spider.signals import commit_hook
from koege_spider.sites import load_profile
from pipelines.attachments import attachment_record

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

    from archive.db import Archive
    from koege_spider.items import ArticleItem

__all__ = ["ArchivePipeline", "item_to_records"]

logger = logging.getLogger(__name__)


def item_to_records(item: ArticleItem, *, profile_version: int | None) -> tuple[CaptureRecord, VersionRecord]:
    """Map an item to the archive's plain records.

    Args:
        item: a fully processed item.
        profile_version: the version of the site profile that extracted it.

    Returns:
        The capture and the version.
    """
    capture = CaptureRecord(
        url=item.url,
        canonical_url=item.canonical_url,
        fetched_at=item.fetched_at,
        http_status=item.http_status,
        headers=item.headers,
        content_type=item.content_type,
        encoding=item.encoding,
        body=item.body,
        aliases=tuple(item.aliases),
        sitemap_lastmod=item.sitemap_lastmod,
        warc=item.warc,
    )
    assert item.text is not None and item.fingerprint is not None and item.extractor is not None
    version = VersionRecord(
        title=item.title,
        lead=item.lead,
        text=item.text,
        content_hash=item.fingerprint,
        extractor=item.extractor,
        published=item.published,
        published_precision=item.published_precision,
        published_source=item.published_source,
        published_raw=item.published_raw,
        updated=item.updated,
        updated_precision=item.updated_precision,
        updated_source=item.updated_source,
        updated_raw=item.updated_raw,
        updated_by=item.updated_by,
        contact=item.contact,
        language=item.language,
        profile_version=profile_version,
        index_terms=item.index_terms,
        signature=item.signature,
    )
    return capture, version


class ArchivePipeline:
    """Writes items in batches; a write failure closes the crawl with ``archive_unavailable``."""

    def __init__(self, crawler: Crawler, db_url: str, batch_size: int) -> None:
        self.crawler = crawler
        self.db_url = db_url
        self.batch_size = batch_size
        self._archive: Archive | None = None
        self._writer: ArchiveWriter | None = None
        self._profile_versions: dict[str, int] = {}
        self._failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the pipeline from ``KOEGE_ARCHIVE_DB`` and ``KOEGE_STORAGE_BATCH_SIZE``."""
        return cls(
            crawler,
            crawler.settings.get("KOEGE_ARCHIVE_DB"),
            crawler.settings.getint("KOEGE_STORAGE_BATCH_SIZE"),
        )

    def open_spider(self) -> None:
        """Open the archive for writing.

        Raises:
            CloseSpider: ``archive_unavailable`` when it cannot be opened.
        """
        try:
            self._archive = open_archive(self.db_url, data_dir=self.crawler.settings.get("KOEGE_ARCHIVE_DATA") or None)
        except ArchiveError as exc:
            logger.error("Cannot open the archive: %s", exc)
            raise CloseSpider("archive_unavailable") from exc
        self._writer = ArchiveWriter(self._archive, batch_size=self.batch_size, before_commit=commit_hook(self.crawler))

    def close_spider(self) -> None:
        """Write what is still queued and close the archive."""
        if self._writer is not None and not self._failed:
            try:
                self._writer.flush()
            except WriteFailed as exc:
                self._fail(exc)
            except Exception as exc:  # a defect must fail the run loudly, never end it as "finished"
                logger.exception("Unexpected error while writing the last pages")
                self._fail(WriteFailed(f"unexpected error while writing to the archive: {exc!r}"))
            orphans = self._writer.pending_attachments()
            if orphans and not self._failed:
                # Files whose article was not archived (no article text, older than --since).
                self.crawler.stats.inc_value("koege/storage/attachment_without_article", orphans)
        if self._writer is not None:
            self._writer.close()
        if self._archive is not None:
            self._archive.close()

    def _fail(self, exc: WriteFailed) -> None:
        self._failed = True
        assert self._writer is not None
        lost = self._writer.drop_pending()
        self.crawler.stats.inc_value("koege/storage/write_failed")
        self.crawler.stats.set_value("koege/storage/error", str(exc))
        self.crawler.stats.inc_value("koege/storage/not_written", lost)
        logger.error("%s (%d pages not written; they will be fetched again next run)", exc, lost)

    def _site_ready(self, site: str) -> None:
        if site in self._profile_versions:
            return
        assert self._writer is not None
        profile = load_profile(site)
        self._writer.ensure_site(profile.name, profile.title, profile.canonical_origin)
        self._profile_versions[site] = profile.version

    def process_item(self, item: ArticleItem | AttachmentItem) -> ArticleItem | AttachmentItem:
        """Queue the item for writing and count its outcome as ``koege/storage/<status>``
        (``attachment`` for a file linked from an article)."""
        if self._failed:
            return item
        assert self._writer is not None
        stats = self.crawler.stats
        try:
            if isinstance(item, AttachmentItem):
                self._writer.add_attachment(attachment_record(item), run_id=stats.get_value("koege/run/id"))
                stats.inc_value("koege/storage/attachment")
                return item
            self._site_ready(item.site)
            capture, version = item_to_records(item, profile_version=self._profile_versions[item.site])
            status = item.dedup_status or "new"
            self._writer.add(
                site_key=item.site,
                run_id=stats.get_value("koege/run/id"),
                capture=capture,
                version=version,
                outcome=status,  # type: ignore[arg-type]
                duplicate_of=item.duplicate_of,
            )
        except WriteFailed as exc:
            self._fail(exc)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="archive_unavailable"))
            return item
        stats.inc_value(f"koege/storage/{status}")
        return item
