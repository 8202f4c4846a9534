"""`history` and `duplicates` as people and scripts use them, bad input included."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner

from archive.cli import cli
from archive.db import open_archive
from archive.store import ArchiveWriter, CaptureRecord, VersionRecord

URL = "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/ny-badebro"
T0 = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
TEXT = "Den nye badebro i Køge Bugt Strandpark åbner lørdag. Broen er 120 meter lang og har en rampe."


def _archive(url: str) -> str:
    archive = open_archive(url)
    writer = ArchiveWriter(archive)
    writer.ensure_site("koege", "Køge Kommune", "https://www.koege.dk")
    for n, (text, outcome) in enumerate([(TEXT, "new"), (TEXT.replace("lørdag", "søndag"), "changed")]):
        writer.add(
            site_key="koege",
            run_id=None,
            capture=CaptureRecord(URL, URL, T0 + dt.timedelta(days=n), 200, {}, "text/html", "utf-8", text.encode()),
            version=VersionRecord(title="Ny badebro", lead=None, text=text, content_hash=f"h{n}", extractor="t"),
            outcome=outcome,  # type: ignore[arg-type]
        )
    writer.flush()
    archive.close()
    return url


def test_history_lists_versions_and_diffs_any_two(archive_url: str) -> None:
    db = _archive(archive_url)
    runner = CliRunner()
    shown = runner.invoke(cli, ["history", URL + "?utm_source=x", "--db", db])
    assert shown.exit_code == 0, shown.output
    assert "2 version(s)" in shown.stdout and "2026-06-01T08:00:00Z" in shown.stdout and "--diff 1 2" in shown.stdout
    diff = runner.invoke(cli, ["history", URL, "--diff", "1", "2", "--db", db])
    assert diff.exit_code == 0 and "[-lørdag.-]" in diff.stdout and "{+søndag.+}" in diff.stdout
    data = json.loads(runner.invoke(cli, ["history", "1", "--diff", "2", "1", "--format", "json", "--db", db]).stdout)
    assert [v["version"] for v in data["versions"]] == [1, 2] and data["diff"]["from"] == 2
    assert {"op": "added", "text": "lørdag. "} in data["diff"]["pieces"]


def test_history_and_duplicates_say_what_is_wrong(archive_url: str) -> None:
    db = _archive(archive_url)
    runner = CliRunner()
    missing = runner.invoke(cli, ["history", URL + "-findes-ikke", "--db", db])
    assert missing.exit_code == 1 and "no document for" in missing.stderr
    no_version = runner.invoke(cli, ["history", URL, "--diff", "1", "7", "--db", db])
    assert no_version.exit_code == 1 and "has no version 7 (it has: 1, 2)" in no_version.stderr
    zero = runner.invoke(cli, ["history", URL, "--diff", "0", "1", "--db", db])
    assert zero.exit_code == 2 and "start at 1" in zero.stderr
    none = runner.invoke(cli, ["duplicates", "--db", db])
    assert none.exit_code == 0 and "No near-duplicate documents" in none.stderr
    assert json.loads(runner.invoke(cli, ["duplicates", "--format", "json", "--db", db]).stdout) == []
