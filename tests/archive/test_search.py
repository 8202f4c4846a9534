"""Danish full-text search as researchers use it, on SQLite (FTS5 over stems) and PostgreSQL (danish)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from archive.db import open_archive
from archive.fts import ensure_index
from archive.querylang import QueryError
from archive.search import SearchFilters, filter_values, month_counts, search, search_page
from tests.archive.corpus import build_corpus


@pytest.fixture(params=["sqlite", "postgresql"])
def corpus(request: pytest.FixtureRequest, archive_url: str):
    url = archive_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    ids = build_corpus(url)
    archive = open_archive(url)
    yield archive, ids
    archive.close()


def _found(archive, query: str, **kw) -> list[int]:
    return [h.id for h in search(archive, query, limit=50, **kw)]


def test_stemming_finds_other_inflections(corpus) -> None:
    archive, ids = corpus
    assert _found(archive, "vækstområdet") == [ids["vaekst"]]
    assert _found(archive, "delegationen") == [ids["delegation"]]
    assert _found(archive, "Kinas") == [ids["delegation"]]
    hit = search(archive, "vækstområdet")[0]
    # The snippet shows the word as the article wrote it, marked.
    assert "[vækstområder]" in hit.snippet


def test_compounds_need_a_prefix(corpus) -> None:
    archive, ids = corpus
    assert ids["affald"] in _found(archive, "affald*")
    assert ids["affald"] not in _found(archive, "affald")  # affaldsordningen is a compound
    assert "[affaldsordning]" in search(archive, "affald*")[0].snippet or any(
        "[Affaldsordningen]" in h.snippet or "[affaldsordning]" in h.snippet for h in search(archive, "affald*")
    )
    with pytest.raises(QueryError, match="at least two letters"):
        search(archive, "a*")


def test_danish_letters_stay_distinct(corpus) -> None:
    archive, ids = corpus
    assert _found(archive, "både") == [ids["baade"]]
    assert _found(archive, "bade") == [ids["bade"]]
    assert _found(archive, "søen") == [ids["bade"]]
    assert _found(archive, "soen") == []
    assert _found(archive, "ølby") == [ids["kommune-tekst"]]


def test_phrases_and_boolean_operators(corpus) -> None:
    archive, ids = corpus
    assert _found(archive, '"grøn vækst"') == [ids["vaekst"]]
    assert sorted(_found(archive, "grøn vækst")) == sorted([ids["vaekst"], ids["groen-spredt"]])
    assert sorted(_found(archive, "delegation OR vækstområder")) == sorted([ids["delegation"], ids["vaekst"]])
    assert sorted(_found(archive, "delegation ELLER vækstområder")) == sorted([ids["delegation"], ids["vaekst"]])
    assert _found(archive, "vækst NOT erhvervslivet") == [ids["vaekst"]]
    assert _found(archive, "vækst -erhvervslivet") == [ids["vaekst"]]
    assert _found(archive, "vækst IKKE erhvervslivet") == [ids["vaekst"]]
    assert sorted(_found(archive, "(delegation OR både) AND havnen")) == sorted([ids["delegation"], ids["baade"]])
    with pytest.raises(QueryError, match="only excludes"):
        search(archive, "NOT vækst")


def test_filters_by_site_section_and_dates(corpus) -> None:
    archive, ids = corpus
    assert sorted(_found(archive, "haveaffald")) == sorted([ids["affald"], ids["roskilde"]])
    assert _found(archive, "haveaffald", site="roskilde") == [ids["roskilde"]]
    assert _found(archive, "haveaffald", filters=SearchFilters(section="nyheder")) == [ids["affald"]]
    assert _found(archive, "haveaffald", since="2020") == [ids["roskilde"]]
    assert _found(archive, "haveaffald", until="2019-12") == [ids["affald"]]
    assert _found(archive, "haveaffald", filters=SearchFilters(updated_since="2019-04-01")) == [ids["affald"]]
    assert _found(archive, "haveaffald", filters=SearchFilters(updated_until="2019-03-31")) == []
    with pytest.raises(QueryError, match="not a date"):
        search(archive, "haveaffald", since="sidste år")
    sections = dict(filter_values(archive)["section"])
    assert sections["pressemeddelelser"] == 2 and sections["nyheder"] >= 6


def test_ranking_and_sorting(corpus) -> None:
    archive, ids = corpus
    # The title match (and more mentions) ranks above a single mention in the body.
    assert _found(archive, "kommunen")[:1] == [ids["kommune-titel"]]
    assert set(_found(archive, "kommunen")) >= {ids["kommune-titel"], ids["kommune-tekst"], ids["affald"]}
    newest = _found(archive, "kommunen", sort="newest")
    assert newest[:2] == [ids["kommune-tekst"], ids["kommune-titel"]]
    assert _found(archive, "kommunen", sort="oldest")[0] == ids["affald"]
    page = search_page(archive, "kommunen", limit=1, offset=1)
    assert page.total >= 3 and len(page.hits) == 1


def test_the_latest_version_is_searched(corpus) -> None:
    archive, ids = corpus
    assert _found(archive, "daginstitutioner") == [ids["budget"]]
    assert _found(archive, '"12 millioner"') == []
    assert search(archive, "daginstitutioner")[0].version == 2


def test_empty_query_lists_newest_and_months_count(corpus) -> None:
    archive, ids = corpus
    page = search_page(archive, "", SearchFilters(site="koege"))
    assert page.total == 10 and page.hits[0].id == ids["hostile"]
    months = month_counts(archive, "affald*")
    assert {"month": "2019-01", "count": 1} in months["months"]
    assert months["months"][0]["month"] == "2019-01" and months["months"][-1]["month"] == "2020-02"
    assert sum(m["count"] for m in months["months"]) == 2


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        '"unclosed phrase',
        "NEAR(",
        "NEAR(a b, 2)",
        "x' OR 1=1; DROP TABLE documents;--",
        "'; DELETE FROM versions; --",
        "documents_fts MATCH '*'",
        "title:affald",
        "^ ~ {} [] :* <-> !! && ||",
        ")))(((",
        "AND OR NOT",
        "*",
        "\x00\x01 affald",
        "🙂 affald*",
    ],
)
def test_any_query_text_is_safe(corpus, hostile: str) -> None:
    archive, _ids = corpus
    message = "ran"
    try:
        search(archive, hostile)
    except QueryError as exc:  # a message for people, never a database error
        message = str(exc)
    assert message
    assert _found(archive, "delegation")  # the index and the tables survived


def test_a_10_kb_query_gets_a_clear_message(corpus) -> None:
    archive, _ids = corpus
    with pytest.raises(QueryError, match="at most 2,000"):
        search(archive, "affald " * 1500)
    with pytest.raises(QueryError, match="at most 64"):
        search(archive, " ".join(f"ord{i}" for i in range(100)))


def test_an_outdated_index_is_rebuilt_with_a_message(archive_url: str) -> None:
    ids = build_corpus(archive_url)
    archive = open_archive(archive_url)
    try:
        with archive.engine.begin() as conn:
            conn.execute(text("UPDATE documents_fts_meta SET value = 'old-format' WHERE key = 'format'"))
        messages: list[str] = []
        assert [h.id for h in search(archive, "delegationen", notify=messages.append)] == [ids["delegation"]]
        assert any("another version" in m for m in messages) and any("Building the search index" in m for m in messages)
        # Versions written by another tool (not through the index) are picked up at the next search.
        with archive.engine.begin() as conn:
            conn.execute(text("DELETE FROM documents_fts_docs WHERE document_id = :d"), {"d": ids["delegation"]})
            conn.execute(text("DELETE FROM documents_fts WHERE rowid = :d"), {"d": ids["delegation"]})
            conn.execute(text("UPDATE documents_fts_meta SET value = '0' WHERE key = 'signature'"))
        assert [h.id for h in search(archive, "delegationen")] == [ids["delegation"]]
    finally:
        archive.close()


def test_a_fresh_archive_indexes_while_writing(archive_url: str) -> None:
    build_corpus(archive_url)
    archive = open_archive(archive_url)
    try:
        messages: list[str] = []
        ensure_index(archive, notify=messages.append)
        assert messages == []  # the writer kept the index current; nothing to build
    finally:
        archive.close()


def test_words_in_most_documents_come_newest_first(corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    archive, ids = corpus
    if not archive.is_sqlite:
        pytest.skip("PostgreSQL ranks every match with ts_rank")
    import sys

    monkeypatch.setattr(sys.modules["archive.search"], "COMMON_MIN", 1)
    page = search_page(archive, "kommunen")  # in 3 of 11 documents: over COMMON_SHARE
    assert page.ordered_by == "newest" and page.total == 3
    assert [h.id for h in page.hits] == [ids["kommune-tekst"], ids["kommune-titel"], ids["affald"]]
    assert search_page(archive, "delegation").ordered_by == "relevance"  # 1 of 11: ranked
    assert [h.id for h in search_page(archive, "kommunen", SearchFilters(until="2023-01")).hits] == [
        ids["kommune-titel"],
        ids["affald"],
    ]
