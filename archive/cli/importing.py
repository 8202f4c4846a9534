"""Importing command: WARC files made by other tools (Heritrix, Browsertrix, wget, Wayback) into the archive."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from archive.cli.common import cli, cli_archive, db_option, echo_err

if TYPE_CHECKING:
    from pipelines.importer import ImportReport

__all__ = ["import_command"]


def _summary(report: ImportReport, archive_shown: str) -> str:
    records = sum(report.records.values())
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(report.records.items()))
    skipped = sum(report.skipped.values())
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(report.skipped.items()))
    state = "failed" if report.problems else "finished"
    lines = [
        f"Import of {len(report.files)} WARC file(s) {state} (run {report.run_id})",
        f"  records read    {records:>6}" + (f"   ({kinds})" if kinds else ""),
        f"  new             {report.new:>6}",
        f"  duplicate       {report.duplicate:>6}   (new URL, same text as another document)",
        f"  changed         {report.changed:>6}",
        f"  unchanged       {report.unchanged:>6}   (same content as a version the archive holds)",
        f"  older           {report.older_than_history:>6}   (older than the document's history: capture kept, "
        "no version)",
        f"  revisits        {report.revisits_resolved:>6}   (resolved to their payload)",
        f"  skipped         {skipped:>6}" + (f"   ({reasons})" if reasons else ""),
    ]
    if report.wayback_toolbar:
        lines.append(
            f"  Wayback toolbar {report.wayback_toolbar:>6}   (removed before extraction; kept in the capture)"
        )
    lines.append(f"  errors          {len(report.problems):>6}")
    lines.append(f"Archive: {archive_shown}")
    return "\n".join(lines)


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False), metavar="FILE…")
@click.option("--site", metavar="SITE", help="Import only this site's pages (default: the site of each page's host).")
@db_option
def import_command(files: tuple[Path, ...], site: str | None, db_url: str) -> None:
    """Import captures from WARC files made by other tools, with their own capture dates.

    Heritrix, Browsertrix, `wget --warc-file` and pages saved from the Wayback Machine or
    Netarkivet (WARC 1.0 or 1.1, gzipped or not). HTTP 200 HTML pages at article URLs of a
    site profile go through the crawl's extraction, dates and dedup; revisit records are
    resolved to their payload; everything else is counted by reason. Each page is copied into
    the archive's own WARC files, so the imported file may be deleted afterwards. Importing a
    file twice adds nothing. A missing or damaged file is named and makes the command exit 1,
    after the other files (and the pages before the damage) are imported.

    \b
    Examples:
      koege-archive import heritrix-2016-*.warc.gz
      koege-archive import --site koege wayback-koege.warc
    """
    from archive.store import WriteFailed
    from koege_spider.sites import ProfileError, UnknownSiteError
    from pipelines.importer import import_warcs

    with cli_archive(db_url) as archive:
        shown = archive.display_url
        try:
            report = import_warcs(archive, list(files), site=site)
        except UnknownSiteError as exc:
            raise click.BadParameter(
                f"no profile named {site!r}; `koege-archive sites` lists every site", param_hint="--site"
            ) from exc
        except ProfileError as exc:
            raise click.ClickException(f"a site profile is broken: {exc}") from exc
        except WriteFailed as exc:
            raise click.ClickException(f"{exc}. The pages written before the failure stay; import again.") from exc
    echo_err(_summary(report, shown))
    if report.problems:
        named = "\n".join(f"  {p.message}" for p in report.problems)
        raise click.ClickException(
            f"{len(report.problems)} of {len(report.files)} file(s) could not be read (the other pages were "
            f"imported):\n{named}"
        )
