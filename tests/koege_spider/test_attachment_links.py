"""The quick link-path reading the attachment scan uses agrees with urllib on every kind of href."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from koege_spider.pages import _link_path

HREFS = [
    "/media/a%20b.pdf",
    "https://www.koege.dk/p/x/Tilsyn.PDF?x=1#y",
    "//cdn.koege.dk/f.pdf",
    "a.pdf",
    "http://x",
    "?q=1.pdf",
    "#a.pdf",
    " /x.pdf ",
    "mailto:a@b.dk",
    "javascript:void(0)",
    "../up/f.pdf#p=2",
    "HTTPS://X.DK/A.pdf",
    "tel:+4556",
    "1abc:d.pdf",
]


def test_known_hrefs() -> None:
    for href in HREFS:
        assert _link_path(href) == unquote(urlsplit(href.strip()).path), href


@given(st.text(alphabet="ahp:/?#%.2F0 tsx-+@", max_size=30))
def test_any_href(href: str) -> None:
    assert _link_path(href) == unquote(urlsplit(href.strip()).path)
