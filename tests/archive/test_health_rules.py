"""The health rules on plain figures: what counts as a sharp move, and what does not."""

from __future__ import annotations

import pytest

from archive.health import HealthRules, judge_site
from archive.runs import SiteFigures


def _usual(**kw: int) -> SiteFigures:
    base = {"pages": 120, "listings_read": 10, "listing_links": 200, "articles": 100, "missing_published": 2}
    return SiteFigures(site="koege", **{**base, **kw})


HISTORY = [_usual(), _usual(missing_published=4), _usual(pages=90, articles=60)]


def _figures(found: list) -> list[str]:
    return [f.figure for f in found]


def test_a_run_like_the_others_is_healthy() -> None:
    assert judge_site(_usual(missing_published=5), HISTORY) == []
    # A quiet recrawl: few articles (shares not judged), listings still linking articles.
    assert judge_site(_usual(pages=15, articles=2, missing_title=2), HISTORY) == []


def test_the_first_run_has_nothing_to_be_compared_with() -> None:
    assert judge_site(_usual(missing_title=100), []) == []


def test_missing_titles_dates_and_text_are_flagged() -> None:
    found = judge_site(_usual(missing_title=80, missing_published=60, missing_text=30), HISTORY)
    assert _figures(found) == ["missing_title", "missing_published", "missing_text"]
    assert found[0].message == "80% of 100 articles lack a title (usually 0%): a layout change?"
    assert found[1].usual == pytest.approx(2 / 60)  # the median of 2 %, 4 % and 2 of 60


def test_empty_listings_and_no_listings_are_flagged() -> None:
    found = judge_site(_usual(listings_empty=9, listing_links=3, articles=0), HISTORY)
    assert _figures(found) == ["listings_empty"]
    assert "90% of listing pages linked no article (usually 0%)" in found[0].message
    assert _figures(judge_site(_usual(listings_read=0, articles=0), HISTORY)) == ["listings_read"]
    assert _figures(judge_site(SiteFigures(site="koege"), HISTORY)) == ["pages"]


def test_many_404s_are_flagged_but_a_few_are_not() -> None:
    assert _figures(judge_site(_usual(pages=100, not_found=60), HISTORY)) == ["not_found"]
    assert judge_site(_usual(pages=10, not_found=4, articles=3), HISTORY) == []  # fewer than 5


def test_tolerances_are_settable() -> None:
    strict = HealthRules(share_rise=0.05)
    assert _figures(judge_site(_usual(missing_published=10), HISTORY, strict)) == ["missing_published"]
    assert judge_site(_usual(missing_published=10), HISTORY) == []
