"""Recrawl and near-duplicate benchmark: what a recrawl costs against the first crawl, in one run.

Part 1, recrawls of a generated koege.dk-shaped site (``bench/sitegen.py``, ~2,000 articles, 100
listing pages, a sitemap with lastmod), each a full `koege-archive crawl` (politeness off):
- the first crawl (every page fetched and extracted) — the baseline;
- a recrawl with nothing changed, default settings;
- a recrawl with nothing changed and every known article checked (``KOEGE_RECRAWL_REVISIT_HOURS=0``:
  one conditional request per article, answered 304);
- a recrawl with recrawling switched off (``KOEGE_RECRAWL_ENABLED=False``: refetch and re-extract
  everything), for comparison.
Reported: time (the run's own start-to-finish, and wall clock with process start-up), ratio to the
first crawl, requests by HTTP status as the server saw them, pages extracted, versions added.

Part 2, near-duplicate clustering of 100,000 generated ~300-word documents (a Zipfian vocabulary
and template sentences shared by many documents), 5 % of them copies of another document keeping
90–99 % of its words in place (scattered substitutions, deletions and insertions, plus a changed
closing sentence). Each method runs in a fresh process (its own peak memory):
- ``archive.neardup`` (datasketch MinHash signatures, LSH banding over a NumPy matrix) — what
  ``koege-archive duplicates`` does over a whole archive;
- datasketch's own ``MinHashLSH`` index over the same signatures — the library baseline.
Reported: time, peak memory, recall on the planted pairs (pairs that end up in one cluster) and
precision of the reported pairs.

Part 3, the archive's incremental path (what every crawl does at its end): an SQLite archive of
``--archive-docs`` generated documents is signed and linked in one pass, then a "crawl" adds 200
documents (10 of them planted copies of archived ones) and only those are signed and looked up in
the LSH bucket index stored in the database.

    .venv/bin/python bench/recrawl.py [--pages 2000] [--docs 100000] [--archive-docs 20000]
                                      [--skip-crawl] [--skip-neardup] [--skip-archive]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sitegen import LISTING, generate  # noqa: E402

from archive.db import open_archive  # noqa: E402
from archive.queries import list_runs  # noqa: E402
from koege_spider.mirror import MirrorServer  # noqa: E402

CLI = str(Path(sys.executable).with_name("koege-archive"))
PRESS = "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/pressemeddelelser"


# --- part 1: recrawls --------------------------------------------------------------------------
def _koege_shaped(root: Path, targets: list[str]) -> None:
    """Add what koege.dk has and sitegen leaves out: a sitemap with lastmod, the press listing."""
    routes = json.loads((root / "routes.json").read_text(encoding="utf-8"))["routes"]
    urls = "".join(
        f"<url><loc>https://www.koege.dk{t}</loc><lastmod>2025-{1 + n % 12:02d}-{1 + n % 28:02d}</lastmod></url>"
        for n, t in enumerate(targets)
    )
    (root / "sitemap.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
        encoding="utf-8",
    )
    (root / "robots.txt").write_text(
        "User-agent: *\nDisallow: /soeg\nSitemap: https://www.koege.dk/sitemap.xml\n", encoding="utf-8"
    )
    (root / "pages" / "press.html").write_text(
        '<html lang="da"><body><main><h1>Pressemeddelelser</h1><ul></ul></main></body></html>', encoding="utf-8"
    )
    routes["/sitemap.xml"] = {"file": "sitemap.xml", "content_type": "application/xml"}
    routes[PRESS] = {"file": "pages/press.html"}
    (root / "routes.json").write_text(json.dumps({"routes": routes}), encoding="utf-8")


def _crawl(server: MirrorServer, db: Path, *extra: str) -> dict[str, object]:
    cmd = [
        CLI,
        "crawl",
        "koege",
        "--base-url",
        server.origin,
        "--db",
        f"sqlite:///{db}",
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "CONCURRENT_REQUESTS_PER_DOMAIN=8",
        *extra,
    ]
    seen = len(server.requests)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}):\n{proc.stderr}")
    archive = open_archive(f"sqlite:///{db}")
    try:
        run = list_runs(archive, limit=1)[0]
        with archive.reading() as session:
            from sqlalchemy import func, select

            from archive.models import Version

            versions = session.scalar(select(func.count()).select_from(Version))
    finally:
        archive.close()
    assert run.finished_at is not None
    articles = [r for r in server.requests[seen:] if r.target.startswith(LISTING + "/")]
    return {
        "seconds": (run.finished_at - run.started_at).total_seconds(),
        "wall": wall,
        "requests": len(server.requests) - seen,
        "article_statuses": dict(sorted(Counter(r.status for r in articles).items())),
        "conditional": sum(1 for r in articles if "If-None-Match" in r.headers),
        "extracted": int(run.stats.get("koege/extraction/ok", 0)),
        "new": run.new,
        "changed": run.changed,
        "not_modified": run.not_modified,
        "not_revisited": int(run.stats.get("koege/recrawl/not_revisited", 0)),
        "versions": versions,
    }


def bench_recrawl(pages: int) -> None:
    """Crawl once, then recrawl three ways; print times and ratios against the first crawl."""
    with tempfile.TemporaryDirectory(prefix="koege-recrawl-") as tmp:
        root = Path(tmp) / "site"
        targets = generate(root, pages)
        _koege_shaped(root, targets)
        db = Path(tmp) / "archive.sqlite"
        with MirrorServer(root) as server:
            first = _crawl(server, db)
            # The machine may be busy with other work: the median of three runs.
            repeated = sorted((_crawl(server, db) for _ in range(3)), key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
            runs = {
                "recrawl, nothing changed (defaults; median of 3)": repeated[1],
                "recrawl, every article checked (REVISIT_HOURS=0)": _crawl(
                    server, db, "-s", "KOEGE_RECRAWL_REVISIT_HOURS=0"
                ),
                "recrawl with recrawling off (RECRAWL_ENABLED=False)": _crawl(
                    server, db, "-s", "KOEGE_RECRAWL_ENABLED=False"
                ),
            }
    print(f"Recrawl of a generated site: {pages} articles, {-(-pages // 20)} listing pages, a sitemap")
    print(
        f"  first crawl: {first['seconds']:6.2f} s run, {first['wall']:6.2f} s wall; {first['requests']} requests;"
        f" {first['extracted']} pages extracted; {first['versions']} versions"
    )
    for name, r in runs.items():
        print(
            f"  {name}:\n"
            f"    {r['seconds']:6.2f} s run ({first['seconds'] / r['seconds']:5.1f}x faster),"
            f" {r['wall']:6.2f} s wall ({first['wall'] / r['wall']:4.1f}x);"
            f" {r['requests']} requests; article answers {r['article_statuses']}"
            f" ({r['conditional']} conditional); extracted {r['extracted']}; new {r['new']},"
            f" changed {r['changed']}, not modified {r['not_modified']}, not revisited {r['not_revisited']};"
            f" versions {r['versions']}"
        )


# --- part 2: near-duplicates ------------------------------------------------------------------
def _documents(count: int, seed: int = 2026) -> tuple[list[str], list[tuple[int, int]]]:
    """``count`` documents of ~300 words, 5 % of them planted copies; returns (texts, planted pairs)."""
    import random

    import numpy as np

    rng = random.Random(seed)
    letters = "abdefghijklmnoprstuvyæøå"
    vocab = [
        "".join(rng.choice(letters) for _ in range(rng.randint(2, 11))) for _ in range(20_000)
    ]  # Danish-looking words with a long tail
    weights = 1 / np.arange(1, len(vocab) + 1) ** 1.05
    cum = np.cumsum(weights) / weights.sum()
    nprng = np.random.default_rng(seed)
    templates = [" ".join(vocab[i] for i in np.searchsorted(cum, nprng.random(rng.randint(25, 45)))) for _ in range(40)]
    originals = count - count // 20
    texts = []
    for _ in range(originals):
        words = [vocab[i] for i in np.searchsorted(cum, nprng.random(rng.randint(250, 330)))]
        # Most articles end with one of a few template paragraphs (contact box, footer).
        texts.append(" ".join(words) + " " + rng.choice(templates))
    planted = []
    for _ in range(count - originals):
        source = rng.randrange(originals)
        words = texts[source].split()
        overlap = rng.uniform(0.90, 0.99)
        edits = round(len(words) * (1 - overlap))
        closing = min(edits // 3, 12)  # a changed closing sentence…
        words = words[: len(words) - closing] + [vocab[rng.randrange(len(vocab))] for _ in range(closing)]
        for _ in range(edits - closing):  # …and scattered edits
            op, at = rng.random(), rng.randrange(len(words))
            if op < 0.6:
                words[at] = vocab[rng.randrange(len(vocab))]
            elif op < 0.8:
                del words[at]
            else:
                words.insert(at, vocab[rng.randrange(len(vocab))])
        texts.append(" ".join(words))
        planted.append((source, len(texts) - 1))
    return texts, planted


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _neardup_worker(method: str, count: int) -> None:
    """Run one clustering method in this (fresh) process and print a JSON report."""
    from archive.neardup import MinHasher, clusters, find_near_duplicates

    texts, planted = _documents(count)
    hasher = MinHasher()
    before = _rss_mib()
    start = time.perf_counter()
    signatures = {i: s for i, t in enumerate(texts) if (s := hasher.signature(t)) is not None}
    signed = time.perf_counter() - start
    if method == "archive":
        pairs = [(p.a, p.b) for p in find_near_duplicates(signatures, hasher)]
    else:
        from datasketch import MinHash, MinHashLSH

        lsh = MinHashLSH(threshold=hasher.threshold, num_perm=hasher.num_perm, weights=(0.2, 0.8))
        minhashes = {
            i: MinHash(num_perm=hasher.num_perm, hashvalues=s, scheme="affine32") for i, s in signatures.items()
        }
        with lsh.insertion_session() as session:
            for i, m in minhashes.items():
                session.insert(i, m, check_duplication=False)
        pairs = []
        for i, m in minhashes.items():
            for j in lsh.query(m):
                if j > i and hasher.similarity(signatures[i], signatures[j]) >= hasher.threshold:
                    pairs.append((i, j))
    took = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    group = {i: i for i in range(len(texts))}
    for source, copy in planted:
        group[copy] = group[source]
    found = {min(p): p for p in clusters(pairs)}
    cluster_of = {d: k for k, members in found.items() for d in members}
    recalled = sum(1 for a, b in planted if a in cluster_of and cluster_of.get(a) == cluster_of.get(b))
    correct = sum(1 for a, b in pairs if group[a] == group[b])
    print(
        json.dumps(
            {
                "docs": len(texts),
                "planted": len(planted),
                "seconds": took,
                "signing_seconds": signed,
                "peak_mib": peak,
                "before_mib": before,
                "pairs": len(pairs),
                "recall": recalled / len(planted),
                "precision": correct / max(1, len(pairs)),
            }
        )
    )


def bench_neardup(count: int) -> None:
    """Cluster ``count`` generated documents with each method in its own process."""
    print(f"Near-duplicate clustering: {count} documents of ~300 words, {count // 20} planted copies (90-99 % kept)")
    for method, name in (
        ("archive", "archive.neardup (MinHash + NumPy LSH banding)"),
        ("datasketch", "datasketch MinHashLSH"),
    ):
        proc = subprocess.run(
            [sys.executable, __file__, "--neardup-worker", method, "--docs", str(count)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(f"  {name}: failed\n{proc.stderr[-2000:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"  {name}: {r['seconds']:6.1f} s ({r['signing_seconds']:.1f} s signing), peak memory"
            f" {r['peak_mib']:.0f} MiB ({r['before_mib']:.0f} MiB of it the generated texts);"
            f" recall {r['recall']:.4f}, precision {r['precision']:.4f} ({r['pairs']} pairs reported)"
        )


def _fill(db_url: str, texts: list[str], start: int) -> None:
    import datetime as dt

    from archive.store import ArchiveWriter, CaptureRecord, VersionRecord

    archive = open_archive(db_url)
    writer = ArchiveWriter(archive, batch_size=1000)
    writer.ensure_site("koege", "Køge Kommune", "https://www.koege.dk")
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for n, text in enumerate(texts, start=start):
        url = f"https://www.koege.dk{LISTING}/nyhed-{n}"
        writer.add(
            site_key="koege",
            run_id=None,
            capture=CaptureRecord(url, url, at, 200, {}, "text/html", "utf-8", b""),
            version=VersionRecord(title=None, lead=None, text=text, content_hash=f"h{n}", extractor="bench"),
            outcome="new",
        )
    writer.flush()
    archive.close()


def bench_archive(count: int) -> None:
    """The near-duplicate index in the archive: one full pass, then one crawl's worth of new texts."""
    from archive.duplicates import duplicate_clusters, link_near_duplicates

    archived, _ = _documents(count, seed=7)
    arriving = _documents(210, seed=8)[0][:200]  # the first 200 are originals, none a copy
    import random

    rng = random.Random(7)
    planted = rng.sample(range(count), 10)
    for n, source in enumerate(planted):  # ten of the arriving texts are copies of archived ones
        words = archived[source].split()
        words[-8:] = [f"ny{n}{i}" for i in range(8)]
        arriving[n] = " ".join(words)
    with tempfile.TemporaryDirectory(prefix="koege-neardup-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'archive.sqlite'}"
        _fill(db_url, archived, 1)
        archive = open_archive(db_url)
        start = time.perf_counter()
        full = link_near_duplicates(archive)
        full_seconds = time.perf_counter() - start
        archive.close()
        _fill(db_url, arriving, count + 1)
        archive = open_archive(db_url)
        start = time.perf_counter()
        step = link_near_duplicates(archive)
        step_seconds = time.perf_counter() - start
        found = {frozenset(m.id for m in c.members) for c in duplicate_clusters(archive)}
        archive.close()
    hits = sum(1 for n, source in enumerate(planted) if any({source + 1, count + 1 + n} <= c for c in found))
    print(f"Near-duplicates in an SQLite archive of {count} documents:")
    print(f"  first pass (sign and link everything): {full_seconds:6.1f} s, {full.signed} signed, {full.linked} links")
    print(
        f"  a crawl's worth (200 new texts): {step_seconds:6.2f} s, {step.signed} signed, {step.linked} links;"
        f" {hits}/10 planted copies linked to their archived original"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000, help="articles on the generated site")
    parser.add_argument("--docs", type=int, default=100_000, help="documents for near-duplicate clustering")
    parser.add_argument("--skip-crawl", action="store_true", help="skip part 1 (recrawls)")
    parser.add_argument("--skip-neardup", action="store_true", help="skip part 2 (near-duplicates)")
    parser.add_argument("--archive-docs", type=int, default=20_000, help="documents in the archive of part 3")
    parser.add_argument("--skip-archive", action="store_true", help="skip part 3 (the archive's index)")
    parser.add_argument("--neardup-worker", choices=["archive", "datasketch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.neardup_worker:
        _neardup_worker(args.neardup_worker, args.docs)
        return
    if not args.skip_crawl:
        bench_recrawl(args.pages)
    if not args.skip_neardup:
        bench_neardup(args.docs)
    if not args.skip_archive:
        bench_archive(args.archive_docs)


if __name__ == "__main__":
    main()
