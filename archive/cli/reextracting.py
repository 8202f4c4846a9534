"""The `reextract` command: read stored captures again with today's extractor and profiles (no network)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import TYPE_CHECKING

import click

from archive.cli.common import cli, cli_archive, db_option, echo_err, format_option

if TYPE_CHECKING:
    from archive.db import Archive
    from pipelines.reextract import ReextractReport

__all__ = ["reextract"]

_COPENHAGEN = "Europe/Copenhagen"
# Documents listed per unreadable WARC file in the table (all of them in --format json).
_SHOWN_DOCUMENTS = 10
# A damaged record's error quotes the bytes it found; the table keeps the start of it.
_REASON_CHARS = 160


def _since(value: str | None) -> dt.datetime | None:
    """``--since`` as the first moment of that day (month, year) in Copenhagen."""
    if value is None:
        return None
    from zoneinfo import ZoneInfo

    from koege_spider.revisit import parse_since

    try:
        day = parse_since(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc
    return None if day is None else dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(_COPENHAGEN))


def _refuse_beside_a_crawl(archive: Archive, site: str | None) -> None:
    """A crawl compares what it fetches with the versions this command rewrites: not both at once."""
    from archive.runs import process_alive, running_runs, this_host

    for run in running_runs(archive, site=site):
        if run.pid is not None and run.host == this_host() and process_alive(run.pid, run.started_at):
            raise click.ClickException(
                f"a crawl of {run.sites} is running (run {run.id}, pid {run.pid}); re-extract when it has finished"
            )


def _summary(report: ReextractReport, *, archive_url: str) -> str:
    what = "Re-extraction (dry run: nothing written)" if report.dry_run else "Re-extraction"
    lines = [
        f"{what} finished in {report.seconds:.1f} s ({report.pages_per_second:.1f} pages/s)",
        f"  versions read    {report.read:>6}",
        f"  changed          {report.changed:>6}",
    ]
    by_count = sorted(report.fields.items(), key=lambda kv: (-kv[1], kv[0]))
    lines += [f"    {name:<15}{count:>6}" for name, count in by_count]
    lines += [
        f"  unchanged        {report.unchanged:>6}",
        f"  no article now   {report.no_article:>6}   (kept as they were)",
    ]
    if report.failed:
        lines.append(f"  failed           {sum(report.failed.values()):>6}   (kept as they were)")
        lines += [f"    {count} × {message}" for message, count in sorted(report.failed.items())]
    if report.no_profile:
        listed = ", ".join(f"{site}: {n}" for site, n in sorted(report.no_profile.items()))
        lines.append(f"  no profile       {sum(report.no_profile.values()):>6}   ({listed})")
    lines.append(f"  unreadable       {report.unreadable_versions:>6}")
    for group in report.unreadable:
        reason = group.reason if len(group.reason) <= _REASON_CHARS else group.reason[: _REASON_CHARS - 1] + "…"
        lines.append(f"    {group.file or '(no WARC record)'}: {reason}")
        lines.append(f"      {group.versions} version(s) of {len(group.documents)} document(s):")
        lines += [f"        {url}" for url in group.documents[:_SHOWN_DOCUMENTS]]
        if len(group.documents) > _SHOWN_DOCUMENTS:
            lines.append(f"        … and {len(group.documents) - _SHOWN_DOCUMENTS} more (--format json lists all)")
    lines.append(f"Archive: {archive_url}")
    return "\n".join(lines)


@cli.command()
@click.option("--site", metavar="SITE", help="Only this site's documents (a profile key, e.g. koege).")
@click.option(
    "--since",
    metavar="DATE",
    help="Only versions captured on or after DATE (YYYY[-MM[-DD]], Copenhagen time).",
)
@click.option(
    "--dry-run", is_flag=True, help="Read and compare, but write nothing; the summary says what would change."
)
@click.option(
    "--workers",
    type=click.IntRange(0, 256),
    default=None,
    show_default="one per CPU beyond the first",
    help="Extraction processes (0: extract in this process).",
)
@format_option("table", "json")
@db_option
def reextract(site: str | None, since: str | None, dry_run: bool, workers: int | None, fmt: str, db_url: str) -> None:
    """Re-run extraction and dates over the stored captures, without fetching anything.

    Each version's capture is read from its WARC record and extracted with today's extractor
    and the site's current profile. Where the reading changed (title, lead, text, dates,
    updated by, contact, language), the version's fields are updated in place, so search and
    exports show the best reading, and the reading is recorded with what the version said
    before (`koege-archive history URL` shows it under "Readings"). It never adds a version:
    versions are what changed on the server. Exits 1 when a capture could not be read (a
    missing or damaged WARC file), after re-extracting everything else.

    \b
    Examples:
      koege-archive reextract --dry-run
      koege-archive reextract --site koege --since 2024-01-01
      KOEGE_PROFILES_DIR=my-profiles koege-archive reextract --site koege
    """
    from koege_spider.sites import ProfileError, UnknownSiteError
    from pipelines.reextract import reextract as run_reextract

    start = _since(since)
    with cli_archive(db_url) as archive:
        _refuse_beside_a_crawl(archive, site)

        def _progress(done: int, total: int) -> None:
            if sys.stderr.isatty():
                click.echo(f"\r  {done}/{total} versions", err=True, nl=done >= total)

        try:
            report = run_reextract(
                archive, site=site, since=start, dry_run=dry_run, workers=workers, progress=_progress
            )
        except UnknownSiteError as exc:
            raise click.ClickException(f"no profile named {exc}; `koege-archive sites` lists them") from exc
        except ProfileError as exc:
            raise click.ClickException(f"the profile is malformed: {exc}") from exc
        shown = archive.display_url
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        echo_err(_summary(report, archive_url=shown))
    if report.unreadable:
        files = sorted({u.file for u in report.unreadable if u.file})
        documents = len({url for u in report.unreadable for url in u.documents})
        named = f" ({', '.join(files)})" if files else ""
        raise click.ClickException(
            f"{report.unreadable_versions} version(s) of {documents} document(s) could not be re-extracted: "
            f"their captures could not be read{named}. Everything else was re-extracted. "
            "Restore the WARC file(s) from a backup, then run reextract again (unchanged readings record nothing)."
        )
