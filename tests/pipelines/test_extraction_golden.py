"""Extraction quality on the koege.dk mirror: every article page against its expected row.

The expectations (tests/fixtures/koege_mirror_expected.json) were written from the site's
description, not from this code's output: title, lead, dates, who updated, contact, key body
sentences (FAKTA boxes, lists and tables included) and boilerplate that must be absent.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from koege_spider.sites import load_profile
from pipelines.extraction import extract_article
from tests.conftest import FIXTURES, MIRROR_ROOT

EXPECTED = json.loads((FIXTURES / "koege_mirror_expected.json").read_text(encoding="utf-8"))
ARTICLES = [e for e in EXPECTED if e["kind"] == "article"]
ROUTES = json.loads((MIRROR_ROOT / "routes.json").read_text(encoding="utf-8"))["routes"]
FETCHED = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
FIELDS = (
    "title",
    "lead",
    "published",
    "published_precision",
    "published_source",
    "updated",
    "updated_by",
    "contact",
)


def _page(url: str) -> str:
    parts = urlsplit(url)
    target = unquote(parts.path) + (f"?{parts.query}" if parts.query else "")
    return (MIRROR_ROOT / ROUTES[target]["file"]).read_text(encoding="utf-8")


@pytest.mark.parametrize("case", ARTICLES, ids=lambda e: e["url"].rsplit("/", 1)[-1][:60])
def test_article_matches_expected_row(case: dict[str, Any]) -> None:
    article = extract_article(_page(case["url"]), case["url"], fetched_at=FETCHED, profile=load_profile("koege"))
    assert article is not None
    got = {f: getattr(article, f) for f in FIELDS}
    assert got == {f: case[f] for f in FIELDS}
    whole = "\n".join(filter(None, (article.title, article.lead, article.text)))
    missing = [s for s in case["key_sentences"] if s not in whole]
    assert not missing, "key sentences missing"
    leaked = [s for s in case["absent"] if s in whole]
    assert not leaked, "boilerplate leaked"


def test_a_page_without_an_article_gives_none() -> None:
    case = next(e for e in EXPECTED if e["kind"] == "not_article")
    assert extract_article(_page(case["url"]), case["url"], profile=load_profile("koege")) is None


def test_the_corpus_covers_both_eras_and_every_date_source() -> None:
    assert {e["era"] for e in ARTICLES} == {"sitecore", "new"}
    assert {e["published_source"] for e in ARTICLES} >= {
        "dateline",
        "meta:cmspagecreated",
        "url",
        None,
    }
    assert len(ARTICLES) >= 30


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("05.02.18", True),
        ("Dato: 05. November 2019", True),
        ("Tirsdag den 16. april 2024 kl. 16.30", True),
        ("Publiceret 8. maj 2026 kl. 09.01", True),
        ("18-11-2021", True),
        ("Borgermøde den 24. juni 2021", False),
        ("13. marts", False),
        ("2022", False),
        ("Maj 2022", False),
    ],
)
def test_a_date_line_is_a_date_and_nothing_else(line: str, expected: bool) -> None:
    from pipelines.page_signals import is_dateline

    assert is_dateline(line) is expected
