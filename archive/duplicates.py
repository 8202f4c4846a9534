"""Near-duplicate documents in the archive: sign new texts, link them to their near-copies, list clusters.

The index lives in the database (``document_signatures``, ``signature_buckets``), so linking the
documents of one crawl costs time in proportion to that crawl, not to the size of the archive.
Links are only ever added; both documents of a link stay in the archive.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, insert, select

from archive.models import Document, DocumentSignature, NearDuplicate, SignatureBucket, Site, Version
from archive.neardup import MinHasher, clusters

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    from sqlalchemy.engine import Connection

    from archive.db import Archive

__all__ = [
    "Cluster",
    "ClusterMember",
    "LinkReport",
    "duplicate_clusters",
    "link_near_duplicates",
]

_CHUNK = 400  # documents signed per transaction
_PARAMS = 800  # bound parameters per IN (…) list (SQLite allows 32,766; stay far below)


@dataclass(slots=True)
class LinkReport:
    """What one pass of :func:`link_near_duplicates` did."""

    signed: int = 0
    too_short: int = 0
    linked: int = 0


@dataclass(frozen=True, slots=True)
class ClusterMember:
    """One document of a near-duplicate cluster."""

    id: int
    url: str
    site: str
    title: str | None
    published: str | None


@dataclass(frozen=True, slots=True)
class Cluster:
    """Documents whose texts nearly match, and the links that join them."""

    members: list[ClusterMember]
    links: list[tuple[int, int, float]] = field(default_factory=list)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _chunks(values: list[Any], size: int = _PARAMS) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def store_signatures(conn: Connection, signatures: Mapping[int, tuple[int, bytes]]) -> None:
    """Keep signatures computed ahead of time (document → (version, bytes)); not yet linked.

    :func:`link_near_duplicates` links them later without reading or hashing their texts again.

    Args:
        conn: a connection inside a transaction.
        signatures: by document id, the version signed and its signature (``b""``: too short).
    """
    ids = sorted(signatures)
    for part in _chunks(ids):
        conn.execute(delete(SignatureBucket).where(SignatureBucket.document_id.in_(part)))
        conn.execute(delete(DocumentSignature).where(DocumentSignature.document_id.in_(part)))
    conn.execute(
        insert(DocumentSignature),
        [{"document_id": d, "version": v, "signature": sig} for d, (v, sig) in sorted(signatures.items())],
    )


def _unsigned(conn: Connection, limit: int) -> list[tuple[int, int, str | None, bytes | None]]:
    """Documents whose latest version is not linked yet: (id, version, text, signature if stored).

    Either no signature of the latest version exists (the text is read and hashed), or one was
    stored ahead of time and has no LSH buckets yet (it is used as it is).
    """
    unsigned = (
        select(Document.id, Document.latest_version, Version.text)
        .join(Version, (Version.document_id == Document.id) & (Version.version == Document.latest_version))
        .outerjoin(DocumentSignature, DocumentSignature.document_id == Document.id)
        .where((DocumentSignature.document_id.is_(None)) | (DocumentSignature.version != Document.latest_version))
        .order_by(Document.id)
        .limit(limit)
    )
    rows: list[tuple[int, int, str | None, bytes | None]] = [
        (int(i), int(v), t, None) for i, v, t in conn.execute(unsigned)
    ]
    if len(rows) < limit:
        unlinked = (
            select(DocumentSignature.document_id, DocumentSignature.version, DocumentSignature.signature)
            .join(Document, Document.id == DocumentSignature.document_id)
            .where(
                DocumentSignature.version == Document.latest_version,
                DocumentSignature.signature != b"",
                ~exists().where(SignatureBucket.document_id == DocumentSignature.document_id),
            )
            .order_by(DocumentSignature.document_id)
            .limit(limit - len(rows))
        )
        rows += [(int(i), int(v), None, bytes(s)) for i, v, s in conn.execute(unlinked)]
    return rows


def _link_chunk(
    conn: Connection,
    rows: list[tuple[int, int, str | None, bytes | None]],
    hasher: MinHasher,
    *,
    run_id: int | None,
    now: dt.datetime,
    report: LinkReport,
) -> None:
    signed: dict[int, tuple[int, np.ndarray | None]] = {
        d: (v, hasher.from_bytes(stored) if stored else hasher.signature(text or "")) for d, v, text, stored in rows
    }
    ids = list(signed)
    for part in _chunks(ids):
        conn.execute(delete(SignatureBucket).where(SignatureBucket.document_id.in_(part)))
        conn.execute(delete(DocumentSignature).where(DocumentSignature.document_id.in_(part)))
    sigs = {d: s for d, (_, s) in signed.items() if s is not None}
    report.too_short += len(signed) - len(sigs)
    # Documents too short to judge get an empty signature row, so they are not read again.
    conn.execute(
        insert(DocumentSignature),
        [
            {"document_id": d, "version": v, "signature": b"" if s is None else hasher.to_bytes(s)}
            for d, (v, s) in signed.items()
        ],
    )
    report.signed += len(sigs)
    if not sigs:
        return
    keys = {d: hasher.buckets(s)[0] for d, s in sigs.items()}
    # Candidates: documents already indexed that share a bucket, and this chunk among itself.
    wanted = sorted({int(k) for row in keys.values() for k in row})
    holders: dict[int, set[int]] = {}
    for part in _chunks(wanted):
        for bucket, doc_id in conn.execute(
            select(SignatureBucket.bucket, SignatureBucket.document_id).where(SignatureBucket.bucket.in_(part))
        ):
            holders.setdefault(int(bucket), set()).add(int(doc_id))
    by_bucket: dict[int, set[int]] = {}
    for doc_id, row in keys.items():
        for key in row.tolist():
            by_bucket.setdefault(int(key), set()).add(doc_id)
    candidates: dict[int, set[int]] = {d: set() for d in sigs}
    for doc_id, row in keys.items():
        for key in row.tolist():
            candidates[doc_id] |= holders.get(int(key), set()) | by_bucket[int(key)]
        candidates[doc_id].discard(doc_id)
    others = sorted({c for cs in candidates.values() for c in cs} - set(sigs))
    known: dict[int, np.ndarray] = {}
    for part in _chunks(others):
        for doc_id, data in conn.execute(
            select(DocumentSignature.document_id, DocumentSignature.signature).where(
                DocumentSignature.document_id.in_(part)
            )
        ):
            if data:
                known[int(doc_id)] = hasher.from_bytes(data)
    known.update(sigs)
    pairs: dict[tuple[int, int], float] = {}
    for doc_id, found in candidates.items():
        for other in found:
            if other in known:
                similarity = hasher.similarity(sigs[doc_id], known[other])
                if similarity >= hasher.threshold:
                    pairs[(min(doc_id, other), max(doc_id, other))] = round(similarity, 4)
    conn.execute(
        insert(SignatureBucket),
        [{"bucket": int(k), "document_id": d} for d, row in keys.items() for k in dict.fromkeys(row.tolist())],
    )
    if not pairs:
        return
    existing: set[tuple[int, int]] = set()
    involved = sorted({d for pair in pairs for d in pair})
    for part in _chunks(involved):
        existing |= {
            (int(a), int(b))
            for a, b in conn.execute(
                select(NearDuplicate.document_id, NearDuplicate.other_id).where(NearDuplicate.document_id.in_(part))
            )
        }
    new = [
        {"document_id": a, "other_id": b, "similarity": s, "method": "minhash", "found_at": now, "run_id": run_id}
        for (a, b), s in sorted(pairs.items())
        if (a, b) not in existing
    ]
    if new:
        conn.execute(insert(NearDuplicate), new)
    report.linked += len(new)


def link_near_duplicates(
    archive: Archive,
    *,
    run_id: int | None = None,
    hasher: MinHasher | None = None,
    threshold: float | None = None,
    now: dt.datetime | None = None,
) -> LinkReport:
    """Sign every document whose latest text has no signature yet and link it to its near-copies.

    Safe to interrupt and to run again: the next pass continues with what is still unsigned.

    Args:
        archive: the open archive.
        run_id: the crawl run the links are credited to, if any.
        hasher: the parameters; by default a :class:`MinHasher` with ``threshold``.
        threshold: the similarity at which texts are linked (default 0.5), when no hasher is given.
        now: the time recorded with new links (now by default).

    Returns:
        How many documents were signed, were too short to judge, and how many links were added.

    Raises:
        OperationalError: when the archive cannot be written (the caller reports it).
    """
    report = LinkReport()
    engine = archive.engine.execution_options(koege_write=True)
    when = now or _utcnow()
    while True:
        with engine.begin() as conn:
            rows = _unsigned(conn, _CHUNK)
            if not rows:
                return report
            if hasher is None:
                hasher = MinHasher() if threshold is None else MinHasher(threshold)
            _link_chunk(conn, rows, hasher, run_id=run_id, now=when, report=report)


def duplicate_clusters(archive: Archive, *, site: str | None = None) -> list[Cluster]:
    """The archive's near-duplicate clusters, largest first.

    Args:
        archive: the open archive.
        site: only clusters with at least one document of this site.

    Returns:
        The clusters with their members (id order) and links.
    """
    with archive.reading() as session:
        links = [
            (int(a), int(b), float(s))
            for a, b, s in session.execute(
                select(NearDuplicate.document_id, NearDuplicate.other_id, NearDuplicate.similarity)
            )
        ]
        groups = clusters((a, b) for a, b, _ in links)
        ids = sorted({d for g in groups for d in g})
        info: dict[int, ClusterMember] = {}
        for part in _chunks(ids):
            for doc_id, url, key, title, published in session.execute(
                select(Document.id, Document.url, Site.key, Version.title, Version.published)
                .join(Site, Site.id == Document.site_id)
                .join(Version, (Version.document_id == Document.id) & (Version.version == Document.latest_version))
                .where(Document.id.in_(part))
            ):
                info[int(doc_id)] = ClusterMember(int(doc_id), url, key, title, published)
    where = {d: n for n, g in enumerate(groups) for d in g}
    by_group: dict[int, list[tuple[int, int, float]]] = {}
    for a, b, s in links:
        by_group.setdefault(where[a], []).append((a, b, s))
    found = []
    for n, group in enumerate(groups):
        members = [info[d] for d in group if d in info]
        if site is not None and not any(m.site == site for m in members):
            continue
        found.append(Cluster(members=members, links=sorted(by_group.get(n, []))))
    return found
