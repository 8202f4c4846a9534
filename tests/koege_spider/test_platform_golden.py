"""Golden pages of every platform family: what discovery and extraction must read from them.

Each case is ``tests/fixtures/sites/<platform>/<case>/`` with ``page.html``, ``meta.json`` (url,
site, kind, fetched_at) and ``expected.json``, written from the survey's description of each
platform (KOEGE_SITE.md §0b, §0c, §2), not from this code's output. Articles are read twice: with
the site's profile (selector hints), and with no hints at all (``generic``), which must still find
the title, text and published date from the page's generic signals.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse

from koege_spider.feeds import feed_links
from koege_spider.listings import card_links, choose_links
from koege_spider.pages import ListingPage
from koege_spider.sites import load_profile
from koege_spider.urls import SiteUrls
from pipelines.article_dates import date_article
from pipelines.extraction import ExtractionRules, extract_article, extract_fields
from tests.conftest import FIXTURES

SITES = FIXTURES / "sites"
CASES = sorted(p.parent for p in SITES.glob("*/*/meta.json"))
PLATFORMS = sorted(p.name for p in SITES.iterdir() if p.is_dir())


def _load(case: Path) -> tuple[dict[str, Any], dict[str, Any], str]:
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return meta, expected, (case / "page.html").read_text(encoding="utf-8")


def _source_matches(got: str | None, want: str | None) -> bool:
    """``selector`` in expected.json stands for any profile selector (its XPath is long)."""
    return got == want or (got is not None and want is not None and got.startswith(want + ":"))


def _check_article(meta: dict[str, Any], expected: dict[str, Any], html: str) -> None:
    fetched = dt.datetime.fromisoformat(meta["fetched_at"])
    article = extract_article(html, meta["url"], fetched_at=fetched, profile=load_profile(meta["site"]))
    assert article is not None
    for name in ("title", "lead", "published", "published_precision", "updated"):
        assert getattr(article, name) == expected[name], name
    assert _source_matches(article.published_source, expected["published_source"])
    whole = "\n".join(filter(None, (article.title, article.lead, article.text)))
    assert [s for s in expected["key_sentences"] if s not in whole] == [], "key sentences missing"
    assert [s for s in expected["absent"] if s in whole] == [], "boilerplate leaked"

    page = extract_fields(html, meta["url"], ExtractionRules())
    assert page is not None, "generic extraction found no article"
    generic = date_article(page, fetched_at=fetched)
    assert generic.title == expected["title"]
    assert all(s in "\n".join(filter(None, (generic.lead, generic.text))) for s in expected["key_sentences"])
    assert generic.published == expected["generic"]["published"]
    assert _source_matches(generic.published_source, expected["generic"]["published_source"])


def _check_listing(meta: dict[str, Any], expected: dict[str, Any], html: str) -> None:
    profile = load_profile(meta["site"])
    urls = SiteUrls.for_profile(profile)
    response = HtmlResponse(meta["url"], body=html.encode("utf-8"), encoding="utf-8")
    page = ListingPage(response, urls, profile.discovery.pagination_params)
    cards = card_links(response.selector, response.url, urls, profile.listing)
    assert [u for u, _ in choose_links(page.article_links(), cards)] == expected["article_links"]
    assert page.next_pages() == expected["next_pages"]
    assert {u: d for u, d in cards if d} == expected["card_dates"]
    assert feed_links(response) == expected["feeds"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden_case(case: Path) -> None:
    meta, expected, html = _load(case)
    {"article": _check_article, "listing": _check_listing}[meta["kind"]](meta, expected, html)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_platform_has_a_listing_and_an_article_case(platform: str) -> None:
    kinds = {json.loads(p.read_text(encoding="utf-8"))["kind"] for p in (SITES / platform).glob("*/meta.json")}
    assert {"listing", "article"} <= kinds


def test_the_four_families_are_covered() -> None:
    assert {"moliri", "gopublic", "drupal", "ritzau"} <= set(PLATFORMS)
    platforms = {load_profile(json.loads(p.read_text())["site"]).platform for p in SITES.glob("moliri/*/meta.json")}
    assert platforms == {"Moliri"}, "the moliri cases are sites the survey puts on Køge's platform"
