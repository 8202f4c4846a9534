"""Fixity and capture-export benchmark: verify, export --format warc and --format cdxj on N captures.

Writes N article captures (about 40 KB of HTML each, like koege.dk's pages) through
ArchiveWriter into a fresh archive, then times, in one run:
- ``verify_archive`` (every WARC file read once, every record decompressed and checked);
- a WARC export of every capture (records copied verbatim, each checked);
- a CDXJ index of every capture (from the database only).

    .venv/bin/python bench/fixity.py [--captures 5000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import sys
import tempfile
import time
from pathlib import Path

from archive.db import open_archive
from archive.fixity import verify_archive
from archive.store import ArchiveWriter, CaptureRecord, VersionRecord
from archive.warc_export import select_captures, write_cdxj, write_warc

T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
WORDS = [
    "kommune",
    "byråd",
    "skole",
    "vej",
    "cykelsti",
    "affald",
    "borger",
    "havn",
    "strand",
    "plan",
    "budget",
    "vækst",
    "grøn",
    "by",
]


def build(db_url: str, count: int) -> None:
    """Write ``count`` captures, each a new document with one version."""
    rng = random.Random(2026)
    archive = open_archive(db_url)
    writer = ArchiveWriter(archive, batch_size=500)
    writer.ensure_site("koege", "Køge Kommune", "https://www.koege.dk")
    for i in range(count):
        text = " ".join(rng.choice(WORDS) for _ in range(800))
        chrome = "<nav>" + "<a href='/x'>menu</a>" * 600 + "</nav>"
        body = f"<html><head><title>Nyhed {i}</title></head><body>{chrome}<p>{text}</p></body></html>".encode()
        url = f"https://www.koege.dk/nyheder/nyhed-{i}"
        writer.add(
            site_key="koege",
            run_id=None,
            capture=CaptureRecord(
                url, url, T0 + dt.timedelta(seconds=i), 200, {"Content-Type": "text/html"}, "text/html", "utf-8", body
            ),
            version=VersionRecord(
                title=f"Nyhed {i}",
                lead=None,
                text=text,
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
                extractor="bench",
            ),
            outcome="new",
        )
    writer.flush()
    writer.close()
    archive.close()


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captures", type=int, default=5000, help="captures to write (default 5000)")
    parser.add_argument("--keep", type=Path, help="build the archive in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="fixity-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{folder / 'archive.sqlite'}"
    started = time.perf_counter()
    build(db_url, args.captures)
    print(f"built {args.captures} captures in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    archive = open_archive(db_url)
    try:
        started = time.perf_counter()
        report = verify_archive(archive)
        seconds = time.perf_counter() - started
        assert report.ok, report.problems[:3]
        mb = report.bytes / 1e6
        print(
            f"verify: {report.captures} captures, {report.files} files, {mb:.1f} MB, {report.records} records "
            f"in {seconds:.2f} s = {report.captures / seconds:,.0f} captures/s, {mb / seconds:.0f} MB/s"
        )
        entries = select_captures(archive, None, all_captures=True)
        started = time.perf_counter()
        with (folder / "export.warc.gz").open("wb") as out:
            stats = write_warc(archive, entries, out, info={})
        seconds = time.perf_counter() - started
        print(f"export warc: {stats.captures} captures, {stats.records} records in {seconds:.2f} s")
        started = time.perf_counter()
        with (folder / "index.cdxj").open("wb") as out:
            lines = write_cdxj(entries, out)
        print(f"export cdxj: {lines} lines in {time.perf_counter() - started:.2f} s")
    finally:
        archive.close()


if __name__ == "__main__":
    main()
