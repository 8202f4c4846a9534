"""The schedules as the system's own scheduler says them: crontab lines, or systemd timers.

Both keep the scheduler's promises where they can: ``flock -n`` (crontab) and a oneshot service
(systemd) never start a site's crawl while the last one runs, and ``Persistent=true`` runs a
timer missed while the machine was off once at boot. Plain cron has no such catch-up.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archive.schedules import ScheduleView

__all__ = ["cron_for_every", "crontab", "systemd_calendar", "systemd_units"]

_DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def cron_for_every(seconds: int) -> str | None:
    """The cron expression of an interval, when cron can say it exactly (else None).

    Args:
        seconds: the interval.

    Returns:
        E.g. ``*/30 * * * *`` for 30 minutes, ``0 */6 * * *`` for 6 hours, ``0 0 * * *`` daily,
        ``0 0 * * 1`` weekly (Mondays).
    """
    minutes, rest = divmod(seconds, 60)
    if rest:
        return None
    if minutes < 60 and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    if minutes % 60 == 0:
        hours = minutes // 60
        if hours < 24 and 24 % hours == 0:
            return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
        if hours == 24:
            return "0 0 * * *"
        if hours == 7 * 24:
            return "0 0 * * 1"
    return None


def _command(schedule: ScheduleView, executable: str, db_url: str) -> list[str]:
    return [executable, "crawl", schedule.site, "--db", db_url, *schedule.crawl_args]


def crontab(schedules: list[ScheduleView], *, executable: str, db_url: str, lock_dir: str = "/tmp") -> str:
    """Crontab lines equivalent to the schedules (times in the system's time zone).

    Args:
        schedules: the schedules.
        executable: the path of ``koege-archive``.
        db_url: the archive.
        lock_dir: where ``flock`` keeps one lock file per site.

    Returns:
        The lines, with comments; an interval cron cannot say exactly is given as a comment.
    """
    lines = [
        "# koege-archive crawls (crontab -e). flock -n skips a crawl while the site's last one still runs.",
        "# Cron does not catch up a run missed while the machine was off; `koege-archive scheduler` and",
        "# systemd timers (--systemd) do, once.",
    ]
    for schedule in schedules:
        expression = schedule.cron or cron_for_every(schedule.every_seconds or 0)
        lock = f"{lock_dir.rstrip('/')}/koege-archive-{schedule.site}.lock"
        command = shlex.join(["flock", "-n", lock, *_command(schedule, executable, db_url)])
        # cron reads % as a newline: escape it.
        line = f"{expression} {command.replace('%', chr(92) + '%')}"
        if expression is None:
            from archive.schedules import describe

            lines.append(f"# {schedule.site}: {describe(schedule.every_seconds, None)} cannot be said in cron")
            line = f"# <when> {command}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _field(value: str, *, names: list[str] | None = None, width: int = 2) -> str:
    """One cron field in systemd's calendar syntax (lists, ranges a..b, steps a/b)."""
    if value == "*":
        return "*"
    parts = []
    for part in value.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            base = "0" if names is None else "Sun..Sat"
        if "-" in base:
            low, high = base.split("-", 1)
            base = f"{_name(low, names, width)}..{_name(high, names, width)}"
        else:
            base = _name(base, names, width)
        if step and ".." in base:
            raise ValueError(f"systemd cannot say the cron field {value!r}")
        parts.append(f"{base}/{step}" if step else base)
    return ",".join(parts)


def _name(value: str, names: list[str] | None, width: int) -> str:
    if names is None:
        return value.zfill(width) if value.isdigit() else value
    return names[int(value)] if value.isdigit() else value.capitalize()


def systemd_calendar(cron: str) -> str:
    """A cron expression as a systemd ``OnCalendar=`` value.

    Args:
        cron: five fields.

    Returns:
        E.g. ``*-*-* 06:00:00`` for ``0 6 * * *``, ``Mon..Fri *-*-* 07:30:00`` for ``30 7 * * 1-5``.

    Raises:
        ValueError: for what systemd cannot say (a step over a range).
    """
    minute, hour, day, month, weekday = cron.split()
    when = f"*-{_field(month)}-{_field(day)} {_field(hour)}:{_field(minute)}:00"
    if weekday != "*":
        when = f"{_field(weekday, names=_DAYS)} {when}"
    return when


def systemd_units(schedules: list[ScheduleView], *, executable: str, db_url: str) -> str:
    """A service and a timer per schedule, as files to put in ``~/.config/systemd/user/``.

    Args:
        schedules: the schedules.
        executable: the path of ``koege-archive``.
        db_url: the archive.

    Returns:
        The unit files, each headed by a ``# file:`` comment.
    """
    out = [
        "# koege-archive crawls as systemd user timers. Save each file under ~/.config/systemd/user/, then:",
        "#   systemctl --user daemon-reload && systemctl --user enable --now "
        + " ".join(f"koege-archive-{s.site}.timer" for s in schedules),
    ]
    for schedule in schedules:
        name = f"koege-archive-{schedule.site}"
        command = shlex.join(_command(schedule, executable, db_url)).replace("%", "%%")
        out += [
            "",
            f"# file: {name}.service",
            "[Unit]",
            f"Description=koege-archive: crawl {schedule.site}",
            "",
            "[Service]",
            "Type=oneshot",
            f"ExecStart={command}",
            "# Stop like Ctrl-C: the crawl finishes what is in flight and records its run.",
            "KillSignal=SIGINT",
            "TimeoutStopSec=600",
            "",
            f"# file: {name}.timer",
            "[Unit]",
            f"Description=koege-archive: when to crawl {schedule.site}",
            "",
            "[Timer]",
        ]
        if schedule.cron:
            out += [f"OnCalendar={systemd_calendar(schedule.cron)}", "Persistent=true"]
        else:
            out += ["OnActiveSec=0", f"OnUnitActiveSec={schedule.every_seconds}s"]
        out += ["", "[Install]", "WantedBy=timers.target"]
    return "\n".join(out) + "\n"
