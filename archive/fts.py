"""The full-text index: derived data, built, kept in step with the versions, rebuilt when outdated.

Tables (every name starts with ``documents_fts`` so Alembic leaves them alone):

- ``documents_fts_docs``: one row per document: the indexed version and the fields searches
  filter and sort on (site, section, published, updated); on PostgreSQL also the ``tsvector``
  (``to_tsvector('danish', …)``, title weight A, lead B, text and attachments D) with a GIN index.
- ``documents_fts`` (SQLite only): an FTS5 table of the Danish stems of title, lead, text and
  the text of the files the document links to (``attachments``, PDFs), ``rowid`` = document id;
  SQLite cannot stem itself, so the stems are computed in Python.
- ``documents_fts_meta``: the index format and how far the index has read the versions.

The index is rebuilt, with a message, when it is missing or its format differs from
:data:`INDEX_FORMAT`; versions written without it (by another tool) are added at the next search.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from archive.analysis import ANALYZER_VERSION, DanishAnalyzer, section_of

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sqlalchemy.engine import Connection

    from archive.db import Archive

__all__ = [
    "INDEX_FORMAT",
    "attachment_texts",
    "drop_documents",
    "ensure_index",
    "index_new_versions",
    "index_terms",
    "rebuild_index",
    "reindex_documents",
]

logger = logging.getLogger(__name__)

#: Bump the last part when the tables or what goes into them change.
INDEX_FORMAT = f"{ANALYZER_VERSION};docs-2"
_CHUNK = 2000
# PostgreSQL refuses a tsvector over 1 MB; no archived article comes near this many characters.
_PG_MAX_TEXT = 300_000

_SQLITE_SCHEMA = [
    "DROP TABLE IF EXISTS documents_fts",
    "DROP TABLE IF EXISTS documents_fts_docs",
    "CREATE VIRTUAL TABLE documents_fts USING fts5(title, lead, text, attachments, "
    "tokenize = 'unicode61 remove_diacritics 0')",
    # Title words weigh most, then the lead (manchet), then the body, then the linked files.
    "INSERT INTO documents_fts(documents_fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 1.0, 0.5)')",
    "CREATE TABLE documents_fts_docs (document_id INTEGER PRIMARY KEY, version INTEGER NOT NULL, "
    "site TEXT, section TEXT, published TEXT, updated TEXT)",
    "CREATE INDEX documents_fts_docs_published ON documents_fts_docs (published)",
    "CREATE TABLE IF NOT EXISTS documents_fts_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
]
_PG_SCHEMA = [
    "SELECT pg_advisory_xact_lock(7231001)",
    "DROP TABLE IF EXISTS documents_fts_docs",
    "CREATE TABLE documents_fts_docs (document_id INTEGER PRIMARY KEY, version INTEGER NOT NULL, "
    "site TEXT, section TEXT, published TEXT, updated TEXT, tsv TSVECTOR NOT NULL)",
    "CREATE INDEX documents_fts_docs_tsv ON documents_fts_docs USING GIN (tsv)",
    "CREATE INDEX documents_fts_docs_published ON documents_fts_docs (published)",
    "CREATE TABLE IF NOT EXISTS documents_fts_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
]
_LATEST = (
    "SELECT d.id AS document_id, v.version, d.url, s.key AS site, v.title, v.lead, v.text, v.published, v.updated "
    "FROM documents d JOIN sites s ON s.id = d.site_id "
    "JOIN versions v ON v.document_id = d.id AND v.version = d.latest_version "
)
# Suppressed documents (archive.suppression) are never indexed: searches cannot find them.
_VISIBLE = "d.id NOT IN (SELECT document_id FROM suppressions WHERE lifted_at IS NULL)"


def _is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def _state(conn: Connection) -> dict[str, str] | None:
    """The index's meta rows, or None when there is no index of this kind at all."""
    if _is_sqlite(conn):
        found = conn.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'documents_fts_meta'"))
    else:
        found = conn.scalar(text("SELECT to_regclass('documents_fts_meta') IS NOT NULL"))
    if not found:
        return None
    return {k: v for k, v in conn.execute(text("SELECT key, value FROM documents_fts_meta"))}


def _signature(conn: Connection) -> str:
    """What changes whenever versions are added (PostgreSQL: also a late commit of a lower id)."""
    if _is_sqlite(conn):
        return str(conn.scalar(text("SELECT coalesce(max(id), 0) FROM versions")))
    row = conn.execute(text("SELECT coalesce(max(id), 0), count(*) FROM versions")).one()
    return f"{row[0]}:{row[1]}"


def _set(conn: Connection, key: str, value: str) -> None:
    conn.execute(text("DELETE FROM documents_fts_meta WHERE key = :k"), {"k": key})
    conn.execute(text("INSERT INTO documents_fts_meta (key, value) VALUES (:k, :v)"), {"k": key, "v": value})


def _create(conn: Connection) -> None:
    for statement in _SQLITE_SCHEMA if _is_sqlite(conn) else _PG_SCHEMA:
        conn.execute(text(statement))
    conn.execute(text("DELETE FROM documents_fts_meta"))
    _set(conn, "format", INDEX_FORMAT)
    _set(conn, "signature", "")


def attachment_texts(conn: Connection, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """The text of the files each document links to: the latest reading of each file URL.

    Args:
        conn: a connection.
        ids: document ids.

    Returns:
        Document id → [(file URL, text)], in the order the files were first archived.
    """
    found: dict[int, dict[str, str]] = {}
    for start in range(0, len(ids), 500):
        chunk = {f"d{i}": d for i, d in enumerate(ids[start : start + 500])}
        where = ", ".join(f":{k}" for k in chunk)
        for doc_id, url, body in conn.execute(
            text(
                f"SELECT document_id, url, text FROM attachments WHERE document_id IN ({where}) "
                "AND text IS NOT NULL AND text <> '' ORDER BY document_id, id"
            ),
            chunk,
        ):
            found.setdefault(doc_id, {})[url] = body
    return {doc_id: list(files.items()) for doc_id, files in found.items()}


def index_terms(title: str | None, lead: str | None, text: str | None) -> tuple[str, str, str]:
    """The SQLite index's stems of an article's title, lead and text (work that can be done ahead).

    Args:
        title: the title.
        lead: the lead.
        text: the body text.

    Returns:
        The three texts as the index holds them.
    """
    analyzer = DanishAnalyzer()
    return analyzer.index_text(title), analyzer.index_text(lead), analyzer.index_text(text)


def _index_rows(
    conn: Connection,
    rows: list[dict[str, Any]],
    analyzer: DanishAnalyzer,
    *,
    prepared: Mapping[int, tuple[str, str, str]] | None = None,
) -> None:
    """Write the index entries of these documents (their latest versions), replacing old ones."""
    prepared = prepared or {}
    if not rows:
        return
    files = attachment_texts(conn, [r["document_id"] for r in rows])
    attached = {doc_id: "\n\n".join(t for _, t in texts) for doc_id, texts in files.items()}
    docs = [
        {
            "id": r["document_id"],
            "version": r["version"],
            "site": r["site"],
            "section": section_of(r["url"]),
            "published": r["published"],
            "updated": r["updated"],
        }
        for r in rows
    ]
    if _is_sqlite(conn):
        ids = [{"id": r["document_id"]} for r in rows]
        conn.execute(text("DELETE FROM documents_fts WHERE rowid = :id"), ids)
        conn.execute(
            text(
                "INSERT INTO documents_fts (rowid, title, lead, text, attachments) "
                "VALUES (:id, :title, :lead, :text, :attachments)"
            ),
            [
                {
                    "id": r["document_id"],
                    **dict(
                        zip(
                            ("title", "lead", "text"),
                            prepared.get(r["document_id"])
                            or (
                                analyzer.index_text(r["title"]),
                                analyzer.index_text(r["lead"]),
                                analyzer.index_text(r["text"]),
                            ),
                            strict=True,
                        )
                    ),
                    "attachments": analyzer.index_text(attached.get(r["document_id"])),
                }
                for r in rows
            ],
        )
        conn.execute(
            text(
                "INSERT OR REPLACE INTO documents_fts_docs (document_id, version, site, section, published, updated) "
                "VALUES (:id, :version, :site, :section, :published, :updated)"
            ),
            docs,
        )
        return
    for doc, r in zip(docs, rows, strict=True):
        doc.update(
            title=r["title"] or "",
            lead=r["lead"] or "",
            text=(r["text"] or "")[:_PG_MAX_TEXT],
            attachments=attached.get(r["document_id"], "")[:_PG_MAX_TEXT],
        )
    conn.execute(
        text(
            "INSERT INTO documents_fts_docs (document_id, version, site, section, published, updated, tsv) "
            "VALUES (:id, :version, :site, :section, :published, :updated, "
            "setweight(to_tsvector('danish', :title), 'A') || setweight(to_tsvector('danish', :lead), 'B') "
            "|| setweight(to_tsvector('danish', :text), 'D') || setweight(to_tsvector('danish', :attachments), 'D')) "
            "ON CONFLICT (document_id) DO UPDATE SET version = excluded.version, site = excluded.site, "
            "section = excluded.section, published = excluded.published, updated = excluded.updated, tsv = excluded.tsv"
        ),
        docs,
    )


def index_new_versions(
    conn: Connection,
    versions: list[dict[str, Any]],
    *,
    prepared: Mapping[int, tuple[str, str, str]] | None = None,
) -> None:
    """Index versions just written in the writer's transaction (the last one per document wins).

    On a fresh archive this creates the index; when the index is missing or outdated it does
    nothing, and the next search rebuilds it.

    Args:
        conn: the writer's connection, inside its transaction.
        versions: the version rows just inserted (``document_id``, ``version``, ``title``, …).
        prepared: by document id, the stems of title, lead and text already computed (by
            :func:`index_terms`, in an extraction worker); the others are stemmed here.
    """
    if not versions:
        return
    state = _state(conn)
    if state is None or state.get("format") != INDEX_FORMAT:
        total = conn.scalar(text("SELECT count(*) FROM versions"))
        if total != len(versions):
            return  # an archive with older, unindexed versions: ensure_index rebuilds it all
        _create(conn)
        state = {"format": INDEX_FORMAT, "signature": "0" if _is_sqlite(conn) else ""}
    latest = {v["document_id"]: v for v in versions}
    params = {f"d{i}": d for i, d in enumerate(latest)}
    where = ", ".join(f":{k}" for k in params)
    docs = {
        doc_id: (url, key)
        for doc_id, url, key in conn.execute(
            text(
                f"SELECT d.id, d.url, s.key FROM documents d JOIN sites s ON s.id = d.site_id WHERE d.id IN ({where}) "
                f"AND {_VISIBLE}"
            ),
            params,
        )
    }
    rows = [
        {**v, "url": docs[doc_id][0], "site": docs[doc_id][1]} for doc_id, v in sorted(latest.items()) if doc_id in docs
    ]
    _index_rows(conn, rows, DanishAnalyzer(), prepared=prepared)
    if _is_sqlite(conn):
        # Under the write lock the new ids follow the old maximum: when the index had read
        # everything before this batch, it has now read everything.
        head = int(conn.scalar(text("SELECT coalesce(max(id), 0) FROM versions")) or 0)
        if state.get("signature") == str(head - len(versions)):
            _set(conn, "signature", str(head))


def drop_documents(conn: Connection, ids: list[int]) -> None:
    """Take documents out of the index (a suppression), in the caller's transaction.

    Args:
        conn: a connection inside a write transaction.
        ids: document ids.
    """
    state = _state(conn)
    if state is None or not ids:
        return
    params = [{"id": i} for i in ids]
    if _is_sqlite(conn):
        conn.execute(text("DELETE FROM documents_fts WHERE rowid = :id"), params)
    conn.execute(text("DELETE FROM documents_fts_docs WHERE document_id = :id"), params)


def reindex_documents(conn: Connection, ids: list[int]) -> None:
    """Put documents (back) into the index from their latest versions, skipping suppressed ones.

    Args:
        conn: a connection inside a write transaction.
        ids: document ids.
    """
    state = _state(conn)
    if state is None or state.get("format") != INDEX_FORMAT or not ids:
        return  # no index yet, or an outdated one: the next search builds it whole
    params = {f"d{i}": d for i, d in enumerate(ids)}
    where = ", ".join(f":{k}" for k in params)
    rows = [dict(r._mapping) for r in conn.execute(text(_LATEST + f"WHERE d.id IN ({where}) AND {_VISIBLE}"), params)]
    _index_rows(conn, rows, DanishAnalyzer())


def _sync(archive: Archive, analyzer: DanishAnalyzer) -> int:
    """Index every document whose latest version the index does not hold yet; chunked commits."""
    after, done = 0, 0
    while True:
        with archive.engine.execution_options(koege_write=True).begin() as conn:
            if not _is_sqlite(conn):
                conn.execute(text("SELECT pg_advisory_xact_lock(7231001)"))
            ids = list(
                conn.scalars(
                    text(
                        "SELECT d.id FROM documents d LEFT JOIN documents_fts_docs x ON x.document_id = d.id "
                        f"WHERE d.id > :after AND d.latest_version > 0 AND {_VISIBLE} "
                        "AND (x.document_id IS NULL OR x.version <> d.latest_version) ORDER BY d.id LIMIT :n"
                    ),
                    {"after": after, "n": _CHUNK},
                )
            )
            if not ids:
                return done
            params = {f"d{i}": d for i, d in enumerate(ids)}
            where = ", ".join(f":{k}" for k in params)
            rows = [dict(r._mapping) for r in conn.execute(text(_LATEST + f"WHERE d.id IN ({where})"), params)]
            _index_rows(conn, rows, analyzer)
            after, done = ids[-1], done + len(ids)


def _needs(archive: Archive) -> tuple[str, str] | None:
    """What the index needs: ("build", why) or ("sync", signature), or None when current."""
    with archive.engine.connect() as conn:
        state = _state(conn)
        if state is None:
            return "build", "there is no search index yet"
        if state.get("format") != INDEX_FORMAT:
            return "build", "the search index was made by another version of koege-archive"
        signature = _signature(conn)
        return None if state.get("signature") == signature else ("sync", signature)


def rebuild_index(archive: Archive, *, notify: Callable[[str], None] | None = None) -> int:
    """Drop the index and build it again from the latest version of every document.

    Args:
        archive: the open archive.
        notify: called with a progress message for people (default: the module logger).

    Returns:
        The number of documents indexed.
    """
    say = notify or logger.warning
    with archive.engine.execution_options(koege_write=True).begin() as conn:
        count = conn.scalar(text("SELECT count(*) FROM documents WHERE latest_version > 0"))
        signature = _signature(conn)
        _create(conn)
    say(f"Building the search index of {count:,} documents (Danish stems); this happens once …")
    done = _sync(archive, DanishAnalyzer())
    with archive.engine.execution_options(koege_write=True).begin() as conn:
        _set(conn, "signature", signature)
    say(f"Search index ready: {done:,} documents.")
    return done


def ensure_index(archive: Archive, *, notify: Callable[[str], None] | None = None) -> None:
    """Make the index current: build it when missing or outdated, add unindexed versions.

    Cheap when nothing changed (two small queries). Safe to call before every search.

    Args:
        archive: the open archive.
        notify: called with a message for people when a build starts (default: the logger).
    """
    need = _needs(archive)
    if need is None:
        return
    kind, detail = need
    if kind == "build":
        (notify or logger.warning)(f"{detail[0].upper()}{detail[1:]}.")
        rebuild_index(archive, notify=notify)
        return
    done = _sync(archive, DanishAnalyzer())
    with archive.engine.execution_options(koege_write=True).begin() as conn:
        _set(conn, "signature", detail)
    if done > 1000:
        (notify or logger.warning)(f"Added {done:,} documents to the search index.")
