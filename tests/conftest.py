"""Shared fixtures: archives, profiles, the koege.dk mirror, and running the CLI as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import koege_spider
from koege_spider.mirror import MirrorServer
from koege_spider.sites import SiteProfile, load_profile

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parent.parent
MIRROR_ROOT = Path(koege_spider.__file__).resolve().parent / "mirrors" / "koege"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CLI = str(Path(sys.executable).with_name("koege-archive"))
SCRAPY = str(Path(sys.executable).with_name("scrapy"))
# Politeness off for local mirrors (the contract's way to do it).
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]
REQUIRE_SERVICES = os.environ.get("KOEGE_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("KOEGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def archive_url(tmp_path: Path) -> str:
    """A fresh SQLite archive URL in the test's own folder."""
    return f"sqlite:///{tmp_path / 'archive' / 'archive.sqlite'}"


@pytest.fixture(scope="session")
def koege_profile() -> SiteProfile:
    """The real koege profile."""
    return load_profile("koege")


@pytest.fixture(scope="session")
def koege_mirror() -> Iterator[MirrorServer]:
    """The bundled koege.dk mirror, served for the whole session (read-only)."""
    with MirrorServer(MIRROR_ROOT) as server:
        yield server


@pytest.fixture
def mirror_copy(tmp_path: Path) -> Iterator[tuple[Path, MirrorServer]]:
    """A private copy of the mirror that a test may change, served on its own port."""
    root = tmp_path / "mirror"
    shutil.copytree(MIRROR_ROOT, root)
    with MirrorServer(root) as server:
        yield root, server


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `koege-archive` in a subprocess, as a user would."""
    full_env = {k: v for k, v in os.environ.items() if k != "KOEGE_ARCHIVE_DB"}
    full_env.update(env or {})
    return subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


def crawl_mirror(server: MirrorServer, db_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """Crawl a mirror with the real koege profile into an archive (politeness off)."""
    return run_cli("crawl", "koege", "--base-url", server.origin, "--db", db_url, *FAST, *extra)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL archive URL in a private schema, dropped afterwards.

    Skips when no server answers, unless KOEGE_REQUIRE_SERVICES=1 (set by .ci/run).
    """
    try:
        import psycopg
    except ImportError:
        if REQUIRE_SERVICES:
            pytest.fail("psycopg is not installed but KOEGE_REQUIRE_SERVICES=1")
        pytest.skip("psycopg is not installed (pip install -e '.[postgres]')")
    dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL is required (KOEGE_REQUIRE_SERVICES=1) but not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    schema = f"koege_test_{uuid.uuid4().hex[:10]}"
    conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()
