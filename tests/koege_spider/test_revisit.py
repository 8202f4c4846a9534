"""The revisit policy: what a recrawl asks for again, and with which validators."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from archive.lifecycle import PageState
from koege_spider.revisit import (
    RevisitPolicy,
    Verdict,
    conditional_headers,
    decide,
    keep_paginating,
    lastmod_end,
    parse_since,
)

TZ = ZoneInfo("Europe/Copenhagen")
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
URL = "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/x"


def _known(checked: dt.datetime | None = NOW - dt.timedelta(hours=2), **kw: object) -> PageState:
    fields: dict[str, object] = {
        "document_id": 7,
        "url": URL,
        "etag": '"abc"',
        "last_modified": "Tue, 10 Jun 2025 07:00:00 GMT",
        "sitemap_lastmod": None,
        "payload_digest": "d" * 64,
        "last_checked": checked,
        "removed": False,
        "published": "2025-06-10",
    }
    fields.update(kw)
    return PageState(**fields)  # type: ignore[arg-type]


def _decide(known: PageState | None, policy: RevisitPolicy | None = None, **kw: object) -> str:
    return decide(known, now=NOW, policy=policy or RevisitPolicy(), tz=TZ, **kw).reason  # type: ignore[arg-type]


def test_new_urls_are_always_fetched() -> None:
    assert _decide(None) == "new"
    assert _decide(None, listing_page=40) == "new"


def test_a_recently_checked_article_is_left_alone_unless_there_is_a_reason() -> None:
    known = _known()
    assert _decide(known, listing_page=5) == "not_due"
    assert _decide(known) == "not_due"
    # The front of a listing is where new and corrected news shows.
    assert _decide(known, listing_page=1) == "fresh"
    assert _decide(known, RevisitPolicy(fresh_pages=3), listing_page=3) == "fresh"


def test_due_articles_are_checked_and_zero_hours_checks_everything() -> None:
    assert _decide(_known(NOW - dt.timedelta(hours=25)), listing_page=9) == "due"
    assert _decide(_known(None)) == "due"
    assert _decide(_known(), RevisitPolicy(revisit_after=dt.timedelta(0)), listing_page=9) == "due"


def test_disabled_recrawl_fetches_every_known_article() -> None:
    assert _decide(_known(), RevisitPolicy(enabled=False), listing_page=9) == "always"


@pytest.mark.parametrize(
    ("lastmod", "stored", "expected"),
    [
        # The same lastmod as when the page was last fetched: unchanged, whatever the clock says.
        ("2026-11-27", "2026-11-27", "lastmod_unchanged"),
        # A day before the last check: unchanged.
        ("2026-11-26", None, "lastmod_unchanged"),
        # A bare day is read as its last second: a page modified later that day may be newer.
        ("2026-11-27", None, "lastmod"),
        ("2026-11-27T09:00:00Z", None, "lastmod_unchanged"),
        ("2026-11-27T11:30:00+00:00", None, "lastmod"),
        # No offset: the site's time zone (13:30 in Copenhagen is 12:30 UTC, after the check).
        ("2026-11-27T13:30:00", None, "lastmod"),
        ("2026-11-20", "2026-11-19", "lastmod_unchanged"),
        ("2026-11-28", "2026-11-19", "lastmod"),
        ("gibberish", None, "lastmod"),
    ],
)
def test_sitemap_lastmod_decides_between_checks(lastmod: str, stored: str | None, expected: str) -> None:
    known = _known(NOW - dt.timedelta(hours=2), sitemap_lastmod=stored)
    assert _decide(known, lastmod=lastmod) == expected


def test_lastmod_end_reads_w3c_dates() -> None:
    assert lastmod_end("2024-03-01", TZ) == dt.datetime(2024, 3, 1, 22, 59, 59, tzinfo=dt.UTC)
    assert lastmod_end("2024-02", TZ) == dt.datetime(2024, 2, 29, 22, 59, 59, tzinfo=dt.UTC)
    assert lastmod_end("2024-03-01T10:15:00+01:00", TZ) == dt.datetime(2024, 3, 1, 9, 15, tzinfo=dt.UTC)
    assert lastmod_end("2024-13-01", TZ) is None and lastmod_end("yesterday", TZ) is None


def test_since_leaves_articles_known_to_be_older_alone() -> None:
    policy = RevisitPolicy(since=dt.date(2024, 1, 1))
    assert _decide(None, policy, url_month=(2021, 12)) == "older_than_since"
    assert _decide(None, policy, url_month=(2024, 1)) == "new"
    assert _decide(None, policy, lastmod="2023-12-31") == "older_than_since"
    assert _decide(None, policy, lastmod="2024-01-01") == "new"
    assert _decide(_known(published="2023-05-02"), policy, listing_page=1) == "older_than_since"
    assert _decide(_known(published="2024-05-02"), policy, listing_page=1) == "fresh"
    assert _decide(None, policy) == "new"  # nothing known: fetch, the dates pipeline decides


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2024", dt.date(2024, 1, 1)), ("2024-03", dt.date(2024, 3, 1)), ("2024-03-05", dt.date(2024, 3, 5)), ("", None)],
)
def test_since_accepts_year_month_day(value: str, expected: dt.date | None) -> None:
    assert parse_since(value) == expected


@pytest.mark.parametrize("bad", ["2024-13", "24-03-01", "i går", "2024-02-30"])
def test_since_refuses_what_is_not_a_date(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY"):
        parse_since(bad)


def test_pagination_stops_at_a_page_with_nothing_new_or_due() -> None:
    fresh, new, due = Verdict("fresh"), Verdict("new"), Verdict("due")
    assert keep_paginating([fresh, fresh, new], walked_before=True)
    assert keep_paginating([fresh, due], walked_before=True)
    assert not keep_paginating([fresh, Verdict("not_due")], walked_before=True)
    # Until one run has walked every listing to its end, never stop early.
    assert keep_paginating([fresh, Verdict("not_due")], walked_before=False)
    # A page of articles all older than --since ends the walk either way.
    old = Verdict("older_than_since")
    assert not keep_paginating([old, old], walked_before=False)


def test_conditional_headers_come_from_the_last_capture() -> None:
    assert conditional_headers(_known()) == {
        "If-None-Match": '"abc"',
        "If-Modified-Since": "Tue, 10 Jun 2025 07:00:00 GMT",
    }
    assert conditional_headers(_known(etag=None, last_modified=None)) == {}
    assert conditional_headers(_known(alias_of=URL + "-ny")) == {}
    assert conditional_headers(None) == {}
