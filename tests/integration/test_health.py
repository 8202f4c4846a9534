"""Monitoring on real crawls: figures stored per run and site, health flags a layout change, check-run."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from tests.conftest import crawl_mirror, run_cli

if TYPE_CHECKING:
    from pathlib import Path

    from koege_spider.mirror import MirrorServer

_TITLES = [
    re.compile(r"<title>.*?</title>", re.S),
    re.compile(r'<meta property="og:title"[^>]*>'),
    re.compile(r"<h1[^>]*>.*?</h1>", re.S),
]
_DATES = [re.compile(r'<meta name="cmspage(created|updated)"[^>]*>')]


def _redesign_articles(root: Path) -> int:
    """The site's new article template: no <title>, og:title or <h1>, no date meta tags."""
    changed = 0
    for page in sorted((root / "articles").rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        new = html
        for pattern in _TITLES + _DATES:
            new = pattern.sub("", new)
        if new != html:
            page.write_text(new, encoding="utf-8")
            changed += 1
    return changed


def _health(db: str, *extra: str) -> tuple[int, list[dict]]:
    result = run_cli("health", "--format", "json", *extra, "--db", db)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


def test_health_flags_a_site_whose_layout_changed_between_two_runs(
    mirror_copy: tuple[Path, MirrorServer], archive_url: str
) -> None:
    root, server = mirror_copy
    first = crawl_mirror(server, archive_url)
    assert first.returncode == 0, first.stderr
    code, report = _health(archive_url)
    assert code == 0 and [h["site"] for h in report] == ["koege"]
    figures = report[0]["figures"]
    assert figures["articles"] >= 30 and figures["listings_read"] >= 5 and figures["listings_empty"] == 0
    assert figures["missing_title"] == 0 and report[0]["compared_with_runs"] == []
    # The same figures are stored with the run.
    (run,) = json.loads(run_cli("runs", "--format", "json", "--db", archive_url).stdout)
    assert run["figures"] == [{"site": "koege", **figures}]

    # An unchanged recrawl (everything checked again) is healthy: its figures match the first run's.
    again = crawl_mirror(server, archive_url, "-s", "KOEGE_RECRAWL_REVISIT_HOURS=0")
    assert again.returncode == 0, again.stderr
    code, report = _health(archive_url)
    assert code == 0, report

    assert _redesign_articles(root) >= 30
    third = crawl_mirror(server, archive_url, "-s", "KOEGE_RECRAWL_REVISIT_HOURS=0")
    # The crawl itself succeeds: nothing but the figures tells that the extraction degraded.
    assert third.returncode == 0, third.stderr
    code, report = _health(archive_url)
    assert code == 1
    (koege,) = report
    flagged = {f["figure"] for f in koege["findings"]}
    assert "missing_title" in flagged
    assert koege["run"] == 3 and koege["compared_with_runs"] == [2, 1]
    assert koege["shares"]["missing_title"] > 0.5

    table = run_cli("health", "--db", archive_url)
    assert table.returncode == 1
    assert "koege" in table.stdout and "CHANGED" in table.stdout and "lack a title" in table.stdout
    assert "1 site(s) changed sharply: koege" in table.stderr


def test_check_run_judges_the_last_run(koege_mirror: MirrorServer, archive_url: str, tmp_path: Path) -> None:
    empty = run_cli("check-run", "--last", "--db", archive_url)
    assert empty.returncode == 1 and "there is no crawl run; `koege-archive runs` lists them" in empty.stderr

    ok = crawl_mirror(koege_mirror, archive_url)
    assert ok.returncode == 0, ok.stderr
    verdict = run_cli("check-run", "--last", "--format", "json", "--db", archive_url)
    assert verdict.returncode == 0 and json.loads(verdict.stdout) == {
        "run": 1,
        "status": "finished",
        "ok": True,
        "problems": [],
    }
    # A recrawl in which nothing changed is a success.
    same = crawl_mirror(koege_mirror, archive_url)
    assert same.returncode == 0 and "new                  0" in same.stderr
    assert run_cli("check-run", "--last", "--site", "koege", "--db", archive_url).returncode == 0
    # The mirror has one broken article link among ~55 pages: a strict error ratio fails the run.
    strict = run_cli("check-run", "1", "--max-error-ratio", "0.001", "--db", archive_url)
    assert strict.returncode == 1 and "more than --max-error-ratio 0.001" in strict.stderr

    # A site that answers nothing: the run fails and check-run says why.
    dead = run_cli("crawl", "koege", "--base-url", "http://127.0.0.1:9", "--db", archive_url, "-s", "RETRY_TIMES=0")
    assert dead.returncode == 1
    verdict = run_cli("check-run", "--last", "--db", archive_url)
    assert verdict.returncode == 1 and "did not finish (failed)" in verdict.stderr
    assert "no listing or sitemap could be read" in verdict.stderr
