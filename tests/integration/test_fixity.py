"""Fixity: `verify` after a real crawl of the mirror, then after a flipped byte, a lost file and a cut tail."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from archive.cli import cli
from archive.web import create_app
from tests.conftest import crawl_mirror

if TYPE_CHECKING:
    from koege_spider.mirror import MirrorServer


@pytest.fixture(scope="module")
def crawled(koege_mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One crawl of the mirror, copied by each test (the folder holds archive.sqlite and warc/)."""
    folder = tmp_path_factory.mktemp("crawled") / "archive"
    result = crawl_mirror(koege_mirror, f"sqlite:///{folder / 'archive.sqlite'}")
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture
def archive(crawled: Path, tmp_path: Path) -> tuple[str, Path]:
    """A private copy of the crawled archive: (URL, its WARC folder)."""
    folder = tmp_path / "archive"
    shutil.copytree(crawled, folder)
    return f"sqlite:///{folder / 'archive.sqlite'}", folder / "warc"


def _captures(db_url: str) -> list[tuple[int, str, int, int, str, str]]:
    """(capture id, file, offset, length, document URL, fetched URL) of every full capture, by file and offset."""
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        return conn.execute(
            "SELECT c.id, c.warc_file, c.warc_offset, c.warc_length, d.url, c.url FROM captures c "
            "JOIN documents d ON d.id = c.document_id WHERE c.warc_file IS NOT NULL AND c.revisit = 0 "
            "ORDER BY c.warc_file, c.warc_offset"
        ).fetchall()


def _pointers(db_url: str) -> list[tuple[str, int, int, str]]:
    """(file, offset, length, document URL) of every record a capture or an attachment points to."""
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        return conn.execute(
            "SELECT c.warc_file, c.warc_offset, c.warc_length, d.url FROM captures c "
            "JOIN documents d ON d.id = c.document_id WHERE c.warc_file IS NOT NULL "
            "UNION ALL SELECT a.warc_file, a.warc_offset, a.warc_length, d.url FROM attachments a "
            "JOIN documents d ON d.id = a.document_id WHERE a.warc_file IS NOT NULL ORDER BY 1, 2"
        ).fetchall()


def _verify(db_url: str, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["verify", "--db", db_url, *extra])
    return result.exit_code, result.stdout, result.stderr


def test_verify_passes_after_a_crawl(archive: tuple[str, Path]) -> None:
    db_url, _ = archive
    code, out, err = _verify(db_url)
    assert code == 0, err
    captures = _captures(db_url)
    files = {c[1] for c in captures}
    assert out.startswith(f"Checked {len(captures)} captures")
    assert f" in {len(files)} WARC file" in out and "no problems." in out
    code, out, _ = _verify(db_url, "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["problems"] == []
    assert report["captures_checked"] == len(captures) and report["files"] == len(files)
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        attachments = conn.execute("SELECT count(*) FROM attachments WHERE warc_file IS NOT NULL").fetchone()[0]
    assert report["attachments_checked"] == attachments
    assert report["bytes"] > 0 and report["records_read"] > 2 * len(captures)  # requests, listings, robots.txt too
    assert report["unreferenced_files"] == [] and report["open_files"] == []


def test_one_flipped_byte_names_the_file_and_the_document(archive: tuple[str, Path]) -> None:
    db_url, folder = archive
    captures = _captures(db_url)
    cid, name, offset, length, doc_url, _ = captures[len(captures) // 2]
    path = folder / name
    data = bytearray(path.read_bytes())
    data[offset + length // 2] ^= 0x5A
    path.write_bytes(bytes(data))

    code, out, err = _verify(db_url)
    assert code == 1
    assert name in err and doc_url in err and "backup" in err and "reextract" in err
    assert "1 problem." in out and f"capture {cid}" in out and doc_url in out
    report = json.loads(_verify(db_url, "--format", "json")[1])
    (problem,) = report["problems"]
    assert problem["file"] == name and problem["offset"] == offset and problem["capture_id"] == cid
    assert problem["kind"] in ("corrupt", "block_digest", "payload_digest")
    assert report["affected_documents"] == [{"id": problem["document_id"], "url": doc_url}]

    # Nothing else is lost: the text is still shown, other captures still come back.
    runner = CliRunner()
    shown = runner.invoke(cli, ["show", doc_url, "--db", db_url])
    assert shown.exit_code == 0, shown.stderr
    failed = runner.invoke(cli, ["capture", doc_url, "--db", db_url])
    assert failed.exit_code == 1 and name in failed.stderr and doc_url in failed.stderr
    assert "Traceback" not in failed.stderr
    other = next(c for c in captures if c[4] != doc_url)
    assert runner.invoke(cli, ["capture", other[4], "--db", db_url]).exit_code == 0


def test_a_deleted_file_names_every_document_in_it(archive: tuple[str, Path]) -> None:
    db_url, folder = archive
    captures = _captures(db_url)
    name = captures[0][1]
    (folder / name).unlink()
    code, out, err = _verify(db_url)
    assert code == 1 and name in err and "backup" in err
    report = json.loads(_verify(db_url, "--format", "json")[1])
    in_file = {c[4] for c in captures if c[1] == name}
    assert {p["kind"] for p in report["problems"]} == {"missing_file"}
    assert {d["url"] for d in report["affected_documents"]} == in_file
    failed = CliRunner().invoke(cli, ["capture", captures[0][4], "--db", db_url])
    assert failed.exit_code == 1 and name in failed.stderr and "missing" in failed.stderr


@pytest.mark.parametrize("cut", ["tail", "half"])
def test_a_truncated_file_names_the_documents_cut_off(archive: tuple[str, Path], cut: str) -> None:
    db_url, folder = archive
    captures = _captures(db_url)
    name = captures[-1][1]
    path = folder / name
    data = path.read_bytes()
    keep = len(data) - 40 if cut == "tail" else len(data) // 2
    path.write_bytes(data[:keep])

    code, _, err = _verify(db_url)
    assert code == 1 and name in err
    report = json.loads(_verify(db_url, "--format", "json")[1])
    affected = {d["url"] for d in report["affected_documents"]}
    in_file = [p for p in _pointers(db_url) if p[0] == name]
    if cut == "tail":
        # The last record (the request written with the last record pointed to) is cut: its document is named.
        assert in_file[-1][3] in affected
        assert {p["kind"] for p in report["problems"]} <= {"truncated", "damaged_neighbour"}
    else:
        lost = {p[3] for p in in_file if p[1] + p[2] > keep}
        whole = [p for p in in_file if p[1] + p[2] <= keep]
        assert lost and lost <= affected
        # Records wholly before the cut still pass; only the last one's request may be cut with the rest.
        assert affected <= lost | {whole[-1][3]}


def test_the_web_page_of_a_damaged_capture_names_the_file(archive: tuple[str, Path], tmp_path: Path) -> None:
    db_url, folder = archive
    cid, name, *_ = _captures(db_url)[0]
    (folder / name).unlink()
    app = create_app(db_url, export_dir=tmp_path / "exports", allowed_hosts=["testserver"])
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get(f"/capture/{cid}?lang=en")
    assert page.status_code == 500
    assert name in page.text and "verify" in page.text and "Traceback" not in page.text
    assert str(folder) not in page.text  # no server paths on a public page
