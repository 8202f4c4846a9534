"""The command line as scripts use it: help everywhere, documented, exact outputs and exit codes."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import TYPE_CHECKING

import click
import pytest
from click.testing import CliRunner

from archive.cli import cli
from tests.conftest import REPO

if TYPE_CHECKING:
    from pathlib import Path

DOCS = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found += _commands(command, full + " ")
        else:
            found.append((full, command))
    return found


COMMANDS = _commands(cli)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_help_and_db(name: str, command: click.Command) -> None:
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert command.help and "Example" in command.help
    assert all(p.help for p in command.params if isinstance(p, click.Option)), "every option has help"
    assert "--db" in result.output


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_is_documented(name: str, command: click.Command) -> None:
    assert f"`koege-archive {name}" in DOCS


def test_search_and_show_on_an_empty_archive(archive_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["search", "vækst", "--db", archive_url])
    assert result.exit_code == 0 and "No documents match 'vækst'." in result.stderr
    result = runner.invoke(cli, ["search", "vækst", "--format", "json", "--db", archive_url])
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    result = runner.invoke(cli, ["show", "https://www.koege.dk/x", "--db", archive_url])
    assert result.exit_code == 1 and "no document for" in result.stderr
    result = runner.invoke(cli, ["search", "   ", "--db", archive_url])
    assert result.exit_code == 1 and "no word to search for" in result.stderr


def test_export_writes_the_contract_header(archive_url: str, tmp_path: Path) -> None:
    out = tmp_path / "eksport æøå.csv"
    result = CliRunner().invoke(cli, ["export", "--format", "csv", "-o", str(out), "--db", archive_url])
    assert result.exit_code == 0, result.output
    header = next(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert header == [
        "id",
        "version",
        "url",
        "site",
        "title",
        "lead",
        "text",
        "published",
        "updated",
        "published_precision",
        "published_source",
        "updated_by",
        "contact",
        "language",
        "content_hash",
        "first_seen",
        "last_seen",
    ]
    assert not (tmp_path / "eksport æøå.csv.partial").exists()


def test_runs_on_a_fresh_archive(archive_url: str) -> None:
    result = CliRunner().invoke(cli, ["runs", "--db", archive_url])
    assert result.exit_code == 0 and "No crawl runs yet" in result.stderr
    result = CliRunner().invoke(cli, ["runs", "--log", "7", "--db", archive_url])
    assert result.exit_code == 1 and "no run 7" in result.stderr


def test_dates_prints_json() -> None:
    result = CliRunner().invoke(cli, ["dates", "Opdateret af Kirstine Kryger 01.05.18"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["iso"] == "2018-05-01"
    result = CliRunner().invoke(cli, ["dates", "ingen dato her"])
    assert json.loads(result.stdout) is None
    result = CliRunner().invoke(cli, ["dates", "13. marts", "--relative-to", "2020-03-01"])
    assert json.loads(result.stdout)["iso"] == "2020-03-13"
    result = CliRunner().invoke(cli, ["dates", "x", "--relative-to", "i går"])
    assert result.exit_code == 2


def test_sites_lists_koege() -> None:
    result = CliRunner().invoke(cli, ["sites", "--format", "json"])
    assert result.exit_code == 0
    assert any(s["site"] == "koege" and s["origin"] == "https://www.koege.dk" for s in json.loads(result.stdout))


def test_db_upgrade_on_a_current_archive(archive_url: str) -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade", "--db", archive_url])
    assert result.exit_code == 0
    assert re.search(r"(already at schema|Upgraded the archive)", result.stderr)
