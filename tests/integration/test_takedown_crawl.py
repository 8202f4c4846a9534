"""A suppressed document is not fetched again by later crawls (until the suppression is lifted)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from koege_spider.mirror import MirrorServer
from tests.conftest import crawl_mirror, run_cli

ARTICLE = (
    "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/"
    "tre-nye-badebroer-i-koege-bugt-strandpark"
)
PATH = urlsplit(ARTICLE).path


def test_recrawls_leave_a_suppressed_document_alone(koege_mirror: MirrorServer, archive_url: str) -> None:
    assert crawl_mirror(koege_mirror, archive_url).returncode == 0
    suppressed = run_cli("suppress", ARTICLE, "--reason", "GDPR 2026-7", "--db", archive_url)
    assert suppressed.returncode == 0, suppressed.stderr

    seen = len(koege_mirror.requests)
    recrawl = crawl_mirror(koege_mirror, archive_url, "-s", "KOEGE_RECRAWL_REVISIT_HOURS=0")
    assert recrawl.returncode == 0, recrawl.stderr
    fetched = [r.target for r in koege_mirror.requests[seen:]]
    assert PATH not in fetched
    assert any(t.startswith(PATH.rsplit("/", 1)[0] + "/") for t in fetched)  # its neighbours were checked
    run = json.loads(run_cli("runs", "--format", "json", "--limit", "1", "--db", archive_url).stdout)[0]
    assert run["skipped_reasons"].get("suppressed") == 1

    assert run_cli("unsuppress", ARTICLE, "--db", archive_url).returncode == 0
    seen = len(koege_mirror.requests)
    assert crawl_mirror(koege_mirror, archive_url, "-s", "KOEGE_RECRAWL_REVISIT_HOURS=0").returncode == 0
    assert PATH in [r.target for r in koege_mirror.requests[seen:]]
