"""URL identity: one archive key per article, whatever variant or alias host links to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from koege_spider.urls import SiteUrls, canonicalize, is_article_url

if TYPE_CHECKING:
    from koege_spider.sites import SiteProfile

NEW = (
    "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/ny-affaldsordning-i-2025"
)
OLD = "https://www.koege.dk/Service/Nyheder/2021/12/Nyt-fra-byraadets-moede-den-21,-d-,-december-2021.aspx"


@pytest.mark.parametrize(
    "variant",
    [
        NEW,
        NEW + "/",
        NEW + "#indhold",
        NEW + "?utm_source=nyhedsbrev&utm_medium=email",
        NEW + "?fbclid=abc123",
        NEW.replace("https://www.", "https://"),
        NEW.replace("https://", "http://"),
        NEW.replace("www.koege.dk", "WWW.KOEGE.DK"),
    ],
)
def test_variants_of_a_new_site_article_share_one_key(variant: str, koege_profile: SiteProfile) -> None:
    assert canonicalize(variant, koege_profile) == NEW


@pytest.mark.parametrize(
    "variant",
    [
        OLD,
        OLD.replace("https://www.koege.dk", "http://www.etk.koege.dk"),
        OLD.replace("https://www.koege.dk", "https://koege.dk"),
        OLD + "?utm_campaign=x",
    ],
)
def test_sitecore_alias_hosts_map_to_the_canonical_host(variant: str, koege_profile: SiteProfile) -> None:
    assert canonicalize(variant, koege_profile) == OLD


def test_sitecore_dot_slug_is_kept_as_is(koege_profile: SiteProfile) -> None:
    assert ",-d-," in canonicalize(OLD, koege_profile)


def test_other_sites_keep_their_host(koege_profile: SiteProfile) -> None:
    assert (
        canonicalize("https://sn.dk/Koege/artikel/1?utm_source=x#a", koege_profile) == "https://sn.dk/Koege/artikel/1"
    )


def test_meaningful_query_parameters_stay(koege_profile: SiteProfile) -> None:
    url = "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder?page=2"
    assert canonicalize(url, koege_profile) == url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (NEW, True),
        (OLD, True),
        (
            "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/pressemeddelelser/x",
            True,
        ),
        # The 2024 prefix, with the site's own misspelling.
        (
            "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/aktuelle-nyheder-og-pressemeddelser/x",
            True,
        ),
        (
            "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder",
            False,
        ),
        (
            "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder?page=2",
            False,
        ),
        ("https://www.koege.dk/borger/affald-klima-og-natur/affald", False),
        ("https://www.koege.dk/Service/Nyheder.aspx", False),
        ("https://www.koege.dk/p/Tilsyn%20og%20rapporter/Tilsynsrapport.pdf", False),
        ("https://sn.dk/Service/Nyheder/2021/12/X.aspx", False),
    ],
)
def test_article_urls_of_both_eras(url: str, expected: bool, koege_profile: SiteProfile) -> None:
    assert is_article_url(url, koege_profile) is expected


def test_mirror_urls_map_back_to_canonical_urls(koege_profile: SiteProfile) -> None:
    urls = SiteUrls.for_profile(koege_profile, "http://127.0.0.1:8123/ignored/path")
    fetched = "http://127.0.0.1:8123/Service/Nyheder/2021/12/Nyt-fra-byraadets-moede-den-21,-d-,-december-2021.aspx"
    assert urls.canonical(fetched) == OLD
    assert urls.fetch_url(OLD) == fetched
    assert urls.fetch_url("https://sn.dk/x") == "https://sn.dk/x"
    other_port = SiteUrls.for_profile(koege_profile, "http://127.0.0.1:9999")
    assert other_port.canonical(fetched.replace("8123", "9999")) == OLD


def test_a_bad_base_url_is_refused(koege_profile: SiteProfile) -> None:
    with pytest.raises(ValueError, match="not an http"):
        SiteUrls.for_profile(koege_profile, "127.0.0.1:8000")
