"""Crawling commands: crawl a site (live or a mirror) and the offline demo."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from archive import queries
from archive.cli.common import cli, cli_archive, data_dir, db_option, echo_err, parse_overrides
from archive.db import (
    DEFAULT_ARCHIVE_PATH,
)

DEMO_DB = "sqlite:///koege-demo/archive.sqlite"


def _check_sites(sites: tuple[str, ...]) -> list[str]:
    from koege_spider.sites import ProfileError, UnknownSiteError, available_sites, load_profile

    for name in sites:
        try:
            load_profile(name)
        except UnknownSiteError as exc:
            import difflib

            # 98 municipalities: name the likely ones (solrod → solroed), not all of them.
            close = difflib.get_close_matches(name.lower(), available_sites(), n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            raise click.BadParameter(
                f"no profile named {name!r}; {hint}`koege-archive sites` lists every site",
                param_hint="SITE",
            ) from exc
        except ProfileError as exc:
            raise click.ClickException(f"the profile {name!r} is broken: {exc}") from exc
    return list(dict.fromkeys(sites))


def _check_base_url(base_url: str | None) -> None:
    if base_url is None:
        return
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(
            f"{base_url!r} is not an http(s) URL such as http://127.0.0.1:8000",
            param_hint="--base-url",
        )


def _crawl(sites: list[str], *, base_url: str | None, db_url: str, overrides: dict[str, str], verbose: bool) -> int:
    """Run one crawl in this process and print its summary; return the run id."""
    from archive.runs import this_host, unfinished_last_runs
    from koege_spider.runner import crawl_settings, run_crawl

    with cli_archive(db_url) as archive:  # fail fast, before Scrapy starts, on a bad archive
        shown = archive.display_url
        log_dir = (archive.data_dir or DEFAULT_ARCHIVE_PATH.parent) / "logs"
        for previous in unfinished_last_runs(archive, sites):  # a run killed hard, Ctrl-C, or one still going
            if previous.status == "running" and previous.host == this_host():
                raise click.ClickException(
                    f"a crawl of {previous.sites} is running (run {previous.id}, pid {previous.pid}); "
                    "wait for it to end, or stop it with Ctrl-C or `kill -INT` and run this again"
                )
            if previous.status == "running":
                where = f"on {previous.host}" if previous.host else "with no end recorded"
                echo_err(f"The last run of {previous.sites} (run {previous.id}) is still running {where}.")
            else:
                echo_err(
                    f"The last run of {previous.sites} (run {previous.id}) did not finish ({previous.status}); "
                    "this run completes its work."
                )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    log_file = None if verbose else log_dir / f"crawl-{stamp}-{'-'.join(sites)}.log"
    progress = sys.stderr.isatty() and not verbose
    try:
        settings = crawl_settings(db_url, overrides, progress=progress, log_file=log_file, data_dir=data_dir())
    except OSError as exc:
        raise click.ClickException(f"cannot create the log folder {log_dir}: {exc.strerror}") from exc
    outcome = run_crawl(sites, base_url=base_url, settings=settings)
    if outcome.run_id is None:
        error = outcome.stats.get("koege/run/error", "the crawl could not start")
        raise click.ClickException(f"{error}. Nothing was crawled; the archive is unchanged.")
    with cli_archive(db_url) as archive:
        run = queries.get_run(archive, outcome.run_id)
    assert run is not None
    _print_run_summary(run, shown)
    if run.status != "finished":
        raise click.ClickException(f"run {run.id} {run.status}: {run.message}")
    return run.id


def _print_run_summary(run: Any, archive_shown: str) -> None:
    took = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    skipped = ", ".join(f"{k}: {v}" for k, v in sorted(run.skipped_reasons.items()))
    http = {k.rsplit("_", 1)[-1]: v for k, v in run.stats.items() if k.startswith("koege/article/http_")}
    failed = ", ".join(f"HTTP {code}: {n}" for code, n in sorted(http.items()))
    not_revisited = int(run.stats.get("koege/recrawl/not_revisited", 0))
    lines = [
        f"Crawl of {run.sites} {run.status} in {took:.1f} s (run {run.id}"
        + ("" if run.finish_reason == "finished" else f", {run.finish_reason}")
        + ")",
        f"  pages fetched   {run.pages_fetched:>6}",
        f"  listings read   {run.listings_read:>6}   (listing pages and sitemaps)",
        f"  new             {run.new:>6}",
        f"  changed         {run.changed:>6}",
        f"  unchanged       {run.unchanged:>6}   (fetched again, same content)",
        f"  not modified    {run.not_modified:>6}   (the server answered 304)",
        f"  not revisited   {not_revisited:>6}   (checked recently, or sitemap lastmod unchanged)",
        f"  removed         {run.removed:>6}",
        f"  restored        {run.restored:>6}",
        f"  failed          {run.failed:>6}" + (f"   ({failed})" if failed else ""),
        f"  skipped         {run.skipped:>6}" + (f"   ({skipped})" if skipped else ""),
        f"Archive: {archive_shown}",
    ]
    stats = run.stats
    if stats.get("koege/warc/responses") or stats.get("koege/warc/revisits"):
        lines.insert(
            -1,
            f"  WARC records    {int(stats.get('koege/warc/responses', 0)):>6}   "
            f"(+ {int(stats.get('koege/warc/revisits', 0))} revisits; "
            f"{int(stats.get('koege/warc/bytes', 0)) / 1e6:.1f} MB)",
        )
    recovered = {k.rsplit("_", 1)[-1]: int(v) for k, v in stats.items() if k.startswith("koege/warc/recovered_")}
    if recovered:
        lines.append(
            "WARC files an earlier crawl left unfinished: "
            + ", ".join(f"{n} {action}" for action, n in sorted(recovered.items()))
            + " (see the log; quarantined files are in the warc/quarantine folder)"
        )
    if stats.get("koege/warc/write_failed"):
        lines.append(f"WARC: {int(stats['koege/warc/write_failed'])} exchanges could not be written (see the log)")
    if run.log_file:
        lines.append(f"Log: {run.log_file}")
    echo_err("\n".join(lines))


@cli.command()
@click.argument("sites", nargs=-1, required=True, metavar="SITE [SITE…]")
@click.option(
    "--base-url",
    metavar="URL",
    help="Crawl a mirror at this origin; documents keep canonical URLs.",
)
@click.option(
    "-s",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy setting for this run (repeatable).",
)
@click.option(
    "--since",
    metavar="DATE",
    help="Only articles published on or after DATE (YYYY[-MM[-DD]]); older ones are not fetched or archived.",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Show Scrapy's log on stderr instead of writing it to the run's log file.",
)
@db_option
def crawl(
    sites: tuple[str, ...],
    base_url: str | None,
    settings: tuple[str, ...],
    since: str | None,
    verbose: bool,
    db_url: str,
) -> None:
    """Crawl sites' news into the archive.

    Politeness by default: robots.txt, the profile's delay as a floor for AutoThrottle, one
    download slot per site. Exits 1 when the run failed (no listing or sitemap readable, the
    archive not writable, stopped early); a recrawl in which nothing changed is a success.

    A recrawl is cheap: known articles are asked for with If-None-Match/If-Modified-Since, only
    when due or when a listing's first page or the sitemap's lastmod says so; a 304 or an
    identical page costs no extraction and adds no version.

    \b
    Examples:
      koege-archive crawl koege
      koege-archive crawl koege --since 2024-01-01
      koege-archive crawl koege --base-url http://127.0.0.1:8000 -s DOWNLOAD_DELAY=0 -s AUTOTHROTTLE_ENABLED=False
    """
    names = _check_sites(sites)
    _check_base_url(base_url)
    overrides = parse_overrides(settings)
    if since is not None:
        from koege_spider.revisit import parse_since

        try:
            parse_since(since)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from exc
        overrides["KOEGE_SINCE"] = since
    _crawl(
        names,
        base_url=base_url,
        db_url=db_url,
        overrides=overrides,
        verbose=verbose,
    )


@cli.command()
@click.option("--port", type=int, default=0, show_default="a free port", help="Port for the local mirror.")
@click.option(
    "--db",
    "db_url",
    default=DEMO_DB,
    show_default=True,
    metavar="URL",
    help="Archive for the demo (never KOEGE_ARCHIVE_DB: a demo must not mix into a real archive).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log.")
def demo(port: int, db_url: str, verbose: bool) -> None:
    """Offline demo: serve the bundled sample of koege.dk on 127.0.0.1 and crawl it.

    The sample holds both site eras (Sitecore .aspx pages and today's site). The crawl uses
    the real `koege` profile through --base-url, with politeness off for the local mirror.

    \b
    Example:
      koege-archive demo
    """
    import koege_spider
    from koege_spider.mirror import MirrorServer
    from koege_spider.sites import load_profile

    root = Path(koege_spider.__file__).resolve().parent / "mirrors" / "koege"
    with MirrorServer(root, port=port) as server:
        echo_err(f"Serving the koege.dk sample at {server.origin}")
        overrides = {
            "DOWNLOAD_DELAY": "0",
            "AUTOTHROTTLE_ENABLED": "False",
            "ROBOTSTXT_OBEY": "True",
        }
        _crawl(["koege"], base_url=server.origin, db_url=db_url, overrides=overrides, verbose=verbose)
    with cli_archive(db_url) as archive:
        counts = queries.archive_counts(archive)
        rows = list(queries.export_rows(archive, site="koege"))
        shown = archive.display_url
    profile = load_profile("koege")
    out = [
        "",
        f"Archived {sum(c['documents'] for c in counts.values())} documents "
        f"({sum(c['versions'] for c in counts.values())} versions) from {profile.title}.",
        "A few of them:",
    ]
    dated = sorted(rows, key=lambda r: r["published"] or "", reverse=True)
    picks = dated[:3] + [r for r in dated if "/Service/Nyheder/" in r["url"]][:3]
    for row in picks:
        out.append(f"  {row['published'] or 'no date':<26} {row['title']}")
    db_arg = f"--db {db_url}"
    out += [
        "",
        f"Archive file: {shown}",
        "Try next:",
        f'  koege-archive search "grøn vækst" {db_arg}',
        f"  koege-archive show {picks[0]['url'] if picks else 'URL'} {db_arg}",
        f"  koege-archive history {picks[0]['url'] if picks else 'URL'} {db_arg}",
        f"  koege-archive runs {db_arg}",
        f"  koege-archive export --format csv -o koege.csv {db_arg}",
        "  koege-archive crawl koege          # the live site, politely (needs internet)",
    ]
    click.echo("\n".join(out))


# --- reading ----------------------------------------------------------------------------------
