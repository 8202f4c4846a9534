"""Site profiles are data: validated on load, unknown keys refused."""

from __future__ import annotations

import pytest

from koege_spider.sites import (
    ProfileError,
    UnknownSiteError,
    available_sites,
    load_profile,
    parse_profile,
)

MINIMAL = {
    "name": "x",
    "title": "X Kommune",
    "canonical_origin": "https://www.x.dk",
    "article": {"url_patterns": ["^/nyheder/[^/]+$"]},
}


def test_every_bundled_profile_loads() -> None:
    names = available_sites()
    assert "koege" in names
    for name in names:
        assert load_profile(name).name == name


def test_koege_profile_has_both_eras_and_aliases() -> None:
    profile = load_profile("koege")
    assert profile.canonical_host == "www.koege.dk"
    assert {"koege.dk", "etk.koege.dk"} <= profile.hosts
    assert any(".aspx" in p.pattern for p in profile.article.url_patterns)
    assert profile.discovery.listings
    assert profile.politeness.delay >= 1.0


def test_unknown_site_is_reported() -> None:
    with pytest.raises(UnknownSiteError):
        load_profile("atlantis")
    with pytest.raises(UnknownSiteError):
        load_profile("../etc/passwd")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "blue"}, "unknown key"),
        ({"article": {"url_patterns": ["("]}}, "bad regular expression"),
        ({"article": {"url_patterns": []}}, "url_patterns"),
        ({"article": {"url_patterns": ["x"], "date_css": ["x"]}}, "unknown key"),
        ({"canonical_origin": "www.x.dk"}, "canonical_origin"),
        ({"article": {"url_patterns": ["x"], "published_selectors": ["p::nonsense("]}}, "selector"),
    ],
)
def test_malformed_profiles_are_refused(change: dict, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        parse_profile({**MINIMAL, **change})
