"""Captures given back out of the archive: one capture's record, a WARC file of a selection, a CDXJ index.

Records leave verbatim: the gzip member the archive wrote (or imported) is copied byte for byte,
after it has been checked (whole, digests right). A WARC export holds each selected capture's
response record with the request record written beside it, and every revisit travels with the
full record it refers to, so the file stands alone. The CDXJ index (pywb's format) points into
the archive's own WARC files, so a replay tool can serve the archive folder as it is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote_from_bytes, unquote_to_bytes, urlsplit

from sqlalchemy import select

from archive.captures import WarcError, warc_folder
from archive.fixity import check_record
from archive.models import Capture, Document, Version
from archive.suppression import suppressed_ids

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from sqlalchemy.sql.selectable import TextualSelect

    from archive.db import Archive

__all__ = [
    "CaptureEntry",
    "WarcExportStats",
    "capture_in_force",
    "capture_problem",
    "cdxj_lines",
    "document_captures",
    "read_record",
    "select_captures",
    "surt_key",
    "write_cdxj",
    "write_warc",
]

_OPEN = ".open"


@dataclass(frozen=True, slots=True)
class CaptureEntry:
    """One capture with where its record lies."""

    id: int
    document_id: int | None
    document_url: str | None
    url: str
    fetched_at: dt.datetime
    http_status: int
    content_type: str | None
    warc_file: str
    warc_offset: int
    warc_length: int | None
    warc_digest: str | None
    revisit: bool


@dataclass(slots=True)
class WarcExportStats:
    """What a WARC export wrote."""

    captures: int = 0
    records: int = 0
    originals_added: int = 0
    documents: set[int] = field(default_factory=set)
    #: Revisits left out because the archive holds no full record of their payload.
    missing_originals: list[int] = field(default_factory=list)


# --- selecting ----------------------------------------------------------------------------------


def _entry_columns() -> tuple[Any, ...]:
    return (
        Capture.id,
        Capture.document_id,
        Document.url,
        Capture.url,
        Capture.fetched_at,
        Capture.http_status,
        Capture.content_type,
        Capture.warc_file,
        Capture.warc_offset,
        Capture.warc_length,
        Capture.warc_digest,
        Capture.revisit,
    )


def _entry(row: Any) -> CaptureEntry:
    cid, did, durl, url, at, status, ctype, file, offset, length, digest, revisit = row
    return CaptureEntry(cid, did, durl, url, at, status, ctype, file, offset, length, digest, bool(revisit))


def document_captures(archive: Archive, document_id: int) -> list[CaptureEntry]:
    """Every capture of a document whose record the archive keeps, oldest first.

    Args:
        archive: the open archive.
        document_id: the document.

    Returns:
        The captures (purged ones, whose records are gone, are left out).
    """
    stmt = (
        select(*_entry_columns())
        .outerjoin(Document, Document.id == Capture.document_id)
        .where(Capture.document_id == document_id, Capture.warc_file.is_not(None), Capture.warc_offset.is_not(None))
        .order_by(Capture.fetched_at, Capture.id)
    )
    with archive.reading() as session:
        return [_entry(row) for row in session.execute(stmt)]


def capture_in_force(captures: list[CaptureEntry], at: dt.datetime | None) -> CaptureEntry | None:
    """The capture in force at a moment: the latest taken at or before it (the latest of all without one).

    Args:
        captures: a document's captures, oldest first.
        at: the moment (aware), or None for the latest.

    Returns:
        The capture, or None when none was taken by then.
    """
    if at is None:
        return captures[-1] if captures else None
    taken = [c for c in captures if c.fetched_at <= at]
    return taken[-1] if taken else None


def select_captures(archive: Archive, document_ids: TextualSelect | None, *, all_captures: bool) -> list[CaptureEntry]:
    """The captures of a selection of documents (suppressed documents never leave the archive).

    Args:
        archive: the open archive.
        document_ids: the documents (as :func:`archive.search.matching_ids` gives them); None for all.
        all_captures: every capture of each document (revisits too) instead of the capture of
            each document's latest content version.

    Returns:
        The captures, by document id and capture time.
    """
    stmt = select(*_entry_columns()).join(Document, Document.id == Capture.document_id)
    if not all_captures:
        stmt = stmt.join(Version, Version.capture_id == Capture.id).where(
            Version.document_id == Document.id, Version.version == Document.latest_version
        )
    stmt = stmt.where(
        Capture.warc_file.is_not(None),
        Capture.warc_offset.is_not(None),
        Document.id.not_in(suppressed_ids()),
    )
    if document_ids is not None:
        stmt = stmt.where(Document.id.in_(document_ids))
    stmt = stmt.order_by(Document.id, Capture.fetched_at, Capture.id)
    with archive.reading() as session:
        return [_entry(row) for row in session.execute(stmt)]


def _original_of(archive: Archive, entry: CaptureEntry) -> CaptureEntry | None:
    """The full record a revisit refers to: as :func:`archive.queries.capture_bytes` finds it."""
    stmt = (
        select(*_entry_columns())
        .outerjoin(Document, Document.id == Capture.document_id)
        .where(
            Capture.revisit.is_(False),
            Capture.warc_file.is_not(None),
            Capture.warc_offset.is_not(None),
            Capture.fetched_at <= entry.fetched_at,
        )
    )
    if entry.warc_digest and entry.http_status != 304:
        stmt = stmt.where(Capture.warc_digest == entry.warc_digest)
    else:
        stmt = stmt.where(Capture.document_id == entry.document_id, Capture.http_status == 200)
    with archive.reading() as session:
        row = session.execute(stmt.order_by(Capture.fetched_at.desc(), Capture.id.desc()).limit(1)).first()
    return _entry(row) if row is not None else None


# --- reading records ----------------------------------------------------------------------------


def _open(folder: Path, name: str) -> BinaryIO:
    for candidate in (folder / name, folder / (name + _OPEN)):
        if candidate.exists():
            try:
                return candidate.open("rb")
            except OSError as exc:
                raise WarcError(f"cannot read the WARC file {name}: {exc.strerror}") from exc
    raise WarcError(f"the WARC file {name} is missing from {folder}")


def _member_at(fh: BinaryIO, name: str, offset: int, length: int | None) -> tuple[bytes, bytes]:
    """The gzip member at ``offset`` (raw) and its decompressed record; WarcError when damaged.

    With ``length`` None the member is read until it ends (a request record's length is not stored).
    """
    fh.seek(offset)
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    raw_parts: list[bytes] = []
    data_parts: list[bytes] = []
    remaining = length
    try:
        while not decoder.eof:
            chunk = fh.read(remaining if remaining is not None else 1 << 16)
            if not chunk:
                break
            raw_parts.append(chunk)
            data_parts.append(decoder.decompress(chunk))
            if remaining is not None:
                remaining -= len(chunk)
                if remaining <= 0:
                    break
    except zlib.error as exc:
        raise WarcError(f"the WARC file {name} is damaged at offset {offset}: {exc}") from exc
    raw = b"".join(raw_parts)
    if not decoder.eof:
        if length is None or len(raw) < length:
            raise WarcError(f"the WARC file {name} ends inside the record at offset {offset} (it is cut off)")
        raise WarcError(f"the record at offset {offset} of {name} is longer than its stored length {length}")
    if decoder.unused_data:
        if length is not None:
            raise WarcError(f"the record at offset {offset} of {name} is shorter than its stored length {length}")
        raw = raw[: len(raw) - len(decoder.unused_data)]
    return raw, b"".join(data_parts)


def read_record(archive: Archive, entry: CaptureEntry) -> bytes:
    """The capture's WARC record as the archive holds it: one gzip member, checked before it is given out.

    Args:
        archive: the open archive.
        entry: the capture.

    Returns:
        The member's bytes: a one-record ``.warc.gz`` on its own.

    Raises:
        WarcError: when the file is missing or the record is damaged (the message names the file).
    """
    folder = warc_folder(archive)
    with _open(folder, entry.warc_file) as fh:
        raw, data = _member_at(fh, entry.warc_file, entry.warc_offset, entry.warc_length)
    _check(entry, data)
    return raw


def _check(entry: CaptureEntry, data: bytes) -> None:
    record = check_record(data)
    if record.problem is not None:
        raise WarcError(
            f"the WARC file {entry.warc_file} is damaged at offset {entry.warc_offset}: {record.problem[1]}"
        )
    if record.target_uri != entry.url:
        raise WarcError(
            f"the record at offset {entry.warc_offset} of {entry.warc_file} is of {record.target_uri}, not {entry.url}"
        )


def _software() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"koege-archive/{version('koege-archive')}"
    except PackageNotFoundError:
        return "koege-archive"


def capture_problem(archive: Archive, capture_id: int) -> str | None:
    """What keeps a capture's bytes from being read, in words naming the file (for error pages).

    A revisit is checked through the full record it refers to.

    Args:
        archive: the open archive.
        capture_id: the capture.

    Returns:
        The problem, or None when its record (or its original's) reads and checks fine.
    """
    stmt = (
        select(*_entry_columns())
        .outerjoin(Document, Document.id == Capture.document_id)
        .where(Capture.id == capture_id, Capture.warc_file.is_not(None), Capture.warc_offset.is_not(None))
    )
    with archive.reading() as session:
        row = session.execute(stmt).first()
    if row is None:
        return None
    entry = _entry(row)
    source = _original_of(archive, entry) if entry.revisit else entry
    if source is None:
        return None
    try:
        read_record(archive, source)
    except WarcError as exc:
        return str(exc)
    return None


# --- WARC export --------------------------------------------------------------------------------


def _with_originals(archive: Archive, entries: list[CaptureEntry], stats: WarcExportStats) -> list[CaptureEntry]:
    """The entries plus the full record of each revisit (when not already there); orphans are left out."""
    chosen: dict[tuple[str, int], CaptureEntry] = {}
    for entry in entries:
        chosen.setdefault((entry.warc_file, entry.warc_offset), entry)
    full = {(e.warc_file, e.warc_offset) for e in chosen.values() if not e.revisit}
    for key, entry in list(chosen.items()):
        if not entry.revisit:
            continue
        original = _original_of(archive, entry)
        if original is None:
            del chosen[key]
            stats.missing_originals.append(entry.id)
            continue
        where = (original.warc_file, original.warc_offset)
        if where not in full:
            full.add(where)
            chosen[where] = original
            stats.originals_added += 1
    return sorted(chosen.values(), key=lambda e: (e.warc_file, e.warc_offset))


def write_warc(
    archive: Archive,
    entries: list[CaptureEntry],
    out: BinaryIO,
    *,
    info: dict[str, str],
    filename: str = "export.warc.gz",
) -> WarcExportStats:
    """Write the captures as one WARC file: a ``warcinfo`` record, then the records copied verbatim.

    Each response (or revisit) record is followed by the request record written with it.
    Records are read file by file, in offset order, each file opened once.

    Args:
        archive: the open archive.
        entries: the captures (e.g. from :func:`select_captures`).
        out: a binary stream.
        info: further ``warcinfo`` fields describing the export (archive, selection); ``software``
            and ``format`` are filled in.
        filename: the file's name, for the ``warcinfo`` record.

    Returns:
        What was written.

    Raises:
        WarcError: when a WARC file is missing or a record is damaged (the message names the file
            and the document).
    """
    from warcio.warcwriter import WARCWriter

    stats = WarcExportStats()
    ordered = _with_originals(archive, entries, stats)
    writer = WARCWriter(out, gzip=True)
    fields = {"software": _software(), "format": "WARC File Format 1.1", **info}
    writer.write_record(writer.create_warcinfo_record(filename, fields))
    stats.records = 1
    folder = warc_folder(archive)
    current: tuple[str, BinaryIO] | None = None
    try:
        for entry in ordered:
            if current is None or current[0] != entry.warc_file:
                if current is not None:
                    current[1].close()
                current = (entry.warc_file, _open(folder, entry.warc_file))
            fh = current[1]
            try:
                raw, data = _member_at(fh, entry.warc_file, entry.warc_offset, entry.warc_length)
                _check(entry, data)
            except WarcError as exc:
                raise WarcError(f"{exc} (capture {entry.id} of {entry.document_url or entry.url})") from exc
            out.write(raw)
            stats.records += 1
            stats.captures += 1
            if entry.document_id is not None:
                stats.documents.add(entry.document_id)
            request = _request_after(fh, entry, data)
            if request is not None:
                out.write(request)
                stats.records += 1
    finally:
        if current is not None:
            current[1].close()
    return stats


def _request_after(fh: BinaryIO, entry: CaptureEntry, data: bytes) -> bytes | None:
    """The request record written right after a response (the one concurrent to it), if it is there."""
    if entry.warc_length is None:
        return None
    record_id = check_record(data).record_id
    try:
        raw, request = _member_at(fh, entry.warc_file, entry.warc_offset + entry.warc_length, None)
    except WarcError:
        return None  # no request record beside it (an imported file's layout, or the file's end)
    parsed = check_record(request)
    if parsed.problem is None and parsed.record_type == "request" and parsed.concurrent_to == record_id:
        return raw
    return None


# --- CDXJ ---------------------------------------------------------------------------------------

_SAFE = b"!\"$&'()*+,-./:;<=>?@[\\]^_`{|}~"
_WWW = re.compile(r"^www\d*\.")
_DOTTED_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_PATH_SESSION = [
    re.compile(rb"^(.*/)(\((?:[a-z]\([0-9a-z]{24}\))+\)/)([^\?]+\.aspx.*)$", re.I),
    re.compile(rb"^(.*/)(\([0-9a-z]{24}\)/)([^\?]+\.aspx.*)$", re.I),
]
_QUERY_SESSION = [
    re.compile(rb"^(.*)(?:jsessionid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:phpsessid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:sid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:ASPSESSIONID[a-zA-Z]{8}=[a-zA-Z]{24})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:cfid=[^&]+&cftoken=[^&]+)(?:&(.*))?$", re.I),
]


def _unescape(value: bytes) -> bytes:
    while True:
        plain = unquote_to_bytes(value)
        if plain == value:
            return value
        value = plain


def _escape(value: bytes) -> bytes:
    return quote_from_bytes(value, safe=_SAFE).encode("ascii")


def _normal_path(path: bytes) -> bytes:
    kept: list[bytes] = []
    for part in path.split(b"/")[1:]:
        if part == b".":
            continue
        if part == b"..":
            if kept:
                kept.pop()
            else:
                kept.append(part)
        else:
            kept.append(part)
    if not kept:
        return b"/"
    return b"/" + b"".join(p + b"/" for p in kept[:-1] if p) + kept[-1]


def _sorted_query(query: bytes) -> bytes:
    pairs = sorted(tuple(arg.split(b"=", 1)) for arg in query.split(b"&"))
    return b"&".join(b"=".join(pair) for pair in pairs)


def surt_key(url: str) -> str:
    """The SURT key of a URL as pywb computes it (the ``surt`` package's default canonicalisation).

    Scheme and ``www.`` dropped, host reversed (``dk,koege)``), default port dropped, path and
    query lowercased, escapes normalised, query arguments sorted, session ids and the fragment removed.

    Args:
        url: an http(s) URL.

    Returns:
        e.g. ``dk,koege)/nyheder/ny-skole?a=1&b=2``.
    """
    text = re.sub(r"[\t\r\n]", "", url.strip())
    if "://" not in text:
        text = "http://" + text
    text = re.sub(r"^(https?://)+", lambda m: m.group(1), text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host_bytes = _unescape((parts.hostname or "").encode("utf-8"))
    if not host_bytes.isascii():
        with contextlib.suppress(UnicodeError):
            host_bytes = host_bytes.decode("utf-8", "ignore").encode("idna")
    host = host_bytes.replace(b"..", b".").strip(b".").decode("ascii", "replace")
    if host.isdigit():
        number = int(host) & 0xFFFFFFFF
        host = ".".join(str((number >> s) & 0xFF) for s in (24, 16, 8, 0))
    elif not _DOTTED_IP.match(host):
        host = _escape(host.lower().encode()).decode("ascii")
    host = _WWW.sub("", host)
    try:
        port = parts.port
    except ValueError:
        port = None
    if port == {"http": 80, "https": 443}.get(scheme):
        port = None
    path = _escape(_normal_path(_unescape(parts.path.encode("utf-8")))).lower()
    for pattern in _PATH_SESSION:
        match = pattern.match(path)
        if match:
            path = match.group(1) + match.group(3)
    if len(path) > 1 and path.endswith(b"/"):
        path = path[:-1]
    query = _escape(_unescape(parts.query.encode("utf-8"))) if parts.query else b""
    for pattern in _QUERY_SESSION:
        match = pattern.match(query)
        if match:
            query = match.group(1) + (match.group(2) or b"")
    query = _sorted_query(query.lower()) if len(query) > 1 else query.lower()
    key = ",".join(reversed(host.split("."))) + (f":{port}" if port is not None else "") + ")"
    return key + path.decode("ascii") + ("?" + query.decode("ascii") if query else "")


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")


def cdxj_lines(entries: Iterable[CaptureEntry]) -> list[bytes]:
    """CDXJ lines of captures, sorted as pywb's binary search expects (byte order).

    Args:
        entries: the captures.

    Returns:
        ``<SURT> <14-digit UTC timestamp> {"url", "mime", "status", "digest", "length", "offset",
        "filename"}`` lines (no line end), sorted.
    """
    lines = set()
    for e in entries:
        fields: dict[str, str] = {
            "url": e.url,
            "mime": "warc/revisit" if e.revisit else (e.content_type or "unk").split(";")[0].strip().lower() or "unk",
            "status": str(e.http_status),
        }
        if e.warc_digest and not (e.revisit and e.http_status == 304):
            fields["digest"] = e.warc_digest  # a 304's revisit record carries no payload digest
        if e.warc_length is not None:
            fields["length"] = str(e.warc_length)
        fields["offset"] = str(e.warc_offset)
        fields["filename"] = e.warc_file
        lines.add(f"{surt_key(e.url)} {_timestamp(e.fetched_at)} {json.dumps(fields)}".encode())
    return sorted(lines)


def write_cdxj(entries: Iterable[CaptureEntry], out: IO[bytes]) -> int:
    """Write a CDXJ index (pywb's format) of captures in the archive's own WARC files.

    Args:
        entries: the captures.
        out: a binary stream.

    Returns:
        The number of lines written.
    """
    lines = cdxj_lines(entries)
    for line in lines:
        out.write(line + b"\n")
    return len(lines)
