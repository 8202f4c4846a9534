"""Re-extraction: read the stored captures of archived versions again, with today's extractor and profiles.

No network: the bytes come from the WARC records (``archive.queries.capture_bytes``), decoded
as the crawl decoded them. Where the reading changed, the version's reading fields are updated
in place (search and exports show the best reading) and an ``Extraction`` row keeps the new
reading with what the version said before. It is never a new content version: versions are
what changed on the server, readings what changed in our understanding of the same bytes.

``content_hash``, ``published`` and ``updated`` are updated with the reading, because a recrawl
classifies a page by comparing exactly these with the latest version: a recrawl of unchanged
bytes under the same profile then finds the document unchanged and adds no version.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, select, update

from archive.captures import WarcError, payload_digest
from archive.fts import reindex_documents
from archive.models import Capture, Document, Extraction, Site, Version
from archive.queries import capture_bytes
from archive.suppression import suppressed_ids
from pipelines.extraction import extract_article, extractor_name

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from concurrent.futures import ProcessPoolExecutor

    from sqlalchemy.engine import Connection

    from archive.db import Archive
    from koege_spider.sites import SiteProfile
    from pipelines.article_dates import DatedArticle

__all__ = [
    "READING_FIELDS",
    "ReextractReport",
    "UnreadableCapture",
    "decode_capture",
    "reextract",
]

logger = logging.getLogger(__name__)

#: The fields of a version that a reading gives (compared, recorded and updated in place).
READING_FIELDS: tuple[str, ...] = (
    "title",
    "lead",
    "text",
    "published",
    "published_precision",
    "published_source",
    "published_raw",
    "updated",
    "updated_precision",
    "updated_source",
    "updated_raw",
    "updated_by",
    "contact",
    "language",
)
# UTF-8 bytes of æ ø å Æ Ø Å read as Latin-1 (as koege_spider.pages.decode_html repairs them).
_MOJIBAKE = re.compile("Ã[¦¸¥†˜…]")
# Below this many versions the worker processes cost more to start than they save.
_POOL_MIN_VERSIONS = 60


@dataclass(frozen=True, slots=True)
class UnreadableCapture:
    """Captures that could not be read, grouped by WARC file and reason."""

    #: The WARC file (None when no bytes were kept: purged, or never stored).
    file: str | None
    reason: str
    #: URLs of the affected documents, sorted.
    documents: tuple[str, ...]
    versions: int


@dataclass(slots=True)
class ReextractReport:
    """What a re-extraction did."""

    read: int = 0
    changed: int = 0
    unchanged: int = 0
    #: Versions whose capture now reads as no article (the version is kept as it was).
    no_article: int = 0
    #: Versions whose extraction raised (the version is kept as it was): message → count.
    failed: dict[str, int] = field(default_factory=dict)
    #: How many changed versions changed each field.
    fields: dict[str, int] = field(default_factory=dict)
    unreadable: list[UnreadableCapture] = field(default_factory=list)
    #: Sites in the archive without a profile now (their versions were not read).
    no_profile: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def unreadable_versions(self) -> int:
        """How many versions could not be read."""
        return sum(u.versions for u in self.unreadable)

    @property
    def pages_per_second(self) -> float:
        """Versions read per second (0 when nothing was read)."""
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready values."""
        return {
            "read": self.read,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "no_article": self.no_article,
            "failed": dict(sorted(self.failed.items())),
            "fields": dict(sorted(self.fields.items())),
            "unreadable": [
                {"file": u.file, "reason": u.reason, "versions": u.versions, "documents": list(u.documents)}
                for u in self.unreadable
            ],
            "no_profile": dict(sorted(self.no_profile.items())),
            "seconds": round(self.seconds, 3),
            "pages_per_second": round(self.pages_per_second, 1),
            "dry_run": self.dry_run,
        }


@dataclass(frozen=True, slots=True)
class _Row:
    """One version to read again, as the archive holds it."""

    version_id: int
    document_id: int
    version: int
    latest: bool
    url: str
    site: str
    capture_id: int | None
    fetched_at: dt.datetime
    extractor: str
    profile_version: int | None
    content_hash: str
    reading: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Task:
    """What a worker needs to read one page (picklable)."""

    version_id: int
    body: bytes
    encoding: str | None
    content_type: str | None
    url: str
    fetched_at: dt.datetime
    profile: SiteProfile
    #: The date a listing showed, when the crawl fell back on it (re-reading has no listing).
    listing_date: str | None


def decode_capture(body: bytes, encoding: str | None, content_type: str | None = None) -> str:
    """Decode a captured page as the crawl did.

    Args:
        body: the payload with any ``Content-Encoding`` undone.
        encoding: the encoding the crawl used (the capture's ``encoding``), if known.
        content_type: the ``Content-Type`` header, used when the encoding is not known.

    Returns:
        The page's text.
    """
    from w3lib.encoding import html_to_unicode

    if encoding:
        # What Scrapy's TextResponse.text does with the encoding it settled on.
        return html_to_unicode(f"charset={encoding}", body)[1]

    def _guess(data: bytes) -> str | None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "utf-8"

    text = html_to_unicode(content_type or "", body, auto_detect_fun=_guess, default_encoding="cp1252")[1]
    if _MOJIBAKE.search(text):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return text


def _read_page(task: _Task) -> tuple[int, DatedArticle | None, str | None]:
    """Extract and date one page (runs in a worker process). Returns (version id, article, error)."""
    from pipelines.article_dates import ChosenDate, choose_date

    try:
        html = decode_capture(task.body, task.encoding, task.content_type)
        if "web.archive.org" in html or "wayback" in html.lower():
            # A page imported from a Wayback replay keeps the toolbar in its capture (as sent);
            # the import read it without, and so does every later reading.
            from pipelines.warc_reading import strip_wayback_toolbar

            html = strip_wayback_toolbar(html)[0]
        article = extract_article(html, task.url, fetched_at=task.fetched_at, profile=task.profile)
        if article is not None and article.published is None and task.listing_date:
            chosen: ChosenDate | None = choose_date([("listing", task.listing_date)], fetched_at=task.fetched_at)
            if chosen is not None:
                import dataclasses

                article = dataclasses.replace(
                    article,
                    published=chosen.value,
                    published_precision=chosen.precision,
                    published_source=chosen.source,
                    published_raw=chosen.raw,
                )
    except Exception as exc:  # noqa: BLE001  (one page that breaks lxml must not stop a whole archive)
        return task.version_id, None, f"{type(exc).__name__}: {exc}"
    return task.version_id, article, None


def _select(site: str | None, since: dt.datetime | None) -> Any:
    stmt = (
        select(
            Version,
            Document.url,
            Document.latest_version,
            Site.key,
            Capture.fetched_at,
        )
        .join(Document, Document.id == Version.document_id)
        .join(Site, Site.id == Document.site_id)
        .outerjoin(Capture, Capture.id == Version.capture_id)
        .where(Document.id.not_in(suppressed_ids()))
    )
    if site is not None:
        stmt = stmt.where(Site.key == site)
    if since is not None:
        stmt = stmt.where(func.coalesce(Capture.fetched_at, Version.first_seen) >= since)
    return stmt


def _count(archive: Archive, site: str | None, since: dt.datetime | None) -> int:
    with archive.reading() as session:
        return int(session.scalar(select(func.count()).select_from(_select(site, since).subquery())) or 0)


def _batches(archive: Archive, site: str | None, since: dt.datetime | None, size: int) -> Iterator[list[_Row]]:
    """The versions to read, in id order, ``size`` at a time (keyset pages: memory stays flat)."""
    after = 0
    while True:
        with archive.reading() as session:
            found = session.execute(
                _select(site, since).where(Version.id > after).order_by(Version.id).limit(size)
            ).all()
            rows = [
                _Row(
                    version_id=v.id,
                    document_id=v.document_id,
                    version=v.version,
                    latest=v.version == latest,
                    url=url,
                    site=key,
                    capture_id=v.capture_id,
                    fetched_at=fetched or v.first_seen,
                    extractor=v.extractor,
                    profile_version=v.profile_version,
                    content_hash=v.content_hash,
                    reading={f: getattr(v, f) for f in READING_FIELDS},
                )
                for v, url, latest, key, fetched in found
            ]
        if not rows:
            return
        yield rows
        after = rows[-1].version_id


class _Unreadable:
    """Unreadable captures grouped by (file, reason)."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str | None, str], tuple[set[str], list[int]]] = {}

    def add(self, file: str | None, reason: str, row: _Row) -> None:
        urls, versions = self.groups.setdefault((file, reason), (set(), []))
        urls.add(row.url)
        versions.append(row.version_id)

    def report(self) -> list[UnreadableCapture]:
        return [
            UnreadableCapture(file, reason, tuple(sorted(urls)), len(versions))
            for (file, reason), (urls, versions) in sorted(
                self.groups.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])
            )
        ]


def _load(
    archive: Archive, rows: list[_Row], profiles: Mapping[str, SiteProfile], unreadable: _Unreadable
) -> list[_Task]:
    """Read the captures of a batch from their WARC records; the unreadable ones are noted."""
    tasks = []
    for row in rows:
        if row.capture_id is None:
            unreadable.add(None, "the version has no capture", row)
            continue
        try:
            view = capture_bytes(archive, row.capture_id)
        except WarcError as exc:
            unreadable.add(exc.file, str(exc), row)
            continue
        if view is None:
            unreadable.add(None, "the capture's bytes are not kept (purged, or never stored)", row)
            continue
        if view.warc_digest and view.warc_digest.startswith("sha1:") and payload_digest(view.raw) != view.warc_digest:
            unreadable.add(view.warc_file, f"the record's payload does not match its digest {view.warc_digest}", row)
            continue
        listing = row.reading["published_raw"] if row.reading["published_source"] == "listing" else None
        tasks.append(
            _Task(
                version_id=row.version_id,
                body=view.body,
                encoding=view.encoding,
                content_type=view.content_type,
                url=row.url,
                fetched_at=row.fetched_at,
                profile=profiles[row.site],
                listing_date=listing,
            )
        )
    return tasks


def _write(
    conn: Connection,
    changes: list[tuple[_Row, DatedArticle, list[str]]],
    *,
    at: dt.datetime,
    profile_versions: Mapping[str, int],
) -> None:
    """Record the new readings and update the versions (and the search index) in one transaction."""
    extractor = extractor_name()
    conn.execute(
        insert(Extraction),
        [
            {
                "version_id": row.version_id,
                "capture_id": row.capture_id,
                "extracted_at": at,
                "extractor": extractor,
                "profile_version": profile_versions.get(row.site),
                "fields": {
                    **{f: getattr(article, f) for f in READING_FIELDS},
                    "content_hash": article.content_hash,
                    "previous": {
                        **row.reading,
                        "content_hash": row.content_hash,
                        "extractor": row.extractor,
                        "profile_version": row.profile_version,
                    },
                },
                "changed": changed,
            }
            for row, article, changed in changes
        ],
    )
    values: dict[str, Any] = {f: bindparam(f"b_{f}") for f in (*READING_FIELDS, "content_hash", "extractor")}
    values["profile_version"] = bindparam("b_profile_version")
    conn.execute(
        update(Version).where(Version.id == bindparam("b_id")).values(values),
        [
            {
                "b_id": row.version_id,
                **{f"b_{f}": getattr(article, f) for f in READING_FIELDS},
                "b_content_hash": article.content_hash,
                "b_extractor": extractor,
                "b_profile_version": profile_versions.get(row.site),
            }
            for row, article, _changed in changes
        ],
    )
    reindex_documents(conn, sorted({row.document_id for row, _a, _c in changes if row.latest}))


_Result = tuple[int, "DatedArticle | None", "str | None"]


class _Readers:
    """Extraction in worker processes (or in this one), falling back to this one if a worker dies."""

    def __init__(self, workers: int) -> None:
        self._pool: ProcessPoolExecutor | None = None
        if workers > 0:
            from concurrent.futures import ProcessPoolExecutor

            from pipelines.extraction import _worker_context

            self._pool = ProcessPoolExecutor(workers, mp_context=_worker_context())

    def start(self, tasks: list[_Task]) -> Iterator[_Result]:
        """Submit a batch (in worker processes the work starts now; here it runs when read)."""
        if self._pool is None:
            return map(_read_page, tasks)
        return self._pool.map(_read_page, tasks, chunksize=4)

    def results(self, tasks: list[_Task], started: Iterator[_Result]) -> list[_Result]:
        """The results of a batch started with :meth:`start`."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            return list(started)
        except BrokenProcessPool:
            # A worker died (out of memory, a crash in lxml): carry on in this process.
            logger.warning("An extraction worker died; re-extracting in this process from here on")
            self.close()
            return [_read_page(t) for t in tasks]

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def reextract(
    archive: Archive,
    *,
    site: str | None = None,
    since: dt.datetime | None = None,
    dry_run: bool = False,
    workers: int | None = None,
    batch_size: int = 200,
    profiles: Mapping[str, SiteProfile] | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReextractReport:
    """Read the stored captures of versions again and record where the reading changed.

    Args:
        archive: the open archive (with its data folder, where the WARC files are).
        site: only this site's documents.
        since: only versions whose capture was made at or after this moment (aware datetime).
        dry_run: read and compare, but write nothing.
        workers: extraction processes (0: in this process; None: one per CPU beyond the first,
            and none for a handful of versions).
        batch_size: versions read, extracted and written at a time (bounds memory).
        profiles: site profiles by key (default: loaded by name, as the crawl does).
        clock: returns the current UTC time (recorded as ``extracted_at``).
        progress: called after each batch with (versions done, versions in all).

    Returns:
        The report: versions read, changed (per field), unchanged, unreadable (by WARC file,
        with the documents affected).

    Raises:
        koege_spider.sites.UnknownSiteError: when ``site`` has no profile.
        koege_spider.sites.ProfileError: when a profile is malformed.
    """
    from koege_spider.sites import UnknownSiteError, load_profile

    started = time.perf_counter()
    now = (clock or (lambda: dt.datetime.now(dt.UTC)))()
    known: dict[str, SiteProfile] = dict(profiles or {})
    if site is not None and site not in known:
        known[site] = load_profile(site)
    report = ReextractReport(dry_run=dry_run)
    total = _count(archive, site, since)
    if workers is None:
        workers = 0 if total < _POOL_MIN_VERSIONS else max(1, (os.cpu_count() or 2) - 1)
    unreadable = _Unreadable()
    missing_profiles: set[str] = set()
    readers = _Readers(workers if total else 0)
    done = 0
    try:
        pending: tuple[list[_Row], list[_Task], Iterator[_Result]] | None = None
        for rows in _batches(archive, site, since, batch_size):
            for key in sorted({r.site for r in rows} - set(known) - missing_profiles):
                try:
                    known[key] = load_profile(key)
                except UnknownSiteError:
                    missing_profiles.add(key)
            for row in rows:
                if row.site in missing_profiles:
                    report.no_profile[row.site] = report.no_profile.get(row.site, 0) + 1
            readable = [r for r in rows if r.site not in missing_profiles]
            done += len(rows) - len(readable)
            tasks = _load(archive, readable, known, unreadable)
            # While the workers extract this batch, the previous one is compared and written.
            submitted = (readable, tasks, readers.start(tasks))
            if pending is not None:
                done += _finish(archive, pending[0], readers.results(*pending[1:]), report, at=now, profiles=known)
                if progress is not None:
                    progress(done, total)
            pending = submitted
        if pending is not None:
            done += _finish(archive, pending[0], readers.results(*pending[1:]), report, at=now, profiles=known)
            if progress is not None:
                progress(done, total)
    finally:
        readers.close()
    report.unreadable = unreadable.report()
    report.seconds = time.perf_counter() - started
    return report


def _finish(
    archive: Archive,
    rows: list[_Row],
    results: list[_Result],
    report: ReextractReport,
    *,
    at: dt.datetime,
    profiles: Mapping[str, SiteProfile],
) -> int:
    """Compare a batch's readings with the versions and write the changed ones; returns rows handled."""
    by_id = {r.version_id: r for r in rows}
    changes: list[tuple[_Row, DatedArticle, list[str]]] = []
    for version_id, article, error in results:
        row = by_id[version_id]
        report.read += 1
        if error is not None:
            report.failed[error] = report.failed.get(error, 0) + 1
            continue
        if article is None:
            report.no_article += 1
            continue
        changed = [f for f in READING_FIELDS if getattr(article, f) != row.reading[f]]
        if not changed:
            report.unchanged += 1
            continue
        report.changed += 1
        for name in changed:
            report.fields[name] = report.fields.get(name, 0) + 1
        changes.append((row, article, changed))
    if changes and not report.dry_run:
        with archive.engine.execution_options(koege_write=True).begin() as conn:
            _write(conn, changes, at=at, profile_versions={k: p.version for k, p in profiles.items()})
    return len(rows)
