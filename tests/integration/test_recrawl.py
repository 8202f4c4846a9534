"""Recrawls of the koege.dk mirror (real crawls in a subprocess): cheap, honest, and one document per article."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from archive.db import open_archive
from archive.queries import export_rows, list_runs
from tests.conftest import FIXTURES, crawl_mirror, run_cli

if TYPE_CHECKING:
    import subprocess

    from koege_spider.mirror import MirrorServer, ServedRequest

EXPECTED = json.loads((FIXTURES / "koege_mirror_expected.json").read_text(encoding="utf-8"))
ARTICLES = {e["url"]: e for e in EXPECTED if e["kind"] == "article"}
NEWS = "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder"
PRESS = "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/pressemeddelelser"
EVERYTHING_DUE = ("-s", "KOEGE_RECRAWL_REVISIT_HOURS=0")


def _target(url: str) -> str:
    parts = urlsplit(url)
    return unquote(parts.path) + (f"?{parts.query}" if parts.query else "")


def _rows(db_url: str, **kw: Any) -> list[dict[str, Any]]:
    archive = open_archive(db_url)
    try:
        return list(export_rows(archive, **kw))
    finally:
        archive.close()


def _last_run_stats(db_url: str) -> dict[str, Any]:
    archive = open_archive(db_url)
    try:
        return dict(list_runs(archive, limit=1)[0].stats)
    finally:
        archive.close()


def _count(result: subprocess.CompletedProcess[str], label: str) -> int:
    match = re.search(rf"^\s+{label}\s+(\d+)\b", result.stderr, re.MULTILINE)
    assert match, (label, result.stderr)
    return int(match[1])


def _routes(root: Path) -> dict[str, dict[str, Any]]:
    return dict(json.loads((root / "routes.json").read_text(encoding="utf-8"))["routes"])


def _save_routes(root: Path, server: MirrorServer, routes: dict[str, dict[str, Any]]) -> None:
    (root / "routes.json").write_text(json.dumps({"routes": routes}, ensure_ascii=False), encoding="utf-8")
    server.reload_routes()


def _edit(root: Path, url: str, old: str, new: str) -> None:
    page = root / _routes(root)[_target(url)]["file"]
    text = page.read_text(encoding="utf-8")
    assert old in text, (url, old)
    page.write_text(text.replace(old, new, 1), encoding="utf-8")


def _article_requests(requests: list[ServedRequest]) -> list[ServedRequest]:
    targets = {_target(u) for u in ARTICLES}
    return [r for r in requests if unquote(urlsplit(r.target).path) in targets]


def _history(db_url: str, url: str, *args: str) -> dict[str, Any]:
    result = run_cli("history", url, "--format", "json", *args, "--db", db_url)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_recrawl_is_conditional_and_versions_follow_the_server(
    mirror_copy: tuple[Path, MirrorServer], archive_url: str
) -> None:
    root, server = mirror_copy
    assert crawl_mirror(server, archive_url).returncode == 0

    # 1. Nothing changed: conditional requests, all answered 304, no extraction, no version.
    start = len(server.requests)
    again = crawl_mirror(server, archive_url)
    assert again.returncode == 0, again.stderr
    asked = _article_requests(server.requests[start:])
    assert asked and all("If-None-Match" in r.headers and "If-Modified-Since" in r.headers for r in asked)
    assert Counter(r.status for r in asked) == {304: len(asked)}
    assert _count(again, "new") == 0 and _count(again, "changed") == 0
    assert _count(again, "not modified") == len(asked)
    assert _count(again, "not modified") + _count(again, "not revisited") == len(ARTICLES)
    assert "koege/extraction/ok" not in _last_run_stats(archive_url)
    assert len(_rows(archive_url, all_versions=True)) == len(ARTICLES)

    # 2. Three pages change and one is withdrawn (gone from the server, its listing and sitemap).
    new_era = [u for u, e in ARTICLES.items() if e["era"] == "new" and e["key_sentences"]]
    changed, withdrawn = new_era[:3], new_era[3]
    for url in changed:
        sentence = ARTICLES[url]["key_sentences"][0]
        _edit(root, url, sentence, sentence + " Det oplyser kommunen.")
    routes = _routes(root)
    del routes[_target(withdrawn)]
    _save_routes(root, server, routes)
    path = _target(withdrawn)
    for listing in [*root.glob("pages/*.html"), *root.glob("sitemap*.xml")]:
        text = listing.read_text(encoding="utf-8")
        if path in text:
            listing.write_text(text.replace(path, "/om-koege-kommune"), encoding="utf-8")

    third = crawl_mirror(server, archive_url, *EVERYTHING_DUE)
    assert third.returncode == 0, third.stderr
    assert (_count(third, "new"), _count(third, "changed"), _count(third, "removed")) == (0, 3, 1)
    versions = _rows(archive_url, all_versions=True)
    assert len(versions) == len(ARTICLES) + 3
    assert Counter(r["url"] for r in versions if r["version"] == 2) == Counter(changed)
    gone = _history(archive_url, withdrawn)
    assert [(e["kind"], e["http_status"]) for e in gone["events"]] == [("removed", 404)]
    assert gone["removed_at"] and [v["version"] for v in gone["versions"]] == [1]
    assert withdrawn in {r["url"] for r in _rows(archive_url)}, "a withdrawn document stays in the archive"
    diff = run_cli("history", changed[0], "--diff", "1", "2", "--db", archive_url)
    assert diff.returncode == 0 and "{+Det oplyser kommunen.+}" in diff.stdout
    runs = json.loads(run_cli("runs", "--format", "json", "--db", archive_url).stdout)
    assert (runs[0]["changed"], runs[0]["removed"], runs[1]["not_modified"]) == (3, 1, len(asked))

    # 3. The withdrawn page comes back as it was: restored, no new version.
    routes[_target(withdrawn)] = _routes(Path(__file__).resolve().parents[2] / "koege_spider/mirrors/koege")[
        _target(withdrawn)
    ]
    _save_routes(root, server, routes)
    fourth = crawl_mirror(server, archive_url, *EVERYTHING_DUE)
    assert fourth.returncode == 0, fourth.stderr
    assert (_count(fourth, "restored"), _count(fourth, "changed"), _count(fourth, "new")) == (1, 0, 0)
    back = _history(archive_url, withdrawn)
    assert [e["kind"] for e in back["events"]] == ["removed", "restored"] and back["removed_at"] is None
    assert len(_rows(archive_url, all_versions=True)) == len(ARTICLES) + 3


def test_sitemap_lastmod_says_what_to_revisit(mirror_copy: tuple[Path, MirrorServer], archive_url: str) -> None:
    root, server = mirror_copy
    assert crawl_mirror(server, archive_url).returncode == 0
    sitemap_only = [u for u, e in ARTICLES.items() if e["in_sitemap"] and not e["in_listing"] and e["key_sentences"]]
    bumped, quiet = sitemap_only[:2]
    for url in (bumped, quiet):
        sentence = ARTICLES[url]["key_sentences"][0]
        _edit(root, url, sentence, sentence + " Det oplyser kommunen.")
    sitemap = root / "sitemap-pages.xml"
    text = sitemap.read_text(encoding="utf-8")
    entry = re.search(rf"<loc>{re.escape(bumped)}</loc><lastmod>[^<]+</lastmod>", text)
    assert entry, bumped
    sitemap.write_text(text.replace(entry[0], f"<loc>{bumped}</loc><lastmod>2099-01-01</lastmod>"), encoding="utf-8")

    start = len(server.requests)
    again = crawl_mirror(server, archive_url)
    assert again.returncode == 0, again.stderr
    fetched = {unquote(urlsplit(r.target).path) for r in server.requests[start:]}
    assert _target(bumped) in fetched and _target(quiet) not in fetched
    assert _count(again, "changed") == 1
    assert [r["version"] for r in _rows(archive_url, all_versions=True) if r["url"] == bumped] == [1, 2]


def test_variants_redirects_and_rel_canonical_make_one_document_and_copies_form_one_cluster(
    mirror_copy: tuple[Path, MirrorServer], archive_url: str
) -> None:
    root, server = mirror_copy
    slug = "ny-affaldsordning-for-sommerhuse-fra-1-august-2025"
    url = f"https://www.koege.dk{NEWS}/{slug}"
    routes = _routes(root)
    article_file = routes[f"{NEWS}/{slug}"]["file"]
    # The same page under the press path (its rel=canonical names the news path) and an old URL
    # that redirects to it.
    routes[f"{PRESS}/{slug}"] = {"file": article_file}
    routes["/Service/Nyheder/2025/06/Ny-affaldsordning-for-sommerhuse.aspx"] = {
        "status": 301,
        "location": f"{NEWS}/{slug}",
    }
    # A copy of another press release under a path of its own, with a different last paragraph.
    source = next(u for u, e in ARTICLES.items() if e["era"] == "new" and PRESS in u and e["key_sentences"])
    copy_file = root / "articles" / "new" / "kopi.html"
    original = (root / routes[_target(source)]["file"]).read_text(encoding="utf-8")
    last = ARTICLES[source]["key_sentences"][-1]
    copy = re.sub(r'<link rel="canonical"[^>]*>', "", original).replace(
        last, last + " Pressemeddelelsen er også sendt til Dagbladet Køge og Radio Sydhavsøerne."
    )
    copy_file.write_text(copy, encoding="utf-8")
    copy_path = f"{PRESS}/{_target(source).rsplit('/', 1)[1]}-kopi"
    routes[copy_path] = {"file": "articles/new/kopi.html"}
    _save_routes(root, server, routes)
    listing = root / "pages" / "nyheder.html"
    variants = [
        f"http://koege.dk{NEWS}/{slug}/",
        f"https://WWW.KOEGE.DK{NEWS}/{slug}?utm_source=nyhedsbrev&fbclid=abc#fakta",
        f"{PRESS}/{slug}",
        "/Service/Nyheder/2025/06/Ny-affaldsordning-for-sommerhuse.aspx",
        f"https://etk.koege.dk{NEWS}/{slug}",
        copy_path,
    ]
    links = "".join(f'<li><a href="{v}">variant</a></li>' for v in variants)
    listing.write_text(
        listing.read_text(encoding="utf-8").replace("</main>", f"<ul>{links}</ul></main>"), encoding="utf-8"
    )

    result = crawl_mirror(server, archive_url)
    assert result.returncode == 0, result.stderr
    rows = _rows(archive_url)
    assert [r["url"] for r in rows].count(url) == 1
    assert not [r for r in rows if slug in r["url"] and r["url"] != url], "a variant became a document"
    assert len(rows) == len(ARTICLES) + 1  # the copy is a document of its own
    found = {_history(archive_url, v)["id"] for v in [url, *variants[:5]] if v.startswith("http")}
    found |= {_history(archive_url, f"https://www.koege.dk{v}")["id"] for v in variants[2:4]}
    assert len(found) == 1
    aliases = {a["url"]: a["reason"] for a in _history(archive_url, url)["aliases"]}
    assert aliases == {
        f"https://www.koege.dk{PRESS}/{slug}": "rel_canonical",
        "https://www.koege.dk/Service/Nyheder/2025/06/Ny-affaldsordning-for-sommerhuse.aspx": "redirect",
    }

    listed = run_cli("duplicates", "--format", "json", "--db", archive_url)
    assert listed.returncode == 0, listed.stderr
    (cluster,) = json.loads(listed.stdout)  # template-sharing articles form no cluster
    assert sorted(d["url"] for d in cluster["documents"]) == sorted([source, f"https://www.koege.dk{copy_path}"])
    table = run_cli("duplicates", "--db", archive_url)
    assert "Cluster 1: 2 documents" in table.stdout

    # The old URL of an archived article now redirects to a new one: still one document.
    moved_from = next(u for u, e in ARTICLES.items() if e["era"] == "new" and NEWS in u and e["in_listing"])
    before = _history(archive_url, moved_from)["id"]
    new_path = _target(moved_from) + "-flyttet"
    page = root / routes[_target(moved_from)]["file"]
    moved_page = page.with_name("flyttet.html")
    moved_page.write_text(
        page.read_text(encoding="utf-8").replace(moved_from, moved_from + "-flyttet"), encoding="utf-8"
    )
    routes[new_path] = {"file": str(moved_page.relative_to(root))}
    routes[_target(moved_from)] = {"status": 301, "location": new_path}
    _save_routes(root, server, routes)
    moved = crawl_mirror(server, archive_url, *EVERYTHING_DUE)
    assert moved.returncode == 0, moved.stderr
    after = _history(archive_url, moved_from)
    assert after["id"] == before and after["url"] == f"https://www.koege.dk{new_path}"
    assert [(e["kind"], e["url"]) for e in after["events"]] == [("moved", moved_from)]
    assert _count(moved, "new") == 0


def test_since_limits_a_run_to_newer_articles(koege_mirror: MirrorServer, archive_url: str) -> None:
    start = len(koege_mirror.requests)
    result = crawl_mirror(koege_mirror, archive_url, "--since", "2024-01-01")
    assert result.returncode == 0, result.stderr
    rows = _rows(archive_url)
    assert rows and all((r["published"] or "9999") >= "2024-01-01" for r in rows)
    newer = {u for u, e in ARTICLES.items() if (e["published"] or "") >= "2024-01-01"}
    assert newer <= {r["url"] for r in rows}
    # Sitecore articles sit in dated folders (2012–2021): not even fetched.
    fetched = [r.target for r in koege_mirror.requests[start:]]
    assert not [t for t in fetched if re.match(r"/Service/Nyheder/\d{4}/", unquote(t))]
    assert "older_than_since" in result.stderr
    bad = run_cli("crawl", "koege", "--since", "sidste uge", "--db", archive_url)
    assert bad.returncode == 2 and "YYYY" in bad.stderr and "Traceback" not in bad.stderr
