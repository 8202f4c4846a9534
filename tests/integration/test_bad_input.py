"""Bad input gets a clear message and an exit code, never a traceback, and loses nothing."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

from archive.db import open_archive
from archive.queries import export_rows
from tests.conftest import FAST, crawl_mirror, run_cli

if TYPE_CHECKING:
    from pathlib import Path

    from koege_spider.mirror import MirrorServer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _count(db_url: str) -> int:
    archive = open_archive(db_url)
    try:
        return len(list(export_rows(archive, all_versions=True)))
    finally:
        archive.close()


def _clean(result: object) -> None:
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]


def test_unknown_site_is_a_usage_error(archive_url: str) -> None:
    result = run_cli("crawl", "atlantis", "--db", archive_url)
    assert result.returncode == 2
    assert "no profile named 'atlantis'" in result.stderr and "koege" in result.stderr
    _clean(result)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "127.0.0.1:8000"], "is not an http(s) URL"),
        (["-s", "DOWNLOAD_DELAY"], "is not NAME=VALUE"),
    ],
)
def test_malformed_options_are_usage_errors(args: list[str], message: str, archive_url: str) -> None:
    result = run_cli("crawl", "koege", "--db", archive_url, *args)
    assert result.returncode == 2 and message in result.stderr
    _clean(result)


def test_unreachable_mirror_fails_clearly_and_keeps_the_archive(koege_mirror: MirrorServer, archive_url: str) -> None:
    assert crawl_mirror(koege_mirror, archive_url).returncode == 0
    before = _count(archive_url)
    result = run_cli(
        "crawl",
        "koege",
        "--base-url",
        f"http://127.0.0.1:{_free_port()}",
        "--db",
        archive_url,
        *FAST,
    )
    assert result.returncode == 1
    assert "no listing or sitemap could be read" in result.stderr
    assert "Connection" in result.stderr or "refused" in result.stderr
    _clean(result)
    assert _count(archive_url) == before
    runs = run_cli("runs", "--format", "json", "--db", archive_url)
    assert '"status": "failed"' in runs.stdout


@pytest.mark.parametrize(
    ("db", "message"),
    [
        ("not-a-url", "is not a database URL"),
        ("postgresql+nosuchdriver://x/y", "cannot use"),
    ],
)
def test_malformed_archive_urls_fail_clearly(db: str, message: str, koege_mirror: MirrorServer) -> None:
    for command in (
        ["crawl", "koege", "--base-url", koege_mirror.origin],
        ["search", "vækst"],
        ["runs"],
    ):
        result = run_cli(*command, "--db", db)
        assert result.returncode == 1, command
        assert message in result.stderr
        _clean(result)


@pytest.mark.parametrize("where", ["under_a_file", "is_a_folder"])
def test_unwritable_archive_fails_clearly(where: str, koege_mirror: MirrorServer, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    if where == "under_a_file":
        blocker.write_text("not a folder")
        target = blocker / "a.sqlite"
    else:
        blocker.mkdir()
        target = blocker
    result = crawl_mirror(koege_mirror, f"sqlite:///{target}")
    assert result.returncode == 1
    assert "cannot create the folder" in result.stderr or "cannot open the archive" in result.stderr
    assert "Nothing was crawled" in result.stderr or "Error:" in result.stderr
    _clean(result)


def test_environment_variable_names_the_archive(koege_mirror: MirrorServer, archive_url: str) -> None:
    result = run_cli(
        "crawl",
        "koege",
        "--base-url",
        koege_mirror.origin,
        *FAST,
        env={"KOEGE_ARCHIVE_DB": archive_url},
    )
    assert result.returncode == 0, result.stderr
    assert _count(archive_url) > 30
    shown = run_cli("search", "affald", "--format", "json", env={"KOEGE_ARCHIVE_DB": archive_url})
    assert shown.returncode == 0 and '"url"' in shown.stdout


def test_default_archive_lives_in_the_users_data_folder(koege_mirror: MirrorServer, tmp_path: Path) -> None:
    result = run_cli("crawl", "koege", "--base-url", koege_mirror.origin, *FAST, env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".local" / "share" / "koege-archive" / "archive.sqlite").exists()
