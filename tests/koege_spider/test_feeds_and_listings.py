"""Feeds (RSS, Atom, announced feeds) and the listings beyond link pages (cards, JSON, POST, {year})."""

from __future__ import annotations

import datetime as dt
import json

from parsel import Selector
from scrapy.http import HtmlResponse

from koege_spider.feeds import feed_links, parse_feed
from koege_spider.listings import (
    JsonListingPage,
    card_links,
    choose_links,
    csrf_token,
    expand_years,
    json_listing_url,
    post_listing_body,
    post_listing_is_last,
)
from koege_spider.sites import load_profile
from koege_spider.urls import SiteUrls

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Nyheder</title>
<item><title>Ny bro over \xc3\xa5en</title><link> https://lejre.dk/alle-nyheder/ny-bro </link>
<pubDate>Tue, 06 Oct 2026 07:45:00 GMT</pubDate></item>
<item><title>Uden dato</title><guid>https://lejre.dk/alle-nyheder/uden-dato</guid></item>
<item><title>Dublin Core</title><link>https://lejre.dk/alle-nyheder/dc</link><dc:date>2026-09-30</dc:date></item>
<item><title>Intet link</title></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Nyheder</title>
<entry><title>Atom-nyhed</title><link rel="alternate" href="https://skive.dk/news/atom-nyhed"/>
<link rel="enclosure" href="https://skive.dk/billede.jpg"/><published>2026-10-01T10:00:00+02:00</published></entry>
</feed>"""


def test_rss_entries_with_links_and_dates() -> None:
    kind, entries = parse_feed(RSS)
    assert kind == "rss"
    assert [(e.link, e.date) for e in entries] == [
        ("https://lejre.dk/alle-nyheder/ny-bro", "2026-10-06T07:45:00+00:00"),
        ("https://lejre.dk/alle-nyheder/uden-dato", None),
        ("https://lejre.dk/alle-nyheder/dc", "2026-09-30"),
    ]
    assert entries[0].title == "Ny bro over åen"


def test_atom_entries() -> None:
    kind, entries = parse_feed(ATOM)
    assert kind == "atom"
    assert [(e.link, e.date) for e in entries] == [("https://skive.dk/news/atom-nyhed", "2026-10-01T10:00:00+02:00")]


def test_not_a_feed() -> None:
    assert parse_feed(b"<html><body>Access Denied</body></html>") == ("", [])
    assert parse_feed(b"") == ("", [])
    assert (
        parse_feed(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><rss>&e;</rss>')[1]
        == []
    )


def test_announced_feeds_are_found() -> None:
    page = HtmlResponse(
        "https://solrod.dk/aktuelt/nyheder",
        body=b"""<html><head>
        <link rel="alternate" type="application/rss+xml" href="/aktuelt/nyheder/rss">
        <link rel="Alternate" type="application/atom+xml; charset=utf-8" href="https://solrod.dk/atom">
        <link rel="alternate" hreflang="en" href="/en">
        <link rel="stylesheet" type="text/css" href="/x.css"></head></html>""",
        encoding="utf-8",
    )
    assert feed_links(page) == ["https://solrod.dk/aktuelt/nyheder/rss", "https://solrod.dk/atom"]


def test_year_listings_expand_to_this_year_and_the_ones_before() -> None:
    today = dt.date(2026, 3, 1)
    assert expand_years(("/nyheder/{year}", "/presse"), 2, today) == ["/nyheder/2026", "/nyheder/2025", "/presse"]
    assert expand_years(("/nyheder/{year}",), 1, today) == ["/nyheder/2026"]


def test_herlev_lists_its_news_per_year() -> None:
    herlev = load_profile("herlev")
    assert expand_years(herlev.discovery.listings, herlev.discovery.listing_years, dt.date(2026, 5, 1)) == [
        "/nyheder",
        "/nyheder/2026",
        "/nyheder/2025",
    ]


def test_cards_give_links_and_dates_and_replace_the_page_links() -> None:
    esbjerg = load_profile("esbjerg")
    urls = SiteUrls.for_profile(esbjerg)
    html = Selector(
        text="""<header><a href="/pressemeddelelse/1/om-os">Om</a></header>
        <article><a href="/pressemeddelelse/22/a?publisherId=1"><h2>A <small>1.9.2026 10:00</small></h2></a></article>
        <article><a href="/nyhedsrum/x">Ikke en udgivelse</a></article>"""
    )
    cards = card_links(html, "https://via.ritzau.dk/nyhedsrum/13560064/esbjerg-kommune/r", urls, esbjerg.listing)
    assert cards == [("https://via.ritzau.dk/pressemeddelelse/22/a", "1.9.2026 10:00")]
    generic = ["https://via.ritzau.dk/pressemeddelelse/1/om-os", "https://via.ritzau.dk/pressemeddelelse/22/a"]
    assert choose_links(generic, cards) == cards
    assert choose_links(generic, []) == [(u, None) for u in generic]


def test_json_listing_pages() -> None:
    rules = load_profile("hilleroed").json_listing
    assert rules is not None
    assert json_listing_url("https://www.hillerod.dk/api/news-list", rules, 2) == (
        "https://www.hillerod.dk/api/news-list?nodeId=1125&tagId=0&page=2"
    )
    page = JsonListingPage.from_body(
        json.dumps(
            {"news": [{"url": "/a", "date": "2026-10-01"}, {"title": "no url"}, "junk"], "totalPages": 3}
        ).encode(),
        rules,
    )
    assert page is not None
    assert page.entries() == [("/a", "2026-10-01")]
    assert page.total_pages() == 3
    assert JsonListingPage.from_body(b"<html>", rules) is None


def test_posted_listing_pages() -> None:
    rules = load_profile("ikast-brande").post_listing
    assert rules is not None
    page = Selector(text='<form><input name="__RequestVerificationToken" value="tok-1"></form>')
    assert csrf_token(page, rules) == "tok-1"
    assert csrf_token(Selector(text="<p>no form</p>"), rules) is None
    body = json.loads(post_listing_body(rules, 2))
    assert body["page"] == 2 and body["currentPageId"] == "5245" and body["hideDate"] is False
    last = Selector(text="<div class='card' data-islast='true'><a href='/x'>x</a></div>")
    assert post_listing_is_last(last, rules)
    assert not post_listing_is_last(
        Selector(text="<div class='card' data-islast='false'><a href='/x'>x</a></div>"), rules
    )
    assert post_listing_is_last(Selector(text="<div></div>"), rules), "an empty answer ends the listing"
