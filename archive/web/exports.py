"""Exports made from the web page and the API: written into the server's export folder."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import time
from typing import TYPE_CHECKING

from archive.export_files import ExportDescription, export_file_name, safe_path, write_export
from archive.queries import export_rows
from archive.search import matching_ids

if TYPE_CHECKING:
    from pathlib import Path

    from archive.db import Archive
    from archive.export_files import ExportResult
    from archive.search import SearchFilters

__all__ = ["make_export", "stored_export"]

# Exports older than this are removed when a new one is made.
_KEEP_SECONDS = 3600


def make_export(
    archive: Archive, export_dir: Path, query: str, filters: SearchFilters, fmt: str, *, all_versions: bool = False
) -> tuple[str, ExportResult]:
    """Export a search into a fresh subfolder of the export folder.

    Args:
        archive: the open archive.
        export_dir: the server's export folder.
        query: the search (empty: every document the filters let through).
        filters: the filters (validated).
        fmt: the export format.
        all_versions: one row per content version.

    Returns:
        The subfolder's token and the result.

    Raises:
        QueryError: the query or a filter cannot be run.
        OSError: the file could not be written.
    """
    _prune(export_dir)
    ids = matching_ids(archive, query, filters) if query.strip() or filters.as_dict() else None
    token = secrets.token_urlsafe(9)
    folder = export_dir / token
    folder.mkdir(parents=True)
    path = safe_path(folder, export_file_name(query, filters.as_dict(), fmt))
    rows = export_rows(archive, all_versions=all_versions, document_ids=ids)
    what = ExportDescription(archive.display_url, query, filters.as_dict(), all_versions)
    return token, write_export(rows, fmt, path, what, now=dt.datetime.now(dt.UTC))


def stored_export(export_dir: Path, token: str, name: str) -> Path | None:
    """The path of a file made by :func:`make_export`, or None (never anything outside the folder)."""
    try:
        folder = safe_path(export_dir, token)
        path = safe_path(folder, name)
    except ValueError:
        return None
    return path if path.is_file() else None


def _prune(export_dir: Path) -> None:
    cutoff = time.time() - _KEEP_SECONDS
    if not export_dir.is_dir():
        return
    for folder in export_dir.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
