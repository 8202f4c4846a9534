"""Schedules from the command line, their crontab/systemd export, and the scheduler as a process."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import cli
from archive.schedule_export import cron_for_every, systemd_calendar
from koege_spider.mirror import MirrorServer
from tests.conftest import CLI, FAST, REPO, run_cli


def _cli(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def test_schedule_add_list_remove(archive_url: str) -> None:
    added = _cli("schedule", "add", "koege", "--every", "1d", "--by", "arkivar", "--db", archive_url)
    assert added.exit_code == 0, added.output
    assert "koege: every 1d." in added.stderr
    cron = _cli("schedule", "add", "solroed", "--cron", "0  6 * * 1-5", "--base-url", "http://127.0.0.1:8000",
                "-s", "DOWNLOAD_DELAY=0", "--db", archive_url)  # fmt: skip
    assert cron.exit_code == 0, cron.output
    listed = json.loads(_cli("schedule", "list", "--format", "json", "--db", archive_url).stdout)
    assert [(s["site"], s["when"], s["crawl_args"]) for s in listed] == [
        ("koege", "every 1d", []),
        ("solroed", "cron 0 6 * * 1-5", ["--base-url", "http://127.0.0.1:8000", "-s", "DOWNLOAD_DELAY=0"]),
    ]
    assert listed[0]["created_by"] == "arkivar"
    assert listed[0]["next_due"] == listed[0]["created_at"]  # never run: due at once

    twice = _cli("schedule", "add", "koege", "--every", "1h", "--db", archive_url)
    assert twice.exit_code == 1 and "already has a schedule" in twice.stderr
    assert _cli("schedule", "add", "koege", "--every", "1h", "--replace", "--db", archive_url).exit_code == 0

    removed = _cli("schedule", "remove", "koege", "--db", archive_url)
    assert removed.exit_code == 0 and "koege: schedule removed." in removed.stderr
    again = _cli("schedule", "remove", "koege", "--db", archive_url)
    assert again.exit_code == 1 and "koege has no schedule" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--every", "soon"], "30m, 1h, 1d, 2w"),
        (["--cron", "0 6 * *"], "five fields"),
        (["--cron", "61 6 * * *"], "not a valid cron expression"),
        ([], "give --every INTERVAL or --cron EXPR"),
        (["--every", "1h", "--cron", "0 6 * * *"], "give --every INTERVAL or --cron EXPR"),
    ],
)
def test_schedule_add_refuses_bad_input(archive_url: str, args: list[str], message: str) -> None:
    result = _cli("schedule", "add", "koege", *args, "--db", archive_url)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_schedule_add_refuses_an_unknown_site(archive_url: str) -> None:
    result = _cli("schedule", "add", "solrod", "--every", "1d", "--db", archive_url)
    assert result.exit_code == 2 and "did you mean solroed" in result.output


def test_export_crontab_and_systemd(archive_url: str) -> None:
    nothing = _cli("schedule", "export", "--crontab", "--db", archive_url)
    assert nothing.exit_code == 1 and "no schedules to export" in nothing.stderr
    _cli("schedule", "add", "koege", "--cron", "30 5 * * 1-5", "--db", archive_url)
    _cli("schedule", "add", "solroed", "--every", "6h", "--db", archive_url)
    _cli("schedule", "add", "stevns", "--every", "7h", "--db", archive_url)
    tab = _cli("schedule", "export", "--crontab", "--db", archive_url)
    assert tab.exit_code == 0, tab.output
    lines = [line for line in tab.stdout.splitlines() if not line.startswith("#")]
    db = archive_url  # no % in it
    assert lines[0].startswith("30 5 * * 1-5 flock -n /tmp/koege-archive-koege.lock ")
    assert lines[0].endswith(f"crawl koege --db {db}")
    assert lines[1].startswith("0 */6 * * * flock -n /tmp/koege-archive-solroed.lock ")
    assert "# stevns: every 7h cannot be said in cron" in tab.stdout

    units = _cli("schedule", "export", "--systemd", "--db", archive_url)
    assert units.exit_code == 0, units.output
    text = units.stdout
    assert "# file: koege-archive-koege.timer" in text and "OnCalendar=Mon..Fri *-*-* 05:30:00" in text
    assert "Persistent=true" in text and "OnUnitActiveSec=21600s" in text and "KillSignal=SIGINT" in text
    assert _cli("schedule", "export", "--db", archive_url).exit_code == 2


def test_cron_and_calendar_translations() -> None:
    assert cron_for_every(30 * 60) == "*/30 * * * *"
    assert cron_for_every(3600) == "0 * * * *"
    assert cron_for_every(86400) == "0 0 * * *"
    assert cron_for_every(7 * 86400) == "0 0 * * 1"
    assert cron_for_every(7 * 3600) is None
    assert systemd_calendar("0 6 * * *") == "*-*-* 06:00:00"
    assert systemd_calendar("*/15 8-17 1,15 * 0") == "Sun *-*-01,15 08..17:00/15:00"


def _runs(db: Path) -> list[tuple[int, str]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return [tuple(r) for r in conn.execute("SELECT id, status FROM crawl_runs ORDER BY id")]
    except sqlite3.OperationalError:
        return []


def test_the_scheduler_runs_a_due_crawl_and_stops_on_sigterm(koege_mirror: MirrorServer, tmp_path: Path) -> None:
    db = tmp_path / "archive" / "archive.sqlite"
    url = f"sqlite:///{db}"
    added = run_cli("schedule", "add", "koege", "--every", "1d", "--base-url", koege_mirror.origin,
                    *[a for pair in zip(FAST[::2], FAST[1::2], strict=True) for a in pair], "--db", url)  # fmt: skip
    assert added.returncode == 0, added.stderr
    log = (tmp_path / "scheduler.txt").open("wb")
    proc = subprocess.Popen([CLI, "scheduler", "--db", url], cwd=REPO, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 240
    # Wait until the scheduler has seen its crawl end (the run row is finished a moment earlier).
    while "koege: crawl finished" not in (tmp_path / "scheduler.txt").read_text():
        assert proc.poll() is None, (tmp_path / "scheduler.txt").read_text()
        assert time.monotonic() < deadline, "the scheduled crawl did not finish"
        time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    said = (tmp_path / "scheduler.txt").read_text()
    assert "koege: crawl started" in said and "koege: crawl finished (run 1)" in said
    assert "SIGTERM: stopping" in said and "Scheduler stopped." in said and "Traceback" not in said
    # Due once a day: one crawl, however long the scheduler ran.
    assert _runs(db) == [(1, "finished")]
    listed = json.loads(run_cli("schedule", "list", "--format", "json", "--db", url).stdout)
    assert listed[0]["last_exit_code"] == 0 and listed[0]["last_run"] == 1
    assert "Crawl of koege finished" in (db.parent / "logs" / "scheduled-koege.txt").read_text()


def test_crawl_refuses_to_start_beside_a_running_crawl_of_the_site(
    koege_mirror: MirrorServer, archive_url: str
) -> None:
    from archive.db import open_archive
    from archive.runs import start_run

    archive = open_archive(archive_url)
    start_run(archive, sites=["koege"], software_version="test")  # this very process: alive
    archive.close()
    result = run_cli("crawl", "koege", "--base-url", koege_mirror.origin, "--db", archive_url, *FAST)
    assert result.returncode == 1 and "a crawl of koege is running (run 1, pid" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(run_cli("runs", "--format", "json", "--db", archive_url).stdout)[0]["status"] == "running"
