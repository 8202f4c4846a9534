"""Fixity: every WARC record the archive points to, read back and checked against what the database says.

A WARC file is read once, from start to end, member by member (gzip per record). Each record
the database points to (a capture or an attachment) must start exactly at its stored offset,
be a whole gzip member of its stored length, hold one whole WARC record whose block digest
(and, for a response, payload digest) matches its bytes, carry the payload digest the database
stores, and name the URL the database says was fetched. Records nobody points to (requests,
listings, robots.txt) must be whole too: a damaged one is reported with the capture it belongs to.
Where a damaged member hides what follows, reading resumes at the next offset the database knows.
"""

from __future__ import annotations

import hashlib
import itertools
import zlib
from base64 import b32encode
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from sqlalchemy import select

from archive.captures import warc_folder, writer_alive
from archive.models import Attachment, Capture, Document, Resource, Site

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path

    from archive.db import Archive

__all__ = [
    "FixityProblem",
    "FixityReport",
    "OpenWarcFile",
    "RecordCheck",
    "check_record",
    "verify_archive",
]

_OPEN = ".open"
_CHUNK = 1 << 20
_WBITS = 16 + zlib.MAX_WBITS


@dataclass(frozen=True, slots=True)
class FixityProblem:
    """One thing wrong with a record the archive points to (or one near it).

    ``kind`` is one of ``missing_file``, ``truncated``, ``corrupt``, ``not_at_offset``,
    ``wrong_length``, ``not_a_record``, ``block_digest``, ``payload_digest``, ``digest_mismatch``,
    ``wrong_url``, ``wrong_record``, ``damaged_neighbour`` (a record written with a capture, e.g.
    its request) and ``no_original`` (a revisit whose full record the archive does not hold).
    """

    file: str
    offset: int | None
    kind: str
    detail: str
    capture_id: int | None = None
    attachment_id: int | None = None
    document_id: int | None = None
    document_url: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The problem as a JSON object."""
        return {
            "file": self.file,
            "offset": self.offset,
            "kind": self.kind,
            "detail": self.detail,
            "capture_id": self.capture_id,
            "attachment_id": self.attachment_id,
            "document_id": self.document_id,
            "document_url": self.document_url,
        }


@dataclass(frozen=True, slots=True)
class OpenWarcFile:
    """An unfinished ``.open`` WARC file, and whether a live crawl still writes it."""

    name: str
    live: bool
    bytes: int


@dataclass(slots=True)
class FixityReport:
    """What ``verify`` found."""

    captures: int = 0
    attachments: int = 0
    files: int = 0
    bytes: int = 0
    records: int = 0
    problems: list[FixityProblem] = field(default_factory=list)
    unreferenced_files: list[str] = field(default_factory=list)
    open_files: list[OpenWarcFile] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def affected_documents(self) -> list[tuple[int, str]]:
        """The documents whose captures or attachments have a problem: (id, URL), by id."""
        found = {(p.document_id, p.document_url) for p in self.problems if p.document_id is not None}
        return sorted((i, u or "") for i, u in found if i is not None)

    def damaged_files(self) -> list[str]:
        """The files with a problem, sorted."""
        return sorted({p.file for p in self.problems})

    def as_json(self) -> dict[str, Any]:
        """The report as a JSON object."""
        return {
            "ok": self.ok,
            "captures_checked": self.captures,
            "attachments_checked": self.attachments,
            "files": self.files,
            "bytes": self.bytes,
            "records_read": self.records,
            "problems": [p.as_json() for p in self.problems],
            "affected_documents": [{"id": i, "url": u} for i, u in self.affected_documents()],
            "unreferenced_files": self.unreferenced_files,
            "open_files": [{"name": f.name, "live": f.live, "bytes": f.bytes} for f in self.open_files],
        }


@dataclass(frozen=True, slots=True)
class RecordCheck:
    """One WARC record parsed from a decompressed gzip member, and what is wrong with it (if anything)."""

    record_type: str
    target_uri: str
    record_id: str
    concurrent_to: str
    payload_digest: str
    problem: tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class _Ref:
    """A database row that points into a WARC file."""

    file: str
    offset: int
    length: int | None
    digest: str | None
    record_id: str | None
    url: str
    revisit: bool | None  # None: an attachment (response or revisit both fine)
    http_status: int | None
    capture_id: int | None
    attachment_id: int | None
    document_id: int | None
    document_url: str | None


def _digest_matches(spec: str, data: bytes | memoryview) -> bool:
    """Whether ``algo:value`` (base32 or hex, as warcio, Heritrix and Browsertrix write it) fits ``data``."""
    algorithm, _, value = spec.partition(":")
    try:
        digest = hashlib.new(algorithm.strip().lower().replace("-", ""), data).digest()
    except ValueError:
        return True  # an algorithm this Python lacks: nothing to say against it
    value = value.strip().upper()
    return value in (b32encode(digest).decode("ascii"), digest.hex().upper())


def _dechunk(data: bytes) -> bytes | None:
    """Undo HTTP chunked transfer coding (some tools digest the payload de-chunked); None if not chunked."""
    out: list[bytes] = []
    pos = 0
    while True:
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            return None
        try:
            size = int(data[pos:line_end].split(b";")[0], 16)
        except ValueError:
            return None
        if size == 0:
            return b"".join(out)
        out.append(data[line_end + 2 : line_end + 2 + size])
        pos = line_end + 2 + size + 2


def _payload_fits(spec: str, payload: memoryview, http_head: bytes) -> bool:
    if _digest_matches(spec, payload):
        return True
    if b"chunked" in http_head.lower():
        plain = _dechunk(bytes(payload))
        return plain is not None and _digest_matches(spec, plain)
    return False


def check_record(data: bytes) -> RecordCheck:
    """Parse one decompressed WARC record and check its length and its block and payload digests.

    Args:
        data: one gzip member, decompressed.

    Returns:
        The record's main headers and the first problem found (``(kind, detail)``), or None.
    """
    head_end = data.find(b"\r\n\r\n")
    head = data[:head_end] if head_end >= 0 else b""
    if not head.startswith(b"WARC/"):
        return RecordCheck("", "", "", "", "", ("not_a_record", "the member does not hold a WARC record"))
    fields: dict[bytes, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip().decode("utf-8", "replace")
    check = RecordCheck(
        fields.get(b"warc-type", ""),
        fields.get(b"warc-target-uri", "").strip("<>"),
        fields.get(b"warc-record-id", ""),
        fields.get(b"warc-concurrent-to", ""),
        fields.get(b"warc-payload-digest", ""),
        None,
    )
    try:
        length = int(fields.get(b"content-length", ""))
    except ValueError:
        return _with(check, "not_a_record", "the record has no Content-Length")
    start = head_end + 4
    # Views, not copies: a record's block is most of its bytes.
    block = memoryview(data)[start : start + length]
    if len(block) != length or data[start + length :] != b"\r\n\r\n":
        return _with(check, "wrong_length", f"the record's block is not the {length} bytes its Content-Length says")
    block_digest = fields.get(b"warc-block-digest")
    if block_digest and not _digest_matches(block_digest, block):
        return _with(check, "block_digest", f"the record's bytes do not match its WARC-Block-Digest {block_digest}")
    if check.record_type == "response" and check.payload_digest:
        http_end = data.find(b"\r\n\r\n", start, start + length)
        payload = block[http_end + 4 - start :]
        if http_end >= 0 and not _payload_fits(check.payload_digest, payload, data[start:http_end]):
            return _with(
                check, "payload_digest", f"the payload does not match its WARC-Payload-Digest {check.payload_digest}"
            )
    return check


def _with(check: RecordCheck, kind: str, detail: str) -> RecordCheck:
    return RecordCheck(
        check.record_type, check.target_uri, check.record_id, check.concurrent_to, check.payload_digest, (kind, detail)
    )


class _Reader:
    """Sequential reads of one file with a large buffer; a jump forward seeks."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._buffer = memoryview(b"")
        self._start = 0

    def at(self, position: int) -> memoryview:
        """The bytes from ``position`` to the end of the buffer (reading more when needed)."""
        end = self._start + len(self._buffer)
        if not self._start <= position < end:
            if position != end:
                self._fh.seek(position)
            self._buffer = memoryview(self._fh.read(_CHUNK))
            self._start = position
        return self._buffer[position - self._start :]


def _member(reader: _Reader, offset: int) -> tuple[int, bytes | None, str | None]:
    """Decompress the gzip member at ``offset``: (end, data, None), or (where it broke, None, why)."""
    decoder = zlib.decompressobj(_WBITS)
    parts = []
    position = offset
    while True:
        chunk = reader.at(position)
        if not chunk:
            return position, None, "truncated"
        try:
            parts.append(decoder.decompress(chunk))
        except zlib.error as exc:
            return position, None, f"corrupt: {exc}"
        if decoder.eof:
            return position + len(chunk) - len(decoder.unused_data), b"".join(parts), None
        position += len(chunk)


def _locate(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / (name + _OPEN)):
        if candidate.exists():
            return candidate
    return None


def _problem(ref: _Ref, kind: str, detail: str, offset: int | None = None) -> FixityProblem:
    return FixityProblem(
        ref.file,
        ref.offset if offset is None else offset,
        kind,
        detail,
        ref.capture_id,
        ref.attachment_id,
        ref.document_id,
        ref.document_url,
    )


def _check_ref(ref: _Ref, end: int, record: RecordCheck) -> FixityProblem | None:
    """What is wrong with a record the database points to, given its member and its parsed record."""
    if ref.length is not None and end - ref.offset != ref.length:
        return _problem(
            ref, "wrong_length", f"the record is {end - ref.offset} bytes on disk; the archive says {ref.length}"
        )
    if record.problem is not None:
        return _problem(ref, *record.problem)
    expected = {"revisit"} if ref.revisit else {"response", "resource"} if ref.revisit is False else None
    if expected is not None and record.record_type not in expected:
        return _problem(
            ref, "wrong_record", f"a {record.record_type or '?'} record, not a {'/'.join(sorted(expected))}"
        )
    if ref.record_id and record.record_id and ref.record_id != record.record_id:
        return _problem(ref, "wrong_record", f"record {record.record_id}, the archive expects {ref.record_id}")
    if record.target_uri != ref.url and not (ref.attachment_id is not None and _same_path(record.target_uri, ref.url)):
        return _problem(ref, "wrong_url", f"the record is of {record.target_uri}, the archive says {ref.url}")
    if ref.digest and record.payload_digest and not _same_digest(ref.digest, record.payload_digest):
        return _problem(
            ref,
            "digest_mismatch",
            f"the record's payload digest is {record.payload_digest}; the archive stores {ref.digest}",
        )
    return None


def _same_path(fetched: str, canonical: str) -> bool:
    """Whether two URLs differ at most in their origin (an attachment keeps its canonical URL, the
    record the one fetched, e.g. from a mirror)."""
    a, b = urlsplit(fetched), urlsplit(canonical)
    return (a.path, a.query) == (b.path, b.query)


def _same_digest(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def _check_file(path: Path, name: str, refs: list[_Ref], *, live: bool, report: FixityReport) -> list[FixityProblem]:
    """Read one file from start to end and check every member; the database's offsets guide resyncs."""
    problems: list[FixityProblem] = []
    size = path.stat().st_size
    by_offset: dict[int, list[_Ref]] = {}
    for ref in refs:
        by_offset.setdefault(ref.offset, []).append(ref)
    starts = sorted(by_offset)
    last_ref_end = max((r.offset + (r.length or 0) for r in refs), default=0)
    seen: set[int] = set()
    previous: list[_Ref] = []  # the refs of the member just before (to name a damaged neighbour's capture)
    position = 0
    next_start = iter(starts)
    with path.open("rb") as fh:
        reader = _Reader(fh)
        while position < size:
            end, data, error = _member(reader, position)
            here = by_offset.get(position, [])
            if here:
                seen.add(position)
            record = check_record(data) if data is not None else None
            report.records += data is not None
            if error is not None or record is None:
                quiet = live and position >= last_ref_end  # a live writer's tail is still being written
                if not quiet:
                    kind, detail = _broken(error or "", position, size)
                    if here:
                        problems += [_problem(r, kind, detail) for r in here]
                    else:
                        problems += _neighbour_problems(name, position, previous, kind, detail)
                # Resume at the next offset the database knows past this one.
                position = next((s for s in next_start if s > position), size)
                previous = []
                continue
            for ref in here:
                found = _check_ref(ref, end, record)
                if found is not None:
                    problems.append(found)
            if not here and record.problem is not None:
                problems += _neighbour_problems(name, position, previous, *record.problem)
            previous = here
            position = end
    for offset in starts:
        if offset in seen:
            continue
        detail = (
            f"the file ends at byte {size}, before this record"
            if offset >= size
            else "no record starts at this offset (the file was changed or the offset is wrong)"
        )
        kind = "truncated" if offset >= size else "not_at_offset"
        problems += [_problem(r, kind, detail) for r in by_offset[offset]]
    return problems


def _broken(error: str, position: int, size: int) -> tuple[str, str]:
    if error == "truncated":
        return "truncated", f"the file ends at byte {size}, inside the record that starts at {position}"
    return "corrupt", f"the gzip member at {position} does not decompress ({error.removeprefix('corrupt: ')})"


def _neighbour_problems(name: str, offset: int, previous: list[_Ref], kind: str, detail: str) -> list[FixityProblem]:
    """A damaged record nobody points to: named with the capture it was written with, if any."""
    if not previous:
        return [FixityProblem(name, offset, kind, f"a record nobody points to is damaged: {detail}")]
    return [
        _problem(r, "damaged_neighbour", f"the record written after it (its request) is damaged: {detail}", offset)
        for r in previous
    ]


def _capture_refs(archive: Archive, site: str | None) -> Iterator[_Ref]:
    stmt = (
        select(
            Capture.warc_file,
            Capture.warc_offset,
            Capture.warc_length,
            Capture.warc_digest,
            Capture.warc_record_id,
            Capture.url,
            Capture.revisit,
            Capture.http_status,
            Capture.id,
            Document.id,
            Document.url,
        )
        .outerjoin(Document, Document.id == Capture.document_id)
        .where(Capture.warc_file.is_not(None), Capture.warc_offset.is_not(None))
        .order_by(Capture.warc_file, Capture.warc_offset)
    )
    if site:
        stmt = stmt.join(Site, Site.id == Document.site_id).where(Site.key == site)
    with archive.reading() as session:
        for row in session.execute(stmt).yield_per(2000):
            file, offset, length, digest, record_id, url, revisit, status, cid, did, durl = row
            yield _Ref(
                str(file), offset or 0, length, digest, record_id, url, bool(revisit), status, cid, None, did, durl
            )


def _attachment_refs(archive: Archive, site: str | None) -> list[_Ref]:
    stmt = (
        select(
            Attachment.warc_file,
            Attachment.warc_offset,
            Attachment.warc_length,
            Attachment.warc_digest,
            Attachment.url,
            Attachment.http_status,
            Attachment.id,
            Document.id,
            Document.url,
        )
        .join(Document, Document.id == Attachment.document_id)
        .where(Attachment.warc_file.is_not(None), Attachment.warc_offset.is_not(None))
    )
    if site:
        stmt = stmt.join(Site, Site.id == Document.site_id).where(Site.key == site)
    with archive.reading() as session:
        return [
            _Ref(str(file), offset or 0, length, digest, None, url, None, status, None, aid, did, durl)
            for file, offset, length, digest, url, status, aid, did, durl in session.execute(stmt)
        ]


def _orphan_revisits(archive: Archive, site: str | None) -> list[FixityProblem]:
    """Revisits of an identical payload whose full record no capture of the archive holds."""
    full = select(Capture.warc_digest).where(Capture.revisit.is_(False), Capture.warc_file.is_not(None))
    remembered = select(Resource.warc_digest).where(Resource.warc_offset.is_not(None))
    stmt = (
        select(Capture.warc_file, Capture.warc_offset, Capture.warc_digest, Capture.id, Document.id, Document.url)
        .outerjoin(Document, Document.id == Capture.document_id)
        .where(
            Capture.revisit.is_(True),
            Capture.warc_file.is_not(None),
            Capture.http_status != 304,
            Capture.warc_digest.is_not(None),
            Capture.warc_digest.not_in(full),
            Capture.warc_digest.not_in(remembered),
        )
        .order_by(Capture.id)
    )
    if site:
        stmt = stmt.join(Site, Site.id == Document.site_id).where(Site.key == site)
    with archive.reading() as session:
        return [
            FixityProblem(
                str(file),
                offset,
                "no_original",
                f"a revisit of payload {digest}, which no full record in the archive holds",
                cid,
                None,
                did,
                durl,
            )
            for file, offset, digest, cid, did, durl in session.execute(stmt)
        ]


def _referenced_files(archive: Archive) -> set[str]:
    with archive.reading() as session:
        names: set[str] = set()
        for column in (Capture.warc_file, Attachment.warc_file, Resource.warc_file):
            names.update(n for n in session.scalars(select(column).distinct()) if n)
    return names


def _by_file(captures: Iterable[_Ref], attachments: list[_Ref]) -> Iterator[tuple[str, list[_Ref]]]:
    pending: dict[str, list[_Ref]] = {}
    for ref in attachments:
        pending.setdefault(ref.file, []).append(ref)
    for name, group in itertools.groupby(captures, key=lambda r: r.file):
        refs = list(group)
        yield name, refs + pending.pop(name, [])
    yield from sorted(pending.items())


def verify_archive(
    archive: Archive, *, site: str | None = None, progress: Callable[[str, int, int], None] | None = None
) -> FixityReport:
    """Re-read every capture and attachment the archive points to and check it (see the module docstring).

    Args:
        archive: the open archive.
        site: only the captures of this site's documents.
        progress: called with (file name, records in it the archive points to, file bytes) as each file is done.

    Returns:
        The report: counts, problems (sorted by file and offset), files nobody points to, ``.open`` files.

    Raises:
        WarcError: when the archive has no data folder.
    """
    folder = warc_folder(archive)
    report = FixityReport()
    attachments = _attachment_refs(archive, site)
    report.attachments = len(attachments)
    for name, refs in _by_file(_capture_refs(archive, site), attachments):
        report.captures += sum(r.capture_id is not None for r in refs)
        path = _locate(folder, name)
        if path is None:
            report.problems += [_problem(r, "missing_file", f"the WARC file {name} is not in {folder}") for r in refs]
            continue
        report.files += 1
        size = path.stat().st_size
        report.bytes += size
        live = path.name.endswith(_OPEN) and writer_alive(path.name)
        report.problems += _check_file(path, name, refs, live=live, report=report)
        if progress is not None:
            progress(name, len(refs), size)
    report.problems += _orphan_revisits(archive, site)
    report.problems.sort(key=lambda p: (p.file, p.offset if p.offset is not None else -1, p.capture_id or 0))
    if folder.exists():
        referenced = _referenced_files(archive)
        report.unreferenced_files = sorted(p.name for p in folder.glob("*.warc.gz") if p.name not in referenced)
        report.open_files = [
            OpenWarcFile(p.name, writer_alive(p.name), p.stat().st_size) for p in sorted(folder.glob(f"*{_OPEN}"))
        ]
    return report
