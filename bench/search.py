"""Search and export benchmark on a generated archive of 100,000 Danish articles.

Reports, in one run on the same archive:
- writing the archive through ``ArchiveWriter`` (which keeps the Danish index current), and a
  full index rebuild;
- search latency (p50/p95, ms) for a fixed mix of 50 Danish queries (mostly selective words,
  some very common ones like ``kommune``; top 20 with snippets and the total count), against the
  baseline of the same FTS5 MATCH with no ranking, snippets or count;
- export rows/s per format against the baseline of only reading the rows (in the batches the
  writers take), the CPU seconds of every thread, and peak memory (max RSS of a fresh process)
  at 20,000 and at 100,000 rows: flat memory means streaming. The machine is shared: ``--repeat``
  runs every export N times in turn and reports the median and the range.

Targets (issue 6): p50 ≤ 20 ms, p95 ≤ 100 ms; CSV, JSONL, Parquet ≥ 50,000 rows/s; XLSX ≥ 5,000
rows/s; memory that does not grow with the row count.

    .venv/bin/python bench/search.py [--articles 100000] [--db PATH (reused when it exists)]
        [--only search|exports] [--repeat N (exports: each format N times, median and range)]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.db import open_archive  # noqa: E402
from archive.export import FORMATS  # noqa: E402
from archive.fts import rebuild_index  # noqa: E402
from archive.queries import export_rows  # noqa: E402
from archive.search import SearchFilters, search_page  # noqa: E402
from archive.store import ArchiveWriter, CaptureRecord, VersionRecord  # noqa: E402

MIRROR = ROOT / "koege_spider" / "mirrors" / "koege"
COMMON = ["kommune", "kommunen", "borgere", "byrådet", "køge", "og", "at", "der", "skal", "nye"]
SECTIONS = ["nyheder", "pressemeddelelser"]


def _vocabulary(rng: random.Random) -> list[str]:
    """Danish words from the bundled koege.dk mirror, plus compounds of them (Zipf-ordered later)."""
    words: set[str] = set()
    for page in MIRROR.rglob("*.html"):
        text = re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8", errors="replace"))
        words.update(w.lower() for w in re.findall(r"[A-Za-zÆØÅæøå]{3,}", text))
    base = sorted(words)
    nouns = [w for w in base if len(w) >= 5]
    compounds = {
        a + rng.choice(["", "s"]) + b
        for a, b in zip(rng.choices(nouns, k=30000), rng.choices(nouns, k=30000), strict=True)
    }
    # Zipf order: the common words first, then the site's own words, compounds in the long tail
    # (Danish news texts average 5-6 letters a word and about 2,500 characters an article).
    words_ = [w for w in base if w not in COMMON]
    tail = sorted(compounds - set(base))
    rng.shuffle(words_)
    rng.shuffle(tail)
    return COMMON + words_ + tail


def _queries(vocab: list[str]) -> list[tuple[str, SearchFilters]]:
    """50 fixed queries: 34 selective (words, prefixes, phrases, operators), 8 medium, 5 very
    common (kommune, …), 3 filtered."""
    none = SearchFilters()
    selective = [vocab[i] for i in range(1500, 1500 + 24 * 97, 97)]
    medium = [vocab[i] for i in range(40, 200, 20)]
    queries = [(w, none) for w in selective]
    queries += [(f"{w[:7]}*", none) for w in selective[:4]]
    queries += [('"grøn vækst"', none), ('"nye boliger"', none), (f"{selective[0]} OR {selective[1]}", none)]
    queries += [(f"{selective[2]} -{vocab[50]}", none), ("delegationen", none), ("vækstområdet", none)]
    queries += [(w, none) for w in medium]
    queries += [(w, none) for w in ["kommune", "kommunen", "borgere", "byrådet", "køge"]]
    queries += [
        ("affald*", SearchFilters(since="2018", until="2021")),
        ("kommune", SearchFilters(section="pressemeddelelser")),
        ("havn", SearchFilters(site="koege", since="2020")),
    ]
    assert len(queries) == 50, len(queries)
    return queries


def _warm(path: Path) -> None:
    """Read the archive file once so every measurement starts from the same (cached) disk."""
    with path.open("rb") as f:
        while f.read(1 << 24):
            pass


def generate(db_url: str, articles: int, seed: int = 7) -> float:
    """Write ``articles`` generated articles through ArchiveWriter; returns seconds."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    weights = list(itertools.accumulate(1.0 / (rank + 8) ** 1.05 for rank in range(len(vocab))))
    archive = open_archive(db_url)
    writer = ArchiveWriter(archive, batch_size=500, max_seconds=1e9)
    writer.ensure_site("koege", "Køge Kommune", "https://www.koege.dk")
    t0 = time.perf_counter()
    start = dt.datetime(2012, 1, 1, tzinfo=dt.UTC)
    for i in range(articles):
        words = rng.choices(vocab, cum_weights=weights, k=rng.randint(120, 320))
        if i % 7 == 0:
            at = rng.randrange(len(words))
            words[at:at] = ["grøn", "vækst"]
        title_words = rng.choices(vocab, cum_weights=weights, k=rng.randint(4, 9))
        sentences = [" ".join(words[j : j + 12]).capitalize() + "." for j in range(0, len(words), 12)]
        text = "\n".join(" ".join(sentences[j : j + 4]) for j in range(0, len(sentences), 4))
        title = " ".join(title_words).capitalize()
        lead = sentences[0]
        published = start + dt.timedelta(hours=i * 122_000 // articles * 1)
        url = f"https://www.koege.dk/om-koege-kommune/{SECTIONS[i % 5 == 0]}/artikel-{i}"
        body = f"<html><body><h1>{title}</h1><p>{text}</p></body></html>".encode()
        writer.add(
            site_key="koege",
            run_id=None,
            capture=CaptureRecord(url, url, start + dt.timedelta(seconds=i), 200, {}, "text/html", "utf-8", body),
            version=VersionRecord(
                title=title,
                lead=lead,
                text=text,
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
                extractor="bench",
                published=published.date().isoformat(),
                published_precision="day",
                published_source="bench",
            ),
            outcome="new",
        )
        if i % 10000 == 9999:
            print(f"  … {i + 1:,} articles", file=sys.stderr)
    writer.flush()
    archive.close()
    return time.perf_counter() - t0


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_search(db_url: str, rounds: int = 3) -> dict[str, object]:
    """Latency of the 50-query mix (ranked, snippets, counted) against bare FTS5 matching."""
    from sqlalchemy import text

    from archive.analysis import DanishAnalyzer
    from archive.querylang import parse_query, to_fts5

    archive = open_archive(db_url)
    rng = random.Random(7)
    queries = _queries(_vocabulary(rng))
    analyzer = DanishAnalyzer()
    for q, f in queries:  # warm the page cache once
        search_page(archive, q, f)
    full, bare, per_query = [], [], []
    for _ in range(rounds):
        for q, f in queries:
            t0 = time.perf_counter()
            result = search_page(archive, q, f, limit=20)
            full.append((time.perf_counter() - t0) * 1000)
            per_query.append((full[-1], q, result.total))
            match = to_fts5(parse_query(q), analyzer)
            t0 = time.perf_counter()
            with archive.engine.connect() as conn:
                conn.execute(
                    text("SELECT rowid FROM documents_fts WHERE documents_fts MATCH :m LIMIT 20"), {"m": match}
                ).all()
            bare.append((time.perf_counter() - t0) * 1000)
    archive.close()
    slowest = sorted(per_query, reverse=True)[:5]
    return {
        "queries": len(queries),
        "samples": len(full),
        "p50_ms": round(_percentile(full, 50), 2),
        "p95_ms": round(_percentile(full, 95), 2),
        "max_ms": round(max(full), 2),
        "baseline_bare_match_p50_ms": round(_percentile(bare, 50), 2),
        "ratio_p50_vs_bare_match": round(_percentile(full, 50) / max(_percentile(bare, 50), 1e-6), 1),
        "slowest": [{"ms": round(ms, 1), "query": q, "matches": n} for ms, q, n in slowest],
    }


def _export_rows(archive: object, rows: int) -> object:
    try:
        return export_rows(archive, limit=rows)  # type: ignore[arg-type, call-arg]
    except TypeError:  # a checkout from before export_rows(limit=): measure it as it was
        return itertools.islice(export_rows(archive), rows)  # type: ignore[arg-type]


def export_one(db_url: str, fmt: str, rows: int, out: Path) -> dict[str, object]:
    """Export ``rows`` rows in one format (run in a fresh process, so max RSS is this export's).

    ``read-only`` is the baseline: the same rows read from the archive (in the batches the
    writers take) and dropped. The writers' libraries are imported before the clock starts.
    """
    import orjson  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    from openpyxl import Workbook  # noqa: F401

    archive = open_archive(db_url)
    stream = _export_rows(archive, rows)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    before, cpu0 = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    t0 = time.perf_counter()
    if fmt == "read-only":
        batches = getattr(stream, "batches", None)
        count = sum(len(b) for b in batches()) if batches else sum(1 for _ in stream)  # type: ignore[attr-defined]
    elif fmt in ("parquet", "xlsx"):
        count = FORMATS[fmt](stream, out)
    else:
        with out.open("w", encoding="utf-8", newline="") as f:
            count = FORMATS[fmt](stream, f)
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0  # every thread of the process
    archive.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "format": fmt,
        "rows": count,
        "seconds": round(seconds, 3),
        "rows_per_s": round(count / seconds),
        "cpu_s": round(cpu, 2),
        "max_rss_mib": round(peak / 1024, 1),
        "rss_growth_mib": round((peak - before) / 1024, 1),
    }


def bench_exports(db_url: str, work: Path, sizes: list[int], repeat: int = 1) -> list[dict[str, object]]:
    """Each format at each size, ``repeat`` times in turn (the machine is shared: report the range)."""
    runs: dict[tuple[str, int], list[dict[str, object]]] = {}
    formats = ["read-only", *FORMATS]
    for _ in range(repeat):
        for fmt in formats:
            for rows in sizes:
                out = work / f"export-{rows}.{fmt}"
                done = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--export-one",
                        fmt,
                        "--rows",
                        str(rows),
                        "--db",
                        db_url,
                        "--out",
                        str(out),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.setdefault((fmt, rows), []).append(json.loads(done.stdout))
                out.unlink(missing_ok=True)
    results = []
    for fmt in formats:
        baseline = sorted(int(r["rows_per_s"]) for r in runs[("read-only", sizes[-1])])  # type: ignore[call-overload]
        for rows in sizes:
            rates = sorted(int(r["rows_per_s"]) for r in runs[(fmt, rows)])  # type: ignore[call-overload]
            median = rates[len(rates) // 2]
            cpu = sorted(float(r.get("cpu_s", 0)) for r in runs[(fmt, rows)])  # type: ignore[arg-type]
            result: dict[str, object] = {
                "format": fmt,
                "rows": rows,
                "rows_per_s": median,
                "rows_per_s_range": [rates[0], rates[-1]],
                "vs_read_only": round(median / baseline[len(baseline) // 2], 2),
                "cpu_s": cpu[len(cpu) // 2],
                "max_rss_mib": max(float(r["max_rss_mib"]) for r in runs[(fmt, rows)]),  # type: ignore[arg-type]
            }
            results.append(result)
            print(
                f"  export {fmt:<9} {rows:>7,} rows: {median:>8,} rows/s (range {rates[0]:,}–{rates[-1]:,}; "
                f"{result['vs_read_only']}× reading; CPU {result['cpu_s']} s), max RSS {result['max_rss_mib']} MiB",
                file=sys.stderr,
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--db", help="Archive file to use (generated when missing, reused when present).")
    parser.add_argument("--only", choices=["search", "exports"], help="Run only this part (the archive must exist).")
    parser.add_argument("--repeat", type=int, default=1, help="Export each format this many times (ranges).")
    parser.add_argument("--export-one", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_one:
        print(json.dumps(export_one(args.db, args.export_one, args.rows, Path(args.out))))
        return
    work = Path(tempfile.mkdtemp(prefix="koege-bench-search-"))
    path = Path(args.db) if args.db else work / "archive.sqlite"
    db_url = f"sqlite:///{path}"
    report: dict[str, object] = {"articles": args.articles}
    if not path.exists():
        print(f"Writing {args.articles:,} generated articles …", file=sys.stderr)
        seconds = generate(db_url, args.articles)
        report["write_s"] = round(seconds, 1)
        report["write_articles_per_s"] = round(args.articles / seconds)
    if args.only != "exports":
        archive = open_archive(db_url)
        t0 = time.perf_counter()
        rebuild_index(archive, notify=lambda m: print("  " + m, file=sys.stderr))
        report["index_rebuild_s"] = round(time.perf_counter() - t0, 1)
        archive.close()
    _warm(path)
    if args.only != "exports":
        print("Searching …", file=sys.stderr)
        report["search"] = bench_search(db_url)
    if args.only != "search":
        print("Exporting …", file=sys.stderr)
        report["exports"] = bench_exports(db_url, work, [20_000, args.articles], args.repeat)
    report["db_mib"] = round(path.stat().st_size / 2**20, 1)
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
