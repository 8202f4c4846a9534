"""`koege-archive capture`: the raw capture of a document back, latest or as it was at a date, body or record."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner, Result
from warcio.archiveiterator import ArchiveIterator

from archive.captures import payload_digest
from archive.cli import cli
from archive.db import open_archive
from archive.queries import capture_bytes
from koege_spider.mirror import MirrorServer
from tests.conftest import FIXTURES, MIRROR_ROOT, crawl_mirror

EXPECTED = json.loads((FIXTURES / "koege_mirror_expected.json").read_text(encoding="utf-8"))
ARTICLE = next(e for e in EXPECTED if e["kind"] == "article" and e["era"] == "new" and e["key_sentences"])
URL = ARTICLE["url"]
SENTENCE = ARTICLE["key_sentences"][0]
ADDED = " Det oplyser kommunen."
EVERYTHING_DUE = ("-s", "KOEGE_RECRAWL_REVISIT_HOURS=0")


def _page(root: Path, url: str) -> Path:
    routes = json.loads((root / "routes.json").read_text(encoding="utf-8"))["routes"]
    return root / routes[unquote(urlsplit(url).path)]["file"]


def _capture(*args: str) -> Result:
    return CliRunner().invoke(cli, ["capture", *args])


def _full_captures(db_url: str, url: str) -> list[tuple[int, str, str, int]]:
    """(id, fetched_at, warc_file, warc_offset) of a document's full captures, oldest first."""
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        return conn.execute(
            "SELECT c.id, c.fetched_at, c.warc_file, c.warc_offset FROM captures c JOIN documents d "
            "ON d.id = c.document_id WHERE d.url = ? AND c.revisit = 0 ORDER BY c.fetched_at",
            (url,),
        ).fetchall()


@pytest.fixture(scope="module")
def crawled_twice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes, bytes, dt.datetime]:
    """The mirror crawled, one article changed, crawled again: (archive folder, old body, new body, a moment
    between the crawls)."""
    base = tmp_path_factory.mktemp("capture-cli")
    root = base / "mirror"
    shutil.copytree(MIRROR_ROOT, root)
    folder = base / "archive"
    db_url = f"sqlite:///{folder / 'archive.sqlite'}"
    page = _page(root, URL)
    old = page.read_bytes()
    with MirrorServer(root) as server:
        assert crawl_mirror(server, db_url).returncode == 0
        between = dt.datetime.now(dt.UTC)
        text = old.decode("utf-8")
        assert SENTENCE in text
        page.write_text(text.replace(SENTENCE, SENTENCE + ADDED, 1), encoding="utf-8")
        second = crawl_mirror(server, db_url, *EVERYTHING_DUE)
        assert second.returncode == 0, second.stderr
    return folder, old, page.read_bytes(), between


@pytest.fixture
def recrawled(
    crawled_twice: tuple[Path, bytes, bytes, dt.datetime], tmp_path: Path
) -> tuple[str, bytes, bytes, dt.datetime]:
    """A private copy of the twice-crawled archive: (db URL, old body, new body, between the crawls)."""
    folder, old, new, between = crawled_twice
    shutil.copytree(folder, tmp_path / "archive")
    return f"sqlite:///{tmp_path / 'archive' / 'archive.sqlite'}", old, new, between


def test_latest_and_earlier_captures_come_back_as_served(
    recrawled: tuple[str, bytes, bytes, dt.datetime], tmp_path: Path
) -> None:
    db_url, old, new, between = recrawled
    latest = _capture(URL, "--db", db_url)
    assert latest.exit_code == 0, latest.stderr
    assert latest.stdout_bytes == new
    assert "status     200" in latest.stderr and ".warc.gz @ " in latest.stderr and "sha1:" in latest.stderr

    at = between.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    earlier = _capture(URL, "--at", at, "--db", db_url)
    assert earlier.exit_code == 0, earlier.stderr
    assert earlier.stdout_bytes == old
    # Any URL variant of the document (http, no www, a tracking parameter) finds it, as `show` does.
    variant = URL.replace("https://www.", "http://") + "?utm_source=nyhedsbrev"
    assert _capture(variant, "--at", at, "--db", db_url).stdout_bytes == old

    out = tmp_path / "side.html"
    written = _capture(URL, "-o", str(out), "--db", db_url)
    assert written.exit_code == 0 and written.stdout_bytes == b"" and out.read_bytes() == new
    assert f"wrote      {out}" in written.stderr

    first = _full_captures(db_url, URL)[0]
    archive = open_archive(db_url)
    try:
        view = capture_bytes(archive, first[0])
    finally:
        archive.close()
    assert view is not None and view.body == old


def test_record_is_a_one_record_warc_others_can_read(
    recrawled: tuple[str, bytes, bytes, dt.datetime], tmp_path: Path
) -> None:
    db_url, old, new, between = recrawled
    out = tmp_path / "capture.warc.gz"
    result = _capture(URL, "--record", "-o", str(out), "--db", db_url)
    assert result.exit_code == 0, result.stderr
    with out.open("rb") as fh:
        records = list(ArchiveIterator(fh))
    # warcio reads it (and checks its digests) as a file of exactly one response record.
    assert len(records) == 1
    with out.open("rb") as fh:
        (record,) = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
            for r in ArchiveIterator(fh, check_digests=True)
        ]
    kind, target, body = record
    assert kind == "response" and body == new
    assert urlsplit(target).path == urlsplit(URL).path
    with out.open("rb") as fh:
        head = next(iter(ArchiveIterator(fh)))
        assert head.rec_headers.get_header("WARC-Payload-Digest") == payload_digest(new)

    at = between.strftime("%Y-%m-%dT%H:%M:%SZ")
    earlier = _capture(URL, "--record", "--at", at, "--db", db_url)
    assert earlier.exit_code == 0
    read = [(r.rec_type, r.content_stream().read()) for r in ArchiveIterator(io.BytesIO(earlier.stdout_bytes))]
    assert read == [("response", old)]


def test_clear_errors(recrawled: tuple[str, bytes, bytes, dt.datetime], tmp_path: Path) -> None:
    db_url, *_ = recrawled
    unknown = _capture("https://www.koege.dk/nyheder/findes-ikke", "--db", db_url)
    assert unknown.exit_code == 1 and "no document for" in unknown.stderr

    too_early = _capture(URL, "--at", "2001-01-01", "--db", db_url)
    assert too_early.exit_code == 1 and "no capture of" in too_early.stderr and "the first is from" in too_early.stderr

    bad_date = _capture(URL, "--at", "i går", "--db", db_url)
    assert bad_date.exit_code == 2 and "--at" in bad_date.stderr

    runner = CliRunner()
    hidden = runner.invoke(cli, ["suppress", URL, "--reason", "sag 2026-17", "--db", db_url])
    assert hidden.exit_code == 0, hidden.stderr
    refused = _capture(URL, "--db", db_url)
    assert refused.exit_code == 1 and "suppressed" in refused.stderr and refused.stdout_bytes == b""
    assert runner.invoke(cli, ["unsuppress", URL, "--reason", "fejl", "--db", db_url]).exit_code == 0

    _, _, name, _ = _full_captures(db_url, URL)[-1]
    warc = Path(db_url.removeprefix("sqlite:///")).parent / "warc" / name
    warc.rename(warc.with_name("elsewhere"))
    for extra in ((), ("--record",)):
        missing = _capture(URL, *extra, "--db", db_url)
        assert missing.exit_code == 1 and name in missing.stderr and URL in missing.stderr
        assert "Traceback" not in missing.stderr

    warc.with_name("elsewhere").rename(warc)
    data = bytearray(warc.read_bytes())
    offset = _full_captures(db_url, URL)[-1][3]
    data[offset + 200] ^= 0xFF
    warc.write_bytes(bytes(data))
    corrupt = _capture(URL, "--db", db_url)
    assert corrupt.exit_code == 1 and name in corrupt.stderr and "damaged" in corrupt.stderr
    assert f"offset {offset}" in corrupt.stderr
