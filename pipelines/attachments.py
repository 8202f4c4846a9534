"""Attachments: the text, title and page count of files linked from articles (PDFs, with pypdf).

``read_attachment`` is the pure core: bytes in, a :class:`AttachmentReading` out, never an
exception (an encrypted, broken or non-PDF file gets ``text_error``). ``AttachmentPipeline``
(600) runs it on a thread for every :class:`~koege_spider.items.AttachmentItem`, so a long PDF
does not stall the crawl, and passes every other item on untouched. ``attachment_record`` maps an
item to what ``archive.store`` writes.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archive.store import AttachmentRecord
from koege_spider.items import AttachmentItem

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

__all__ = ["AttachmentPipeline", "AttachmentReading", "attachment_record", "read_attachment"]

logger = logging.getLogger(__name__)

#: Text kept per file: a few hundred pages of prose; the rest of a huge file is cut.
MAX_TEXT_CHARS = 2_000_000
#: Pages read per file (a scanned archive of thousands of pages is not read to the end).
MAX_PAGES = 2000
#: Files smaller than this are read on the reactor thread (measured: a thread hop costs more).
_INLINE_BYTES = 20_000
_TITLE_CHARS = 300
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class AttachmentReading:
    """What could be read from a file.

    Attributes:
        title: the document title (PDF metadata, else its first line of text).
        text: the text, pages separated by blank lines ("" when none could be read).
        pages: number of pages (None when the file could not be opened).
        error: why no text was read: ``not_pdf``, ``encrypted``, ``unreadable`` or ``no_text``
            (a scan without a text layer); None when text was read.
    """

    title: str | None
    text: str
    pages: int | None
    error: str | None = None


def _clean(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def read_attachment(body: bytes, content_type: str | None = None) -> AttachmentReading:
    """Read the title, text and page count of a PDF.

    Args:
        body: the file's bytes.
        content_type: the ``Content-Type`` the server sent (informative: the bytes decide).

    Returns:
        The reading; problems are reported in ``error``, never raised.
    """
    if b"%PDF-" not in body[:1024]:
        return AttachmentReading(None, "", None, "not_pdf")
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted:
            try:
                # Many PDFs are encrypted only against editing, with an empty password to read them.
                if not reader.decrypt(""):
                    return AttachmentReading(None, "", None, "encrypted")
            except (FileNotDecryptedError, NotImplementedError, ValueError):
                return AttachmentReading(None, "", None, "encrypted")
        pages = len(reader.pages)
        metadata = reader.metadata
        meta_title = metadata.get("/Title") if metadata is not None else None
        parts: list[str] = []
        size = 0
        for page in reader.pages[:MAX_PAGES]:
            part = _clean(page.extract_text() or "")
            parts.append(part)
            size += len(part)
            if size >= MAX_TEXT_CHARS:
                break
    except FileNotDecryptedError:
        return AttachmentReading(None, "", None, "encrypted")
    except Exception:  # noqa: BLE001 - pypdf raises many kinds on damaged files; a bad file is a counted outcome
        return AttachmentReading(None, "", None, "unreadable")
    text = "\n\n".join(p for p in parts if p)[:MAX_TEXT_CHARS]
    title = str(meta_title).strip() if meta_title else ""
    if not title:
        title = next((line for line in text.split("\n") if line.strip()), "")
    return AttachmentReading(title[:_TITLE_CHARS] or None, text, pages, None if text else "no_text")


def attachment_record(item: AttachmentItem) -> AttachmentRecord:
    """Map a read attachment item to the archive's plain record.

    Args:
        item: an item the pipeline has read (or a reused one, whose reading the archive copies).

    Returns:
        The record for ``ArchiveWriter.add_attachment``.
    """
    from archive.captures import payload_digest

    return AttachmentRecord(
        article_url=item.article_url,
        url=item.url,
        fetched_at=item.fetched_at,
        http_status=item.http_status,
        content_type=item.content_type,
        length=len(item.body),
        digest=item.warc.payload_digest if item.warc is not None else payload_digest(item.body),
        warc=item.warc,
        title=item.title,
        text=item.text,
        pages=item.pages,
        text_error=item.text_error,
        reused=item.reused,
    )


class AttachmentPipeline:
    """Reads each attachment's text (on a thread for all but tiny files); other items pass untouched.

    Stats: ``koege/attachment/read`` and ``koege/attachment/text_error/<error>``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the pipeline."""
        return cls(crawler)

    def open_spider(self) -> None:
        """Keep pypdf's complaints about damaged files out of the crawl log (each is counted)."""
        logging.getLogger("pypdf").setLevel(logging.ERROR)

    async def process_item(self, item: Any) -> Any:
        """Fill ``title``, ``text``, ``pages`` and ``text_error`` of an attachment item."""
        if not isinstance(item, AttachmentItem) or item.reused:
            return item
        if len(item.body) < _INLINE_BYTES:
            reading = read_attachment(item.body, item.content_type)
        else:
            reading = await asyncio.to_thread(read_attachment, item.body, item.content_type)
        item.title, item.text, item.pages = reading.title, reading.text or None, reading.pages
        item.text_error = reading.error
        stats = self.crawler.stats
        if reading.error:
            stats.inc_value(f"koege/attachment/text_error/{reading.error}")
            logger.info("No text read from %s: %s", item.url, reading.error)
        else:
            stats.inc_value("koege/attachment/read")
        return item
