"""Import captures made by other tools (WARC files) through extraction, dates and dedup into the archive.

This is how pages gone from the live site (Køge's Sitecore era) enter the archive: from
Heritrix, Browsertrix, ``wget --warc-file`` or Wayback Machine/Netarkivet files, each page with
its own capture date. What it does, in order:

1. Read every file (:mod:`pipelines.warc_reading`); keep HTTP 200 HTML pages whose URL, on a
   host of a site profile (or of ``--site``), canonicalises to an article URL of that profile.
   Everything else is counted by reason (:data:`SKIP_REASONS`).
2. Resolve ``revisit`` records to their payload: a response of the same import with the same
   payload digest (or the ``WARC-Refers-To`` record), else a capture the archive holds.
3. Drop what the archive already holds: a capture of the same canonical URL with the same date
   and payload digest (so importing a file twice adds nothing).
4. Extract (``extract_article`` with ``fetched_at`` = the capture date), classify and write
   through :class:`archive.store.ArchiveWriter` with ``source="import"``; the writer copies
   each payload into the archive's own WARC files (the foreign file may go afterwards).

Versions and capture dates: pages are written oldest first, document by document, so one import
builds a history in date order. A capture at or after a document's latest version is classified
as a crawl would (``unchanged`` or ``changed``). A capture older than the latest version never
renumbers history (``id`` + ``version`` cite one text): if its content equals any version it adds
none (``unchanged``); otherwise it is kept as a capture of the document (readable with
``koege-archive capture URL --at DATE``) and counted ``older_than_history``, without a version.

Provenance: each capture's headers carry ``X-Koege-Imported-From: <file>#<WARC-Record-ID>``
(and ``X-Koege-Wayback-Url`` for a Wayback page); the archive's WARC record repeats them. The
import is recorded as a crawl run (``koege-archive runs``; ``finish_reason`` ``import``).
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import version as _dist_version
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from archive.captures import decode_payload, payload_digest
from archive.models import Capture, Document, Version
from archive.runs import RunCounts, finish_run, start_run
from archive.store import (
    ArchiveWriter,
    CaptureRecord,
    VersionRecord,
    WriteFailed,
    known_documents,
    resource_digests,
)
from archive.suppression import suppressed_urls
from koege_spider.sites import load_profiles
from koege_spider.urls import canonicalize, is_article_url
from pipelines.warc_reading import (
    WarcReadError,
    decode_html_bytes,
    header_value,
    is_html,
    iter_foreign_records,
    strip_wayback_toolbar,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from pathlib import Path

    from archive.db import Archive
    from koege_spider.sites import SiteProfile
    from pipelines.warc_reading import ForeignRecord

__all__ = [
    "IMPORTED_FROM",
    "SKIP_REASONS",
    "WAYBACK_URL",
    "FileProblem",
    "ImportReport",
    "classify_capture",
    "import_warcs",
]

logger = logging.getLogger(__name__)

#: Capture header naming where an imported page came from: ``<file name>#<WARC-Record-ID>``.
IMPORTED_FROM = "X-Koege-Imported-From"
#: Capture header with the Wayback URL a page was saved from.
WAYBACK_URL = "X-Koege-Wayback-Url"
#: Why a response or revisit record was not imported (``http_<status>`` for statuses other than 200).
SKIP_REASONS = (
    "no_url_or_date",
    "off_site",
    "not_article",
    "http_<status>",
    "not_html",
    "unresolved_revisit",
    "suppressed",
    "duplicate_in_import",
    "already_imported",
    "payload_held_later",
    "no_article",
    "extraction_failed",
)
_IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A file that could not be read (wholly or after some point)."""

    file: str
    message: str


@dataclass(slots=True)
class ImportReport:
    """What an import did."""

    run_id: int | None = None
    files: list[str] = field(default_factory=list)
    #: Records read, by ``WARC-Type``.
    records: dict[str, int] = field(default_factory=dict)
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    duplicate: int = 0
    older_than_history: int = 0
    revisits_resolved: int = 0
    wayback_toolbar: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def imported(self) -> int:
        """Pages written (every outcome)."""
        return self.new + self.changed + self.unchanged + self.duplicate + self.older_than_history

    def skip(self, reason: str) -> None:
        """Count one record not imported."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass(slots=True)
class _Page:
    site: str
    canonical: str
    record: ForeignRecord
    file: str
    spool: tuple[int, int] | None  # where the payload lies in the spool (None: a revisit, unresolved yet)
    resolved_from: str | None = None
    digest: str = ""


#: A version as the import classifies against it: (content hash, published, updated, first seen).
_Seen = tuple[str, str | None, str | None, dt.datetime]


class _Spool:
    """Payloads kept on disk while files are read (an import may hold many thousand pages)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self._end = 0

    def put(self, data: bytes) -> tuple[int, int]:
        self._file.seek(self._end)
        self._file.write(data)
        where = (self._end, len(data))
        self._end += len(data)
        return where

    def get(self, where: tuple[int, int]) -> bytes:
        self._file.seek(where[0])
        return self._file.read(where[1])

    def close(self) -> None:
        self._file.close()


def _profile_for(url: str, profiles: dict[str, SiteProfile]) -> SiteProfile | None:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return next((p for _, p in sorted(profiles.items()) if host in p.hosts or host in p.external_hosts), None)


def _read_files(
    paths: Iterable[Path], profiles: dict[str, SiteProfile], report: ImportReport, spool: _Spool
) -> list[_Page]:
    """Step 1: the article pages of every file (revisits still unresolved)."""
    pages: list[_Page] = []
    for path in paths:
        report.files.append(path.name)
        try:
            for record in iter_foreign_records(path, report.records):
                if record is None:
                    report.skip("no_url_or_date")
                    continue
                page = _article_page(record, path.name, profiles, report)
                if page is None:
                    continue
                if record.body is not None:
                    page.spool = spool.put(record.body)
                pages.append(page)
        except WarcReadError as exc:
            report.problems.append(FileProblem(str(path), str(exc)))
    return pages


def _article_page(
    record: ForeignRecord, file: str, profiles: dict[str, SiteProfile], report: ImportReport
) -> _Page | None:
    profile = _profile_for(record.url, profiles)
    if profile is None:
        report.skip("off_site")
        return None
    canonical = canonicalize(record.url, profile)
    if not is_article_url(canonical, profile):
        report.skip("not_article")
        return None
    if record.status is not None and record.status != 200:
        report.skip(f"http_{record.status}")
        return None
    if record.body is not None:
        if record.status is None:
            report.skip("http_none")
            return None
        content = decode_payload(record.body, list(record.headers))
        if not is_html(header_value(record.headers, "content-type"), content):
            report.skip("not_html")
            return None
    return _Page(profile.name, canonical, record, file, None)


def _resolve_revisits(archive: Archive, pages: list[_Page], spool: _Spool, report: ImportReport) -> list[_Page]:
    """Step 2: give each revisit the payload it stands for; drop (and count) those without one."""
    by_digest: dict[str, _Page] = {}
    by_id: dict[str, _Page] = {}
    for page in pages:
        if page.spool is not None:
            body = spool.get(page.spool)
            page.digest = payload_digest(body)
            by_digest.setdefault(page.digest, page)
            if page.record.digest:
                by_digest.setdefault(page.record.digest, page)
            by_id.setdefault(page.record.record_id, page)
    kept = []
    for page in pages:
        if page.spool is None:
            rec = page.record
            source = (by_id.get(rec.refers_to or "") if rec.refers_to else None) or by_digest.get(rec.digest or "")
            if source is not None and source.spool is not None:
                page.spool, page.digest = source.spool, source.digest
                page.resolved_from = f"{source.file}#{source.record.record_id}"
                if not rec.headers:
                    page.record = _with_headers(rec, source.record)
            elif not _resolve_in_archive(archive, page, spool):
                report.skip("unresolved_revisit")
                continue
            report.revisits_resolved += 1
            if page.record.status not in (None, 200):
                report.skip(f"http_{page.record.status}")
                continue
            content = decode_payload(spool.get(page.spool), list(page.record.headers))  # type: ignore[arg-type]
            if not is_html(header_value(page.record.headers, "content-type"), content):
                report.skip("not_html")
                continue
        kept.append(page)
    return kept


def _with_headers(revisit: ForeignRecord, source: ForeignRecord) -> ForeignRecord:
    from dataclasses import replace

    return replace(revisit, headers=source.headers, status=source.status)


def _resolve_in_archive(archive: Archive, page: _Page, spool: _Spool) -> bool:
    digest = page.record.digest
    if not digest:
        return False
    from archive.queries import capture_bytes

    with archive.reading() as session:
        row = session.execute(
            select(Capture.id, Capture.headers, Capture.http_status)
            .where(Capture.warc_digest == digest, Capture.revisit.is_(False), Capture.warc_file.is_not(None))
            .order_by(Capture.fetched_at, Capture.id)
            .limit(1)
        ).first()
    if row is None:
        return False
    view = capture_bytes(archive, row.id)
    if view is None:
        return False
    page.spool, page.digest = spool.put(view.raw), payload_digest(view.raw)
    page.resolved_from = f"archive capture {row.id}"
    if not page.record.headers:
        from dataclasses import replace

        page.record = replace(page.record, headers=tuple(sorted((row.headers or {}).items())), status=row.http_status)
    return True


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _IN_CHUNK):
        yield ordered[start : start + _IN_CHUNK]


def _drop_known(archive: Archive, pages: list[_Page], report: ImportReport) -> list[_Page]:
    """Step 3: the same capture twice in this import, or already in the archive, is not written again."""
    held: set[tuple[str, dt.datetime, str | None]] = set()
    with archive.reading() as session:
        for chunk in _chunks(p.canonical for p in pages):
            for url, fetched, digest in session.execute(
                select(Capture.canonical_url, Capture.fetched_at, Capture.warc_digest).where(
                    Capture.canonical_url.in_(chunk)
                )
            ):
                held.add((url, fetched, digest))
    # The writer would store an identical payload as a revisit of the URL's last full record,
    # which must be older than the revisit to be read back; the same bytes held from a later
    # date add nothing but that date.
    with archive.engine.connect() as conn:
        later = resource_digests(conn, {p.record.url for p in pages})
    seen: set[tuple[str, dt.datetime, str]] = set()
    kept = []
    for page in pages:
        key = (page.canonical, page.record.fetched_at, page.digest)
        resource = later.get(page.record.url)
        if key in held:
            report.skip("already_imported")
        elif resource is not None and resource[0] == page.digest and resource[1] > page.record.fetched_at:
            report.skip("payload_held_later")
        elif key in seen:
            report.skip("duplicate_in_import")
        else:
            seen.add(key)
            kept.append(page)
    return kept


def _histories(archive: Archive, urls: set[str]) -> dict[str, list[_Seen]]:
    """Every version of the documents at these URLs, in version order."""
    known: dict[str, list[_Seen]] = {}
    with archive.reading() as session:
        for chunk in _chunks(urls):
            rows = session.execute(
                select(Document.url, Version.content_hash, Version.published, Version.updated, Version.first_seen)
                .join(Version, Version.document_id == Document.id)
                .where(Document.url.in_(chunk))
                .order_by(Document.url, Version.version)
            )
            for url, content, published, updated, first_seen in rows:
                known.setdefault(url, []).append((content, published, updated, first_seen))
    return known


def classify_capture(history: Sequence[_Seen], version: VersionRecord, fetched_at: dt.datetime) -> str:
    """How an imported capture of a known document adds to its history (see the module docstring).

    Args:
        history: the document's versions in version order, each (content hash, published,
            updated, first seen); empty when the archive has no such document.
        version: what extraction made of the capture.
        fetched_at: the capture date.

    Returns:
        ``new`` (no document yet), ``changed``, ``unchanged`` or ``older_than_history``.
    """
    if not history:
        return "new"
    this = (version.content_hash, version.published, version.updated)
    latest = history[-1]
    if fetched_at >= latest[3]:
        return "unchanged" if latest[:3] == this else "changed"
    if any(v[:3] == this for v in history):
        return "unchanged"
    return "older_than_history"


def _version_of(html: str, page: _Page, profile: SiteProfile, extractor: str) -> VersionRecord | None:
    from pipelines.extraction import extract_article

    article = extract_article(html, page.canonical, fetched_at=page.record.fetched_at, profile=profile)
    if article is None:
        return None
    return VersionRecord(
        title=article.title,
        lead=article.lead,
        text=article.text,
        content_hash=article.content_hash,
        extractor=extractor,
        published=article.published,
        published_precision=article.published_precision,
        published_source=article.published_source,
        published_raw=article.published_raw,
        updated=article.updated,
        updated_precision=article.updated_precision,
        updated_source=article.updated_source,
        updated_raw=article.updated_raw,
        updated_by=article.updated_by,
        contact=article.contact,
        language=article.language,
        profile_version=profile.version,
    )


def _capture_of(page: _Page, body: bytes, encoding: str) -> CaptureRecord:
    rec = page.record
    headers: dict[str, str] = {}
    for name, value in rec.headers:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    headers.pop("Transfer-Encoding", None)
    headers[IMPORTED_FROM] = f"{page.file}#{rec.record_id}"
    if page.resolved_from:
        headers["X-Koege-Imported-Payload"] = page.resolved_from
    if rec.wayback_url:
        headers[WAYBACK_URL] = rec.wayback_url
    return CaptureRecord(
        url=rec.url,
        canonical_url=page.canonical,
        fetched_at=rec.fetched_at,
        http_status=200,
        headers=headers,
        content_type=header_value(rec.headers, "content-type"),
        encoding=encoding,
        body=body,
        source="import",
        warc=None,
    )


def _write(
    archive: Archive,
    pages: list[_Page],
    profiles: dict[str, SiteProfile],
    spool: _Spool,
    report: ImportReport,
    run_id: int,
    batch_size: int,
) -> None:
    """Step 4: extract, classify and write, oldest capture first per document."""
    from pipelines.extraction import extractor_name

    extractor = extractor_name()
    pages.sort(key=lambda p: (p.site, p.canonical, p.record.fetched_at, p.record.record_id))
    histories = _histories(archive, {p.canonical for p in pages})
    owners: dict[str, dict[str, str]] = {}
    hidden: dict[str, set[str]] = {}
    versioned: set[str] = set()  # documents given a version in the writer's current batch
    writer = ArchiveWriter(
        archive,
        batch_size=batch_size,
        warc_info={"operation": "import", "run": str(run_id), "imported-from": ", ".join(report.files)},
    )
    try:
        for page in pages:
            profile = profiles[page.site]
            if page.site not in owners:
                docs = known_documents(archive, page.site)
                site_owners: dict[str, str] = {}
                for url, doc in sorted(docs.items(), key=lambda kv: (kv[1].id, kv[0])):
                    site_owners.setdefault(doc.content_hash, url)
                owners[page.site] = site_owners
                hidden[page.site] = suppressed_urls(archive, page.site)
                writer.ensure_site(profile.name, profile.title, profile.canonical_origin)
            if page.canonical in hidden[page.site]:
                report.skip("suppressed")
                continue
            assert page.spool is not None
            body = spool.get(page.spool)
            html, encoding = decode_html_bytes(
                decode_payload(body, list(page.record.headers)), header_value(page.record.headers, "content-type")
            )
            if not page.record.raw:
                html, injected = strip_wayback_toolbar(html)
                report.wayback_toolbar += injected
            try:
                version = _version_of(html, page, profile, extractor)
            except Exception as exc:  # one unreadable page must not stop an import; counted and logged
                logger.warning("Extraction failed for %s (%s): %s", page.canonical, page.file, exc)
                report.skip("extraction_failed")
                continue
            if version is None:
                report.skip("no_article")
                continue
            outcome = classify_capture(histories.get(page.canonical, []), version, page.record.fetched_at)
            duplicate_of = None
            if outcome == "new":
                owner = owners[page.site].get(version.content_hash)
                if owner is not None and owner != page.canonical:
                    outcome, duplicate_of = "duplicate", owner
                owners[page.site].setdefault(version.content_hash, page.canonical)
            if outcome in ("new", "duplicate", "changed"):
                histories.setdefault(page.canonical, []).append(
                    (version.content_hash, version.published, version.updated, page.record.fetched_at)
                )
            setattr(report, outcome, getattr(report, outcome) + 1)
            if outcome in ("unchanged", "older_than_history") and page.canonical in versioned:
                # The writer updates ``last_seen`` only of versions already written, not of one
                # queued in the same batch.
                writer.flush()
                versioned.clear()
            if outcome in ("new", "duplicate", "changed"):
                versioned.add(page.canonical)
            writer.add(
                site_key=page.site,
                run_id=run_id,
                capture=_capture_of(page, body, encoding),
                version=version,
                outcome="unchanged" if outcome == "older_than_history" else outcome,  # type: ignore[arg-type]
                duplicate_of=duplicate_of,
            )
        writer.flush()
    finally:
        writer.close()


def import_warcs(
    archive: Archive,
    paths: Iterable[Path],
    *,
    site: str | None = None,
    batch_size: int = 50,
    clock: Callable[[], dt.datetime] | None = None,
) -> ImportReport:
    """Import the article pages of WARC files into the archive (see the module docstring).

    Args:
        archive: the open archive.
        paths: WARC files (``.warc`` or ``.warc.gz``, WARC 1.0 or 1.1).
        site: a profile key: only that site's pages are imported (default: the site whose hosts
            the page's host belongs to).
        batch_size: pages per transaction.
        clock: gives "now" for the run's start and end (UTC).

    Returns:
        What was read, imported and skipped; a missing or damaged file is reported in
        ``problems`` (the pages of the other files, and those before the damage, are imported).

    Raises:
        UnknownSiteError: when ``site`` names no profile.
        WriteFailed: when the archive cannot be written (the run is recorded as failed if it can be).
    """
    now = clock or (lambda: dt.datetime.now(dt.UTC))
    profiles = load_profiles([site] if site else None)
    report = ImportReport()
    spool = _Spool()
    try:
        pages = _read_files(paths, profiles, report, spool)
        pages = _resolve_revisits(archive, pages, spool, report)
        pages = _drop_known(archive, pages, report)
        sites = sorted({p.site for p in pages}) or ([site] if site else [])
        report.run_id = start_run(
            archive, sites=sites, software_version=_dist_version("koege-archive"), started_at=now()
        )
        status, message = "finished", None
        try:
            _write(archive, pages, profiles, spool, report, report.run_id, batch_size)
        except WriteFailed as exc:
            status, message = "failed", f"{exc}. Free disk space or fix the --db location, then import again."
            raise
        finally:
            if status == "finished" and report.problems:
                status = "failed"
                message = "; ".join(p.message for p in report.problems)
            _finish(archive, report, status, message, now())
    finally:
        spool.close()
    return report


def _finish(archive: Archive, report: ImportReport, status: str, message: str | None, at: dt.datetime) -> None:
    assert report.run_id is not None
    considered = report.records.get("response", 0) + report.records.get("revisit", 0)
    counts = RunCounts(
        pages_fetched=considered,
        new=report.new + report.duplicate,
        changed=report.changed,
        unchanged=report.unchanged + report.older_than_history,
        failed=report.skipped.get("extraction_failed", 0),
        skipped=sum(report.skipped.values()),
        skipped_reasons=dict(report.skipped),
    )
    stats: dict[str, Any] = {
        "koege/import/files": ", ".join(report.files),
        "koege/import/older_than_history": report.older_than_history,
        "koege/import/revisits_resolved": report.revisits_resolved,
        "koege/import/wayback_toolbar": report.wayback_toolbar,
        **{f"koege/import/records/{kind}": n for kind, n in report.records.items()},
    }
    text = message or f"import of {len(report.files)} WARC file(s): {', '.join(report.files)}"
    try:
        finish_run(
            archive,
            report.run_id,
            status=status,
            finish_reason="import",
            counts=counts,
            stats=stats,
            message=text,
            finished_at=at,
        )
    except WriteFailed as exc:  # the pages are written; a lost end-of-run row must not hide that
        logger.error("Could not record the end of import run %s: %s", report.run_id, exc)
