"""Opening a current archive is cheap: the schema check reads one table and imports no Alembic."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from archive.db import SchemaOutdated, _scripted_head_revision, open_archive

if TYPE_CHECKING:
    from pathlib import Path

_PROBE = """
import sys
from archive.db import open_archive
archive = open_archive(sys.argv[1], create=False)
archive.close()
heavy = sorted(m for m in ("alembic", "mako", "pyarrow", "openpyxl", "fastapi") if m in sys.modules)
print(",".join(heavy) or "none")
"""


def test_the_head_read_from_the_scripts_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "archive:migrations")
    assert _scripted_head_revision() == ScriptDirectory.from_config(cfg).get_current_head()


def test_opening_a_current_archive_imports_no_alembic(archive_url: str) -> None:
    open_archive(archive_url).close()  # created (and stamped) with Alembic, in this process
    probe = subprocess.run([sys.executable, "-c", _PROBE, archive_url], capture_output=True, text=True, check=False)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "none"


def test_the_cli_imports_no_alembic_for_a_current_archive(archive_url: str) -> None:
    open_archive(archive_url).close()
    code = (
        "import sys\n"
        "from archive.cli import cli\n"
        "try:\n"
        f"    cli(['runs', '--db', {archive_url!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('alembic' in sys.modules, 'sqlalchemy.dialects.postgresql' in sys.modules, file=sys.stderr)\n"
    )
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert probe.stderr.strip().splitlines()[-1] == "False False", probe.stderr


def test_an_older_archive_is_still_refused_without_alembic_on_the_fast_path(archive_url: str) -> None:
    open_archive(archive_url).close()
    with sqlite3.connect(archive_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    with pytest.raises(SchemaOutdated, match="koege-archive db upgrade"):
        open_archive(archive_url)


def test_an_empty_file_is_still_given_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    open_archive(url).close()
    with sqlite3.connect(tmp_path / "new.sqlite") as conn:
        (stamped,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert stamped == _scripted_head_revision()
