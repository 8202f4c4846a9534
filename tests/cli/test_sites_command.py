"""`koege-archive sites`: every municipality's profile, its platform, channel and live check."""

from __future__ import annotations

import json

from click.testing import CliRunner

from archive.cli import cli


def test_sites_lists_every_municipality_unchecked_offline(archive_url: str) -> None:
    result = CliRunner().invoke(cli, ["sites", "--db", archive_url])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SITE", "TITLE", "PLATFORM", "CHANNEL", "CHECKED", "ORIGIN"]
    assert len(lines) == 1 + 98
    koege = next(line for line in lines if line.startswith("koege "))
    assert koege.split()[-4:] == ["Moliri", "auto", "no", "https://www.koege.dk"]
    assert "98 profiles; 0 checked against the live site" in result.stderr


def test_sites_as_json_for_one_platform(archive_url: str) -> None:
    result = CliRunner().invoke(cli, ["sites", "--platform", "gopublic", "--format", "json", "--db", archive_url])
    assert result.exit_code == 0
    records = json.loads(result.stdout)
    assert len(records) == 21
    solroed = next(r for r in records if r["site"] == "solroed")
    assert solroed["platform"] == "GoPublic" and solroed["channel"] == "auto"
    assert solroed["checked_live"] is None and solroed["origin"] == "https://solrod.dk"
    greve = json.loads(CliRunner().invoke(cli, ["sites", "--format", "json", "--db", archive_url]).stdout)
    assert next(r for r in greve if r["site"] == "greve")["external_hosts"] == ["via.ritzau.dk"]


def test_an_unknown_site_gets_a_suggestion(archive_url: str) -> None:
    result = CliRunner().invoke(cli, ["crawl", "koege", "solrod", "--db", archive_url])
    assert result.exit_code == 2
    assert "no profile named 'solrod'; did you mean solroed" in result.stderr
