"""Re-extraction benchmark: reading the archive's WARC captures again against the first crawl, in one run.

On a generated koege.dk-shaped site (``bench/sitegen.py``, ~2,000 articles, served on 127.0.0.1):
- the first crawl (`koege-archive crawl`, politeness off): every page fetched, extracted,
  written to WARC and the database — the baseline, in archived pages/s of the run;
- `koege-archive reextract` with the same profile: every capture read back from WARC, decoded,
  extracted and dated, compared with its version; nothing changes, nothing is written;
- `koege-archive reextract` after a profile change that touches most pages (a boilerplate rule
  for the "… siger borgmester Marie Stærke." quote lines): the changed readings are written
  (versions updated in place, extraction rows, the search index).
Both re-extractions run with the mirror stopped (no network). Reported: pages/s (the command's
own timing, and wall clock with process start-up), the ratio to the first crawl, and storage:
WARC bytes per archived page (all files: requests, listings, robots.txt included; and the article
response records alone) against the raw HTML bytes per article (the sum of the served bodies).

    .venv/bin/python bench/reextract.py [--pages 2000] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sitegen import generate  # noqa: E402

from archive.db import open_archive  # noqa: E402
from archive.queries import list_runs  # noqa: E402
from koege_spider.mirror import MirrorServer  # noqa: E402

CLI = str(Path(sys.executable).with_name("koege-archive"))
REPO = Path(__file__).resolve().parent.parent
QUOTE_RULE = r"siger borgmester Marie Stærke\.$"


def _crawl(origin: str, db: Path) -> dict[str, float]:
    cmd = [
        CLI,
        "crawl",
        "koege",
        "--base-url",
        origin,
        "--db",
        f"sqlite:///{db}",
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}):\n{proc.stderr}")
    archive = open_archive(f"sqlite:///{db}")
    try:
        run = list_runs(archive, limit=1)[0]
    finally:
        archive.close()
    assert run.finished_at is not None
    seconds = (run.finished_at - run.started_at).total_seconds()
    archived = run.new + run.changed + run.unchanged
    return {"archived": archived, "seconds": seconds, "wall": wall, "pages_per_s": archived / seconds}


def _reextract(db: Path, profiles: Path | None, workers: int | None) -> dict[str, object]:
    cmd = [CLI, "reextract", "--db", f"sqlite:///{db}", "--format", "json"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    env = dict(os.environ)
    if profiles is not None:
        env["KOEGE_PROFILES_DIR"] = str(profiles)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"reextract failed ({proc.returncode}):\n{proc.stderr}")
    report: dict[str, object] = json.loads(proc.stdout)
    report["wall"] = wall
    return report


def _changed_profiles(folder: Path) -> Path:
    """The bundled profiles with a koege rule that drops the quoted mayor lines (most pages have one)."""
    shutil.copytree(REPO / "koege_spider" / "profiles", folder)
    path = folder / "koege.toml"
    text = path.read_text(encoding="utf-8")
    if "boilerplate = [\n" not in text:
        raise SystemExit("koege.toml has no boilerplate list to extend; update bench/reextract.py")
    path.write_text(text.replace("boilerplate = [\n", f"boilerplate = [\n    '{QUOTE_RULE}',\n", 1), encoding="utf-8")
    return folder


def _storage(db: Path, root: Path, targets: list[str]) -> dict[str, float]:
    import sqlite3

    routes = json.loads((root / "routes.json").read_text(encoding="utf-8"))["routes"]
    html = sum((root / routes[t]["file"]).stat().st_size for t in targets)
    warc = sum(p.stat().st_size for p in (db.parent / "warc").iterdir())
    conn = sqlite3.connect(db)
    try:
        versions, records = conn.execute(
            "SELECT count(*), coalesce(sum(c.warc_length), 0) FROM versions v JOIN captures c ON c.id = v.capture_id"
        ).fetchone()
    finally:
        conn.close()
    return {
        "articles": len(targets),
        "versions": versions,
        "html_per_page": html / len(targets),
        "warc_per_page": warc / versions,
        "record_per_page": records / versions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000, help="articles on the generated site")
    parser.add_argument("--workers", type=int, default=None, help="reextract --workers (default: its own)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="koege-reextract-") as tmp:
        root = Path(tmp) / "site"
        targets = generate(root, args.pages)
        db = Path(tmp) / "archive" / "archive.sqlite"
        with MirrorServer(root) as server:
            first = _crawl(server.origin, db)
        # The mirror is stopped: everything below reads the WARC files.
        same = _reextract(db, None, args.workers)
        changed = _reextract(db, _changed_profiles(Path(tmp) / "profiles"), args.workers)
        storage = _storage(db, root, targets)
    print(f"Re-extraction of a generated site: {args.pages} articles ({os.cpu_count()} CPUs)")
    print(
        f"  first crawl:                      {first['pages_per_s']:7.1f} pages/s"
        f" ({first['archived']:.0f} pages in {first['seconds']:.1f} s; wall {first['wall']:.1f} s)"
    )
    for name, r in (("reextract, same profile", same), ("reextract, profile changed", changed)):
        seconds, wall, read = float(str(r["seconds"])), float(str(r["wall"])), int(str(r["read"]))
        rate = read / seconds
        print(
            f"  {name + ':':<33} {rate:7.1f} pages/s ({read} read in {seconds:.1f} s; wall {wall:.1f} s"
            f" -> {read / wall:.1f} pages/s)  ratio to the first crawl {rate / first['pages_per_s']:.2f};"
            f" changed {r['changed']} {r['fields']}, unchanged {r['unchanged']}, unreadable {r['unreadable']}"
        )
    print(
        f"  storage per article: raw HTML {storage['html_per_page'] / 1024:.1f} KiB;"
        f" WARC {storage['warc_per_page'] / 1024:.1f} KiB in all files"
        f" ({storage['warc_per_page'] / storage['html_per_page']:.2f}x; listings, requests, robots.txt included),"
        f" {storage['record_per_page'] / 1024:.1f} KiB the article's own response record"
        f" ({storage['record_per_page'] / storage['html_per_page']:.2f}x)"
    )


if __name__ == "__main__":
    main()
