"""The scheduler with an injected clock: runs at the right times, never two of one site at once."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest

from archive.db import open_archive
from archive.runs import start_run
from archive.scheduler import Scheduler
from archive.schedules import (
    ScheduleError,
    add_schedule,
    get_schedule,
    next_due,
    parse_every,
    validate_cron,
)

CPH = ZoneInfo("Europe/Copenhagen")
T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.now = at

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class FakeCrawl:
    """A crawl that lasts ``duration`` of the fake clock, and stops when asked."""

    clock: Clock
    site: str
    started: dt.datetime
    duration: dt.timedelta
    pid: int = 4242
    stopped_at: dt.datetime | None = None

    def poll(self) -> int | None:
        if self.stopped_at is not None:
            return 130
        return 0 if self.clock() >= self.started + self.duration else None

    def stop(self) -> None:
        self.stopped_at = self.clock()

    def kill(self) -> None:
        self.stopped_at = self.clock()


@dataclass
class FakeLauncher:
    clock: Clock
    duration: dt.timedelta = dt.timedelta(minutes=10)
    crawls: list[FakeCrawl] = field(default_factory=list)

    def start(self, schedule: object) -> FakeCrawl:
        crawl = FakeCrawl(self.clock, schedule.site, self.clock(), self.duration)  # type: ignore[attr-defined]
        self.crawls.append(crawl)
        return crawl

    def starts(self, site: str) -> list[dt.datetime]:
        return [c.started for c in self.crawls if c.site == site]


@pytest.fixture
def archive(archive_url: str):
    opened = open_archive(archive_url)
    yield opened
    opened.close()


def _drive(scheduler: Scheduler, clock: Clock, until: dt.datetime, step: dt.timedelta = MINUTE) -> None:
    """Tick once a minute of fake time, checking that no site ever has two crawls at once."""
    while clock.now < until:
        scheduler.tick()
        launcher = scheduler.launcher
        for site in {c.site for c in launcher.crawls}:  # type: ignore[attr-defined]
            live = [c for c in launcher.crawls if c.site == site and c.poll() is None]  # type: ignore[attr-defined]
            assert len(live) <= 1, f"two crawls of {site} at {clock.now}"
        clock.now += step


def _scheduler(archive, clock: Clock, launcher: FakeLauncher, **kw) -> Scheduler:
    return Scheduler(archive, launcher, CPH, clock=clock, alive=lambda pid, at: pid == os.getpid(), **kw)


def test_interval_schedule_runs_at_once_then_every_interval(archive) -> None:
    add_schedule(archive, "koege", every_seconds=parse_every("1h"), now=T0)
    clock = Clock(T0)
    launcher = FakeLauncher(clock)
    _drive(_scheduler(archive, clock, launcher), clock, T0 + dt.timedelta(hours=3, minutes=30))
    assert launcher.starts("koege") == [T0 + dt.timedelta(hours=h) for h in range(4)]


def test_cron_schedule_runs_at_its_local_times(archive) -> None:
    # 06:00 in Copenhagen is 05:00 UTC in winter; made at 09:00 UTC, the first run is the next morning.
    add_schedule(archive, "koege", cron=validate_cron("0 6 * * *"), now=T0)
    clock = Clock(T0)
    launcher = FakeLauncher(clock)
    _drive(_scheduler(archive, clock, launcher), clock, T0 + dt.timedelta(days=3), step=dt.timedelta(minutes=5))
    assert launcher.starts("koege") == [dt.datetime(2026, 1, d, 5, 0, tzinfo=dt.UTC) for d in (6, 7, 8)]


def test_a_crawl_longer_than_the_interval_never_overlaps_and_is_followed_once(archive) -> None:
    add_schedule(archive, "koege", every_seconds=parse_every("1h"), now=T0)
    add_schedule(archive, "solroed", every_seconds=parse_every("1h"), now=T0)
    clock = Clock(T0)
    launcher = FakeLauncher(clock, duration=dt.timedelta(minutes=150))
    _drive(_scheduler(archive, clock, launcher), clock, T0 + dt.timedelta(hours=6))
    # 2.5 h crawls every hour: each starts when the last one ended (overdue: once), never during it.
    expected = [T0 + dt.timedelta(minutes=m) for m in (0, 150, 300)]
    assert launcher.starts("koege") == expected
    # Sites are independent: solrød's crawls run beside koege's.
    assert launcher.starts("solroed") == expected


def test_runs_missed_while_down_are_run_once(archive) -> None:
    add_schedule(archive, "koege", every_seconds=parse_every("1h"), now=T0)
    clock = Clock(T0)
    launcher = FakeLauncher(clock)
    _drive(_scheduler(archive, clock, launcher), clock, T0 + dt.timedelta(minutes=30))
    assert launcher.starts("koege") == [T0]
    # The scheduler is down for ten hours; a new one starts: one run now, the next an hour later.
    back = T0 + dt.timedelta(hours=10, minutes=7)
    clock.now = back
    again = FakeLauncher(clock)
    _drive(_scheduler(archive, clock, again), clock, back + dt.timedelta(hours=1, minutes=30))
    assert again.starts("koege") == [back, back + dt.timedelta(hours=1)]
    stored = get_schedule(archive, "koege")
    assert stored is not None and stored.last_started_at == back + dt.timedelta(hours=1)
    assert stored.last_exit_code == 0


def test_a_crawl_started_by_hand_blocks_the_scheduled_one(archive) -> None:
    add_schedule(archive, "koege", every_seconds=parse_every("1d"), now=T0)
    # A crawl of koege is running in this very process (it is alive).
    start_run(archive, sites=["koege"], software_version="test", started_at=T0 - MINUTE)
    clock = Clock(T0)
    launcher = FakeLauncher(clock)
    messages: list[str] = []
    scheduler = _scheduler(archive, clock, launcher, notify=messages.append)
    _drive(scheduler, clock, T0 + dt.timedelta(minutes=5))
    assert launcher.crawls == []
    assert messages == ["koege: due, but a crawl of it is already running; waiting for it to end"]


def test_stop_asks_running_crawls_to_stop_and_starts_nothing_more(archive) -> None:
    add_schedule(archive, "koege", every_seconds=parse_every("1h"), now=T0)
    clock = Clock(T0)
    launcher = FakeLauncher(clock, duration=dt.timedelta(hours=5))
    scheduler = _scheduler(archive, clock, launcher)
    scheduler.tick()
    assert len(launcher.crawls) == 1
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        clock.now += dt.timedelta(seconds=seconds)
        if len(naps) == 3:
            scheduler.request_stop()  # SIGTERM arrives

    scheduler.run(sleep)
    assert launcher.crawls[0].stopped_at is not None  # asked to stop gracefully, and it did
    assert len(launcher.crawls) == 1
    assert scheduler.running == {}
    stored = get_schedule(archive, "koege")
    assert stored is not None and stored.last_exit_code == 130


def test_a_crawl_that_ignores_the_stop_is_killed_after_the_grace_time(archive) -> None:
    add_schedule(archive, "koege", every_seconds=parse_every("1h"), now=T0)
    clock = Clock(T0)

    @dataclass
    class Stubborn(FakeCrawl):
        killed: bool = False

        def stop(self) -> None:  # ignores the polite request
            pass

        def kill(self) -> None:
            self.killed = True
            self.stopped_at = self.clock()

    class StubbornLauncher(FakeLauncher):
        def start(self, schedule: object) -> FakeCrawl:
            crawl = Stubborn(self.clock, "koege", self.clock(), dt.timedelta(hours=9))
            self.crawls.append(crawl)
            return crawl

    launcher = StubbornLauncher(clock)
    scheduler = _scheduler(archive, clock, launcher, grace=60)
    scheduler.tick()
    scheduler.request_stop()

    def sleep(seconds: float) -> None:
        clock.now += dt.timedelta(seconds=seconds)

    scheduler.run(sleep)
    assert launcher.crawls[0].killed and clock.now - T0 >= dt.timedelta(seconds=60)


def test_schedules_are_one_per_site_and_validated(archive) -> None:
    add_schedule(archive, "koege", every_seconds=3600, now=T0)
    with pytest.raises(ScheduleError, match="already has a schedule"):
        add_schedule(archive, "koege", cron="0 6 * * *", now=T0)
    replaced = add_schedule(archive, "koege", cron="0 6 * * *", now=T0, replace=True)
    assert replaced.cron == "0 6 * * *" and replaced.every_seconds is None
    with pytest.raises(ValueError, match="five fields"):
        validate_cron("0 6 * *")
    with pytest.raises(ValueError, match="not a valid cron"):
        validate_cron("0 25 * * *")
    with pytest.raises(ValueError, match="30m, 1h"):
        parse_every("soon")
    assert parse_every("2w") == 14 * 86400
    # DST: 06:00 local is 04:00 UTC in summer.
    summer = add_schedule(archive, "solroed", cron="0 6 * * *", now=dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC))
    assert next_due(summer, CPH) == dt.datetime(2026, 7, 2, 4, 0, tzinfo=dt.UTC)


def test_stale_runs_of_old_versions_or_other_machines_do_not_block_forever(archive) -> None:
    add_schedule(archive, "koege", every_seconds=parse_every("1d"), now=T0)
    # A run from before schema 0003 (no process recorded) and one of another machine, two days old.
    start_run(archive, sites=["koege"], software_version="0.1", started_at=T0 - dt.timedelta(days=30), pid=0, host="")
    start_run(archive, sites=["koege"], software_version="0.2", started_at=T0 - dt.timedelta(days=2), host="old-box")
    clock = Clock(T0)
    launcher = FakeLauncher(clock)
    _drive(_scheduler(archive, clock, launcher), clock, T0 + dt.timedelta(minutes=5))
    assert launcher.starts("koege") == [T0]
    # A run of another machine started an hour ago still counts: it may be crawling now.
    start_run(archive, sites=["solroed"], software_version="0.2", started_at=T0 - dt.timedelta(hours=1), host="other")
    add_schedule(archive, "solroed", every_seconds=parse_every("1d"), now=T0)
    _drive(_scheduler(archive, clock, launcher), clock, T0 + dt.timedelta(minutes=10))
    assert launcher.starts("solroed") == []
