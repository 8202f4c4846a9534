"""The query language: lenient parsing, and any text renders to a query FTS5 accepts."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.analysis import DanishAnalyzer, section_of
from archive.querylang import And, Not, Or, Phrase, QueryError, Term, parse_query, to_fts5


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("affald", Term("affald")),
        ("Affald*", Term("affald", prefix=True)),
        ('"grøn vækst"', Phrase(("grøn", "vækst"))),
        ("grøn vækst", And((Term("grøn"), Term("vækst")))),
        ("a1 OR b2", Or((Term("a1"), Term("b2")))),
        ("a1 ELLER b2 c3", Or((Term("a1"), And((Term("b2"), Term("c3")))))),
        ("vækst -erhverv", And((Term("vækst"), Not(Term("erhverv"))))),
        ("Køge-Bugt", Phrase(("køge", "bugt"))),
        ("(a1 OR b2) c3", And((Or((Term("a1"), Term("b2"))), Term("c3")))),
        ("a1 AND", Term("a1")),
        (")a1(", Term("a1")),
        ('"open phrase', Phrase(("open", "phrase"))),
        ("NEAR(a1", And((Term("near"), Term("a1")))),
        ("or", Term("or")),  # lower case words are words
    ],
)
def test_parse(query: str, tree: object) -> None:
    assert parse_query(query) == tree


@pytest.mark.parametrize("query", ["", "   ", "***", "()", "AND OR", '""'])
def test_nothing_to_search_for(query: str) -> None:
    with pytest.raises(QueryError, match="no word"):
        parse_query(query)


def test_sections_come_from_the_url_folder() -> None:
    assert section_of("https://www.koege.dk/Service/Nyheder/2018/02/X.aspx") == "nyheder"
    assert section_of("https://www.koege.dk/om/presse/pressemeddelelser/slug") == "pressemeddelelser"
    assert section_of("https://www.koege.dk/slug") is None


@pytest.fixture(scope="module")
def fts() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize = 'unicode61 remove_diacritics 0')")
    conn.execute("INSERT INTO t VALUES ('affald vækst grøn')")
    return conn


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_a_message_or_a_valid_fts5_query(fts: sqlite3.Connection, query: str) -> None:
    try:
        node = parse_query(query)
    except QueryError:
        return
    fts.execute("SELECT count(*) FROM t WHERE t MATCH ?", (to_fts5(node, DanishAnalyzer()),)).fetchone()


@pytest.mark.parametrize(
    "name",
    ["archive.analysis", "archive.querylang", "archive.fts", "archive.search", "archive.export_files", "archive.web"],
)
def test_search_layer_public_names(name: str) -> None:
    import importlib

    module = importlib.import_module(name)
    assert module.__all__ and all(hasattr(module, n) and not n.startswith("_") for n in module.__all__)
