"""Real crawls of one fixture site per platform family and discovery kind, with the real profiles.

Each mirror is ``tests/fixtures/mirrors/<name>/`` (``routes.json`` for MirrorServer, reusing the
golden pages of ``tests/fixtures/sites``) with ``expected_crawl.json``: the documents the crawl
must archive (and some of their fields), paths it must never fetch, and stats it must reach.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from archive.db import open_archive
from archive.queries import export_rows, list_runs
from koege_spider.mirror import MirrorServer
from tests.conftest import FAST, FIXTURES, run_cli

if TYPE_CHECKING:
    from pathlib import Path

MIRRORS = FIXTURES / "mirrors"
NAMES = sorted(p.name for p in MIRRORS.iterdir() if (p / "expected_crawl.json").exists())


def _archive(db_url: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    archive = open_archive(db_url)
    try:
        rows = {r["url"]: r for r in export_rows(archive)}
        (run,) = list_runs(archive)
        return rows, dict(run.stats)
    finally:
        archive.close()


@pytest.mark.parametrize("name", NAMES)
def test_a_platform_site_is_crawled_end_to_end(name: str, tmp_path: Path) -> None:
    expected = json.loads((MIRRORS / name / "expected_crawl.json").read_text(encoding="utf-8"))
    db_url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with MirrorServer(MIRRORS / name) as server:
        result = run_cli("crawl", expected["site"], "--base-url", server.origin, "--db", db_url, *FAST)
        served = server.requests
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    rows, stats = _archive(db_url)
    assert set(rows) == set(expected["archived"])
    for url, fields in expected["archived"].items():
        assert {k: rows[url][k] for k in fields} == fields, url
        assert rows[url]["site"] == expected["site"]
    targets = [r.target for r in served]
    assert not set(expected["never_fetched"]) & set(targets)
    articles = Counter(t for t in targets if any(t.endswith(u.split("/", 3)[3]) for u in expected["archived"]))
    assert max(articles.values()) == 1, "an article was fetched twice"
    for key, least in expected.get("stats_at_least", {}).items():
        assert stats.get(key, 0) >= least, key


def test_every_discovery_kind_has_a_crawl() -> None:
    assert {"moliri-furesoe", "gopublic-solroed", "drupal-koebenhavn", "ritzau-greve"} <= set(NAMES)
    assert {"feed-lejre", "json-hilleroed", "post-ikast-brande"} <= set(NAMES)
