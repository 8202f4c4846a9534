"""WARC capture in real crawls: every exchange as sent, read back whole; unchanged recrawls write revisits."""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
import urllib.request
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.captures import verify_file
from archive.db import open_archive
from archive.queries import capture_bytes
from koege_spider.mirror import MirrorServer
from tests.conftest import MIRROR_ROOT, crawl_mirror, run_cli

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def gzip_mirror() -> Iterator[MirrorServer]:
    """The koege.dk mirror, gzipping what it serves (as koege.dk does)."""
    with MirrorServer(MIRROR_ROOT, compress=True) as server:
        yield server


def _records(folder: Path, pattern: str = "*.warc.gz") -> list[Any]:
    found = []
    for path in sorted(folder.glob(pattern)):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                http = record.http_headers
                found.append(
                    {
                        "file": path.name,
                        "type": record.rec_type,
                        "uri": record.rec_headers.get_header("WARC-Target-URI"),
                        "status": http.get_statuscode() if http is not None and record.rec_type != "request" else None,
                        "encoding": http.get_header("Content-Encoding") if http is not None else None,
                        "profile": record.rec_headers.get_header("WARC-Profile"),
                        "payload": record.raw_stream.read(),
                        "software": record.rec_headers.get_header("WARC-Type") == "warcinfo",
                    }
                )
    return found


@pytest.fixture(scope="module")
def crawled_twice(gzip_mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("warc-crawl")
    db_url = f"sqlite:///{folder / 'archive.sqlite'}"
    first = crawl_mirror(gzip_mirror, db_url)
    assert first.returncode == 0, first.stderr
    after_first = {p.name for p in (folder / "warc").glob("*.warc.gz")}
    second = crawl_mirror(gzip_mirror, db_url, "-s", "KOEGE_RECRAWL_REVISIT_HOURS=0")
    assert second.returncode == 0, second.stderr
    second_files = sorted({p.name for p in (folder / "warc").glob("*.warc.gz")} - after_first)
    return {
        "db_url": db_url,
        "db": folder / "archive.sqlite",
        "warc": folder / "warc",
        "first": first,
        "first_files": sorted(after_first),
        "second_files": second_files,
    }


def test_every_exchange_is_a_whole_record_as_sent(crawled_twice: dict[str, Any]) -> None:
    folder = crawled_twice["warc"]
    assert not list(folder.glob("*.open"))  # closed and renamed at the end of each crawl
    for name in crawled_twice["first_files"]:
        assert verify_file(folder / name)[1] == 0
    records = [r for r in _records(folder) if r["file"] in crawled_twice["first_files"]]
    kinds = Counter(r["type"] for r in records)
    assert kinds["warcinfo"] == 1 and kinds["request"] == kinds["response"] + kinds["revisit"]
    responses = [r for r in records if r["type"] == "response"]
    paths = {r["uri"].split("/", 3)[-1] for r in responses}
    # robots.txt, a sitemap, listings, redirects and error answers are captured too, not only articles.
    assert "robots.txt" in paths and any("sitemap" in p for p in paths)
    assert {"301", "404"} <= {r["status"] for r in responses}
    # The bytes as the server sent them: gzip-encoded HTML with its Content-Encoding header.
    html = [r for r in responses if r["status"] == "200" and r["encoding"] == "gzip"]
    assert html and all(r["payload"][:2] == b"\x1f\x8b" for r in html)


def test_each_version_reproduces_what_the_server_sent_byte_for_byte(
    crawled_twice: dict[str, Any], gzip_mirror: MirrorServer
) -> None:
    archive = open_archive(crawled_twice["db_url"])
    try:
        with sqlite3.connect(crawled_twice["db"]) as conn:
            rows = conn.execute(
                "SELECT c.id, c.url FROM versions v JOIN captures c ON c.id = v.capture_id ORDER BY c.id"
            ).fetchall()
        assert len(rows) >= 30
        for capture_id, url in rows:
            view = capture_bytes(archive, capture_id)
            assert view is not None
            request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
            with urllib.request.urlopen(request) as answer:  # noqa: S310 - the local mirror
                sent = answer.read()
            assert view.raw == sent, url
            assert view.body == gzip.decompress(sent)
    finally:
        archive.close()


def test_an_unchanged_recrawl_writes_revisit_records_only(crawled_twice: dict[str, Any]) -> None:
    folder = crawled_twice["warc"]
    assert len(crawled_twice["second_files"]) == 1
    records = [r for r in _records(folder) if r["file"] in crawled_twice["second_files"]]
    kinds = Counter(r["type"] for r in records)
    assert kinds["response"] == 0 and kinds["revisit"] > 30
    profiles = Counter(r["profile"].rsplit("/", 1)[-1] for r in records if r["type"] == "revisit")
    # Conditional requests answered 304, everything else the same payload as before.
    assert profiles["server-not-modified"] >= 30 and profiles["identical-payload-digest"] > 0
    with sqlite3.connect(crawled_twice["db"]) as conn:
        assert (
            conn.execute("SELECT count(*) FROM versions").fetchone()[0]
            == conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        )


def test_the_run_summary_counts_warc_records(crawled_twice: dict[str, Any]) -> None:
    assert "WARC records" in crawled_twice["first"].stderr


def test_warc_files_go_to_the_data_folder_given(koege_mirror: MirrorServer, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'db' / 'archive.sqlite'}"
    data = tmp_path / "data"
    result = crawl_mirror(koege_mirror, db_url, "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    assert list((data / "warc").glob("*.warc.gz")) and not (tmp_path / "db" / "warc").exists()


def test_show_names_each_versions_capture_and_extractor(crawled_twice: dict[str, Any]) -> None:
    with sqlite3.connect(crawled_twice["db"]) as conn:
        (doc_id,) = conn.execute("SELECT min(id) FROM documents").fetchone()
    shown = run_cli("show", str(doc_id), "--format", "json", "--db", crawled_twice["db_url"])
    assert shown.returncode == 0, shown.stderr
    (version,) = json.loads(shown.stdout)["versions"]
    capture = version["capture"]
    assert capture["warc_file"] in crawled_twice["first_files"] and capture["warc_digest"].startswith("sha1:")
    assert capture["warc_offset"] >= 0 and capture["warc_length"] > 0 and capture["source"] == "crawl"
    assert version["extractor"].startswith("koege-archive/") and "trafilatura/" in version["extractor"]
    assert isinstance(version["profile_version"], int)


def test_show_lists_where_each_versions_capture_lies(crawled_twice: dict[str, Any]) -> None:
    shown = run_cli("show", "1", "--db", crawled_twice["db_url"])
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"capture koege-\S+\.warc\.gz@\d+", shown.stdout)
