"""The scheduler: starts each site's crawl when due, one crawl per site at a time, until stopped.

Crawls run as subprocesses (``python -m archive.cli crawl SITE …``), each in its own session so a
Ctrl-C in the scheduler's terminal reaches only the scheduler, which passes one graceful stop on.
Time, the crawl launcher and liveness checks are injected, so the logic is tested without waiting.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.exc import SQLAlchemyError

from archive.runs import first_run_since, mark_interrupted_runs, process_alive, running_runs, this_host
from archive.schedules import list_schedules, next_due, record_end, record_start

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from archive.db import Archive
    from archive.schedules import ScheduleView

__all__ = ["CrawlHandle", "Launcher", "Scheduler", "SubprocessLauncher", "crawl_command"]


# How long a crawl recorded as running on another machine keeps this one from crawling the site.
_FOREIGN_RUN_WINDOW = dt.timedelta(hours=24)


class CrawlHandle(Protocol):
    """A started crawl."""

    @property
    def pid(self) -> int:
        """The crawl's process id."""

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""

    def stop(self) -> None:
        """Ask it to stop gracefully (it finishes what is in flight and records its run)."""

    def kill(self) -> None:
        """Stop it at once (its run is found ``interrupted`` and completed next time)."""


class Launcher(Protocol):
    """Starts crawls."""

    def start(self, schedule: ScheduleView) -> CrawlHandle:
        """Start the crawl of a schedule."""


def crawl_command(schedule: ScheduleView, db_url: str) -> list[str]:
    """The command line of a scheduled crawl (run with this Python)."""
    return [sys.executable, "-m", "archive.cli", "crawl", schedule.site, "--db", db_url, *schedule.crawl_args]


@dataclass
class _ProcessHandle:
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()


@dataclass
class SubprocessLauncher:
    """Runs ``koege-archive crawl`` in a subprocess; its summary is appended to a file per site."""

    db_url: str
    log_dir: Path

    def start(self, schedule: ScheduleView) -> CrawlHandle:
        """Start the crawl of a schedule."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"scheduled-{schedule.site}.txt").open("ab") as out:
            process = subprocess.Popen(
                crawl_command(schedule, self.db_url),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                env={k: v for k, v in os.environ.items() if k != "KOEGE_ARCHIVE_DB"},
            )
        return _ProcessHandle(process)


@dataclass
class _Running:
    handle: CrawlHandle
    started_at: dt.datetime
    stop_sent_at: dt.datetime | None = None


@dataclass
class Scheduler:
    """Starts due crawls and reaps finished ones; call :meth:`tick` repeatedly, or :meth:`run`.

    Attributes:
        archive: the open archive (schedules and runs are read from it at each tick).
        launcher: starts crawls.
        tz: the time zone of cron expressions.
        clock: the current time (UTC, aware).
        notify: told what happens, one line each.
        alive: tells whether a pid still runs (a crawl started by hand blocks its site too).
        grace: seconds a stopping crawl gets before it is killed.
    """

    archive: Archive
    launcher: Launcher
    tz: ZoneInfo
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    notify: Callable[[str], None] = lambda _message: None
    alive: Callable[[int, dt.datetime | None], bool] = process_alive
    grace: float = 600.0
    running: dict[str, _Running] = field(default_factory=dict)
    stopping: bool = False
    _waiting: set[str] = field(default_factory=set)

    def _reap(self, now: dt.datetime) -> None:
        for site, crawl in sorted(self.running.items()):
            code = crawl.handle.poll()
            if code is None:
                if crawl.stop_sent_at is not None and (now - crawl.stop_sent_at).total_seconds() >= self.grace:
                    self.notify(f"{site}: the crawl did not stop within {self.grace:g} s; killing it")
                    crawl.handle.kill()
                continue
            del self.running[site]
            run = first_run_since(self.archive, site=site, at=crawl.started_at - dt.timedelta(seconds=1))
            record_end(self.archive, site, now, code, run)
            outcome = "finished" if code == 0 else f"ended with exit code {code}"
            self.notify(f"{site}: crawl {outcome}" + (f" (run {run})" if run is not None else ""))

    def _busy_elsewhere(self, site: str, now: dt.datetime) -> bool:
        """A crawl of the site not started by this scheduler (by hand, or another scheduler).

        Runs of this machine still ``running`` are alive (dead ones were just marked). A run of
        another machine counts for a day; a run recorded without a process (before schema 0003)
        never blocks.
        """
        mark_interrupted_runs(self.archive, alive=self.alive)
        here = this_host()
        return any(
            run.host == here or (bool(run.host) and now - run.started_at < _FOREIGN_RUN_WINDOW)
            for run in running_runs(self.archive, site=site)
        )

    def tick(self) -> list[str]:
        """Reap finished crawls and start due ones.

        Returns:
            The sites whose crawls were started.
        """
        now = self.clock()
        self._reap(now)
        if self.stopping:
            return []
        started = []
        for schedule in list_schedules(self.archive):
            site = schedule.site
            if site in self.running or next_due(schedule, self.tz) > now:
                continue
            if self._busy_elsewhere(site, now):
                if site not in self._waiting:
                    self.notify(f"{site}: due, but a crawl of it is already running; waiting for it to end")
                    self._waiting.add(site)
                continue
            self._waiting.discard(site)
            record_start(self.archive, site, now)
            handle = self.launcher.start(schedule)
            self.running[site] = _Running(handle, now)
            self.notify(f"{site}: crawl started (pid {handle.pid})")
            started.append(site)
        return started

    def next_wake(self, *, idle: float = 60.0, busy: float = 2.0) -> float:
        """Seconds until the next tick is worth making."""
        if self.running:
            return busy
        now = self.clock()
        waits = [(next_due(s, self.tz) - now).total_seconds() for s in list_schedules(self.archive)]
        return max(0.0, min([idle, *waits]))

    def request_stop(self) -> None:
        """Stop starting crawls; ask running ones to stop gracefully."""
        if self.stopping:
            return
        self.stopping = True
        now = self.clock()
        for site, crawl in sorted(self.running.items()):
            self.notify(f"{site}: asking the crawl (pid {crawl.handle.pid}) to stop; it records what it did")
            crawl.handle.stop()
            crawl.stop_sent_at = now

    def run(self, sleep: Callable[[float], None]) -> None:
        """Tick until stopped (:meth:`request_stop`) and every crawl it started has ended.

        Args:
            sleep: waits for some seconds (interrupted early by signals in real use).
        """
        while True:
            try:
                self.tick()
                wait = self.next_wake()
            except SQLAlchemyError as exc:
                # The archive is busy or away for a moment (a locked file, a restarting server):
                # crawls already started go on; try again shortly.
                self.notify(f"cannot read the archive ({getattr(exc, 'orig', None) or exc}); trying again in 30 s")
                wait = 30.0
            if self.stopping and not self.running:
                return
            sleep(wait)
