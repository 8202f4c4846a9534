"""Dedup: versions follow the content, moved pages stay one document, --since filters by date."""

from __future__ import annotations

import datetime as dt

import pytest

from archive.store import KnownDocument
from pipelines.dedup import classify, older_than

URL = "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/x"
OLD = "https://www.koege.dk/Service/Nyheder/2021/11/X.aspx"


def test_a_page_reached_from_a_known_url_is_that_document_moved() -> None:
    known = {OLD: KnownDocument(id=3, content_hash="a", version=1)}
    assert classify(URL, "a", known=known, owners={"a": OLD}, aliases=[OLD]) == ("unchanged", None)
    assert classify(URL, "b", known=known, owners={"a": OLD}, aliases=[OLD]) == ("changed", None)
    # Without the redirect it would be a copy of the old document, not the same one.
    assert classify(URL, "a", known=known, owners={"a": OLD}) == ("duplicate", OLD)


@pytest.mark.parametrize(
    ("published", "older"),
    [
        ("2023-12-31", True),
        ("2023-12-31T23:30:00+01:00", True),
        ("2024-01-01", False),
        ("2023-12", True),
        ("2024-01", False),
        ("2023", True),
        (None, False),
    ],
)
def test_older_than_since(published: str | None, older: bool) -> None:
    assert older_than(published, dt.date(2024, 1, 1)) is older
    assert older_than(published, None) is False


def test_a_new_date_is_a_new_content_version() -> None:
    known = {URL: KnownDocument(id=3, content_hash="a", version=1, published="2024-03-01", updated=None)}
    same = {"known": known, "owners": {"a": URL}}
    assert classify(URL, "a", **same, published="2024-03-01") == ("unchanged", None)
    assert classify(URL, "a", **same, published="2024-03-01", updated="2024-04-02") == ("changed", None)
    assert classify(URL, "a", **same, published="2024-03-02") == ("changed", None)
