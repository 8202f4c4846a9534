"""`search`, `export` and `serve` on the command line, as researchers and journalists script them."""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING

from click.testing import CliRunner

from archive.cli import cli
from tests.archive.corpus import build_corpus
from tests.conftest import run_cli

if TYPE_CHECKING:
    from pathlib import Path


def test_search_with_filters_sort_and_json(archive_url: str) -> None:
    ids = build_corpus(archive_url)
    runner = CliRunner()
    result = runner.invoke(cli, ["search", "kommunen", "--sort", "newest", "--format", "json", "--db", archive_url])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits[0]["id"] == ids["kommune-tekst"] and {"id", "url", "title", "published", "snippet", "score"} <= set(
        hits[0]
    )
    result = runner.invoke(cli, ["search", "haveaffald", "--site", "roskilde", "--format", "json", "--db", archive_url])
    assert [h["id"] for h in json.loads(result.stdout)] == [ids["roskilde"]]
    result = runner.invoke(cli, ["search", "vækstområdet", "--db", archive_url])
    assert "[vækstområder]" in result.stdout and "1 documents match" in result.stderr
    result = runner.invoke(cli, ["search", "affald", "--since", "sidste år", "--db", archive_url])
    assert result.exit_code == 1 and "not a date" in result.stderr
    result = runner.invoke(cli, ["search", "x" * 10_000, "--db", archive_url])
    assert result.exit_code == 1 and "at most 2,000" in result.stderr
    result = runner.invoke(cli, ["search", "delegationen", "--reindex", "--db", archive_url])
    assert result.exit_code == 0 and "Search index ready" in result.stderr


def test_export_a_search_into_a_folder_with_a_manifest(archive_url: str, tmp_path: Path) -> None:
    ids = build_corpus(archive_url)
    out = tmp_path / "eksport"
    args = ["export", "--format", "parquet", "-q", "grøn vækst", "--site", "koege", "--output-dir", str(out)]
    result = CliRunner().invoke(cli, [*args, "--db", archive_url])
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    table = pq.read_table(out / "koege-grøn-vækst.parquet")
    assert sorted(table.column("id").to_pylist()) == sorted([ids["vaekst"], ids["groen-spredt"]])
    manifest = json.loads((out / "koege-grøn-vækst.parquet.manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == 2 and manifest["filters"] == {"site": "koege"} and manifest["query"] == "grøn vækst"
    again = CliRunner().invoke(cli, [*args, "--db", archive_url])
    assert again.exit_code == 0 and (out / "koege-grøn-vækst-2.parquet").exists()  # never overwritten


def test_export_refuses_what_it_cannot_do(archive_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--format", "xlsx", "--db", archive_url])
    assert result.exit_code == 2 and "cannot go to stdout" in result.stderr
    result = runner.invoke(cli, ["export", "--format", "csv", "-o", "a.csv", "--output-dir", "d", "--db", archive_url])
    assert result.exit_code == 2
    result = runner.invoke(cli, ["export", "--format", "csv", "-q", "NOT x", "--db", archive_url])
    assert result.exit_code == 1 and "only excludes" in result.stderr
    result = runner.invoke(
        cli, ["export", "--format", "csv", "-o", str(tmp_path / "no" / "such" / "dir" / "x.csv"), "--db", archive_url]
    )
    assert result.exit_code == 1 and "cannot write" in result.stderr


def test_export_to_stdout_streams_csv(archive_url: str) -> None:
    build_corpus(archive_url)
    result = CliRunner().invoke(cli, ["export", "--format", "jsonl", "--query", "delegation", "--db", archive_url])
    assert result.exit_code == 0
    assert [json.loads(line)["title"] for line in result.stdout.splitlines()] == ["Besøg fra Kina"]


def test_serve_says_when_the_port_is_taken(archive_url: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_cli("serve", "--port", str(port), "--db", archive_url, timeout=60)
    assert result.returncode == 1
    assert "cannot listen on 127.0.0.1" in result.stderr and "Traceback" not in result.stderr
