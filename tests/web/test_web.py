"""The web page and JSON API in process (FastAPI's TestClient): pages, API, exports, hostile input."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from archive.web import create_app
from tests.archive.corpus import build_corpus

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def site(archive_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, int]]]:
    ids = build_corpus(archive_url)
    app = create_app(archive_url, export_dir=tmp_path / "exports", allowed_hosts=["testserver"])
    with TestClient(app) as client:
        yield client, ids


def test_search_page_in_danish_with_snippets_dates_and_chart(site) -> None:
    client, ids = site
    page = client.get("/", params={"q": "vækstområdet"})
    assert page.status_code == 200
    html = page.text
    assert '<html lang="da">' in html and "1 artikler" in html
    assert f'href="/artikel/{ids["vaekst"]}?q=' in html
    assert "<mark>vækstområder</mark>" in html and "2018-02-05" in html
    assert 'src="/chart.svg?q=' in html and 'href="/eksport?q=' in html
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no script at all
    assert "default-src 'none'" in page.headers["content-security-policy"]
    english = client.get("/", params={"q": "vækst", "lang": "en"})
    assert '<html lang="en">' in english.text and "Search the archive" in english.text
    assert client.get("/").status_code == 200  # the front page lists the newest articles
    chart = client.get("/chart.svg", params={"q": "affald*"})
    assert chart.headers["content-type"].startswith("image/svg+xml") and "2019-01: 1" in chart.text


def test_filters_on_the_page(site) -> None:
    client, ids = site
    html = client.get("/", params={"q": "haveaffald", "site": "roskilde"}).text
    assert f"/artikel/{ids['roskilde']}?" in html and f"/artikel/{ids['affald']}?" not in html
    html = client.get("/", params={"q": "haveaffald", "since": "i går"}).text
    assert "is not a date" in html


def test_article_page_versions_diff_citation_and_links(site) -> None:
    client, ids = site
    html = client.get(f"/artikel/{ids['budget']}").text
    assert "Viser version 2 af 2" in html
    assert "<del>12 </del><ins>14 </ins>" in html  # the word diff between versions 1 and 2
    assert f"dokument {ids['budget']}, version 2" in html
    assert 'href="https://www.koege.dk/om-koege-kommune/' in html and 'id="capture"' in html
    first = client.get(f"/artikel/{ids['budget']}", params={"v": "1"}).text
    assert "12 millioner" in first and "Der er kun én version" not in first
    assert client.get("/artikel/999999").status_code == 404
    assert client.get("/artikel/abc").status_code == 404


def test_archived_html_is_escaped_and_sandboxed(site) -> None:
    client, ids = site
    hits = client.get("/api/search", params={"q": "farlig"}).json()["hits"]
    assert [h["id"] for h in hits] == [ids["hostile"]]
    for path in (f"/artikel/{ids['hostile']}", "/?q=farlig"):
        html = client.get(path).text
        assert "<script>document.title" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html
    article = client.get(f"/artikel/{ids['hostile']}").text
    capture_id = article.split('href="/capture/')[1].split('"')[0]
    raw = client.get(f"/capture/{capture_id}")
    assert raw.content.startswith(b"<html>") and b"<script>" in raw.content  # kept as archived ...
    assert raw.headers["content-security-policy"].startswith("sandbox;")  # ... but never runs
    assert "default-src 'none'" in raw.headers["content-security-policy"]
    assert '<iframe sandbox src="/capture/' in article
    download = client.get(f"/capture/{capture_id}", params={"download": "1"})
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    "query",
    [
        "x' OR 1=1; DROP TABLE documents;--",
        '"><script>alert(1)</script>',
        "NEAR(affald",
        '"',
        "<img src=x onerror=alert(1)>",
        "affald " * 1500,
    ],
)
def test_hostile_queries_get_results_or_a_message(site, query: str) -> None:
    client, _ids = site
    page = client.get("/", params={"q": query})
    assert page.status_code in (200, 400)
    assert "Traceback" not in page.text and "<script>alert" not in page.text and "<img src=x" not in page.text
    if page.status_code == 400:
        assert 'id="error"' in page.text
    api = client.get("/api/search", params={"q": query})
    assert api.status_code in (200, 400)
    if api.status_code == 400:
        assert api.json()["detail"]
    assert client.get("/api/search", params={"q": "delegation"}).json()["total"] == 1


def test_a_10_kb_query_is_refused_with_a_message(site) -> None:
    client, _ids = site
    page = client.get("/", params={"q": "a" * 10_000})
    assert page.status_code == 400 and "at most 2,000" in page.text
    assert "at most 2,000" in client.get("/api/search", params={"q": "b" * 10_000}).json()["detail"]


def test_json_api_and_openapi(site) -> None:
    client, ids = site
    body = client.get("/api/search", params={"q": "kommunen", "sort": "newest", "limit": 2}).json()
    assert body["total"] >= 3 and len(body["hits"]) == 2
    assert set(body["hits"][0]) >= {"id", "url", "title", "published", "snippet", "score"}
    assert client.get("/api/search", params={"q": "x", "sort": "sideways"}).status_code == 422
    doc = client.get(f"/api/documents/{ids['budget']}").json()
    assert [v["version"] for v in doc["versions"]] == [1, 2]
    diff = client.get(f"/api/documents/{ids['budget']}/diff", params={"a": 1, "b": 2}).json()
    assert {"op": "removed", "text": "12 "} in diff["pieces"]
    assert client.get("/api/documents/999999").status_code == 404
    months = client.get("/api/months", params={"q": "affald*"}).json()
    assert months["months"][0] == {"month": "2019-01", "count": 1}
    filters = client.get("/api/filters").json()
    assert {"value": "roskilde", "documents": 1} in filters["site"]
    spec = client.get("/api/openapi.json").json()
    assert {"/api/search", "/api/documents/{doc_id}", "/api/export", "/api/months"} <= set(spec["paths"])
    assert spec["paths"]["/api/search"]["get"]["parameters"]


def test_export_from_the_page_and_the_api(site) -> None:
    client, ids = site
    page = client.get("/eksport", params={"q": "haveaffald", "format": "xlsx"})
    assert page.status_code == 200 and 'id="export-rows">2<' in page.text
    link = page.text.split('id="download" href="')[1].split('"')[0]
    download = client.get(link)
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(download.content), read_only=True)["Artikler"].values)
    assert sorted(r[0] for r in rows[1:]) == sorted([ids["affald"], ids["roskilde"]])
    made = client.get("/api/export", params={"q": "grøn vækst", "format": "jsonl", "site": "koege"}).json()
    assert made["rows"] == 2 and made["manifest"]["query"] == "grøn vækst"
    data = client.get(made["file_url"])
    assert "koege-gr%C3%B8n-v%C3%A6kst.jsonl" in made["file_url"]
    assert "filename*=utf-8''koege-gr%C3%B8n-v%C3%A6kst.jsonl" in data.headers["content-disposition"]
    manifest = client.get(made["manifest_url"]).json()
    import hashlib

    assert manifest["sha256"] == hashlib.sha256(data.content).hexdigest()
    assert [json.loads(line)["id"] for line in data.text.splitlines()] == sorted([ids["vaekst"], ids["groen-spredt"]])


@pytest.mark.parametrize(
    "path", ["/eksport/..%2F..%2Fetc/passwd", "/eksport/x/..%2F..%2Farchive.sqlite", "/eksport/a/b"]
)
def test_export_downloads_cannot_leave_the_folder(site, path: str) -> None:
    client, _ids = site
    response = client.get(path)
    assert response.status_code == 404


def test_unknown_hosts_are_refused(site) -> None:
    client, _ids = site
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400
