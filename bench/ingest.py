"""Ingest benchmark: crawl a generated 2,000-page koege.dk mirror and compare with trafilatura.

Reports, in one run on the same pages:
- trafilatura's own throughput (``bare_extraction(with_metadata=True)``, one process) — the baseline;
- archived pages/s of a full `koege-archive crawl` (politeness off), and the ratio to the baseline;
- the same crawl with extraction inside the crawl process (``KOEGE_EXTRACTION_WORKERS=0``);
- peak memory of the crawl process (RSS) and of the whole process tree (crawl + extraction
  workers), as PSS (shared pages split fairly) and as the plain RSS sum.

    .venv/bin/python bench/ingest.py [--pages 2000] [--skip-inline]
"""

from __future__ import annotations

import argparse
import json
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


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in KiB; PSS splits pages shared between processes fairly."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return rss, pss


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found += [int(c) for c in text]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found + [g for c in found for g in _children(c)]


def baseline(root: Path, targets: list[str]) -> float:
    """Pages/s of trafilatura's bare_extraction with metadata, one process."""
    import trafilatura

    routes = json.loads((root / "routes.json").read_text())["routes"]
    pages = [(root / routes[t]["file"]).read_text(encoding="utf-8") for t in targets]
    trafilatura.bare_extraction(pages[0], with_metadata=True)  # warm up imports
    start = time.perf_counter()
    for page in pages:
        trafilatura.bare_extraction(page, url="https://www.koege.dk/x", with_metadata=True)
    return len(pages) / (time.perf_counter() - start)


def crawl(origin: str, db: Path, extra: list[str]) -> dict[str, float]:
    """Run one crawl in a subprocess; return its speed and peak memory."""
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
        *extra,
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_main = peak_tree = peak_pss = 0
    while proc.poll() is None:
        main, main_pss = _memory_kib(proc.pid)
        others = [_memory_kib(c) for c in _children(proc.pid)]
        peak_main = max(peak_main, main)
        peak_tree = max(peak_tree, main + sum(r for r, _ in others))
        peak_pss = max(peak_pss, main_pss + sum(p for _, p in others))
        time.sleep(0.25)  # reading smaps costs the kernel time; sample gently
    wall = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}):\n{err}")
    archive = open_archive(f"sqlite:///{db}")
    try:
        run = list_runs(archive, limit=1)[0]
    finally:
        archive.close()
    assert run.finished_at is not None
    took = (run.finished_at - run.started_at).total_seconds()
    archived = run.new + run.changed + run.unchanged
    return {
        "archived": archived,
        "crawl_seconds": took,
        "wall_seconds": wall,
        "pages_per_s": archived / took,
        "peak_main_mib": peak_main / 1024,
        "peak_tree_mib": peak_tree / 1024,
        "peak_pss_mib": peak_pss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--skip-inline", action="store_true", help="skip the in-process extraction run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="koege-bench-") as tmp:
        root = Path(tmp) / "site"
        targets = generate(root, args.pages)
        before = baseline(root, targets)
        with MirrorServer(root) as server:
            pooled = crawl(server.origin, Path(tmp) / "pooled.sqlite", [])
            inline = None
            if not args.skip_inline:
                inline = crawl(server.origin, Path(tmp) / "inline.sqlite", ["-s", "KOEGE_EXTRACTION_WORKERS=0"])
        # The baseline is measured before and after the crawls and the faster one kept: on a
        # shared machine this makes the ratio conservative.
        after = baseline(root, targets)
        base = max(before, after)
        print(
            f"trafilatura bare_extraction(with_metadata=True), 1 process: {base:7.1f} pages/s "
            f"(best of {before:.1f} before and {after:.1f} after the crawls)"
        )
        print(
            f"koege-archive crawl (extraction pool):  {pooled['pages_per_s']:7.1f} pages/s "
            f"({pooled['archived']} pages in {pooled['crawl_seconds']:.1f} s; wall {pooled['wall_seconds']:.1f} s)"
            f"  ratio {pooled['pages_per_s'] / base:.2f}"
            f"  peak memory: crawl process {pooled['peak_main_mib']:.0f} MiB RSS; all processes"
            f" {pooled['peak_pss_mib']:.0f} MiB PSS ({pooled['peak_tree_mib']:.0f} MiB RSS, shared pages counted twice)"
        )
        if inline is not None:
            print(
                f"koege-archive crawl (in-process):       {inline['pages_per_s']:7.1f} pages/s"
                f"  ratio {inline['pages_per_s'] / base:.2f}  peak RSS {inline['peak_main_mib']:.0f} MiB"
            )


if __name__ == "__main__":
    main()
