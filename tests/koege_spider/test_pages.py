"""Page objects: listing links and pagination, article pages, firewalls and bad charsets."""

from __future__ import annotations

import datetime as dt

from scrapy.http import HtmlResponse, Request, Response

from koege_spider.pages import ArticlePage, ListingPage, SitemapPage, decode_html
from koege_spider.sites import load_profile
from koege_spider.urls import SiteUrls

PROFILE = load_profile("koege")
URLS = SiteUrls.for_profile(PROFILE, "http://127.0.0.1:8000")
LISTING = "http://127.0.0.1:8000/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder"
ARTICLE = LISTING + "/ny-skole-i-ejby"


def _html(url: str, body: str, headers: dict[str, str] | None = None) -> HtmlResponse:
    return HtmlResponse(url, body=body.encode("utf-8"), headers=headers or {"Content-Type": "text/html; charset=utf-8"})


def test_listing_finds_articles_once_and_its_next_pages() -> None:
    path = "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder"
    body = f"""
        <nav><a href="/borger">Borger</a><a href="{path}">Nyheder</a></nav>
        <a href="{path}/ny-skole-i-ejby">relativ</a>
        <a href="https://koege.dk{path}/ny-skole-i-ejby/?utm_source=x">variant</a>
        <a href="/Service/Nyheder/2019/01/Nu-kommer-de-nye-affaldsbeholdere.aspx#top">gammel</a>
        <a href="https://sn.dk{path}/x">andet site</a>
        <a href="mailto:presse@koege.dk">mail</a>
        <a href="?page=2" rel="next">Næste</a><a href="?page=3">3</a><a href="?sort=title">sorter</a>"""
    page = ListingPage(_html(LISTING, body), URLS, PROFILE.discovery.pagination_params)
    assert page.article_links() == [
        f"https://www.koege.dk{path}/ny-skole-i-ejby",
        "https://www.koege.dk/Service/Nyheder/2019/01/Nu-kommer-de-nye-affaldsbeholdere.aspx",
    ]
    assert page.next_pages() == [f"https://www.koege.dk{path}?page=2", f"https://www.koege.dk{path}?page=3"]


def test_article_page_builds_an_item_with_canonical_url() -> None:
    page = ArticlePage(_html(ARTICLE, "<html><body><h1>Ny skole</h1></body></html>"), URLS, "koege")
    assert page.skip_reason() is None
    item = page.item(fetched_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert item.canonical_url == ARTICLE.replace("http://127.0.0.1:8000", "https://www.koege.dk")
    assert item.url == ARTICLE and item.site == "koege" and item.http_status == 200
    assert item.headers["Content-Type"] == "text/html; charset=utf-8"


def test_firewall_access_denied_is_blocked_not_an_article() -> None:
    page = ArticlePage(_html(ARTICLE, "Access Denied"), URLS, "koege")
    assert page.skip_reason() == "blocked"


def test_non_html_and_non_article_responses_are_skipped() -> None:
    pdf = Response(ARTICLE, body=b"%PDF-1.4", headers={"Content-Type": "application/pdf"}, request=Request(ARTICLE))
    assert ArticlePage(pdf, URLS, "koege").skip_reason() == "not_html"
    home = _html("http://127.0.0.1:8000/borger", "<html><body><p>Borger</p></body></html>")
    assert ArticlePage(home, URLS, "koege").skip_reason() == "not_article_url"


def test_utf8_served_as_latin1_is_repaired() -> None:
    body = "<html><body><p>Kære borgere i Ærø og Køge</p></body></html>".encode()
    response = HtmlResponse(ARTICLE, body=body, headers={"Content-Type": "text/html; charset=iso-8859-1"})
    assert "KÃ¦re" in response.text
    text, encoding = decode_html(response)
    assert "Kære borgere i Ærø og Køge" in text and encoding == "utf-8"


def test_sitemaps_gzipped_or_garbage() -> None:
    import gzip

    xml = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://www.koege.dk/a</loc></url></urlset>'
    plain = Response("http://127.0.0.1:8000/sitemap.xml", body=xml)
    zipped = Response("http://127.0.0.1:8000/sitemap.xml.gz", body=gzip.compress(xml))
    assert SitemapPage(plain, 10**6).entries() == ("urlset", ["https://www.koege.dk/a"])
    assert SitemapPage(zipped, 10**6).entries() == ("urlset", ["https://www.koege.dk/a"])
    assert SitemapPage(Response("http://127.0.0.1:8000/x", body=b"\x00garbage"), 10**6).entries() == ("", [])
