"""Running unattended: schedules and the scheduler, health of the crawls, the verdict on a run."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from archive.cli.common import cli, cli_archive, db_option, echo_err, format_option, parse_overrides
from archive.db import DEFAULT_ARCHIVE_PATH
from archive.queries import utc_iso


def _zone(name: str | None) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise click.BadParameter(f"{name!r} is not a time zone such as Europe/Copenhagen") from exc
    local = Path("/etc/localtime")
    if local.is_symlink() and "zoneinfo/" in str(local.resolve()):
        try:
            return ZoneInfo(str(local.resolve()).split("zoneinfo/", 1)[1])
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


@cli.group()
def schedule() -> None:
    """When each site is crawled: add, list, remove schedules; export them for cron or systemd.

    Schedules live in the archive; `koege-archive scheduler` runs them.

    \b
    Examples:
      koege-archive schedule add koege --every 1d
      koege-archive schedule add solroed --cron "0 6 * * *"
      koege-archive schedule list
      koege-archive schedule export --crontab
    """


@schedule.command("add")
@click.argument("site")
@click.option("--every", metavar="INTERVAL", help="Crawl every INTERVAL: 30m, 1h, 1d, 2w.")
@click.option("--cron", "cron_expr", metavar="EXPR", help='Crawl at the times of a cron expression, e.g. "0 6 * * *".')
@click.option("--base-url", metavar="URL", help="Crawl a mirror at this origin (passed to `crawl`).")
@click.option(
    "-s", "settings", multiple=True, metavar="NAME=VALUE", help="A Scrapy setting for the crawls (repeatable)."
)
@click.option("--since", metavar="DATE", help="Passed to `crawl`: only articles published on or after DATE.")
@click.option("--by", metavar="NAME", help="Who adds it (default: the OS user).")
@click.option("--replace", is_flag=True, help="Replace the site's schedule if it has one.")
@db_option
def schedule_add(
    site: str,
    every: str | None,
    cron_expr: str | None,
    base_url: str | None,
    settings: tuple[str, ...],
    since: str | None,
    by: str | None,
    replace: bool,
    db_url: str,
) -> None:
    """Schedule a site's crawl: --every INTERVAL or --cron EXPR (one schedule per site).

    A crawl missed while the scheduler was not running is run once when it starts again.

    \b
    Examples:
      koege-archive schedule add koege --every 1d
      koege-archive schedule add koege --cron "30 5 * * 1-5" --replace
    """
    from archive.cli.crawling import _check_base_url, _check_sites
    from archive.schedules import ScheduleError, add_schedule, describe, parse_every, validate_cron

    if (every is None) == (cron_expr is None):
        raise click.UsageError("give --every INTERVAL or --cron EXPR (one of them)")
    _check_sites((site,))
    _check_base_url(base_url)
    parse_overrides(settings)
    try:
        seconds = parse_every(every) if every is not None else None
        cron = validate_cron(cron_expr) if cron_expr is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--every" if every else "--cron") from exc
    args: list[str] = []
    if base_url:
        args += ["--base-url", base_url]
    for pair in settings:
        args += ["-s", pair]
    if since:
        args += ["--since", since]
    with cli_archive(db_url) as archive:
        try:
            added = add_schedule(
                archive, site, every_seconds=seconds, cron=cron, crawl_args=tuple(args), by=by, replace=replace
            )
        except ScheduleError as exc:
            raise click.ClickException(str(exc)) from exc
    echo_err(f"{site}: {describe(added.every_seconds, added.cron)}. Run them with `koege-archive scheduler`.")


def _schedule_record(s: Any, tz: Any) -> dict[str, Any]:
    from archive.schedules import describe, next_due

    return {
        "site": s.site,
        "when": describe(s.every_seconds, s.cron),
        "every_seconds": s.every_seconds,
        "cron": s.cron,
        "crawl_args": list(s.crawl_args),
        "next_due": utc_iso(next_due(s, tz)),
        "last_started_at": utc_iso(s.last_started_at),
        "last_exit_code": s.last_exit_code,
        "last_run": s.last_run_id,
        "created_by": s.created_by,
        "created_at": utc_iso(s.created_at),
    }


@schedule.command("list")
@click.option("--timezone", "zone", metavar="ZONE", help="Zone of cron expressions (default: the system's).")
@format_option("table", "json")
@db_option
def schedule_list(zone: str | None, fmt: str, db_url: str) -> None:
    """List the schedules with when each site is next due.

    \b
    Example:
      koege-archive schedule list --format json
    """
    from archive.schedules import list_schedules

    tz = _zone(zone)
    with cli_archive(db_url) as archive:
        records = [_schedule_record(s, tz) for s in list_schedules(archive)]
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    if not records:
        echo_err("No schedules. Add one with `koege-archive schedule add koege --every 1d`.")
        return
    click.echo(f"{'site':<14} {'when':<22} {'next due (UTC)':<21} {'last start (UTC)':<21} exit  args")
    for r in records:
        click.echo(
            f"{r['site']:<14} {r['when']:<22} {r['next_due']:<21} {r['last_started_at'] or '—':<21} "
            f"{'—' if r['last_exit_code'] is None else r['last_exit_code']:<5} {' '.join(r['crawl_args'])}"
        )


@schedule.command("remove")
@click.argument("site")
@db_option
def schedule_remove(site: str, db_url: str) -> None:
    """Remove a site's schedule (a crawl already running is not stopped).

    \b
    Example:
      koege-archive schedule remove koege
    """
    from archive.schedules import remove_schedule

    with cli_archive(db_url) as archive:
        if not remove_schedule(archive, site):
            raise click.ClickException(f"{site} has no schedule; `koege-archive schedule list` shows them")
    echo_err(f"{site}: schedule removed.")


@schedule.command("export")
@click.option("--crontab", "kind", flag_value="crontab", help="Print crontab lines (crontab -e).")
@click.option("--systemd", "kind", flag_value="systemd", help="Print systemd user service and timer units.")
@db_option
def schedule_export(kind: str | None, db_url: str) -> None:
    """Print the schedules for the system's own scheduler instead of `koege-archive scheduler`.

    \b
    Examples:
      koege-archive schedule export --crontab
      koege-archive schedule export --systemd
    """
    from archive.schedule_export import crontab, systemd_units
    from archive.schedules import list_schedules

    if kind is None:
        raise click.UsageError("give --crontab or --systemd")
    with cli_archive(db_url) as archive:
        found = list_schedules(archive)
        shown = archive.url.render_as_string(hide_password=False)
    if not found:
        raise click.ClickException("no schedules to export; add one with `koege-archive schedule add SITE --every 1d`")
    executable = shutil.which("koege-archive") or str(Path(sys.executable).with_name("koege-archive"))
    try:
        text = (crontab if kind == "crontab" else systemd_units)(found, executable=executable, db_url=shown)
    except ValueError as exc:
        raise click.ClickException(f"{exc}; use --crontab or `koege-archive scheduler` for this schedule") from exc
    click.echo(text, nl=False)


@cli.command()
@click.option("--timezone", "zone", metavar="ZONE", help="Zone of cron expressions (default: the system's).")
@click.option(
    "--grace",
    type=click.FloatRange(0),
    default=600.0,
    show_default=True,
    help="Seconds a crawl gets to stop gracefully on SIGTERM/SIGINT before it is killed.",
)
@db_option
def scheduler(zone: str | None, grace: float, db_url: str) -> None:
    """Run the schedules until stopped: each site's crawl when due, never two of one site at once.

    Crawls run as `koege-archive crawl` subprocesses (their summaries go to
    logs/scheduled-SITE.txt beside the archive). SIGTERM or Ctrl-C stops it cleanly: running
    crawls are asked to stop, record what they did, and are completed by their next run.

    \b
    Example:
      koege-archive scheduler --db sqlite:///srv/arkiv/archive.sqlite
    """
    import signal
    import threading

    from archive.scheduler import Scheduler, SubprocessLauncher

    tz = _zone(zone)
    with cli_archive(db_url) as archive:
        url = archive.url.render_as_string(hide_password=False)
        log_dir = (archive.data_dir or DEFAULT_ARCHIVE_PATH.parent) / "logs"
        wake = threading.Event()

        def say(message: str) -> None:
            echo_err(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}Z {message}")

        sched = Scheduler(archive, SubprocessLauncher(url, log_dir), tz, notify=say, grace=grace)

        def on_signal(signum: int, _frame: Any) -> None:
            say(f"{signal.Signals(signum).name}: stopping")
            sched.request_stop()
            wake.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        say(f"Scheduler started on {archive.display_url} (cron times in {tz}); SIGTERM or Ctrl-C stops it.")

        def sleep(seconds: float) -> None:
            wake.wait(seconds)
            wake.clear()

        sched.run(sleep)
    say("Scheduler stopped.")


def _health_table(report: list[Any]) -> None:
    for h in report:
        f = h.latest
        state = "OK" if h.ok else "CHANGED"
        click.echo(
            f"{h.site:<14} {state:<8} run {h.run_id} ({h.status}): {f.pages} pages, {f.listings_read} listings "
            f"({f.listings_empty} empty), {f.articles} articles; missing title {f.missing_title}, "
            f"date {f.missing_published}, text {f.missing_text}; 404 {f.not_found}"
            + ("" if h.compared_with else "; no earlier run to compare with")
        )
        for finding in h.findings:
            click.echo(f"    {finding.message}")


@cli.command()
@click.option("--site", metavar="SITE", help="Only this site.")
@click.option("--history", type=click.IntRange(1, 1000), default=10, show_default=True, help="Earlier runs compared.")
@click.option(
    "--tolerance",
    type=click.FloatRange(0.01, 1.0),
    default=0.25,
    show_default=True,
    help="Rise in a share of articles missing a title, date or text (0.25 = 25 points) that is reported.",
)
@click.option(
    "--min-articles",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="Fewest articles in a run for its shares to be judged.",
)
@format_option("table", "json")
@db_option
def health(site: str | None, history: int, tolerance: float, min_articles: int, fmt: str, db_url: str) -> None:
    """Report sites whose latest crawl moved sharply against their own history; exit 1 if any did.

    Compares each site's latest run with the median of its earlier finished runs: the share of
    articles missing a title, a published date or body text, listing pages that linked nothing,
    pages answering 404, no listing read at all. Made for cron: exit 1 means look at the site.

    \b
    Examples:
      koege-archive health
      koege-archive health --site koege --format json
    """
    from archive.health import HealthRules, site_health

    rules = HealthRules(history=history, share_rise=tolerance, min_articles=min_articles)
    with cli_archive(db_url) as archive:
        report = site_health(archive, site=site, rules=rules)
    if fmt == "json":
        click.echo(json.dumps([h.as_dict() for h in report], ensure_ascii=False, indent=2))
    elif not report:
        echo_err("No crawl has recorded figures yet" + (f" for {site}" if site else "") + ".")
    else:
        _health_table(report)
    bad = [h.site for h in report if not h.ok]
    if bad:
        raise click.ClickException(f"{len(bad)} site(s) changed sharply: {', '.join(bad)}; check their latest runs")


@cli.command("check-run")
@click.argument("run_id", type=int, required=False, metavar="[RUN]")
@click.option("--last", is_flag=True, help="Check the most recent run (the default when no RUN is given).")
@click.option("--site", metavar="SITE", help="With --last: the most recent run of this site.")
@click.option(
    "--max-error-ratio",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Fail when more than this share of the pages fetched failed (e.g. 0.2).",
)
@format_option("table", "json")
@db_option
def check_run_command(
    run_id: int | None, last: bool, site: str | None, max_error_ratio: float | None, fmt: str, db_url: str
) -> None:
    """Exit 1 unless a run finished: it must not be running, interrupted or failed, and must have read a listing.

    A recrawl in which nothing changed is a success. Chain it after `scrapy crawl`, which exits 0
    even when the crawl failed.

    \b
    Examples:
      koege-archive check-run --last
      scrapy crawl news -a site=koege; koege-archive check-run --last --site koege --max-error-ratio 0.2
    """
    from archive.health import check_run

    if run_id is not None and (last or site):
        raise click.UsageError("give RUN or --last [--site SITE], not both")
    with cli_archive(db_url) as archive:
        verdict = check_run(archive, run_id, site=site, max_error_ratio=max_error_ratio)
    run = verdict.run
    if run is None:
        what = f"run {run_id}" if run_id is not None else "crawl run" + (f" of {site}" if site else "")
        raise click.ClickException(f"there is no {what}; `koege-archive runs` lists them")
    if fmt == "json":
        click.echo(json.dumps({"run": run.id, "status": run.status, "ok": verdict.ok, "problems": verdict.problems}))
    else:
        click.echo(
            f"run {run.id} ({run.sites}) {run.status}: {run.pages_fetched} pages, {run.listings_read} listings, "
            f"{run.new} new, {run.changed} changed, {run.failed} failed"
        )
    if not verdict.ok:
        raise click.ClickException("; ".join(verdict.problems))
