#!/usr/bin/env python3
"""Check site profiles against the live sites (run by hand, online; never in tests).

For each profile it runs a short, polite crawl of the live site into a throw-away archive
(``koege-archive crawl SITE -s KOEGE_BUDGET_MAX_PAGES=N``) and records what it found in
koege_spider/profiles/live_checks.json, which ``koege-archive sites`` shows:

- ok: the run finished, a listing, feed or sitemap was read, and at least one article was
  archived with a title and text;
- the counts behind that (listings read, articles, with a published date, skipped reasons).

A profile that fails needs a look: its listing moved, its article URL prefixes are too narrow
(put the fix in the profile's [overlay]), or the site blocks the crawler.

Usage:
    .venv/bin/python scripts/check_profiles_live.py                 # every profile
    .venv/bin/python scripts/check_profiles_live.py solroed greve   # some
    .venv/bin/python scripts/check_profiles_live.py --pages 30 --unchecked
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "koege_spider" / "profiles" / "live_checks.json"
CLI = str(Path(sys.executable).with_name("koege-archive"))


def check_site(site: str, pages: int, folder: Path) -> dict[str, Any]:
    """Crawl one site briefly and summarise the outcome.

    Args:
        site: the profile key.
        pages: the crawl's page budget.
        folder: where the throw-away archive goes.

    Returns:
        The result recorded for the site.
    """
    from archive.db import open_archive
    from archive.queries import export_rows, list_runs

    db_url = f"sqlite:///{folder / f'{site}.sqlite'}"
    started = dt.datetime.now(dt.UTC)
    proc = subprocess.run(
        [CLI, "crawl", site, "--db", db_url, "-s", f"KOEGE_BUDGET_MAX_PAGES={pages}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    result: dict[str, Any] = {"checked_at": started.isoformat(timespec="seconds"), "ok": False}
    try:
        archive = open_archive(db_url)
    except Exception as exc:  # the crawl never got as far as the archive
        result["message"] = f"{type(exc).__name__}: {exc}; {proc.stderr.strip()[-300:]}"
        return result
    try:
        runs = list_runs(archive)
        rows = list(export_rows(archive, site=site))
    finally:
        archive.close()
    if not runs:
        result["message"] = proc.stderr.strip()[-300:]
        return result
    run = runs[0]
    good = [r for r in rows if r["title"] and r["text"]]
    result.update(
        {
            "ok": run.status == "finished" and run.listings_read > 0 and bool(good),
            "status": run.status,
            "listings_read": run.listings_read,
            "pages_fetched": run.pages_fetched,
            "articles": len(rows),
            "with_title_and_text": len(good),
            "with_published": sum(1 for r in rows if r["published"]),
            "skipped": dict(sorted(run.skipped_reasons.items())),
            "message": run.message,
        }
    )
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sites", nargs="*", help="profile keys (default: every profile)")
    parser.add_argument("--pages", type=int, default=20, help="page budget per site (default 20)")
    parser.add_argument("--unchecked", action="store_true", help="only profiles never checked")
    args = parser.parse_args(argv)

    from koege_spider.sites import available_sites, load_live_checks

    results = load_live_checks()
    sites = args.sites or available_sites()
    if args.unchecked:
        sites = [s for s in sites if s not in results]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="koege-live-check-") as tmp:
        for site in sites:
            result = check_site(site, args.pages, Path(tmp))
            results[site] = result
            failed += not result["ok"]
            verdict = "ok" if result["ok"] else "FAILED"
            print(f"{site:<18} {verdict:<7} {result.get('articles', 0):>3} articles  {result.get('message') or ''}")
            # Written after every site: an interrupted check keeps what it learned.
            RESULTS.write_text(json.dumps(dict(sorted(results.items())), ensure_ascii=False, indent=2) + "\n")
    print(f"{len(sites) - failed} of {len(sites)} profiles work on the live site; results in {RESULTS}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
