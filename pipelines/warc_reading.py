"""Reading WARC files made by other tools: response and revisit records, Wayback URLs, HTML decoding.

Heritrix, Browsertrix, ``wget --warc-file`` and pywb write WARC 1.0 or 1.1, gzip-per-record or
plain; warcio reads them all. Pages saved from the Wayback Machine (or another Wayback, such as
the Danish Netarkivet's) carry the archive's URL (``http://web.archive.org/web/20150312000000id_/
http://www.koege.dk/...``): :func:`wayback_original` gives back the original URL and the
capture's own date. Without ``id_`` the Wayback rewrote the page and injected its toolbar:
:func:`strip_wayback_toolbar` removes it before extraction (the stored capture keeps it).
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from w3lib.encoding import html_to_unicode
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed

from archive.captures import gzip_tail_damage

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from warcio.recordloader import ArcWarcRecord

__all__ = [
    "ForeignRecord",
    "WarcReadError",
    "decode_html_bytes",
    "header_value",
    "is_html",
    "iter_foreign_records",
    "parse_warc_date",
    "strip_wayback_toolbar",
    "wayback_original",
]

_WAYBACK = re.compile(r"^https?://[^/]+/(?:web|wayback)/(?P<ts>\d{4,14})(?P<mod>[a-z]{2}_|\*)?/(?P<url>.+)$")
_SCHEME = re.compile(r"^(https?):/+", re.IGNORECASE)
_TOOLBAR = re.compile(r"<!-- BEGIN WAYBACK TOOLBAR INSERT -->.*?<!-- END WAYBACK TOOLBAR INSERT -->", re.DOTALL)
# The scripts a Wayback puts first in <head> of a rewritten page, ending with this comment.
_HEAD_INSERT = re.compile(
    r"<script[^>]*(?:archive\.org|/_static/)[^>]*>.*?<!-- End Wayback Rewrite JS Include -->\s*", re.DOTALL
)
_ARCHIVED_ON = re.compile(r"<!--\s*FILE ARCHIVED ON .*?-->", re.DOTALL)
# UTF-8 bytes of æ ø å Æ Ø Å read as Latin-1 (a wrong charset header): as koege_spider.pages repairs them.
_MOJIBAKE = re.compile("Ã[¦¸¥†˜…]")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


class WarcReadError(Exception):
    """A WARC file is missing, is not a WARC file, or is damaged; the message names it."""


@dataclass(frozen=True, slots=True)
class ForeignRecord:
    """One ``response`` or ``revisit`` record of a foreign WARC file, as the archive needs it."""

    #: ``response`` or ``revisit``.
    record_type: str
    #: The original URL (a Wayback prefix removed).
    url: str
    #: The capture's date: the Wayback timestamp, else ``WARC-Date``.
    fetched_at: dt.datetime
    status: int | None
    headers: tuple[tuple[str, str], ...]
    #: The payload as the server sent it (content-encoded, chunked framing removed); None for a revisit.
    body: bytes | None
    #: ``WARC-Payload-Digest`` as the file gives it (sha1 or sha256, any spelling), if any.
    digest: str | None
    record_id: str
    #: ``WARC-Refers-To`` of a revisit (the record id of the payload), if given.
    refers_to: str | None
    #: The Wayback URL the record was saved from, if any.
    wayback_url: str | None = None
    #: A Wayback page saved with ``id_`` (unaltered), or not from a Wayback at all.
    raw: bool = True


def parse_warc_date(value: str | None) -> dt.datetime | None:
    """Read a ``WARC-Date`` (``2015-03-12T10:11:12Z``, with or without fractions of a second).

    Args:
        value: the header value.

    Returns:
        The moment in UTC, or None when it cannot be read.
    """
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def wayback_original(url: str) -> tuple[str, dt.datetime, bool] | None:
    """The original URL, capture time and ``id_`` flag of a Wayback Machine URL.

    Args:
        url: e.g. ``http://web.archive.org/web/20150312000000id_/http://www.koege.dk/Service/Nyheder.aspx``.

    Returns:
        (original URL, capture time in UTC, True for an ``id_`` capture), or None when the URL
        is not a Wayback URL.
    """
    match = _WAYBACK.match(url)
    if match is None:
        return None
    ts = match["ts"] + "00000101000000"[len(match["ts"]) :]
    try:
        when = dt.datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    original = match["url"]
    original = (
        _SCHEME.sub(lambda m: m[1].lower() + "://", original) if _SCHEME.match(original) else "http://" + original
    )
    return original, when, match["mod"] == "id_"


def strip_wayback_toolbar(html: str) -> tuple[str, bool]:
    """Remove what a Wayback injects into a page it replays (toolbar, scripts, closing comment).

    Args:
        html: a page as a Wayback served it.

    Returns:
        (the page without the insertions, whether there were any).
    """
    stripped = _ARCHIVED_ON.sub("", _HEAD_INSERT.sub("", _TOOLBAR.sub("", html)))
    return stripped, stripped != html


def header_value(headers: tuple[tuple[str, str], ...] | list[tuple[str, str]], name: str) -> str | None:
    """The first value of an HTTP header (case-insensitive), or None."""
    wanted = name.lower()
    return next((v for k, v in headers if k.lower() == wanted), None)


def is_html(content_type: str | None, body: bytes) -> bool:
    """Whether a payload is an HTML page: by its Content-Type, or by its start when there is none.

    Args:
        content_type: the Content-Type header, if any.
        body: the decoded payload.

    Returns:
        True for HTML.
    """
    if content_type:
        return content_type.split(";", 1)[0].strip().lower() in _HTML_TYPES
    start = body[:1024].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in start


def decode_html_bytes(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Decode a page as the crawl does: BOM, the Content-Type charset, ``<meta charset>``, a guess.

    UTF-8 served under a Latin-1 header (``Ã¸`` for ``ø``) is repaired, as
    ``koege_spider.pages.decode_html`` does for crawled pages.

    Args:
        body: the decoded (not content-encoded) payload.
        content_type: the Content-Type header, if any.

    Returns:
        (text, encoding used).
    """
    encoding, text = html_to_unicode(content_type, body)
    if _MOJIBAKE.search(text):
        try:
            return body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    return text, encoding


def _payload(record: ArcWarcRecord, headers: list[tuple[str, str]]) -> bytes:
    """The payload as sent, without chunked framing (which the archive's records never carry)."""
    if "chunked" in (header_value(headers, "transfer-encoding") or "").lower():
        return bytes(ChunkedDataReader(record.raw_stream).read())
    return bytes(record.raw_stream.read())


def _to_foreign(record: ArcWarcRecord) -> ForeignRecord | None:
    rec = record.rec_headers
    target = rec.get_header("WARC-Target-URI") or ""
    fetched_at = parse_warc_date(rec.get_header("WARC-Date"))
    wayback = wayback_original(target)
    url, raw, wayback_url = target, True, None
    if wayback is not None:
        url, fetched_at, raw = wayback
        wayback_url = target
    if not url or fetched_at is None:
        return None
    http = record.http_headers
    headers = list(http.headers) if http is not None else []
    status_text = http.get_statuscode() if http is not None else None
    status = int(status_text) if status_text and status_text.isdigit() else None
    revisit = record.rec_type == "revisit"
    return ForeignRecord(
        record_type=record.rec_type,
        url=url,
        fetched_at=fetched_at,
        status=status,
        headers=tuple(headers),
        body=None if revisit else _payload(record, headers),
        digest=rec.get_header("WARC-Payload-Digest"),
        record_id=rec.get_header("WARC-Record-ID") or "",
        refers_to=rec.get_header("WARC-Refers-To") if revisit else None,
        wayback_url=wayback_url,
        raw=raw,
    )


def iter_foreign_records(path: Path, counts: dict[str, int]) -> Iterator[ForeignRecord | None]:
    """Read a WARC file's records; yield response and revisit records, count the others by type.

    Args:
        path: a ``.warc`` or ``.warc.gz`` file.
        counts: record counts by ``WARC-Type`` (updated in place, every record).

    Yields:
        One :class:`ForeignRecord` per response or revisit record; None for one without a
        readable URL or date.

    Raises:
        WarcReadError: when the file is missing, is not a WARC file, or is damaged (the records
            before the damage have been yielded).
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise WarcReadError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    with handle:
        read = 0
        try:
            for record in ArchiveIterator(handle, arc2warc=False):
                if record.format != "warc":
                    # warcio reads any text with a first line of five words as an ARC header.
                    raise ValueError("no WARC header (ARC files, and anything else, are not imported)")
                kind = record.rec_type
                if kind is None:
                    raise ValueError("a record without a WARC-Type (cut off or corrupt)")
                wanted = kind in ("response", "revisit")
                foreign = _to_foreign(record) if wanted else None
                record.raw_stream.read()
                if getattr(record.raw_stream, "limit", 0):
                    raise ValueError(f"the {kind} record after those is cut off")
                counts[kind] = counts.get(kind, 0) + 1
                read += 1
                if wanted:
                    yield foreign
            if _is_gzip(path) and (damaged := gzip_tail_damage(path)):
                raise ValueError(f"the last {damaged} bytes are not whole gzip records (cut off or corrupt)")
        # warcio meets damaged bytes with whatever its parser hits (a header without a URL gives
        # AttributeError, a cut header line IndexError…): all of them mean a damaged file here.
        except (
            ArchiveLoadFailed,
            zlib.error,
            EOFError,
            OSError,
            ValueError,
            AttributeError,
            IndexError,
            KeyError,
            TypeError,
        ) as exc:
            where = f"after {read} records" if read else "before its first record"
            raise WarcReadError(f"{path}: not a readable WARC file, damaged {where} ({_reason(exc)})") from exc


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _reason(exc: Exception) -> str:
    """A short printable reason (warcio quotes the damaged bytes in its messages)."""
    if isinstance(exc, zlib.error | EOFError):
        return "the gzip data is cut off or corrupt"
    text = str(exc).split(", first line:", 1)[0].split("\n", 1)[0]
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text[:120] or type(exc).__name__
