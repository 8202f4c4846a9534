"""Export files on disk: safe names inside a folder, atomic writes, and a manifest beside each.

The manifest (``<file>.manifest.json``) makes a dataset citable: which archive, which query and
filters, when, how many rows, what each column means, and the SHA-256 of the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from archive.export import (
    BINARY_FORMATS,
    COLUMN_DICTIONARY,
    EXCEL_CELL_LIMIT,
    EXCEL_CUT_MARKER,
    EXTENSIONS,
    FORMATS,
    WriteStats,
)
from archive.queries import EXPORT_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path
    from typing import BinaryIO

__all__ = [
    "CaptureExportFacts",
    "ExportDescription",
    "ExportResult",
    "export_file_name",
    "file_sha256",
    "safe_path",
    "write_capture_export",
    "write_export",
]

_UNSAFE = re.compile(r"[^\w.\- ]+")


@dataclass(frozen=True, slots=True)
class ExportDescription:
    """What an export holds, for its manifest."""

    archive: str
    query: str = ""
    filters: dict[str, str] | None = None
    all_versions: bool = False


@dataclass(frozen=True, slots=True)
class ExportResult:
    """A finished export."""

    path: Path
    manifest_path: Path
    rows: int
    sha256: str
    bytes: int
    cells_cut: int
    manifest: dict[str, Any]


def _software() -> str:
    try:
        return f"koege-archive {version('koege-archive')}"
    except PackageNotFoundError:
        return "koege-archive"


def export_file_name(query: str, filters: dict[str, str] | None, fmt: str) -> str:
    """A readable file name for an export: Danish letters kept, nothing that reaches outside.

    Args:
        query: the search (may be empty).
        filters: the filters that are set.
        fmt: the format (gives the extension).

    Returns:
        e.g. ``koege-affald-2018-2021.xlsx``; never holds a path separator or starts with ``.``.
    """
    filters = filters or {}
    parts = [filters.get("site") or "arkiv", query or "alle"]
    if filters.get("section"):
        parts.append(filters["section"])
    if filters.get("since") or filters.get("until"):
        parts.append(f"{filters.get('since', '')}–{filters.get('until', '')}".strip("–"))
    stem = "-".join(parts)
    return safe_stem(stem) + EXTENSIONS[fmt]


def safe_stem(stem: str) -> str:
    """Make a file name stem safe: letters (æøå too), digits, ``-``, ``_``, ``.``; at most 80.

    Args:
        stem: any text.

    Returns:
        A stem with no separators, no leading dot, never empty.
    """
    stem = unicodedata.normalize("NFC", stem)
    stem = _UNSAFE.sub("-", stem.replace("/", "-").replace("\\", "-"))
    stem = re.sub(r"\.{2,}", ".", re.sub(r"[-\s]+", "-", stem)).strip("-. ")
    return stem[:80].rstrip("-. ") or "eksport"


def safe_path(directory: Path, name: str) -> Path:
    """The path of ``name`` inside ``directory``, refusing anything that would land outside it.

    Args:
        directory: the output folder.
        name: a file name (no folders).

    Returns:
        The resolved path inside the folder.

    Raises:
        ValueError: when the name is not a plain file name inside the folder.
    """
    root = directory.resolve()
    candidate = (root / name).resolve()
    if candidate.parent != root or name in ("", ".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"{name!r} is not a file name inside {root}")
    return candidate


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest(
    path: Path,
    fmt: str,
    rows: int,
    digest: str,
    size: int,
    stats: WriteStats,
    what: ExportDescription,
    now: dt.datetime,
) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "manifest_version": 1,
        "file": path.name,
        "format": fmt,
        "bytes": size,
        "sha256": digest,
        "rows": rows,
        "row_unit": "content version" if what.all_versions else "document (its latest content version)",
        "order": "id, version",
        "query": what.query,
        "filters": what.filters or {},
        "archive": what.archive,
        "created": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "software": _software(),
        "columns": [
            {"name": c, "type": COLUMN_DICTIONARY[c][0], "description": COLUMN_DICTIONARY[c][1]} for c in EXPORT_COLUMNS
        ],
    }
    if fmt in ("xlsx", "csv-excel"):
        manifest["excel_cell_limit"] = {
            "limit": EXCEL_CELL_LIMIT,
            "cells_cut": stats.cells_cut,
            "marker": EXCEL_CUT_MARKER,
            "note": "longer texts end with the marker; the csv, jsonl and parquet formats keep them whole",
        }
    if fmt == "csv-excel":
        manifest["excel_csv"] = "UTF-8 with BOM, ';' separated; a leading ' guards texts starting with = + - @"
    filters = ", ".join(f"{k}={v}" for k, v in sorted((what.filters or {}).items()))
    manifest["cite_as"] = (
        f"{manifest['software']}, export of {what.archive}"
        + (f", query {what.query!r}" if what.query else "")
        + (f", filters {filters}" if filters else "")
        + f", {manifest['created']}, {rows} rows, file {path.name} SHA-256 {digest}"
    )
    return manifest


def write_export(
    rows: Iterable[dict[str, Any]],
    fmt: str,
    path: Path,
    what: ExportDescription,
    *,
    now: dt.datetime | None = None,
) -> ExportResult:
    """Write an export file and its manifest; nothing is left half-written.

    The file is written as ``<name>.partial`` and renamed when complete; then its SHA-256 is
    taken and ``<name>.manifest.json`` written beside it.

    Args:
        rows: export rows.
        fmt: one of :data:`archive.export.FORMATS`.
        path: the file to write.
        what: the archive, query and filters (for the manifest).
        now: the export time (now by default).

    Returns:
        The result, with the manifest.

    Raises:
        OSError: the file could not be written (full disk, no permission); nothing is left behind.
    """
    writer = FORMATS[fmt]
    partial = path.with_name(path.name + ".partial")
    stats = WriteStats()
    try:
        if fmt in BINARY_FORMATS:
            count = writer(rows, partial, stats)
        else:
            with partial.open("w", encoding="utf-8", newline="") as out:
                count = writer(rows, out, stats)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    digest = file_sha256(path)
    manifest = _manifest(path, fmt, count, digest, path.stat().st_size, stats, what, now or dt.datetime.now(dt.UTC))
    manifest_path = path.with_name(path.name + ".manifest.json")
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return ExportResult(path, manifest_path, count, digest, manifest["bytes"], stats.cells_cut, manifest)


# --- capture formats (warc, cdxj) ---------------------------------------------------------------

_CAPTURE_NOTES = {
    "warc": (
        "WARC 1.1, gzip per record: a warcinfo record, then each capture's response (or revisit) record "
        "copied byte for byte from the archive's WARC files, followed by the request record written with it; "
        "each revisit travels with the full record it refers to"
    ),
    "cdxj": (
        "CDXJ index as pywb reads it: '<SURT> <14-digit UTC timestamp> {json}' lines sorted in byte order; "
        "filename and offset point into the archive's own WARC folder (warc_folder)"
    ),
}


@dataclass(frozen=True, slots=True)
class CaptureExportFacts:
    """What a capture-format writer wrote, for the manifest."""

    captures: int
    records: int
    documents: int
    extra: dict[str, Any] | None = None


def write_capture_export(
    write: Callable[[BinaryIO], CaptureExportFacts],
    fmt: str,
    path: Path,
    what: ExportDescription,
    *,
    now: dt.datetime | None = None,
) -> ExportResult:
    """Write a capture-format export (``warc``, ``cdxj``) and its manifest; nothing is left half-written.

    Args:
        write: writes the file into the binary stream it is given and says what it wrote
            (see :mod:`archive.warc_export`).
        fmt: ``warc`` or ``cdxj``.
        path: the file to write.
        what: the archive, query and filters (``all_versions``: every capture of each document).
        now: the export time (now by default).

    Returns:
        The result, with the manifest (``rows`` counts captures).

    Raises:
        OSError: the file could not be written; nothing is left behind.
        Exception: whatever ``write`` raises (e.g. ``WarcError`` for a damaged source file); nothing is left behind.
    """
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as out:
            facts = write(out)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    digest = file_sha256(path)
    created = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest: dict[str, Any] = {
        "manifest_version": 1,
        "file": path.name,
        "format": fmt,
        "bytes": path.stat().st_size,
        "sha256": digest,
        "rows": facts.captures,
        "row_unit": "capture (every capture of each document)"
        if what.all_versions
        else "capture (the one of each document's latest content version)",
        "records": facts.records,
        "documents": facts.documents,
        "query": what.query,
        "filters": what.filters or {},
        "archive": what.archive,
        "created": created,
        "software": _software(),
        "format_notes": _CAPTURE_NOTES.get(fmt, ""),
        **(facts.extra or {}),
    }
    filters = ", ".join(f"{k}={v}" for k, v in sorted((what.filters or {}).items()))
    manifest["cite_as"] = (
        f"{manifest['software']}, {fmt} export of {what.archive}"
        + (f", query {what.query!r}" if what.query else "")
        + (f", filters {filters}" if filters else "")
        + f", {created}, {facts.captures} captures of {facts.documents} documents, file {path.name} SHA-256 {digest}"
    )
    manifest_path = path.with_name(path.name + ".manifest.json")
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return ExportResult(path, manifest_path, facts.captures, digest, manifest["bytes"], 0, manifest)
