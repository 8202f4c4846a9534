"""Raw captures in WARC files (ISO 28500, warcio): written, rotated, read back, validated, repaired.

Files are gzip-per-record, named ``<prefix>-<UTC stamp>-<serial>.warc.gz``; a file still being
written ends in ``.open`` and is renamed when closed (Heritrix's habit). Each written exchange is
located by (file name, offset, length), which is what the archive database stores.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import socket
import zlib
from base64 import b32encode
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

if TYPE_CHECKING:
    from collections.abc import Iterator

    from warcio.recordloader import ArcWarcRecord

    from archive.db import Archive

__all__ = [
    "CaptureLocation",
    "OpenFileReport",
    "StoredCapture",
    "WarcError",
    "WarcStore",
    "decode_payload",
    "gzip_tail_damage",
    "payload_digest",
    "purge_records",
    "read_capture",
    "recover_open_files",
    "verify_file",
    "warc_folder",
    "writer_alive",
]

_OPEN = ".open"
_GZIP_LEVEL = 6
_HOST = socket.gethostname().replace("-", "_").replace("~", "_") or "localhost"
#: ``WARC-Profile`` of revisit records: the payload equals an earlier one, or the server said 304.
IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
# Hop-by-hop framing the body no longer has once the client decoded it.
_DROP_HEADERS = {"transfer-encoding"}


class WarcError(Exception):
    """A WARC file is missing, unreadable or does not hold the record asked for.

    ``file`` names the WARC file concerned (None when the problem is not one file's).
    """

    def __init__(self, message: str, *, file: str | None = None) -> None:
        """Keep the message and the file name."""
        super().__init__(message)
        self.file = file


def warc_folder(archive: Archive) -> Path:
    """The folder of an archive's WARC files: ``warc/`` in its data folder.

    Args:
        archive: the open archive.

    Returns:
        The folder (it may not exist yet).

    Raises:
        WarcError: when the archive has no data folder (an in-memory database).
    """
    if archive.data_dir is None:
        raise WarcError("this archive has no data folder for WARC files; give one with --data-dir")
    return Path(archive.data_dir) / "warc"


def payload_digest(body: bytes) -> str:
    """The ``WARC-Payload-Digest`` of a body: ``sha1:<base32>``, as warcio and pywb compute it."""
    return "sha1:" + b32encode(hashlib.sha1(body).digest()).decode("ascii")


@dataclass(frozen=True, slots=True)
class CaptureLocation:
    """Where one exchange lies: the response (or revisit) record, and its request record."""

    file: str
    offset: int
    length: int
    record_id: str
    payload_digest: str
    revisit: bool


@dataclass(frozen=True, slots=True)
class StoredCapture:
    """One record read back."""

    url: str
    date: str
    record_type: str
    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    payload_digest: str | None


@dataclass(frozen=True, slots=True)
class OpenFileReport:
    """What start-up recovery did with one unfinished ``.open`` file."""

    file: str
    action: str  # "closed" (complete), "repaired" (cut-off tail removed), "quarantined"
    good_records: int
    removed_bytes: int


class WarcStore:
    """Writes exchanges into rotating WARC files in one folder.

    Call :meth:`sync` before committing database rows that point into the files (warcio
    flushes but never fsyncs), and :meth:`close` at the end of a crawl.
    """

    def __init__(
        self,
        folder: Path,
        *,
        prefix: str = "koege",
        max_bytes: int = 1_000_000_000,
        software: str = "koege-archive",
        info: dict[str, str] | None = None,
    ) -> None:
        """Prepare a store (no file is created until the first write).

        Args:
            folder: where WARC files live (created if missing).
            prefix: file name prefix.
            max_bytes: a file is closed and a new one started past this size.
            software: the ``software`` field of each file's ``warcinfo`` record.
            info: further ``warcinfo`` fields (crawl run, profile versions, operator…).
        """
        self.folder = folder
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.software = software
        self.info = dict(info or {})
        self._file: io.BufferedWriter | None = None
        self._path: Path | None = None
        self._writer: WARCWriter | None = None
        self._serial = 0
        self._buffer = io.BytesIO()

    # --- writing ------------------------------------------------------------------------
    def _start_file(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S%f")
        self._serial += 1
        # Heritrix's habit: the writer's process and host in the name, so start-up recovery can
        # tell a file a live crawl is still writing from one a dead crawl left behind.
        name = f"{self.prefix}-{stamp}-{self._serial:05d}-{os.getpid()}~{_HOST}.warc.gz"
        self._path = self.folder / (name + _OPEN)
        self._file = self._path.open("xb")
        # warcio writes each record uncompressed into a buffer; this store gzips it as its own
        # member at level 6 (warcio's built-in gzip is level 9 in many small calls: twice the CPU
        # on the crawl's thread for ~3 % smaller files).
        self._buffer = io.BytesIO()
        self._writer = WARCWriter(self._buffer, gzip=False)
        fields = {"software": self.software, "format": "WARC File Format 1.1", **self.info}
        self._emit(self._writer.create_warcinfo_record(name, fields))

    def _ensure_file(self) -> tuple[WARCWriter, io.BufferedWriter, Path]:
        if self._file is not None and self._file.tell() >= self.max_bytes:
            self.close()
        if self._file is None:
            self._start_file()
        assert self._writer is not None and self._file is not None and self._path is not None
        return self._writer, self._file, self._path

    def write_exchange(
        self,
        *,
        url: str,
        fetched_at: dt.datetime,
        status: int,
        reason: str,
        response_headers: list[tuple[str, str]],
        body: bytes,
        request_method: str = "GET",
        request_headers: list[tuple[str, str]] | None = None,
        revisit_of: tuple[str, dt.datetime] | None = None,
        not_modified: bool = False,
        digest: str | None = None,
    ) -> CaptureLocation:
        """Write a response (or a revisit of an identical earlier payload) and its request.

        Args:
            url: the URL actually fetched.
            fetched_at: when the response arrived.
            status: HTTP status.
            reason: HTTP reason phrase.
            response_headers: as the server sent them.
            body: the payload as the server sent it (still content-encoded).
            request_method: the request's method.
            request_headers: the request's headers (a reconstruction: Scrapy never shows the
                exact bytes it sent).
            revisit_of: (URL, date) of an earlier capture with the same payload digest: a
                ``revisit`` record (identical-payload-digest profile) is written instead.
            not_modified: the server answered 304: a ``revisit`` record with the
                server-not-modified profile (referring to ``revisit_of`` when it is known).
            digest: the body's :func:`payload_digest`, when the caller computed it already.

        Returns:
            Where the record lies.
        """
        writer, file, path = self._ensure_file()
        warc_date = fetched_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        headers = [(k, v) for k, v in response_headers if k.lower() not in _DROP_HEADERS]
        http = StatusAndHeaders(f"{status} {reason}".strip(), headers, protocol="HTTP/1.1")
        digest = digest or payload_digest(body)
        revisit = revisit_of is not None or not_modified
        if revisit:
            record = writer.create_warc_record(url, "revisit", http_headers=http, warc_headers_dict={})
            record.rec_headers.replace_header("WARC-Date", warc_date)
            record.rec_headers.add_header("WARC-Profile", SERVER_NOT_MODIFIED if not_modified else IDENTICAL_PAYLOAD)
            if revisit_of is not None:
                record.rec_headers.add_header("WARC-Refers-To-Target-URI", revisit_of[0])
                record.rec_headers.add_header(
                    "WARC-Refers-To-Date", revisit_of[1].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                )
            if not not_modified:
                record.rec_headers.add_header("WARC-Payload-Digest", digest)
        else:
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=http,
                # Given, so warcio does not hash the payload a second time.
                warc_headers_dict={"WARC-Date": warc_date, "WARC-Payload-Digest": digest},
            )
        offset = file.tell()
        length = self._emit(record)
        target = url.split("://", 1)[-1].split("/", 1)
        path_part = "/" + (target[1] if len(target) > 1 else "")
        request = writer.create_warc_record(
            url,
            "request",
            http_headers=StatusAndHeaders(
                f"{request_method} {path_part} HTTP/1.1",
                [("Host", target[0]), *(request_headers or [])],
                is_http_request=True,
            ),
            warc_headers_dict={
                "WARC-Date": warc_date,
                "WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID"),
            },
        )
        self._emit(request)
        file.flush()
        return CaptureLocation(
            file=path.name.removesuffix(_OPEN),
            offset=offset,
            length=length,
            record_id=record.rec_headers.get_header("WARC-Record-ID"),
            payload_digest=digest,
            revisit=revisit,
        )

    def _emit(self, record: ArcWarcRecord) -> int:
        """Write one record as its own gzip member; return the member's length."""
        assert self._writer is not None and self._file is not None
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.write_record(record)
        compressor = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        member = compressor.compress(self._buffer.getbuffer()) + compressor.flush()
        self._file.write(member)
        return len(member)

    def sync(self) -> None:
        """Make everything written so far durable (fsync): call before committing rows."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Finish the current file and give it its final name."""
        if self._file is None or self._path is None:
            return
        self.sync()
        self._file.close()
        self._path.rename(self._path.with_name(self._path.name.removesuffix(_OPEN)))
        self._file = self._writer = self._path = None


def decode_payload(body: bytes, headers: list[tuple[str, str]]) -> bytes:
    """Undo the ``Content-Encoding`` a payload was sent with (gzip, deflate, br), as a browser would.

    Args:
        body: the payload as the server sent it.
        headers: the response's headers.

    Returns:
        The decoded payload; the payload unchanged when it is not encoded or cannot be decoded
        (an archive keeps what it got; a body labelled gzip that is not is shown as it came).
    """
    encodings = [
        e.strip().lower()
        for name, value in headers
        if name.lower() == "content-encoding"
        for e in value.split(",")
        if e.strip() and e.strip().lower() != "identity"
    ]
    data = body
    try:
        for encoding in reversed(encodings):
            if encoding in ("gzip", "x-gzip"):
                data = zlib.decompress(data, 16 + zlib.MAX_WBITS)
            elif encoding == "deflate":
                try:
                    data = zlib.decompress(data)
                except zlib.error:
                    data = zlib.decompress(data, -zlib.MAX_WBITS)
            elif encoding == "br":
                import brotli  # type: ignore[import-not-found]

                data = brotli.decompress(data)
            else:
                return body
    except (zlib.error, ImportError, OSError, ValueError):
        return body
    return data


def _short(exc: BaseException) -> str:
    """An exception as one short printable line (warcio's messages can hold the damaged bytes)."""
    text = " ".join(str(exc).split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    text = text if len(text) <= 100 else text[:97] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _locate(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / (name + _OPEN)):
        if candidate.exists():
            return candidate
    raise WarcError(f"WARC file {name} is missing from {folder}", file=name)


def read_capture(folder: Path, name: str, offset: int) -> StoredCapture:
    """Read the record at an offset.

    Args:
        folder: the WARC folder.
        name: the file name as stored in the archive (``.open`` is found too).
        offset: the record's offset.

    Returns:
        The record with its raw (still content-encoded) payload.

    Raises:
        WarcError: when the file is missing or holds no readable record there.
    """
    path = _locate(folder, name)
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            record = next(iter(ArchiveIterator(fh)))
            http = record.http_headers
            return StoredCapture(
                url=record.rec_headers.get_header("WARC-Target-URI"),
                date=record.rec_headers.get_header("WARC-Date"),
                record_type=record.rec_type,
                status=int(http.get_statuscode()) if http is not None and http.get_statuscode() else None,
                headers=list(http.headers) if http is not None else [],
                body=record.raw_stream.read(),
                payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
            )
    except (ArchiveLoadFailed, StopIteration, OSError, ValueError) as exc:
        raise WarcError(
            f"no readable WARC record in {path.name} at offset {offset} ({_short(exc)}); "
            "run `koege-archive verify` to see what else is affected",
            file=path.name.removesuffix(_OPEN),
        ) from exc


def _gzip_members(path: Path, chunk: int = 1 << 20) -> Iterator[tuple[int, int, bytes]]:
    """Yield (offset, end, data) of each complete gzip member; stop at the first damaged one."""
    with path.open("rb") as fh:
        buffer = b""
        offset = 0
        while True:
            if not buffer:
                buffer = fh.read(chunk)
                if not buffer:
                    return
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            parts = []
            consumed = 0
            try:
                while True:
                    parts.append(decoder.decompress(buffer))
                    if decoder.eof:
                        consumed += len(buffer) - len(decoder.unused_data)
                        buffer = decoder.unused_data
                        break
                    consumed += len(buffer)
                    buffer = fh.read(chunk)
                    if not buffer:
                        return  # cut off inside this member
            except zlib.error:
                return
            yield offset, offset + consumed, b"".join(parts)
            offset += consumed


def gzip_tail_damage(path: Path) -> int:
    """Bytes after the last complete gzip member of a file (0 for a whole gzip file).

    warcio reads a gzip WARC file cut inside a member, or followed by garbage, without a word;
    this finds it (it decompresses the file once).

    Args:
        path: a gzip file (one member per record, or any number of members).

    Returns:
        How many bytes at the end are not whole gzip members.
    """
    end = 0
    for _, member_end, _ in _gzip_members(path):
        end = member_end
    return path.stat().st_size - end


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _record_is_whole(data: bytes) -> bool:
    """Check one WARC record: header block, Content-Length, and its block/payload digests."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"WARC/"):
        return False
    fields = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip().decode("latin-1")
    try:
        length = int(fields.get(b"content-length", ""))
    except ValueError:
        return False
    block = rest[:length]
    if len(block) != length or rest[length : length + 4] != b"\r\n\r\n":
        return False
    if b"warc-block-digest" in fields and fields[b"warc-block-digest"] != _sha1_b32(block):
        return False
    if fields.get(b"warc-type") == "response" and b"warc-payload-digest" in fields:
        _, sep, payload = block.partition(b"\r\n\r\n")
        if sep and fields[b"warc-payload-digest"] != _sha1_b32(payload):
            return False
    return True


def writer_alive(name: str) -> bool:
    """Whether the process named in a file name (``…-<pid>~<host>.warc.gz.open``) still writes it.

    A file from another host is left alone (its crawl may be running there); one from this host
    whose process is gone is a dead crawl's.
    """
    stem = name.removesuffix(_OPEN).removesuffix(".warc.gz")
    pid_text, sep, host = stem.rpartition("-")[2].partition("~")
    if not sep or not pid_text.isdigit():
        return False  # named before writers signed their files: nobody claims it
    if host != _HOST:
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_open_files(folder: Path, *, quarantine: Path | None = None) -> list[OpenFileReport]:
    """Validate every unfinished ``.open`` file left by a crashed crawl, then close or repair it.

    ``warcio check`` misses a record cut off at the end; this walks every record, checks its
    length and block/payload digests, keeps the complete prefix (truncating the rest) and gives
    the file its final name. A file without one whole record is moved to ``quarantine``. Files
    whose writer (named in the file name) is still alive, or on another host, are left alone.

    Args:
        folder: the WARC folder.
        quarantine: where hopeless files go (default: ``<folder>/quarantine``).

    Returns:
        One report per ``.open`` file found.
    """
    reports: list[OpenFileReport] = []
    if not folder.exists():
        return reports
    for path in sorted(folder.glob(f"*{_OPEN}")):
        if writer_alive(path.name):
            continue
        size = path.stat().st_size
        end = 0
        good = 0
        for _, member_end, data in _gzip_members(path):
            if not _record_is_whole(data):
                break
            end, good = member_end, good + 1
        final = path.with_name(path.name.removesuffix(_OPEN))
        if good == 0:
            target = quarantine or folder / "quarantine"
            target.mkdir(parents=True, exist_ok=True)
            path.rename(target / final.name)
            reports.append(OpenFileReport(final.name, "quarantined", 0, size))
            continue
        if end < size:
            with path.open("r+b") as fh:
                fh.truncate(end)
                fh.flush()
                os.fsync(fh.fileno())
        path.rename(final)
        reports.append(OpenFileReport(final.name, "repaired" if end < size else "closed", good, size - end))
    return reports


def purge_records(path: Path, offsets: set[int]) -> dict[int, int | None]:
    """Rewrite a closed WARC file without the records at the given offsets (a takedown).

    The request record written with each response is removed with it. Other records move:
    the result maps every old record offset to its new one (None for a removed record), so the
    caller can update what points into the file. The rewrite goes to a temporary file that
    replaces the original only when complete.

    Args:
        path: the ``.warc.gz`` file.
        offsets: offsets of the response/revisit records to remove.

    Returns:
        Old offset → new offset (None when removed).

    Raises:
        WarcError: when the file is damaged before its end (repair it first).
    """
    if not path.exists() and path.with_name(path.name + _OPEN).exists():
        raise WarcError(
            f"{path.name} is still being written (a crawl is running?); try again when it has ended", file=path.name
        )
    members = list(_gzip_members(path))
    if not members or members[-1][1] != path.stat().st_size:
        raise WarcError(f"{path.name} is damaged; run `koege-archive verify` first", file=path.name)
    removed_ids: set[str] = set()
    for offset, _, data in members:
        if offset in offsets:
            removed_ids.add(_header(data, b"warc-record-id"))
    moved: dict[int, int | None] = {}
    temporary = path.with_name(path.name + ".purge")
    with path.open("rb") as source, temporary.open("wb") as target:
        for offset, end, data in members:
            gone = offset in offsets or _header(data, b"warc-concurrent-to") in removed_ids
            if gone:
                moved[offset] = None
                continue
            moved[offset] = target.tell()
            source.seek(offset)
            target.write(source.read(end - offset))
        target.flush()
        os.fsync(target.fileno())
    temporary.replace(path)
    return moved


def _header(data: bytes, name: bytes) -> str:
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode("latin-1")
    return ""


def verify_file(path: Path) -> tuple[int, int]:
    """Count the whole records of a WARC file and the bytes after the last whole one.

    Args:
        path: a ``.warc.gz`` file (gzip per record).

    Returns:
        (whole records, trailing damaged bytes).
    """
    end = good = 0
    for _, member_end, data in _gzip_members(path):
        if not _record_is_whole(data):
            break
        end, good = member_end, good + 1
    return good, path.stat().st_size - end
