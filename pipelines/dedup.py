"""Dedup: classify each page as new, changed, unchanged or a duplicate of another document."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import CloseSpider

from archive.db import ArchiveError, open_archive
from archive.store import known_documents

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

    from archive.store import KnownDocument
    from koege_spider.items import ArticleItem

__all__ = ["DedupPipeline", "classify"]


def classify(
    url: str,
    content_hash: str,
    *,
    known: dict[str, KnownDocument],
    owners: dict[str, str],
) -> tuple[str, str | None]:
    """Classify one page against what the archive holds.

    Args:
        url: the page's canonical URL.
        content_hash: the hash of its extracted text.
        known: the archive's documents (latest hash per URL).
        owners: which URL first held each hash.

    Returns:
        (status, duplicate_of): ``new``, ``changed``, ``unchanged``, or ``duplicate`` with the
        URL of the document whose text is identical.
    """
    doc = known.get(url)
    if doc is not None:
        return ("unchanged" if doc.content_hash == content_hash else "changed"), None
    owner = owners.get(content_hash)
    if owner is not None and owner != url:
        return "duplicate", owner
    return "new", None


class DedupPipeline:
    """Loads the archive's latest content hashes per site once and classifies each item.

    Its state lives on the instance and is updated as items pass, so a page reached twice in
    one run (two URLs redirecting to one article) is classified against the first.
    """

    def __init__(self, crawler: Crawler, db_url: str) -> None:
        self.crawler = crawler
        self.db_url = db_url
        self._known: dict[str, dict[str, KnownDocument]] = {}
        self._owners: dict[str, dict[str, str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the pipeline from ``KOEGE_ARCHIVE_DB``."""
        return cls(crawler, crawler.settings.get("KOEGE_ARCHIVE_DB"))

    def open_spider(self) -> None:
        """Open the archive for reading.

        Raises:
            CloseSpider: ``archive_unavailable`` when the archive cannot be opened.
        """
        try:
            self._archive = open_archive(self.db_url)
        except ArchiveError as exc:
            raise CloseSpider(f"archive_unavailable: {exc}") from exc

    def close_spider(self) -> None:
        """Close the archive."""
        self._archive.close()

    def _load(self, site: str) -> None:
        known = known_documents(self._archive, site)
        self._known[site] = dict(known)
        owners: dict[str, str] = {}
        for url, doc in sorted(known.items(), key=lambda kv: kv[1].id):
            owners.setdefault(doc.content_hash, url)
        self._owners[site] = owners

    def process_item(self, item: ArticleItem) -> ArticleItem:
        """Set ``dedup_status`` and ``duplicate_of``."""
        from archive.store import KnownDocument

        if item.site not in self._known:
            self._load(item.site)
        known, owners = self._known[item.site], self._owners[item.site]
        assert item.fingerprint is not None
        status, owner = classify(item.canonical_url, item.fingerprint, known=known, owners=owners)
        item.dedup_status, item.duplicate_of = status, owner
        previous = known.get(item.canonical_url)
        known[item.canonical_url] = KnownDocument(
            id=previous.id if previous else 0,
            content_hash=item.fingerprint,
            version=(previous.version + (status == "changed")) if previous else 1,
        )
        owners.setdefault(item.fingerprint, item.canonical_url)
        self.crawler.stats.inc_value(f"koege/dedup/{status}")
        return item
