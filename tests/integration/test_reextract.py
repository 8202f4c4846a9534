"""Re-extraction from stored WARC captures after a profile change: no network, no new versions."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from koege_spider.mirror import MirrorServer
from pipelines.extraction import content_hash
from pipelines.reextract import decode_capture
from tests.conftest import FAST, MIRROR_ROOT, REPO, crawl_mirror, run_cli

if TYPE_CHECKING:
    import subprocess

# The profile change: a boilerplate rule that drops the "FAKTA" heading of fact boxes. Only the
# pages with a fact box read differently; every other page must stay exactly as it was.
RULE = "^FAKTA"
SMALL_WARC = ("-s", "KOEGE_WARC_MAX_MB=0.05")  # several WARC files, so one can go missing


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One crawl of the mirror with the bundled profile; tests work on copies of its folder."""
    folder = tmp_path_factory.mktemp("crawled") / "archive"
    with MirrorServer(MIRROR_ROOT) as server:
        result = crawl_mirror(server, _url(folder), *SMALL_WARC)
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture(scope="module")
def changed_profiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled profiles, with the koege profile's rule added and its version bumped."""
    folder = tmp_path_factory.mktemp("profiles")
    shutil.copytree(REPO / "koege_spider" / "profiles", folder, dirs_exist_ok=True)
    path = folder / "koege.toml"
    text = path.read_text(encoding="utf-8")
    assert "\nversion = 1\n" in text and "boilerplate = [\n" in text
    text = text.replace("\nversion = 1\n", "\nversion = 2\n").replace(
        "boilerplate = [\n", f"boilerplate = [\n    '{RULE}',\n"
    )
    path.write_text(text, encoding="utf-8")
    return folder


def _url(folder: Path) -> str:
    return f"sqlite:///{folder / 'archive.sqlite'}"


def _copy(crawled: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    shutil.copytree(crawled, folder)
    return folder


def _query(folder: Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(folder / "archive.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def _versions(folder: Path) -> dict[int, dict[str, Any]]:
    rows = _query(folder, "SELECT v.*, d.url FROM versions v JOIN documents d ON d.id = v.document_id")
    return {r["id"]: dict(r) for r in rows}


def _extractions(folder: Path) -> dict[int, dict[str, Any]]:
    rows = _query(folder, "SELECT * FROM extractions ORDER BY id")
    return {
        r["version_id"]: {**dict(r), "fields": json.loads(r["fields"]), "changed": json.loads(r["changed"])}
        for r in rows
    }


def _affected(versions: dict[int, dict[str, Any]]) -> set[int]:
    """The versions the new rule changes, known independently: their text has a line it matches."""
    return {vid for vid, v in versions.items() if re.search(RULE, v["text"], re.MULTILINE)}


def _reextract(folder: Path, profiles: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("reextract", "--db", _url(folder), *args, env={"KOEGE_PROFILES_DIR": str(profiles)})


def _recrawl(folder: Path, profiles: Path) -> subprocess.CompletedProcess[str]:
    """Crawl the mirror again (on a new port), fetching and extracting every article under ``profiles``."""
    with MirrorServer(MIRROR_ROOT) as server:
        return run_cli(
            "crawl", "koege", "--base-url", server.origin, "--db", _url(folder), *FAST,
            "-s", "KOEGE_RECRAWL_ENABLED=False",
            env={"KOEGE_PROFILES_DIR": str(profiles)},
        )  # fmt: skip


def _count(output: str, label: str) -> int:
    match = re.search(rf"^\s+{label}\s+(\d+)\b", output, re.MULTILINE)
    assert match, (label, output)
    return int(match[1])


def test_reextract_updates_exactly_the_versions_a_profile_change_affects(
    crawled: Path, changed_profiles: Path, tmp_path: Path
) -> None:
    folder = _copy(crawled, tmp_path)
    before = _versions(folder)
    affected = _affected(before)
    assert 0 < len(affected) < len(before) / 2
    fakta_hits = run_cli("search", "fakta", "--db", _url(folder), "--format", "json")
    assert {h["url"] for h in json.loads(fakta_hits.stdout)} >= {before[v]["url"] for v in affected}

    # The mirror is down (its server stopped with the crawl): everything comes from the WARC files.
    dry = _reextract(folder, changed_profiles, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stderr
    assert _count(dry.stderr, "changed") == len(affected)
    assert _extractions(folder) == {}
    assert _versions(folder) == before

    result = _reextract(folder, changed_profiles)
    assert result.returncode == 0, result.stderr
    assert _count(result.stderr, "versions read") == len(before)
    assert _count(result.stderr, "changed") == len(affected)
    assert _count(result.stderr, "text") == len(affected)
    assert _count(result.stderr, "unchanged") == len(before) - len(affected)
    assert _count(result.stderr, "unreadable") == 0
    assert "pages/s" in result.stderr

    after = _versions(folder)
    assert sorted(after) == sorted(before), "no version added or removed"
    readings = _extractions(folder)
    assert set(readings) == affected
    for vid, reading in readings.items():
        old, new = before[vid], after[vid]
        assert reading["changed"] == ["text"]
        assert reading["profile_version"] == 2
        assert reading["capture_id"] == old["capture_id"]
        assert reading["extractor"].startswith("koege-archive/")
        assert reading["fields"]["previous"]["text"] == old["text"]
        assert reading["fields"]["previous"]["profile_version"] == 1
        assert reading["fields"]["text"] == new["text"]
        assert not re.search(RULE, new["text"], re.MULTILINE)
        expected_text = "\n".join(line for line in old["text"].splitlines() if not re.match(RULE, line))
        assert new["text"] == expected_text
        assert new["content_hash"] == content_hash(new["title"], new["lead"], new["text"]) != old["content_hash"]
        assert new["profile_version"] == 2
        unchanged = {k: v for k, v in new.items() if k not in ("text", "content_hash", "profile_version", "extractor")}
        assert unchanged == {k: v for k, v in old.items() if k in unchanged}
    for vid in set(before) - affected:
        assert after[vid] == before[vid]

    # Search reads the new text: the dropped heading no longer finds these documents.
    fakta_hits = run_cli("search", "fakta", "--db", _url(folder), "--format", "json")
    assert fakta_hits.returncode == 0, fakta_hits.stderr
    assert not {h["url"] for h in json.loads(fakta_hits.stdout)} & {before[v]["url"] for v in affected}

    # History shows the reading apart from the server's versions.
    one = before[min(affected)]
    shown = run_cli("history", one["url"], "--db", _url(folder))
    assert shown.returncode == 0, shown.stderr
    assert "1 version(s)" in shown.stdout
    assert re.search(
        r"^Readings \(.*\):\n\s+1  \S+  koege-archive/\S+ trafilatura/\S+ profile v2: text \d+ → \d+ words$",
        shown.stdout,
        re.MULTILINE,
    ), shown.stdout
    as_json = json.loads(run_cli("history", one["url"], "--db", _url(folder), "--format", "json").stdout)
    assert [r["changed"] for r in as_json["readings"]] == [["text"]]
    assert as_json["readings"][0]["previous_profile_version"] == 1
    other = before[min(set(before) - affected)]
    plain = run_cli("history", other["url"], "--db", _url(folder))
    assert "Readings" not in plain.stdout

    # Read again with the same profile: nothing changed, nothing recorded.
    again = _reextract(folder, changed_profiles)
    assert again.returncode == 0, again.stderr
    assert _count(again.stderr, "changed") == 0
    assert _count(again.stderr, "unchanged") == len(before)
    assert set(_extractions(folder)) == affected

    # A recrawl under the same profile that fetches and extracts every page again finds them
    # unchanged: the re-extracted versions hold what this profile reads from the same bytes.
    recrawl = _recrawl(folder, changed_profiles)
    assert recrawl.returncode == 0, recrawl.stderr
    assert _count(recrawl.stderr, "changed") == 0
    assert sorted(_versions(folder)) == sorted(before)


def test_without_reextract_the_same_recrawl_adds_versions(
    crawled: Path, changed_profiles: Path, tmp_path: Path
) -> None:
    """The control for the recrawl above: the profile change alone makes the affected pages "changed"."""
    folder = _copy(crawled, tmp_path)
    before = _versions(folder)
    recrawl = _recrawl(folder, changed_profiles)
    assert recrawl.returncode == 0, recrawl.stderr
    assert _count(recrawl.stderr, "changed") == len(_affected(before))
    assert len(_versions(folder)) == len(before) + len(_affected(before))


def test_a_missing_warc_file_is_named_with_its_documents_and_the_rest_is_reextracted(
    crawled: Path, changed_profiles: Path, tmp_path: Path
) -> None:
    folder = _copy(crawled, tmp_path)
    before = _versions(folder)
    affected = _affected(before)
    files = {
        r["warc_file"]: {r2["vid"] for r2 in _query(
            folder,
            "SELECT v.id AS vid FROM versions v JOIN captures c ON c.id = v.capture_id WHERE c.warc_file = ?",
            r["warc_file"],
        )}
        for r in _query(folder, "SELECT DISTINCT warc_file FROM captures WHERE warc_file IS NOT NULL")
    }  # fmt: skip
    # A file holding some versions, one of them affected, while other affected versions lie elsewhere.
    lost_file, lost = next((name, vids) for name, vids in sorted(files.items()) if vids & affected and affected - vids)
    (folder / "warc" / lost_file).unlink()

    result = _reextract(folder, changed_profiles)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert lost_file in result.stderr
    assert "Everything else was re-extracted" in result.stderr
    assert _count(result.stderr, "unreadable") == len(lost)
    assert f"{lost_file}: WARC file {lost_file} is missing" in result.stderr
    for vid in lost:
        assert before[vid]["url"] in result.stderr
    assert _count(result.stderr, "versions read") == len(before) - len(lost)
    assert set(_extractions(folder)) == affected - lost
    after = _versions(folder)
    for vid in lost:
        assert after[vid] == before[vid]

    as_json = _reextract(folder, changed_profiles, "--format", "json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["changed"] == 0
    assert [(u["file"], u["versions"]) for u in report["unreadable"]] == [(lost_file, len(lost))]
    assert report["unreadable"][0]["documents"] == sorted({before[v]["url"] for v in lost})


@pytest.mark.parametrize(
    ("body", "encoding", "content_type", "expected"),
    [
        ("Køge".encode(), "utf-8", "text/html; charset=utf-8", "Køge"),
        ("Køge".encode("cp1252"), "cp1252", "text/html; charset=windows-1252", "Køge"),
        ("\ufeffKøge".encode(), "cp1252", None, "Køge"),  # a byte-order mark wins, as in the crawl
        ("Køge".encode(), None, "text/html; charset=iso-8859-1", "Køge"),  # UTF-8 under a Latin-1 label
        ("Køge".encode("cp1252"), None, None, "Køge"),
    ],
)
def test_decode_capture_decodes_as_the_crawl_did(
    body: bytes, encoding: str | None, content_type: str | None, expected: str
) -> None:
    assert decode_capture(body, encoding, content_type) == expected
