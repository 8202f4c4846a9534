"""Politeness by default, seen from the fixture server's request log (real crawls, 127.0.0.1).

Timing assertions are lower bounds on gaps the crawler must leave (a slow machine only makes
gaps longer), measured from the server's own clock; nothing here asserts that something is fast.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from archive.db import open_archive
from archive.queries import export_rows, list_runs
from koege_spider.mirror import MirrorServer, ServedRequest
from tests.conftest import FAST, FIXTURES, run_cli

if TYPE_CHECKING:
    from pathlib import Path

SOLROED = FIXTURES / "mirrors" / "gopublic-solroed"
KK = FIXTURES / "mirrors" / "drupal-koebenhavn"
ARTICLE = "/aktuelt/nyheder/vejarbejde-paa-solroed-strandvej"
# Server-side gaps may come out a little shorter than the delay the crawler kept (the server logs
# when it finished answering, not when the request arrived).
SLACK = 0.15


def _mirror(tmp_path: Path, *sources: Path, change: dict[str, Any] | None = None) -> Path:
    """A mirror in tmp_path serving the routes of ``sources`` (files by absolute path), changed."""
    routes: dict[str, Any] = {}
    for source in sources:
        for target, route in json.loads((source / "routes.json").read_text(encoding="utf-8"))["routes"].items():
            if "file" in route:
                route = {**route, "file": str((source / route["file"]).resolve())}
            routes.setdefault(target, route)
    routes.update(change or {})
    root = tmp_path / "mirror"
    root.mkdir()
    (root / "routes.json").write_text(json.dumps({"routes": routes}), encoding="utf-8")
    return root


def _run(db_url: str) -> Any:
    archive = open_archive(db_url)
    try:
        (run,) = list_runs(archive)
        return run
    finally:
        archive.close()


def _pages(served: list[ServedRequest]) -> list[ServedRequest]:
    return [r for r in served if r.target != "/robots.txt"]


def _gaps(served: list[ServedRequest]) -> list[float]:
    return [b.at - a.at for a, b in zip(served, served[1:], strict=False)]


def test_a_robots_txt_answering_503_means_no_page_is_fetched(tmp_path: Path, archive_url: str) -> None:
    root = _mirror(tmp_path, SOLROED, change={"/robots.txt": {"status": 503}})
    with MirrorServer(root) as server:
        result = run_cli("crawl", "solroed", "--base-url", server.origin, "--db", archive_url, *FAST)
        served = server.requests
    assert {r.target for r in served} == {"/robots.txt"}, "nothing but robots.txt was asked for"
    assert result.returncode == 1
    assert "robots.txt" in result.stderr and "HTTP 503" in result.stderr and "Traceback" not in result.stderr
    run = _run(archive_url)
    assert run.status == "failed" and run.skipped_reasons.get("robots_unavailable", 0) >= 1


def test_crawl_delay_is_kept_between_pages(tmp_path: Path, archive_url: str) -> None:
    root = _mirror(tmp_path, SOLROED)
    (root / "robots.txt").write_text("User-agent: *\nCrawl-delay: 1\n", encoding="utf-8")
    routes = json.loads((root / "routes.json").read_text(encoding="utf-8"))
    routes["routes"]["/robots.txt"] = {"file": "robots.txt", "content_type": "text/plain"}
    (root / "routes.json").write_text(json.dumps(routes), encoding="utf-8")
    no_delay = json.dumps({"solroed": {"delay": 0, "concurrency": 1}})
    with MirrorServer(root) as server:
        # The profile's delay and AutoThrottle off: only the site's own Crawl-delay paces the crawl.
        result = run_cli(
            "crawl",
            "solroed",
            "--base-url",
            server.origin,
            "--db",
            archive_url,
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
            "-s",
            f"DOWNLOAD_SLOTS={no_delay}",
        )
        pages = _pages(server.requests)
    assert result.returncode == 0, result.stderr
    assert len(pages) >= 6
    assert min(_gaps(pages)) >= 1.0 - SLACK
    assert _run(archive_url).stats.get("koege/robots/crawl_delay/127.0.0.1") == 1.0


def test_retry_after_holds_the_site_then_retries(tmp_path: Path, archive_url: str) -> None:
    busy = {"file": str((SOLROED / "pages" / "aktuelt--nyheder__page-2.html").resolve()), "status": 503}
    root = _mirror(tmp_path, SOLROED, change={ARTICLE: {**busy, "headers": {"Retry-After": "2"}}})
    # A tiny delay of its own, so that the site's requests go one at a time (with no delay at all
    # Scrapy hands a slot's whole queue to the network at once).
    tiny = json.dumps({"solroed": {"delay": 0.05, "concurrency": 1}})
    with MirrorServer(root) as server:
        result = run_cli(
            "crawl", "solroed", "--base-url", server.origin, "--db", archive_url, *FAST, "-s", f"DOWNLOAD_SLOTS={tiny}"
        )
        pages = _pages(server.requests)
    assert result.returncode == 0, result.stderr
    attempts = [i for i, r in enumerate(pages) if r.target == ARTICLE]
    assert len(attempts) == 3, "asked once and retried twice (RETRY_TIMES)"
    for i in attempts[:-1]:
        # Nothing of the site, not only the busy page, is asked for until Retry-After has passed.
        assert pages[i + 1].at - pages[i].at >= 2.0 - SLACK
    assert re.search(r"failed\s+1\s+\(HTTP 503: 1\)", result.stderr)
    assert _run(archive_url).stats.get("koege/politeness/retry_after") == 3


def test_a_server_asking_for_a_long_pause_is_left_alone(tmp_path: Path, archive_url: str) -> None:
    busy = {"file": str((SOLROED / "pages" / "aktuelt--nyheder__page-2.html").resolve()), "status": 429}
    root = _mirror(tmp_path, SOLROED, change={"/aktuelt/nyheder?page=2": {**busy, "headers": {"Retry-After": "3600"}}})
    with MirrorServer(root) as server:
        result = run_cli(
            "crawl",
            "solroed",
            "--base-url",
            server.origin,
            "--db",
            archive_url,
            *FAST,
            "-s",
            "KOEGE_PACING_RETRY_AFTER_MAX=60",
        )
        pages = _pages(server.requests)
    assert result.returncode == 0, result.stderr
    assert [r.target for r in pages].count("/aktuelt/nyheder?page=2") == 1, "no retry against its wish"
    run = _run(archive_url)
    assert run.skipped_reasons.get("server_busy", 0) >= 1
    assert "server_busy" in result.stderr


def test_a_pagination_trap_stops_at_the_budget(tmp_path: Path, archive_url: str) -> None:
    root = tmp_path / "trap"
    (root / "pages").mkdir(parents=True)
    routes: dict[str, Any] = {"/robots.txt": {"status": 404}}
    for n in range(1, 301):  # page N links page N+1 and one article: a listing that never ends
        target = "/aktuelt/nyheder" + (f"?page={n}" if n > 1 else "")
        (root / "pages" / f"{n}.html").write_text(
            f'<html><body><h1>Nyheder</h1><a href="/aktuelt/nyheder/nyhed-{n}">Nyhed {n}</a>'
            f'<a href="/aktuelt/nyheder?page={n + 1}">Næste</a></body></html>',
            encoding="utf-8",
        )
        routes[target] = {"file": f"pages/{n}.html"}
    (root / "routes.json").write_text(json.dumps({"routes": routes}), encoding="utf-8")
    with MirrorServer(root) as server:
        result = run_cli(
            "crawl",
            "solroed",
            "--base-url",
            server.origin,
            "--db",
            archive_url,
            *FAST,
            "-s",
            "KOEGE_BUDGET_MAX_PAGES=40",
        )
        pages = _pages(server.requests)
    assert result.returncode == 0, result.stderr
    # The budget counts every request of the site: its pages and its own robots.txt read for
    # Sitemap: lines (the robots.txt that robots.txt rules come from is the crawler's, not the site's).
    assert len(pages) + 1 == 40, "exactly the budget, then nothing more"
    run = _run(archive_url)
    assert run.skipped_reasons.get("budget_pages", 0) >= 1
    assert run.stats.get("koege/budget/exhausted/solroed") == "pages"
    assert "budget_pages" in result.stderr


def test_several_sites_in_one_crawl_each_keep_their_own_pace(tmp_path: Path, archive_url: str) -> None:
    root = _mirror(tmp_path, SOLROED, KK)
    slots = {
        "solroed": {"delay": 0.6, "concurrency": 1},
        "koebenhavn": {"delay": 0.4, "concurrency": 1},
    }
    with MirrorServer(root) as server:
        # AutoThrottle on and no global delay: each site's own delay is the floor it keeps.
        result = run_cli(
            "crawl",
            "solroed",
            "koebenhavn",
            "--base-url",
            server.origin,
            "--db",
            archive_url,
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            f"DOWNLOAD_SLOTS={json.dumps(slots)}",
        )
        pages = _pages(server.requests)
    assert result.returncode == 0, result.stderr
    archive = open_archive(archive_url)
    try:
        sites = {row["site"] for row in export_rows(archive)}
        (run,) = list_runs(archive)
    finally:
        archive.close()
    assert sites == {"solroed", "koebenhavn"}
    assert "solroed" in run.sites and "koebenhavn" in run.sites
    solroed = [r for r in pages if r.target.startswith("/aktuelt/")]
    kk = [r for r in pages if not r.target.startswith("/aktuelt/")]
    assert len(solroed) >= 5 and len(kk) >= 4
    assert min(_gaps(solroed)) >= 0.6 - SLACK
    assert min(_gaps(kk)) >= 0.4 - SLACK
    # The two sites ran side by side, not one after the other.
    assert any(solroed[0].at < r.at < solroed[-1].at for r in kk)
