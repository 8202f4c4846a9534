"""Item pipelines, in ITEM_PIPELINES order (koege_spider/settings.py):

- 300 ``pipelines.extraction.ExtractionPipeline``: HTML to title, lead, text, date candidates
  (trafilatura and the page's own signals), in a process pool;
- 400 ``pipelines.article_dates.DanishDatePipeline``: the published and updated dates;
- 500 ``pipelines.dedup.DedupPipeline``: new / changed / unchanged / duplicate;
- 600 ``pipelines.attachments.AttachmentPipeline``: the text of files (PDFs) linked from articles;
- 900 ``pipelines.storage.ArchivePipeline``: writes through ``archive.store``.

Outside Scrapy: ``pipelines.reextract`` reads stored WARC captures again, ``pipelines.importer``
brings in WARC files made by other tools, ``pipelines.scoring`` scores extraction against
expected output. ``extract_article`` runs extraction and dates without Scrapy; ``parse_danish_date`` and
``find_danish_dates`` read Danish dates in any text.
"""

from __future__ import annotations

from pipelines.dates import DanishDate, find_danish_dates, parse_danish_date, parse_machine_date
from pipelines.extraction import extract_article

__all__ = ["DanishDate", "extract_article", "find_danish_dates", "parse_danish_date", "parse_machine_date"]
