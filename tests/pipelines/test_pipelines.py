"""Pipeline components built from a crawler, fed items directly; outcomes counted in stats."""

from __future__ import annotations

import datetime as dt

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from archive.store import KnownDocument
from koege_spider.items import ArticleItem
from koege_spider.spiders.news import NewsSpider
from pipelines.article_dates import DanishDatePipeline, choose_date
from pipelines.dedup import classify
from pipelines.extraction import ExtractionPipeline

FETCHED = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
URL = "https://www.koege.dk/Service/Nyheder/2018/02/Groen-vaekst.aspx"


def _item(html: str = "") -> ArticleItem:
    return ArticleItem(URL, URL, "koege", FETCHED, 200, html, html.encode())


def _crawler(**settings: object):
    from koege_spider import settings as project

    values = {k: getattr(project, k) for k in dir(project) if k.isupper() and k.startswith("KOEGE_")}
    crawler = get_crawler(NewsSpider, settings_dict={**values, "KOEGE_EXTRACTION_WORKERS": 0, **settings})
    crawler.stats.open_spider()
    return crawler


def test_dates_pipeline_prefers_the_first_readable_candidate_and_counts() -> None:
    crawler = _crawler()
    pipeline = DanishDatePipeline.from_crawler(crawler)
    item = _item()
    item.published_candidates = [("meta:cmspagecreated", "ikke en dato"), ("dateline", "05.02.18"), ("url", "2018-02")]
    item.updated_candidates = [("updated_line", "01.05.18")]
    pipeline.process_item(item)
    assert (item.published, item.published_precision, item.published_source, item.published_raw) == (
        "2018-02-05",
        "day",
        "dateline",
        "05.02.18",
    )
    assert item.updated == "2018-05-01"
    assert crawler.stats.get_value("koege/dates/published/dateline") == 1


def test_no_date_stays_unknown_rather_than_guessed() -> None:
    assert choose_date([], fetched_at=FETCHED) is None
    # A "published" date years after the fetch is a misreading.
    assert choose_date([("meta:cmspagecreated", "2031-01-01 10.00")], fetched_at=FETCHED) is None
    summer = choose_date([("meta:cmspagecreated", "2022-06-22 10.15")], fetched_at=FETCHED)
    assert summer is not None and summer.value == "2022-06-22T10:15:00+02:00" and summer.precision == "minute"
    winter = choose_date([("meta:cmspagecreated", "2023-03-14 09:05:33")], fetched_at=FETCHED)
    assert winter is not None and winter.value == "2023-03-14T09:05:00+01:00"
    month = choose_date([("url", "2019-11")], fetched_at=FETCHED)
    assert month is not None and (month.value, month.precision) == ("2019-11", "month")


def test_dedup_classification() -> None:
    known = {URL: KnownDocument(id=1, content_hash="a", version=1)}
    owners = {"a": URL}
    assert classify(URL, "a", known=known, owners=owners) == ("unchanged", None)
    assert classify(URL, "b", known=known, owners=owners) == ("changed", None)
    assert classify(URL + "2", "a", known=known, owners=owners) == ("duplicate", URL)
    assert classify(URL + "2", "c", known=known, owners=owners) == ("new", None)


def test_extraction_pipeline_drops_a_page_without_an_article() -> None:
    import asyncio

    crawler = _crawler()
    pipeline = ExtractionPipeline.from_crawler(crawler)
    pipeline.open_spider()
    try:
        with pytest.raises(DropItem, match="no_article"):
            asyncio.run(
                pipeline.process_item(
                    _item("<html><body><h1>Arkiv</h1><ul><li><a href='/a'>Nyheder</a></li></ul></body></html>")
                )
            )
        assert crawler.stats.get_value("koege/extraction/dropped/no_article") == 1
        body = "<p>" + " ".join(["Køge Kommune åbner en ny skole i Ejby til august."] * 5) + "</p>"
        item = asyncio.run(pipeline.process_item(_item(f"<html lang='da'><body><h1>Ny skole</h1>{body}</body></html>")))
        assert item.title == "Ny skole" and item.language == "da" and item.fingerprint
    finally:
        pipeline.close_spider()
