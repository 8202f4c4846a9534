"""The archive: models, database, write and read paths, exports and the CLI.

Usable without Scrapy (researchers and journalists need no Twisted): only ``archive.cli``
imports the crawl side, lazily, inside the commands that crawl. The names below are imported
on first use, so ``import archive.<module>`` (every CLI call does) costs only that module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "archive.db": ("Archive", "ArchiveError", "ArchiveUnavailable", "SchemaOutdated", "SchemaTooNew", "open_archive"),
    "archive.export": ("FORMATS", "write_csv", "write_jsonl"),
    "archive.queries": ("EXPORT_COLUMNS", "QueryError", "capture_bytes", "export_rows", "find_document", "list_runs"),
    "archive.search": ("SearchFilters", "search", "search_page"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
