"""Dedup: classify each page as new, changed, unchanged or a duplicate of another document."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import CloseSpider, DropItem

from archive.db import ArchiveError, open_archive
from archive.store import KnownDocument, known_documents
from koege_spider.items import ArticleItem

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable
    from typing import Self

    from scrapy.crawler import Crawler

    from archive.db import Archive
    from koege_spider.items import AttachmentItem

__all__ = ["DedupPipeline", "classify", "older_than"]


def classify(
    url: str,
    content_hash: str,
    *,
    known: dict[str, KnownDocument],
    owners: dict[str, str],
    aliases: Iterable[str] = (),
    published: str | None = None,
    updated: str | None = None,
) -> tuple[str, str | None]:
    """Classify one page against what the archive holds.

    A known document has ``changed`` when its normalised content did: the hash of title, lead
    and text, or its published or updated date. A page whose URL is new but that was reached
    from a known document's URL (a redirect, a trusted rel=canonical) is that document, moved:
    it is compared with its latest version.

    Args:
        url: the page's canonical URL.
        content_hash: the hash of its normalised content (title, lead, text).
        known: the archive's documents (latest hash per URL and alias URL).
        owners: which URL first held each hash.
        aliases: other URLs that led to the page.
        published: its published date as archived (ISO), if any.
        updated: its updated date as archived (ISO), if any.

    Returns:
        (status, duplicate_of): ``new``, ``changed``, ``unchanged``, or ``duplicate`` with the
        URL of the document whose text is identical.
    """
    doc = known.get(url) or next((known[a] for a in aliases if a in known), None)
    if doc is not None:
        same = (doc.content_hash, doc.published, doc.updated) == (content_hash, published, updated)
        return ("unchanged" if same else "changed"), None
    owner = owners.get(content_hash)
    if owner is not None and owner != url:
        return "duplicate", owner
    return "new", None


def older_than(published: str | None, since: dt.date | None) -> bool:
    """True when a published date (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD…``) lies wholly before ``since``."""
    if since is None or not published:
        return False
    prefix = published[:10]
    bound = since.isoformat()[: len(prefix)]
    return prefix < bound


class DedupPipeline:
    """Loads the archive's latest content hashes per site once and classifies each item.

    Its state lives on the instance and is updated as items pass, so a page reached twice in
    one run (two URLs redirecting to one article) is classified against the first. With
    ``KOEGE_SINCE`` set, an article published before that date is not archived (skipped
    ``older_than_since``).
    """

    def __init__(self, crawler: Crawler, db_url: str, since: dt.date | None = None) -> None:
        self.crawler = crawler
        self.db_url = db_url
        self.since = since
        self._archive: Archive | None = None
        self._known: dict[str, dict[str, KnownDocument]] = {}
        self._owners: dict[str, dict[str, str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the pipeline from ``KOEGE_ARCHIVE_DB`` and ``KOEGE_SINCE``."""
        from koege_spider.revisit import parse_since

        return cls(crawler, crawler.settings.get("KOEGE_ARCHIVE_DB"), parse_since(crawler.settings.get("KOEGE_SINCE")))

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
        """Close the archive (if it was opened)."""
        if self._archive is not None:
            self._archive.close()

    def _load(self, site: str) -> None:
        assert self._archive is not None
        known = known_documents(self._archive, site)
        self._known[site] = dict(known)
        owners: dict[str, str] = {}
        for url, doc in sorted(known.items(), key=lambda kv: (kv[1].id, kv[0])):
            owners.setdefault(doc.content_hash, url)
        self._owners[site] = owners

    def process_item(self, item: ArticleItem | AttachmentItem) -> ArticleItem | AttachmentItem:
        """Set ``dedup_status`` and ``duplicate_of`` (an attachment passes untouched).

        Raises:
            DropItem: ``older_than_since`` for an article published before ``KOEGE_SINCE``.
        """
        if not isinstance(item, ArticleItem):
            return item
        stats = self.crawler.stats
        if older_than(item.published, self.since):
            stats.inc_value("koege/skipped/older_than_since")
            raise DropItem("older_than_since")
        if item.site not in self._known:
            self._load(item.site)
        known, owners = self._known[item.site], self._owners[item.site]
        assert item.fingerprint is not None
        aliases = [url for url, _ in item.aliases]
        status, owner = classify(
            item.canonical_url,
            item.fingerprint,
            known=known,
            owners=owners,
            aliases=aliases,
            published=item.published,
            updated=item.updated,
        )
        item.dedup_status, item.duplicate_of = status, owner
        previous = known.get(item.canonical_url) or next((known[a] for a in aliases if a in known), None)
        if previous is not None and previous.removed:
            stats.inc_value("koege/recrawl/restored")
        if previous is not None and previous.id and item.canonical_url not in known:
            stats.inc_value("koege/dedup/moved")
        current = KnownDocument(
            id=previous.id if previous else 0,
            content_hash=item.fingerprint,
            version=(previous.version + (status == "changed")) if previous else 1,
            published=item.published,
            updated=item.updated,
        )
        known[item.canonical_url] = current
        for alias in aliases:
            known[alias] = current
        owners.setdefault(item.fingerprint, item.canonical_url)
        stats.inc_value(f"koege/dedup/{status}")
        return item
