"""Real crawls (a subprocess running `koege-archive crawl`) of the koege.dk mirror on 127.0.0.1."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest

from archive.db import open_archive
from archive.queries import export_rows, list_runs
from tests.conftest import FAST, FIXTURES, SCRAPY, crawl_mirror, run_cli

if TYPE_CHECKING:
    from koege_spider.mirror import MirrorServer

EXPECTED = json.loads((FIXTURES / "koege_mirror_expected.json").read_text(encoding="utf-8"))
ARTICLES = {e["url"]: e for e in EXPECTED if e["kind"] == "article"}
FIELDS = (
    "title",
    "lead",
    "published",
    "published_precision",
    "published_source",
    "updated",
    "updated_by",
    "contact",
)


def _rows(db_url: str, **kw: Any) -> list[dict[str, Any]]:
    archive = open_archive(db_url)
    try:
        return list(export_rows(archive, **kw))
    finally:
        archive.close()


def _target(url: str) -> str:
    parts = urlsplit(url)
    return unquote(parts.path) + (f"?{parts.query}" if parts.query else "")


@pytest.fixture(scope="module")
def first_crawl(koege_mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One crawl of the bundled mirror, shared by the assertions below."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('crawl') / 'archive.sqlite'}"
    before = len(koege_mirror.requests)
    result = crawl_mirror(koege_mirror, db_url)
    return {"result": result, "db_url": db_url, "requests": koege_mirror.requests[before:]}


def test_crawl_succeeds_and_summarises(first_crawl: dict[str, Any]) -> None:
    result: subprocess.CompletedProcess[str] = first_crawl["result"]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(rf"new\s+{len(ARTICLES)}\b", result.stderr)
    assert re.search(r"failed\s+1\s+\(HTTP 404: 1\)", result.stderr)
    assert "robots_disallowed: 1" in result.stderr and "not_html: 1" in result.stderr
    assert "no_article: 1" in result.stderr


def test_every_article_is_archived_right(first_crawl: dict[str, Any]) -> None:
    rows = {r["url"]: r for r in _rows(first_crawl["db_url"])}
    assert set(rows) == set(ARTICLES), "exactly the articles: no trap page, no URL variant twice"
    for url, case in ARTICLES.items():
        row = rows[url]
        assert {f: row[f] for f in FIELDS} == {f: case[f] for f in FIELDS}, url
        whole = "\n".join(filter(None, (row["title"], row["lead"], row["text"])))
        assert all(s in whole for s in case["key_sentences"]), url
        assert not [s for s in case["absent"] if s in whole], url
        assert row["site"] == "koege" and row["language"] == "da" and row["version"] == 1


def test_politeness_and_identity_seen_from_the_server(first_crawl: dict[str, Any]) -> None:
    requests = first_crawl["requests"]
    agents = {r.headers.get("User-Agent") for r in requests}
    assert len(agents) == 1
    assert re.fullmatch(r"Mozilla/5\.0 \(compatible; koege-archive/\S+; \+\S+\)", agents.pop() or "")
    blocked = next(e for e in EXPECTED if e["kind"] == "robots_disallowed")
    assert _target(blocked["url"]) not in {r.target for r in requests}
    article_targets = {_target(u) for u in ARTICLES}
    fetched = Counter(r.target for r in requests if unquote(urlsplit(r.target).path) in article_targets)
    assert fetched and max(fetched.values()) == 1, "an article was fetched twice in one run"


def test_run_is_recorded(first_crawl: dict[str, Any]) -> None:
    archive = open_archive(first_crawl["db_url"])
    (run,) = list_runs(archive)
    archive.close()
    assert run.status == "finished" and run.finish_reason == "finished"
    assert run.new == len(ARTICLES) and run.failed == 1 and run.listings_read >= 5
    assert run.skipped_reasons == {"no_article": 1, "not_html": 1, "robots_disallowed": 1}
    assert run.finished_at is not None and run.base_url


def test_same_mirror_on_another_port_finds_the_same_documents(
    first_crawl: dict[str, Any], mirror_copy: tuple[Path, MirrorServer], tmp_path: Path
) -> None:
    _, server = mirror_copy
    db = tmp_path / "copy.sqlite"
    db.write_bytes(Path(first_crawl["db_url"].removeprefix("sqlite:///")).read_bytes())
    result = crawl_mirror(server, f"sqlite:///{db}")
    assert result.returncode == 0, result.stderr
    assert re.search(r"new\s+0\b", result.stderr)


def test_scrapy_crawl_is_the_same_crawl(koege_mirror: MirrorServer, archive_url: str) -> None:
    result = subprocess.run(
        [
            SCRAPY,
            "crawl",
            "news",
            "-a",
            "site=koege",
            "-a",
            f"base_url={koege_mirror.origin}",
            "-s",
            f"KOEGE_ARCHIVE_DB={archive_url}",
            *FAST,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert {r["url"] for r in _rows(archive_url)} == set(ARTICLES)
    check = run_cli("runs", "--format", "json", "--db", archive_url)
    assert json.loads(check.stdout)[0]["status"] == "finished"


def test_crawl_into_postgresql(koege_mirror: MirrorServer, postgres_url: str) -> None:
    result = crawl_mirror(koege_mirror, postgres_url)
    assert result.returncode == 0, result.stderr
    assert {r["url"] for r in _rows(postgres_url)} == set(ARTICLES)
    again = crawl_mirror(koege_mirror, postgres_url)
    assert again.returncode == 0 and re.search(r"new\s+0\b", again.stderr)
    found = run_cli("search", "affaldsordning", "--format", "json", "--db", postgres_url)
    assert found.returncode == 0 and json.loads(found.stdout)


def test_show_finds_a_document_by_any_url_variant(first_crawl: dict[str, Any]) -> None:
    case = next(e for e in ARTICLES.values() if e["variants"])
    for url in [case["url"], *case["variants"]]:
        shown = run_cli("show", url, "--format", "json", "--db", first_crawl["db_url"])
        assert shown.returncode == 0, (url, shown.stderr)
        assert json.loads(shown.stdout)["url"] == case["url"]
