"""URL identity for recrawls: one key per article, rel=canonical only when it can be trusted."""

from __future__ import annotations

import datetime as dt

from scrapy.http import HtmlResponse, Request

from koege_spider.pages import ArticlePage
from koege_spider.sites import load_profile
from koege_spider.urls import CanonicalVotes, SiteUrls

PROFILE = load_profile("koege")
URLS = SiteUrls.for_profile(PROFILE)
NEWS = "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder"
ARTICLE = NEWS + "/ny-affaldsordning-med-ti-fraktioner-fra-2022"
PRESS = "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/pressemeddelelser"


def _page(url: str, canonical: str | None, *, votes: CanonicalVotes, redirects: list[str] | None = None) -> ArticlePage:
    link = f'<link href="{canonical}" rel="canonical">' if canonical else ""
    body = f"<html><head><title>x</title>{link}</head><body><p>tekst</p></body></html>"
    request = Request(url, meta={"redirect_urls": redirects} if redirects else {})
    response = HtmlResponse(url, body=body.encode(), encoding="utf-8", request=request)
    return ArticlePage(response, URLS, "koege", votes=votes)


def test_five_variants_of_an_article_are_one_key() -> None:
    votes = CanonicalVotes()
    variants = [
        (
            "http://koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/"
            "ny-affaldsordning-med-ti-fraktioner-fra-2022/",
            None,
            None,
        ),
        (ARTICLE.replace("www.koege.dk", "WWW.KOEGE.DK") + "?utm_source=nyhedsbrev&fbclid=abc#fakta", None, None),
        (ARTICLE, None, ["https://www.koege.dk/Service/Nyheder/2021/11/Ny-affaldsordning-med-ti-fraktioner.aspx"]),
        (PRESS + "/ny-affaldsordning-med-ti-fraktioner-fra-2022", ARTICLE, None),
        (
            "https://www.etk.koege.dk/om-koege-kommune/presse-og-kommunikation/aktuelle-nyheder-og-pressemeddelser/"
            "ny-affaldsordning-med-ti-fraktioner-fra-2022",
            "/om-koege-kommune/presse-og-kommunikation/nyheder-og-"
            "aktuelt/nyheder/ny-affaldsordning-med-ti-fraktioner-fra-2022",
            None,
        ),
    ]
    pages = [_page(url, canonical, votes=votes, redirects=redirects) for url, canonical, redirects in variants]
    assert {p.canonical_url for p in pages} == {ARTICLE}
    assert pages[2].aliases == [
        ("https://www.koege.dk/Service/Nyheder/2021/11/Ny-affaldsordning-med-ti-fraktioner.aspx", "redirect")
    ]
    assert pages[3].aliases == [(PRESS + "/ny-affaldsordning-med-ti-fraktioner-fra-2022", "rel_canonical")]
    item = pages[3].item(fetched_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert item.canonical_url == ARTICLE and item.aliases == pages[3].aliases


def test_rel_canonical_is_ignored_when_it_cannot_be_trusted() -> None:
    votes = CanonicalVotes(max_shared=3)
    own = PRESS + "/budget-2025"
    # The home page, a listing, another site: not an article of this site.
    for declared in ("https://www.koege.dk/", NEWS, "https://sn.dk/koege/artikel/1"):
        assert _page(own, declared, votes=votes).canonical_url == own
    # A template pointing every page at one article: trusted for the first few pages only.
    target = NEWS + "/forside-nyhed"
    found = [_page(f"{PRESS}/nyhed-{n}", target, votes=votes).canonical_url for n in range(6)]
    assert found[:3] == [target] * 3 and found[3:] == [f"{PRESS}/nyhed-{n}" for n in range(3, 6)]
