"""The archive: models, database, write and read paths, exports and the CLI.

Usable without Scrapy (researchers and journalists need no Twisted): only ``archive.cli``
imports the crawl side, lazily, inside the commands that crawl.
"""

from __future__ import annotations

from archive.db import Archive, ArchiveError, ArchiveUnavailable, SchemaOutdated, SchemaTooNew, open_archive
from archive.export import FORMATS, write_csv, write_jsonl
from archive.queries import EXPORT_COLUMNS, QueryError, capture_bytes, export_rows, find_document, list_runs
from archive.search import SearchFilters, search, search_page

__all__ = [
    "EXPORT_COLUMNS",
    "FORMATS",
    "Archive",
    "ArchiveError",
    "ArchiveUnavailable",
    "QueryError",
    "SchemaOutdated",
    "SchemaTooNew",
    "SearchFilters",
    "capture_bytes",
    "export_rows",
    "find_document",
    "list_runs",
    "open_archive",
    "search",
    "search_page",
    "write_csv",
    "write_jsonl",
]
