"""Schedules: when each site is crawled, kept in the archive; when the next crawl is due.

A schedule says ``every`` (``30m``, ``1h``, ``1d``, ``2w``) or gives a cron expression (five
fields, read in the scheduler's time zone). The next crawl is due one interval (or the next cron
time) after the last start; a crawl missed while nothing ran is due at once, and only once.
"""

from __future__ import annotations

import datetime as dt
import getpass
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cronsim import CronSim, CronSimError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from archive.db import ArchiveError
from archive.models import Schedule

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from archive.db import Archive

__all__ = [
    "ScheduleError",
    "ScheduleView",
    "add_schedule",
    "describe",
    "get_schedule",
    "list_schedules",
    "next_due",
    "parse_every",
    "record_end",
    "record_start",
    "remove_schedule",
    "validate_cron",
]

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EVERY = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)


class ScheduleError(ArchiveError):
    """A schedule that cannot be added, found or read; the message says what to do."""


@dataclass(frozen=True, slots=True)
class ScheduleView:
    """A schedule as plain values."""

    id: int
    site: str
    every_seconds: int | None
    cron: str | None
    crawl_args: tuple[str, ...]
    created_at: dt.datetime
    created_by: str
    last_started_at: dt.datetime | None
    last_finished_at: dt.datetime | None
    last_exit_code: int | None
    last_run_id: int | None

    @classmethod
    def of(cls, row: Schedule) -> ScheduleView:
        """Copy a row."""
        return cls(
            row.id,
            row.site,
            row.every_seconds,
            row.cron,
            tuple(row.crawl_args or ()),
            row.created_at,
            row.created_by,
            row.last_started_at,
            row.last_finished_at,
            row.last_exit_code,
            row.last_run_id,
        )


def parse_every(value: str) -> int:
    """Read an interval: a whole number and a unit, ``m`` (minutes), ``h``, ``d`` or ``w``.

    Args:
        value: e.g. ``30m``, ``1h``, ``1d``, ``2w``.

    Returns:
        The interval in seconds.

    Raises:
        ValueError: with a message naming the accepted forms.
    """
    match = _EVERY.match(value or "")
    if match is None or int(match[1]) < 1:
        raise ValueError(f"{value!r} is not an interval; give a number and m, h, d or w (e.g. 30m, 1h, 1d, 2w)")
    return int(match[1]) * _UNITS[match[2].lower()]


def validate_cron(expression: str) -> str:
    """Check a five-field cron expression (``minute hour day month weekday``).

    Args:
        expression: e.g. ``0 6 * * *`` (every day at 06:00).

    Returns:
        The expression with its fields separated by single spaces.

    Raises:
        ValueError: with a message saying what is wrong.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"{expression!r} is not a cron expression of five fields (minute hour day month weekday), e.g. '0 6 * * *'"
        )
    clean = " ".join(fields)
    try:
        CronSim(clean, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    except CronSimError as exc:
        raise ValueError(f"{expression!r} is not a valid cron expression: {exc}") from exc
    return clean


def describe(every_seconds: int | None, cron: str | None) -> str:
    """A schedule for people: ``every 1h`` or ``cron 0 6 * * *``."""
    if cron:
        return f"cron {cron}"
    seconds = every_seconds or 0
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"every {seconds // _UNITS[unit]}{unit}"
    return f"every {seconds}s"


def next_due(schedule: ScheduleView, tz: ZoneInfo) -> dt.datetime:
    """When the next crawl of a schedule is due (it may lie in the past: then it is due now, once).

    An interval schedule never run is due when it was made; a cron schedule is due at its first
    time after it was made, or after its last start.

    Args:
        schedule: the schedule.
        tz: the time zone cron expressions are read in.

    Returns:
        The moment, in UTC.
    """
    if schedule.cron:
        base = (schedule.last_started_at or schedule.created_at).astimezone(tz)
        # CronSim yields times strictly after its start (whole minutes).
        return next(CronSim(schedule.cron, base)).astimezone(dt.UTC)
    if schedule.last_started_at is None:
        return schedule.created_at
    return schedule.last_started_at + dt.timedelta(seconds=schedule.every_seconds or 0)


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def add_schedule(
    archive: Archive,
    site: str,
    *,
    every_seconds: int | None = None,
    cron: str | None = None,
    crawl_args: tuple[str, ...] = (),
    by: str | None = None,
    now: dt.datetime | None = None,
    replace: bool = False,
) -> ScheduleView:
    """Store a site's schedule (one per site).

    Args:
        archive: the open archive.
        site: the profile key.
        every_seconds: the interval, or None for a cron schedule.
        cron: a validated cron expression, or None for an interval.
        crawl_args: extra arguments of ``koege-archive crawl`` (``--base-url``, ``-s``, ``--since``).
        by: who adds it (default: the OS user).
        now: the current time (for tests).
        replace: replace the site's schedule instead of refusing.

    Returns:
        The stored schedule.

    Raises:
        ScheduleError: when the site already has a schedule (and ``replace`` is False), or
            when neither or both of ``every_seconds`` and ``cron`` are given.
    """
    if (every_seconds is None) == (cron is None):
        raise ScheduleError("give either an interval (--every) or a cron expression (--cron)")
    now = now or dt.datetime.now(dt.UTC)
    try:
        with archive.writing() as session:
            if replace:
                session.execute(delete(Schedule).where(Schedule.site == site))
            row = Schedule(
                site=site,
                every_seconds=every_seconds,
                cron=cron,
                crawl_args=list(crawl_args),
                created_at=now,
                created_by=_who(by),
            )
            session.add(row)
            session.flush()
            return ScheduleView.of(row)
    except IntegrityError as exc:
        raise ScheduleError(
            f"{site} already has a schedule; remove it first (koege-archive schedule remove {site}) or add --replace"
        ) from exc


def list_schedules(archive: Archive) -> list[ScheduleView]:
    """Every schedule, by site."""
    with archive.reading() as session:
        return [ScheduleView.of(r) for r in session.scalars(select(Schedule).order_by(Schedule.site))]


def get_schedule(archive: Archive, site: str) -> ScheduleView | None:
    """A site's schedule, or None."""
    with archive.reading() as session:
        row = session.scalar(select(Schedule).where(Schedule.site == site))
        return ScheduleView.of(row) if row is not None else None


def remove_schedule(archive: Archive, site: str) -> bool:
    """Remove a site's schedule.

    Returns:
        False when the site had none.
    """
    with archive.writing() as session:
        return bool(session.execute(delete(Schedule).where(Schedule.site == site)).rowcount)  # type: ignore[attr-defined]


def record_start(archive: Archive, site: str, at: dt.datetime) -> None:
    """Remember that a scheduled crawl of a site started (the base of its next due time)."""
    with archive.writing() as session:
        session.execute(update(Schedule).where(Schedule.site == site).values(last_started_at=at))


def record_end(archive: Archive, site: str, at: dt.datetime, exit_code: int, run_id: int | None) -> None:
    """Remember how a scheduled crawl of a site ended."""
    with archive.writing() as session:
        session.execute(
            update(Schedule)
            .where(Schedule.site == site)
            .values(last_finished_at=at, last_exit_code=exit_code, last_run_id=run_id)
        )
