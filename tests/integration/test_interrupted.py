"""Interrupted crawls of a 3,000-page site: Ctrl-C and kill -9, then a rerun that completes the work.

Each test ends with every article archived exactly once: one document per URL, one version each.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from archive.captures import read_capture, verify_file
from koege_spider.mirror import MirrorServer
from tests.conftest import CLI, FAST, REPO, run_cli

if TYPE_CHECKING:
    from collections.abc import Iterator

PAGES = 3000


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MirrorServer, list[str]]]:
    """A koege.dk-shaped mirror of 3,000 articles (bench/sitegen.py), served for this module."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from sitegen import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    root = tmp_path_factory.mktemp("big-site")
    targets = generate(root, PAGES)
    with MirrorServer(root) as server:
        yield server, targets


def _crawl_args(server: MirrorServer, db: Path) -> list[str]:
    # Eight requests at a time to the local mirror (the profile's one-at-a-time is for koege.dk).
    return [
        "crawl",
        "koege",
        "--base-url",
        server.origin,
        "--db",
        f"sqlite:///{db}",
        *FAST,
        "-s",
        "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    ]


def _documents(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # the schema is not there yet


def _start_and_wait(server: MirrorServer, db: Path, tmp_path: Path, at_least: int) -> subprocess.Popen[bytes]:
    """Start a crawl and return once it has archived ``at_least`` documents (it is still running)."""
    errors = (tmp_path / "crawl-stderr.txt").open("wb")
    proc = subprocess.Popen(
        [CLI, *_crawl_args(server, db)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=errors, stdin=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while _documents(db) < at_least:
        assert proc.poll() is None, "the crawl ended before it could be interrupted"
        assert time.monotonic() < deadline, "the crawl made no progress"
        time.sleep(0.2)
    return proc


def _archive_state(db: Path) -> tuple[int, int, int, int, list[tuple[int, str]]]:
    with sqlite3.connect(db) as conn:
        documents, urls = conn.execute("SELECT count(*), count(DISTINCT url) FROM documents").fetchone()
        versions, doc_with_versions = conn.execute(
            "SELECT count(*), count(DISTINCT document_id) FROM versions"
        ).fetchone()
        runs = conn.execute("SELECT id, status FROM crawl_runs ORDER BY id").fetchall()
    return documents, urls, versions, doc_with_versions, [tuple(r) for r in runs]


def _all_archived_once(db: Path, targets: list[str]) -> None:
    documents, urls, versions, with_versions, _runs = _archive_state(db)
    assert (documents, urls, versions, with_versions) == (PAGES, PAGES, PAGES, PAGES)
    with sqlite3.connect(db) as conn:
        archived = {row[0].removeprefix("https://www.koege.dk") for row in conn.execute("SELECT url FROM documents")}
        assert conn.execute("SELECT max(version) FROM versions").fetchone()[0] == 1
    assert archived == set(targets)


def _every_capture_reads_back(db: Path) -> None:
    """No row points at a record that is not whole on disk, and no WARC file is left unfinished."""
    folder = db.parent / "warc"
    assert not list(folder.glob("*.open"))
    for path in folder.glob("*.warc.gz"):
        assert verify_file(path)[1] == 0, path.name
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT url, warc_file, warc_offset, warc_digest FROM captures").fetchall()
    assert len(rows) >= PAGES and all(name for _, name, _, _ in rows)
    for url, name, offset, digest in rows:
        record = read_capture(folder, name, offset)
        assert record.url == url
        # A 304's revisit record has no payload digest of its own (the row keeps the referred one).
        assert record.payload_digest == digest or (record.record_type, record.status) == ("revisit", 304)


def test_kill_9_then_a_rerun_says_so_and_completes_the_work(big_site, tmp_path: Path) -> None:
    server, targets = big_site
    db = tmp_path / "archive.sqlite"
    proc = _start_and_wait(server, db, tmp_path, at_least=900)
    proc.kill()  # SIGKILL: no cleanup at all
    proc.wait()
    killed_with = _documents(db)
    assert 900 <= killed_with < PAGES

    # Before anything else runs, cron's check sees that the last run did not finish.
    check = run_cli("check-run", "--last", "--db", f"sqlite:///{db}")
    assert check.returncode == 1, check.stdout
    assert "did not finish (interrupted)" in check.stderr and "killed" in check.stderr

    # The killed crawl's WARC file is still named .open; the crash may have cut its last record.
    # Make sure it did: half of a record's gzip member after the last whole one.
    (unfinished,) = sorted((db.parent / "warc").glob("*.warc.gz.open"))
    whole = unfinished.read_bytes()
    unfinished.write_bytes(whole + whole[len(whole) // 2 : len(whole) // 2 + 700])

    rerun = run_cli(*_crawl_args(server, db))
    assert rerun.returncode == 0, rerun.stderr
    assert "The last run of koege (run 1) did not finish (interrupted); this run completes its work." in rerun.stderr
    assert "WARC files an earlier crawl left unfinished: 1 repaired" in rerun.stderr
    _all_archived_once(db, targets)
    _every_capture_reads_back(db)
    assert _archive_state(db)[4] == [(1, "interrupted"), (2, "finished")]
    # What the killed run archived was not fetched again in full: the rerun fetched the rest.
    assert int(rerun.stderr.split("new")[1].split()[0]) == PAGES - killed_with
    assert run_cli("check-run", "--last", "--db", f"sqlite:///{db}").returncode == 0


def test_ctrl_c_stops_cleanly_and_a_rerun_continues(big_site, tmp_path: Path) -> None:
    server, targets = big_site
    db = tmp_path / "archive.sqlite"
    proc = _start_and_wait(server, db, tmp_path, at_least=600)
    proc.send_signal(signal.SIGINT)  # one Ctrl-C
    assert proc.wait(timeout=300) == 1
    stderr = (tmp_path / "crawl-stderr.txt").read_text(encoding="utf-8")
    assert "run 1 interrupted: stopped by Ctrl-C or SIGTERM" in stderr and "Traceback" not in stderr
    stopped_with = _documents(db)
    assert stopped_with < PAGES
    with sqlite3.connect(db) as conn:
        status, finished_at, new = conn.execute("SELECT status, finished_at, new FROM crawl_runs").fetchone()
    # A clean stop: the run is closed, with what it wrote counted (nothing left in a buffer).
    assert status == "interrupted" and finished_at is not None and new == stopped_with

    rerun = run_cli(*_crawl_args(server, db))
    assert rerun.returncode == 0, rerun.stderr
    assert "The last run of koege (run 1) did not finish (interrupted)" in rerun.stderr
    _all_archived_once(db, targets)
    assert _archive_state(db)[4] == [(1, "interrupted"), (2, "finished")]
