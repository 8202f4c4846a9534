"""Politeness components as plain values: robots.txt readings, Retry-After, budgets, slots."""

from __future__ import annotations

import datetime as dt

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler

from koege_spider.budget import Budget, BudgetExhausted, SiteBudgetMiddleware
from koege_spider.pacing import PacingMiddleware, parse_retry_after
from koege_spider.robots import robots_rules_for_status
from koege_spider.sites import load_profile
from koege_spider.spiders.news import NewsSpider

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("status", "verdict", "rules"),
    [
        (200, "ok", b"User-agent: *\nDisallow: /soeg\n"),
        (404, "absent", b""),
        (410, "absent", b""),
        (500, "unavailable", b"User-agent: *\nDisallow: /\n"),
        (503, "unavailable", b"User-agent: *\nDisallow: /\n"),
    ],
)
def test_robots_txt_is_read_as_rfc_9309_says(status: int, verdict: str, rules: bytes) -> None:
    assert robots_rules_for_status(status, b"User-agent: *\nDisallow: /soeg\n") == (rules, verdict)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Fri, 27 Nov 2026 12:00:30 GMT", 30.0),
        ("Fri, 27 Nov 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_is_seconds_or_a_date(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def _budget_middleware(settings: dict[str, object], clock: list[float]) -> SiteBudgetMiddleware:
    crawler = get_crawler(NewsSpider, settings_dict={"KOEGE_BUDGET_ENABLED": True, **settings})
    crawler.spider = NewsSpider(site="solroed,koege")
    middleware = SiteBudgetMiddleware.from_crawler(crawler)
    middleware._clock = lambda: clock[0]
    return middleware


def _request(site: str, n: int) -> Request:
    return Request(f"https://example.invalid/{n}", meta={"koege_site": site})


def test_a_site_stops_at_its_page_budget_and_the_others_go_on() -> None:
    clock = [0.0]
    mw = _budget_middleware({"KOEGE_BUDGET_MAX_PAGES": 3, "KOEGE_BUDGET_MAX_MINUTES": 60}, clock)
    for n in range(3):
        mw.process_request(_request("solroed", n))
    with pytest.raises(BudgetExhausted) as refused:
        mw.process_request(_request("solroed", 4))
    assert refused.value.koege_reason == "budget_pages"
    mw.process_request(_request("koege", 1))
    mw.process_request(Request("https://example.invalid/robots.txt"))  # not a site's request
    assert mw.crawler.stats.get_value("koege/budget/exhausted/solroed") == "pages"


def test_a_site_stops_when_its_minutes_are_spent() -> None:
    clock = [100.0]
    mw = _budget_middleware({"KOEGE_BUDGET_MAX_PAGES": 1000, "KOEGE_BUDGET_MAX_MINUTES": 2}, clock)
    mw.process_request(_request("solroed", 1))
    clock[0] += 119
    mw.process_request(_request("solroed", 2))
    clock[0] += 2
    with pytest.raises(BudgetExhausted) as refused:
        mw.process_request(_request("solroed", 3))
    assert refused.value.koege_reason == "budget_time"


def test_a_profile_budget_applies_unless_the_command_line_says_otherwise() -> None:
    default = Budget(25000, 720)
    profile = load_profile("koege")
    assert Budget.for_profile(profile, default) == default
    from dataclasses import replace

    tight = replace(profile, politeness=replace(profile.politeness, max_pages=50, max_minutes=5.0))
    assert Budget.for_profile(tight, default) == Budget(50, 5.0)
    assert Budget.for_profile(tight, default, override=Budget(10, 0)) == Budget(10, 5.0)


def test_one_download_slot_per_municipality_across_its_alias_hosts() -> None:
    spider = NewsSpider(site="koege,greve")
    urls = [
        ("koege", "https://www.koege.dk/om-koege-kommune"),
        ("koege", "http://etk.koege.dk/Service/Nyheder/2021/06/x.aspx"),
        ("koege", "https://akutlinjen.dk/"),
        ("greve", "https://greve.dk/nyheder"),
        ("greve", "https://via.ritzau.dk/pressemeddelelse/1/x"),
    ]
    slots = {
        site: {spider._request(site, url, None, None).meta["download_slot"] for s, url in urls if s == site}
        for site, _ in urls
    }
    assert slots == {"koege": {"koege"}, "greve": {"greve"}}


def test_a_command_line_delay_replaces_crawl_delay_too() -> None:
    def built(cmdline: dict[str, str]) -> PacingMiddleware:
        crawler = get_crawler(
            NewsSpider, settings_dict={"KOEGE_PACING_ENABLED": True, "KOEGE_PACING_CRAWL_DELAY_MAX": 60}
        )
        crawler.settings.frozen = False
        crawler.settings.setdict(cmdline, priority="cmdline")
        return PacingMiddleware.from_crawler(crawler)

    assert built({}).crawl_delay_max == 60.0
    assert built({"DOWNLOAD_DELAY": "0"}).crawl_delay_max == 0.0
