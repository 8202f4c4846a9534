"""All 98 municipalities: profiles generated from data/municipalities.tsv, with hand edits that survive."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from koege_spider.sites import ProfileError, available_sites, load_profile, merge_overlay, parse_profile
from koege_spider.urls import SiteUrls, canonicalize, is_article_url
from tests.conftest import REPO

if TYPE_CHECKING:
    from pathlib import Path

TABLE = REPO / "data" / "municipalities.tsv"
SCRIPT = REPO / "scripts" / "generate_profiles.py"
PROFILES = REPO / "koege_spider" / "profiles"
with TABLE.open(encoding="utf-8", newline="") as _fh:
    ROWS = {r["key"]: r for r in csv.DictReader(_fh, delimiter="\t")}


def _generate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False, cwd=REPO, timeout=120
    )


def test_one_profile_per_municipality() -> None:
    assert len(ROWS) == 98
    assert set(ROWS) <= set(available_sites())


def test_the_committed_profiles_are_what_the_table_gives() -> None:
    result = _generate("--check")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("key", sorted(ROWS))
def test_every_column_of_the_table_reaches_the_profile(key: str) -> None:
    row, profile = ROWS[key], load_profile(key)
    urls = SiteUrls.for_profile(profile)
    disc = profile.discovery
    seeds = {urls.absolute(p) for p in (*disc.listings, *disc.optional_listings)}
    assert profile.title.endswith("Kommune") or "kommune" in profile.title.lower()
    assert urls.on_site(row["site_url"])
    assert canonicalize(row["news_url"], profile).rstrip("/") in {s.rstrip("/") for s in seeds}
    if row["press_url"]:
        assert canonicalize(row["press_url"], profile).rstrip("/") in {s.rstrip("/") for s in seeds}
    for url in json.loads(row["listing_urls"] or "[]"):
        assert canonicalize(url, profile) in seeds or "{year}" in url
    if row["listing_years"]:
        assert disc.listing_years == int(row["listing_years"])
    for prefix in row["url_prefixes"].split():
        assert is_article_url(f"{profile.canonical_origin}{prefix}/en-nyhed-om-noget", profile), prefix
    assert profile.platform == (row["platform"] or None)
    assert profile.channel == row["channel"]
    assert profile.sources == row["source_type"]
    if row["published_date"].startswith("regex "):
        assert [p.pattern for p in profile.article.published_patterns] == [row["published_date"][6:]]
    elif row["published_date"]:
        css, _, attr = row["published_date"].partition(" @")
        assert profile.article.published_selectors[0] == (f"{css}::attr({attr})" if attr else css)
    if row["sitemap_url"]:
        assert [urls.absolute(s) for s in disc.sitemaps] == [row["sitemap_url"]]
    if row["feed_url"]:
        assert [urls.absolute(f) for f in disc.feeds] == [row["feed_url"]]
    for column in ("item", "title", "link", "date", "summary"):
        if row[f"listing_{column}"]:
            assert getattr(profile.listing, column) == row[f"listing_{column}"]
    if row["json_listing"]:
        assert profile.json_listing is not None
        assert profile.json_listing.url == json.loads(row["json_listing"])["url"]
    if row["html_post_listing"]:
        assert profile.post_listing is not None
        assert profile.post_listing.csrf_selector == json.loads(row["html_post_listing"])["csrf_selector"]


def test_listing_paths_are_not_articles_but_what_lies_below_them_is() -> None:
    profile = load_profile("solroed")
    assert is_article_url("https://solrod.dk/aktuelt/nyheder/ny-legeplads", profile)
    assert is_article_url("https://solrod.dk/aktuelt/nyheder/nyt-fra-byraadet/2019/okt/moedet-den-7-oktober", profile)
    assert not is_article_url("https://solrod.dk/aktuelt/nyheder", profile)
    assert not is_article_url("https://solrod.dk/aktuelt/nyheder/2024", profile)
    assert not is_article_url("https://solrod.dk/aktuelt/nyheder/arkiv", profile)
    assert not is_article_url("https://solrod.dk/borger/affald", profile)


def test_a_newsroom_service_keeps_its_own_urls() -> None:
    greve = load_profile("greve")
    assert "via.ritzau.dk" in greve.external_hosts
    release = (
        "https://via.ritzau.dk/pressemeddelelse/14020001/greve-kommune-aabner-nyt-sundhedshus?publisherId=13561855"
    )
    assert canonicalize(release, greve) == release.split("?")[0]
    assert is_article_url(release.split("?")[0], greve)
    assert not is_article_url("https://via.ritzau.dk/nyhedsrum/13561855/greve-kommune", greve)
    mirror = SiteUrls.for_profile(greve, "http://127.0.0.1:9000")
    fetched = mirror.fetch_url(release)
    assert fetched.startswith("http://127.0.0.1:9000/_ext/via.ritzau.dk/pressemeddelelse/14020001/")
    assert mirror.canonical(fetched) == release.split("?")[0]
    assert mirror.canonical("http://127.0.0.1:9000/nyheder/x") == "https://greve.dk/nyheder/x"


def test_koege_is_generated_and_keeps_its_hand_written_rules() -> None:
    text = (PROFILES / "koege.toml").read_text(encoding="utf-8")
    assert "[overlay]" in text and "Generated by scripts/generate_profiles.py" in text
    koege = load_profile("koege")
    assert {"etk.koege.dk", "akutlinjen.dk"} <= koege.hosts
    assert koege.discovery.optional_listings == ("/Service/Nyheder.aspx",)
    assert koege.discovery.max_listing_pages == 300
    assert koege.article.url_date_pattern is not None
    assert len(koege.article.url_patterns) == 3 and koege.article.exclude_patterns == ()
    assert koege.platform == "Moliri" and koege.channel == "auto"


def test_overlay_tables_merge_and_other_values_replace() -> None:
    base = {"aliases": ["a"], "article": {"url_patterns": ["^/x/"], "title_suffixes": [" - X"]}}
    merged = merge_overlay(base, {"aliases": ["b", "c"], "article": {"url_patterns": ["^/y/"]}})
    assert merged == {"aliases": ["b", "c"], "article": {"url_patterns": ["^/y/"], "title_suffixes": [" - X"]}}
    assert base["aliases"] == ["a"], "the base is not changed"


def test_an_unknown_key_in_an_overlay_is_an_error() -> None:
    data = {
        "name": "x",
        "title": "X Kommune",
        "canonical_origin": "https://x.dk",
        "article": {"url_patterns": ["^/n/"]},
        "overlay": {"article": {"date_css": ["time"]}},
    }
    with pytest.raises(ProfileError, match="unknown key"):
        parse_profile(data)


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    table = tmp_path / "municipalities.tsv"
    shutil.copy(TABLE, table)
    folder = tmp_path / "profiles"
    shutil.copytree(PROFILES, folder)
    return table, folder


def test_regenerating_after_a_table_change_keeps_hand_edits(tmp_path: Path) -> None:
    table, folder = _copy(tmp_path)
    stevns = folder / "stevns.toml"
    stevns.write_text(stevns.read_text(encoding="utf-8") + "\n[overlay.politeness]\ndelay = 5.0\n", encoding="utf-8")
    text = table.read_text(encoding="utf-8").replace(
        "https://www.stevns.dk/nyheder\t", "https://www.stevns.dk/aktuelt\t"
    )
    table.write_text(text, encoding="utf-8")

    result = _generate("--table", str(table), "--profiles", str(folder))
    assert result.returncode == 0, result.stderr
    import tomllib

    profile = parse_profile(tomllib.loads(stevns.read_text(encoding="utf-8")))
    assert profile.discovery.listings == ("/aktuelt",), "the table's change is in"
    assert profile.politeness.delay == 5.0, "the hand edit survived"
    assert _generate("--table", str(table), "--profiles", str(folder), "--check").returncode == 0


def test_a_hand_written_profile_is_never_overwritten(tmp_path: Path) -> None:
    table, folder = _copy(tmp_path)
    hand = folder / "vejle.toml"
    hand.write_text(
        'name = "vejle"\ntitle = "Vejle Kommune"\ncanonical_origin = "https://www.vejle.dk"\n', encoding="utf-8"
    )
    result = _generate("--table", str(table), "--profiles", str(folder))
    assert result.returncode == 1
    assert "vejle.toml: hand-written" in result.stderr
    assert hand.read_text(encoding="utf-8").startswith('name = "vejle"')


def test_the_canonical_host_is_where_the_news_is() -> None:
    kolding = load_profile("kolding")  # site https://kolding.dk, news on www.kolding.dk
    assert urlsplit(kolding.canonical_origin).hostname == "www.kolding.dk"
    assert "kolding.dk" in kolding.aliases
    rebild = load_profile("rebild")  # news only on a newsroom service
    assert rebild.canonical_origin == "https://rebild.dk"
    assert rebild.external_hosts == ("www.mynewsdesk.com",)
