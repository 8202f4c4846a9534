"""The search layer: Danish full-text search with filters, sorting, snippets and month counts.

One query language (:mod:`archive.querylang`), two engines: SQLite FTS5 over Danish stems
(default) and PostgreSQL's ``danish`` text search. Both read the derived index of
:mod:`archive.fts`, which is brought up to date before every search.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, column, text

from archive.analysis import DanishAnalyzer, Matcher, Segment
from archive.fts import attachment_texts, ensure_index
from archive.querylang import QueryError, matcher_for, parse_query, to_fts5, to_tsquery

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy.sql.elements import TextClause
    from sqlalchemy.sql.selectable import TextualSelect

    from archive.db import Archive
    from archive.querylang import Node

__all__ = [
    "COMMON_MIN",
    "COMMON_SHARE",
    "SORTS",
    "QueryError",
    "SearchFilters",
    "SearchHit",
    "SearchResult",
    "filter_values",
    "matching_ids",
    "month_counts",
    "search",
    "search_page",
]

#: Result orders: best match first, newest first, oldest first.
SORTS = ("relevance", "newest", "oldest")
#: A relevance search matching at least this many documents, and at least this share of the
#: archive, is ordered newest first instead (on SQLite): its words cannot tell documents apart.
COMMON_MIN = 10_000
COMMON_SHARE = 0.2
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Filters on the latest version of each document; dates are ``YYYY[-MM[-DD]]``, inclusive."""

    site: str | None = None
    section: str | None = None
    since: str | None = None
    until: str | None = None
    updated_since: str | None = None
    updated_until: str | None = None

    def validate(self) -> SearchFilters:
        """Check the dates; return the filters with blank values as None.

        Raises:
            QueryError: a date that is not ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.
        """
        clean = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in asdict(self).items()}
        for name in ("since", "until", "updated_since", "updated_until"):
            value = clean[name]
            if value is None:
                continue
            ok = bool(_DATE.match(value))
            if ok and len(value) == 10:
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    ok = False
            if not ok:
                raise QueryError(
                    f"{name.replace('_', '-')} {value[:40]!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD"
                )
        return SearchFilters(**clean)

    def as_dict(self) -> dict[str, str]:
        """The filters that are set, for manifests and links."""
        return {k: v for k, v in asdict(self).items() if v}


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result (the document's latest version)."""

    id: int
    url: str
    site: str
    title: str | None
    published: str | None
    snippet: str
    score: float
    version: int = 1
    updated: str | None = None
    section: str | None = None
    title_segments: tuple[Segment, ...] = ()
    snippet_segments: tuple[Segment, ...] = ()
    #: ``article``, or ``attachment`` when the words were found only in a file the document
    #: links to (a PDF); the snippet then comes from that file, named by ``attachment_url``.
    matched_in: str = "article"
    attachment_url: str | None = None

    @property
    def attachment_name(self) -> str | None:
        """The file name of the attachment the words were found in (decoded), if so."""
        from archive.attachments import file_name

        return file_name(self.attachment_url) if self.attachment_url else None

    def as_json(self) -> dict[str, Any]:
        """The hit as the JSON API and ``search --format json`` give it."""
        return {
            "id": self.id,
            "version": self.version,
            "url": self.url,
            "site": self.site,
            "section": self.section,
            "title": self.title,
            "published": self.published,
            "updated": self.updated,
            "snippet": self.snippet,
            "score": self.score,
            "matched_in": self.matched_in,
            "attachment_url": self.attachment_url,
        }


@dataclass(frozen=True, slots=True)
class SearchResult:
    """A page of hits and how many documents match in all."""

    query: str
    filters: SearchFilters
    sort: str
    total: int
    offset: int
    hits: list[SearchHit] = field(default_factory=list)
    #: ``relevance``, ``newest`` or ``oldest``: how the hits were ordered. A relevance search
    #: whose words are in most documents is ordered newest first (see :data:`COMMON_SHARE`).
    ordered_by: str = "relevance"


@dataclass(frozen=True, slots=True)
class _Plan:
    """The parts of one search's SQL: FROM, WHERE and the score expression."""

    source: str
    where: str
    score: str
    params: dict[str, Any]
    node: Node | None
    fts_only: bool = False
    filter_sql: str = ""


def _plan(archive: Archive, query: str, filters: SearchFilters, analyzer: DanishAnalyzer) -> _Plan:
    filters = filters.validate()
    node = parse_query(query) if query.strip() else None
    params: dict[str, Any] = {}
    where: list[str] = []
    if node is None:
        source, score = "documents_fts_docs x", "0.0"
    elif archive.is_sqlite:
        params["fts"] = to_fts5(node, analyzer)
        source = "documents_fts f JOIN documents_fts_docs x ON x.document_id = f.rowid"
        where.append("documents_fts MATCH :fts")
        score = "-f.rank"
    else:
        tsq = to_tsquery(node, params)
        source = f"documents_fts_docs x CROSS JOIN (SELECT {tsq} AS q) tq"
        where.append("x.tsv @@ tq.q")
        score = "ts_rank('{0.1, 0.2, 0.4, 1.0}', x.tsv, tq.q)"
    for name, col in (("site", "site"), ("section", "section")):
        value = getattr(filters, name)
        if value:
            where.append(f"x.{col} = :{name}")
            params[name] = value
    for prefix, col in (("", "published"), ("updated_", "updated")):
        since, until = getattr(filters, f"{prefix}since"), getattr(filters, f"{prefix}until")
        if since:
            where.append(f"x.{col} >= :{prefix}since")
            params[f"{prefix}since"] = since
        if until:
            where.append(f"substr(x.{col}, 1, {len(until)}) <= :{prefix}until")
            params[f"{prefix}until"] = until
    fts_only = archive.is_sqlite and node is not None and len(where) == 1
    filter_sql = "".join(f" AND {w}" for w in where if w.startswith(("x.", "substr(x.")))
    return _Plan(source, " AND ".join(where) or "1 = 1", score, params, node, fts_only, filter_sql)


def _order(plan: _Plan, sort: str, is_sqlite: bool) -> str:
    if sort == "newest" or (sort == "relevance" and plan.node is None):
        return "x.published DESC NULLS LAST, x.document_id DESC"
    if sort == "oldest":
        return "x.published ASC NULLS LAST, x.document_id ASC"
    # FTS5 sorts by its own rank column fastest.
    return "f.rank, x.document_id" if is_sqlite else "score DESC, x.document_id"


def search_page(
    archive: Archive,
    query: str,
    filters: SearchFilters | None = None,
    *,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    count: bool = True,
    notify: Callable[[str], None] | None = None,
) -> SearchResult:
    """Search, and count every match.

    An empty query lists the documents the filters let through, newest first.

    Args:
        archive: the open archive.
        query: what the person typed (see :mod:`archive.querylang`).
        filters: site, section, published and updated date ranges.
        sort: one of :data:`SORTS`.
        limit: hits on this page.
        offset: hits skipped before this page.
        count: count every match (``total``); -1 when False.
        notify: told when the index is being built (it takes a while, once).

    Returns:
        The page of hits.

    Raises:
        QueryError: the query or a filter cannot be run; the message says how to phrase it.
    """
    if sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}")
    filters = filters or SearchFilters()
    analyzer = DanishAnalyzer()
    plan = _plan(archive, query, filters, analyzer)
    ensure_index(archive, notify=notify)
    params = {**plan.params, "limit": max(0, limit), "offset": max(0, offset)}
    ordered_by = "newest" if sort == "relevance" and plan.node is None else sort
    sql = (
        f"SELECT x.document_id, {plan.score} AS score, x.site, x.section FROM {plan.source} "
        f"WHERE {plan.where} ORDER BY {_order(plan, sort, archive.is_sqlite)} LIMIT :limit OFFSET :offset"
    )
    with archive.engine.connect() as conn:
        total = -1
        if count or archive.is_sqlite:
            counted = (
                "documents_fts WHERE documents_fts MATCH :fts" if plan.fts_only else f"{plan.source} WHERE {plan.where}"
            )
            total = int(conn.scalar(text(f"SELECT count(*) FROM {counted}"), plan.params) or 0)
        if archive.is_sqlite and plan.node is not None and sort in ("relevance", "newest") and _common(conn, total):
            # Words in most documents carry no weight in BM25 (their IDF is ~0), and ranking every
            # match would take a full scan: walk the documents newest first and keep the matches.
            ordered_by = "newest"
            sql = (
                "SELECT x.document_id, 0.0 AS score, x.site, x.section FROM documents_fts_docs x WHERE EXISTS "
                "(SELECT 1 FROM documents_fts f WHERE documents_fts MATCH :fts AND f.rowid = x.document_id)"
                f"{plan.filter_sql} ORDER BY x.published DESC, x.document_id DESC LIMIT :limit OFFSET :offset"
            )
        ranked = conn.execute(text(sql), params).all()
        hits = _hits(conn, ranked, plan.node, analyzer)
    return SearchResult(query, filters.validate(), sort, total if count else -1, offset, hits, ordered_by)


def _common(conn: Any, total: int) -> bool:
    """True when a search matches at least :data:`COMMON_MIN` documents and :data:`COMMON_SHARE` of all."""
    if total < COMMON_MIN:
        return False
    return total >= COMMON_SHARE * int(conn.scalar(text("SELECT count(*) FROM documents_fts_docs")) or 1)


def _attachment_snippets(
    conn: Any, ids: list[int], matcher: Matcher, analyzer: DanishAnalyzer
) -> dict[int, tuple[str, list[Segment]]]:
    """For documents whose own text does not hold the words: the first linked file that does."""
    found: dict[int, tuple[str, list[Segment]]] = {}
    for doc_id, files in attachment_texts(conn, ids).items():
        for url, body in files:
            pieces = analyzer.snippet(body, matcher)
            if any(p.hit for p in pieces):
                found[doc_id] = (url, pieces)
                break
    return found


def _hits(conn: Any, ranked: Sequence[Any], node: Node | None, analyzer: DanishAnalyzer) -> list[SearchHit]:
    if not ranked:
        return []
    params = {f"d{i}": r[0] for i, r in enumerate(ranked)}
    where = ", ".join(f":{k}" for k in params)
    rows = {
        r.id: r
        for r in conn.execute(
            text(
                "SELECT d.id, d.url, v.version, v.title, v.lead, v.text, v.published, v.updated FROM documents d "
                f"JOIN versions v ON v.document_id = d.id AND v.version = d.latest_version WHERE d.id IN ({where}) "
                # Never a suppressed document, even from an index not yet brought up to date.
                "AND d.id NOT IN (SELECT document_id FROM suppressions WHERE lifted_at IS NULL)"
            ),
            params,
        )
    }
    matcher = matcher_for(node, analyzer) if node is not None else Matcher.build(frozenset(), ())
    snippets: dict[int, list[Segment]] = {}
    titles: dict[int, list[Segment]] = {}
    for doc_id, row in rows.items():
        snippets[doc_id] = analyzer.snippet("\n".join(p for p in (row.lead, row.text) if p), matcher)
        titles[doc_id] = analyzer.highlight(row.title or "", matcher)
    unseen = [
        doc_id for doc_id in rows if node is not None and not any(p.hit for p in (*snippets[doc_id], *titles[doc_id]))
    ]
    in_files = _attachment_snippets(conn, unseen, matcher, analyzer) if unseen else {}
    hits = []
    for doc_id, score, site, section in ranked:
        row = rows.get(doc_id)
        if row is None:
            continue
        attachment_url, pieces = in_files.get(doc_id, (None, snippets[doc_id]))
        hits.append(
            SearchHit(
                id=doc_id,
                url=row.url,
                site=site,
                title=row.title,
                published=row.published,
                snippet="".join(f"[{p.text}]" if p.hit else p.text for p in pieces),
                score=round(float(score or 0.0), 4),
                version=row.version,
                updated=row.updated,
                section=section,
                title_segments=tuple(titles[doc_id]),
                snippet_segments=tuple(pieces),
                matched_in="attachment" if attachment_url else "article",
                attachment_url=attachment_url,
            )
        )
    return hits


def search(
    archive: Archive,
    query: str,
    *,
    site: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 20,
    filters: SearchFilters | None = None,
    sort: str = "relevance",
    offset: int = 0,
    notify: Callable[[str], None] | None = None,
) -> list[SearchHit]:
    """Full-text search over the latest version of each document, best first.

    Words are ANDed and stemmed (Danish Snowball); ``"quoted words"`` are phrases; ``word*``
    matches prefixes; ``OR``, ``NOT`` and ``-word`` combine. Any input is safe.

    Args:
        archive: the open archive.
        query: what the person typed.
        site: only this profile key (shortcut for ``filters``).
        since: only documents published on or after this ISO date.
        until: only documents published on or before this ISO date.
        limit: at most this many hits.
        filters: every filter (site, section, published and updated ranges).
        sort: one of :data:`SORTS`.
        offset: hits to skip.
        notify: told when the index is being built.

    Returns:
        The hits.

    Raises:
        QueryError: when the query holds no searchable word, or a filter is malformed.
    """
    if not query.strip():
        raise QueryError('the query holds no word to search for; try e.g. affald or "grøn vækst"')
    base = filters or SearchFilters()
    merged = SearchFilters(
        site=site or base.site,
        section=base.section,
        since=since or base.since,
        until=until or base.until,
        updated_since=base.updated_since,
        updated_until=base.updated_until,
    )
    page = search_page(archive, query, merged, sort=sort, limit=limit, offset=offset, count=False, notify=notify)
    return page.hits


def matching_ids(
    archive: Archive, query: str, filters: SearchFilters | None = None, *, notify: Callable[[str], None] | None = None
) -> TextualSelect:
    """The ids of every document a search finds, as a subquery (for exports).

    Args:
        archive: the open archive.
        query: the query; empty for "every document the filters let through".
        filters: the filters.
        notify: told when the index is being built.

    Returns:
        A ``SELECT document_id`` usable in ``Document.id.in_(…)``.

    Raises:
        QueryError: the query or a filter cannot be run.
    """
    plan = _plan(archive, query, filters or SearchFilters(), DanishAnalyzer())
    ensure_index(archive, notify=notify)
    clause: TextClause = text(f"SELECT x.document_id FROM {plan.source} WHERE {plan.where}").bindparams(**plan.params)
    return clause.columns(column("document_id", Integer))


def month_counts(archive: Archive, query: str, filters: SearchFilters | None = None) -> dict[str, Any]:
    """How many matching documents were published in each month (for the chart).

    Args:
        archive: the open archive.
        query: the query (empty: every document the filters let through).
        filters: the filters.

    Returns:
        ``{"months": [{"month": "2019-03", "count": 4}, …], "undated": N}``, months in order,
        months without documents between the first and the last included with count 0.

    Raises:
        QueryError: the query or a filter cannot be run.
    """
    plan = _plan(archive, query, filters or SearchFilters(), DanishAnalyzer())
    ensure_index(archive)
    sql = (
        f"SELECT substr(x.published, 1, 7) AS month, count(*) FROM {plan.source} "
        f"WHERE {plan.where} GROUP BY substr(x.published, 1, 7)"
    )
    with archive.engine.connect() as conn:
        rows = conn.execute(text(sql), plan.params).all()
    counts = {m: n for m, n in rows if m and len(m) == 7}
    undated = sum(n for m, n in rows if not m or len(m) != 7)
    months = []
    if counts:
        year, month = map(int, min(counts).split("-"))
        last = max(counts)
        while (key := f"{year:04d}-{month:02d}") <= last:
            months.append({"month": key, "count": counts.get(key, 0)})
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return {"months": months, "undated": undated}


def filter_values(archive: Archive) -> dict[str, list[tuple[str, int]]]:
    """The sites and sections in the index with their document counts (for filter menus).

    Args:
        archive: the open archive.

    Returns:
        ``{"site": [(key, n), …], "section": [(name, n), …]}``, most documents first.
    """
    ensure_index(archive)
    out: dict[str, list[tuple[str, int]]] = {}
    with archive.engine.connect() as conn:
        for col in ("site", "section"):
            rows = conn.execute(
                text(
                    f"SELECT {col}, count(*) AS n FROM documents_fts_docs WHERE {col} IS NOT NULL "
                    f"GROUP BY {col} ORDER BY n DESC, {col}"
                )
            ).all()
            out[col] = [(r[0], int(r[1])) for r in rows]
    return out
