"""The `koege-archive` command line (click): crawl, demo, search, show, export, runs, db, sites.

Data goes to stdout, messages to stderr. Exit codes: 0 success, 1 the work failed (the message
says why and what to do), 2 usage error. The crawl side (Scrapy) is imported lazily, inside the
commands that need it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from archive import queries
from archive.db import (
    DEFAULT_ARCHIVE_PATH,
    ArchiveError,
    default_archive_url,
    open_archive,
    upgrade_archive,
)
from archive.export import FORMATS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from archive.db import Archive

DEMO_DB = "sqlite:///koege-demo/archive.sqlite"

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """The shared ``--db`` option (environment: ``KOEGE_ARCHIVE_DB``)."""
    return click.option(
        "--db",
        "db_url",
        envvar="KOEGE_ARCHIVE_DB",
        default=default_archive_url,
        show_default="the file named in the README",
        metavar="URL",
        help="Archive database (SQLAlchemy URL), e.g. sqlite:///archive.sqlite. Env: KOEGE_ARCHIVE_DB.",
    )(func)


def format_option(*choices: str, default: str = "table") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The shared ``--format`` option."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help="table for people; json/jsonl/csv for scripts.",
    )


@contextlib.contextmanager
def _archive(db_url: str, *, create: bool = True) -> Iterator[Archive]:
    try:
        archive = open_archive(db_url, create=create)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        yield archive
    finally:
        archive.close()


def _parse_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="-s")
        overrides[name.strip()] = value
    return overrides


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="koege-archive")
def cli() -> None:
    """The archive of record for Danish municipal news.

    \b
    Examples:
      koege-archive demo                       # offline: serve a sample of koege.dk and crawl it
      koege-archive crawl koege                # crawl https://www.koege.dk politely
      koege-archive search "grøn vækst"
      koege-archive export --format csv -o koege.csv
    """


# --- crawling ---------------------------------------------------------------------------------


def _check_sites(sites: tuple[str, ...]) -> list[str]:
    from koege_spider.sites import ProfileError, UnknownSiteError, available_sites, load_profile

    for name in sites:
        try:
            load_profile(name)
        except UnknownSiteError as exc:
            raise click.BadParameter(
                f"no profile named {name!r}; known sites: {', '.join(available_sites())} (see `koege-archive sites`)",
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
    from koege_spider.runner import crawl_settings, run_crawl

    with _archive(db_url) as archive:  # fail fast, before Scrapy starts, on a bad archive
        shown = archive.display_url
        log_dir = (archive.data_dir or DEFAULT_ARCHIVE_PATH.parent) / "logs"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    log_file = None if verbose else log_dir / f"crawl-{stamp}-{'-'.join(sites)}.log"
    progress = sys.stderr.isatty() and not verbose
    try:
        settings = crawl_settings(db_url, overrides, progress=progress, log_file=log_file)
    except OSError as exc:
        raise click.ClickException(f"cannot create the log folder {log_dir}: {exc.strerror}") from exc
    outcome = run_crawl(sites, base_url=base_url, settings=settings)
    if outcome.run_id is None:
        error = outcome.stats.get("koege/run/error", "the crawl could not start")
        raise click.ClickException(f"{error}. Nothing was crawled; the archive is unchanged.")
    with _archive(db_url) as archive:
        run = queries.get_run(archive, outcome.run_id)
    assert run is not None
    _print_run_summary(run, shown)
    if run.status != "finished":
        raise click.ClickException(f"run {run.id} failed: {run.message}")
    return run.id


def _print_run_summary(run: Any, archive_shown: str) -> None:
    took = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    skipped = ", ".join(f"{k}: {v}" for k, v in sorted(run.skipped_reasons.items()))
    http = {k.rsplit("_", 1)[-1]: v for k, v in run.stats.items() if k.startswith("koege/article/http_")}
    failed = ", ".join(f"HTTP {code}: {n}" for code, n in sorted(http.items()))
    lines = [
        f"Crawl of {run.sites} {run.status} in {took:.1f} s (run {run.id}"
        + ("" if run.finish_reason == "finished" else f", {run.finish_reason}")
        + ")",
        f"  pages fetched   {run.pages_fetched:>6}",
        f"  listings read   {run.listings_read:>6}   (listing pages and sitemaps)",
        f"  new             {run.new:>6}",
        f"  changed         {run.changed:>6}",
        f"  unchanged       {run.unchanged:>6}",
        f"  failed          {run.failed:>6}" + (f"   ({failed})" if failed else ""),
        f"  skipped         {run.skipped:>6}" + (f"   ({skipped})" if skipped else ""),
        f"Archive: {archive_shown}",
    ]
    if run.log_file:
        lines.append(f"Log: {run.log_file}")
    _echo_err("\n".join(lines))


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
    verbose: bool,
    db_url: str,
) -> None:
    """Crawl sites' news into the archive.

    Politeness by default: robots.txt, the profile's delay as a floor for AutoThrottle, one
    download slot per site. Exits 1 when the run failed (no listing or sitemap readable, the
    archive not writable, stopped early); a recrawl in which nothing changed is a success.

    \b
    Examples:
      koege-archive crawl koege
      koege-archive crawl koege --base-url http://127.0.0.1:8000 -s DOWNLOAD_DELAY=0 -s AUTOTHROTTLE_ENABLED=False
    """
    names = _check_sites(sites)
    _check_base_url(base_url)
    _crawl(
        names,
        base_url=base_url,
        db_url=db_url,
        overrides=_parse_overrides(settings),
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
        _echo_err(f"Serving the koege.dk sample at {server.origin}")
        overrides = {
            "DOWNLOAD_DELAY": "0",
            "AUTOTHROTTLE_ENABLED": "False",
            "ROBOTSTXT_OBEY": "True",
        }
        _crawl(["koege"], base_url=server.origin, db_url=db_url, overrides=overrides, verbose=verbose)
    with _archive(db_url) as archive:
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
        f"  koege-archive runs {db_arg}",
        f"  koege-archive export --format csv -o koege.csv {db_arg}",
        "  koege-archive crawl koege          # the live site, politely (needs internet)",
    ]
    click.echo("\n".join(out))


# --- reading ----------------------------------------------------------------------------------


def _write_records(records: list[dict[str, Any]], fmt: str, out: IO[str], columns: list[str]) -> None:
    if fmt == "json":
        json.dump(records, out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif fmt == "jsonl":
        for rec in records:
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        import csv

        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)


@cli.command()
@click.argument("query")
@click.option("--site", metavar="SITE", help="Only this site.")
@click.option("--since", metavar="DATE", help="Published on or after (YYYY[-MM[-DD]]).")
@click.option("--until", metavar="DATE", help="Published on or before (YYYY[-MM[-DD]]).")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="Most hits to show.",
)
@format_option("table", "json", "jsonl", "csv")
@db_option
def search(
    query: str,
    site: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    fmt: str,
    db_url: str,
) -> None:
    """Full-text search, best first: words ANDed, "quoted phrases", prefix*.

    \b
    Examples:
      koege-archive search "grøn vækst"
      koege-archive search 'affald*' --since 2019 --format json
    """
    with _archive(db_url) as archive:
        try:
            hits = queries.search(archive, query, site=site, since=since, until=until, limit=limit)
        except queries.QueryError as exc:
            raise click.ClickException(str(exc)) from exc
    if fmt == "table":
        if not hits:
            _echo_err(f"No documents match {query!r}.")
        for hit in hits:
            click.echo(f"{hit.published or '—':<26} {hit.title or '(no title)'}\n    {hit.url}\n    {hit.snippet}\n")
        return
    records = [
        {
            "id": h.id,
            "url": h.url,
            "site": h.site,
            "title": h.title,
            "published": h.published,
            "snippet": h.snippet,
            "score": h.score,
        }
        for h in hits
    ]
    _write_records(records, fmt, sys.stdout, list(records[0]) if records else ["id"])


def _canonical(url: str) -> str:
    """The archive key of a URL given in any variant (alias host, http, tracking parameters)."""
    from urllib.parse import urlsplit

    from koege_spider.sites import load_profiles
    from koege_spider.urls import canonicalize

    host = (urlsplit(url).hostname or "").lower()
    profile = next((p for p in load_profiles().values() if host in p.hosts), None)
    return canonicalize(url, profile) if profile is not None else url


@cli.command()
@click.argument("url_or_id")
@format_option("table", "json")
@db_option
def show(url_or_id: str, fmt: str, db_url: str) -> None:
    """Show one document (by URL or id) with its latest text and all its versions.

    \b
    Example:
      koege-archive show https://www.koege.dk/Service/Nyheder/2018/02/Koege-Kommune-saetter-spot-paa-groen-vaekst-med-international-workshop.aspx
    """
    with _archive(db_url) as archive:
        doc = queries.find_document(archive, url_or_id) or queries.find_document(archive, _canonical(url_or_id))
    if doc is None:
        raise click.ClickException(f"no document for {url_or_id!r}; find one with `koege-archive search WORD`")
    if fmt == "json":
        record = {
            "id": doc.id,
            "url": doc.url,
            "site": doc.site,
            "first_seen": queries.utc_iso(doc.first_seen),
            "last_seen": queries.utc_iso(doc.last_seen),
            "duplicate_of": doc.duplicate_of,
            "versions": doc.versions,
        }
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    latest = doc.versions[-1]
    lines = [
        latest["title"] or "(no title)",
        "",
        f"id {doc.id}, version {latest['version']} of {len(doc.versions)} · site {doc.site}",
        f"url        {doc.url}",
        f"published  {latest['published'] or '—'}  ({latest['published_source'] or 'unknown'})",
        f"updated    {latest['updated'] or '—'}" + (f"  by {latest['updated_by']}" if latest["updated_by"] else ""),
        f"contact    {latest['contact'] or '—'}",
        f"seen       {queries.utc_iso(doc.first_seen)} … {queries.utc_iso(doc.last_seen)}",
    ]
    if doc.duplicate_of:
        lines.append(f"duplicate of {doc.duplicate_of}")
    lines += ["", latest["lead"] or "", "", latest["text"], "", "Versions:"]
    lines += [f"  {v['version']}  first seen {v['first_seen']}  {v['content_hash'][:12]}" for v in doc.versions]
    click.echo("\n".join(lines))


@cli.command()
@click.option(
    "--limit",
    type=click.IntRange(1, 10000),
    default=20,
    show_default=True,
    help="Most recent runs to list.",
)
@click.option("--log", "log_run", type=int, metavar="RUN", help="Print the log of this run instead.")
@format_option("table", "json", "jsonl", "csv")
@db_option
def runs(limit: int, log_run: int | None, fmt: str, db_url: str) -> None:
    """List crawl runs, newest first, with their counts and status.

    A run still "running" with no end, while no crawl is running, was killed.

    \b
    Examples:
      koege-archive runs --limit 5
      koege-archive runs --log 12
    """
    with _archive(db_url) as archive:
        if log_run is not None:
            _print_log(archive, log_run)
            return
        found = queries.list_runs(archive, limit=limit)
    columns = [
        "id",
        "sites",
        "status",
        "finish_reason",
        "started_at",
        "finished_at",
        "pages_fetched",
        "listings_read",
        "new",
        "changed",
        "unchanged",
        "failed",
        "skipped",
        "message",
    ]
    records = []
    for run in found:
        rec = {c: getattr(run, c) for c in columns}
        rec["started_at"] = queries.utc_iso(run.started_at)
        rec["finished_at"] = queries.utc_iso(run.finished_at)
        rec["skipped_reasons"] = run.skipped_reasons
        records.append(rec)
    if fmt != "table":
        _write_records(records, fmt, sys.stdout, columns)
        return
    if not records:
        _echo_err("No crawl runs yet. Start one with `koege-archive crawl koege` or `koege-archive demo`.")
        return
    click.echo(
        f"{'run':>4}  {'started (UTC)':<20}  {'status':<9}  {'sites':<10} {'fetched':>7} "
        f"{'new':>5} {'chg':>5} {'same':>5} {'fail':>5} {'skip':>5}"
    )
    for r in records:
        click.echo(
            f"{r['id']:>4}  {r['started_at']:<20}  {r['status']:<9}  {r['sites']:<10} {r['pages_fetched']:>7} "
            f"{r['new']:>5} {r['changed']:>5} {r['unchanged']:>5} {r['failed']:>5} {r['skipped']:>5}"
        )
        if r["message"]:
            click.echo(f"      {r['message']}")


def _print_log(archive: Archive, run_id: int) -> None:
    run = queries.get_run(archive, run_id)
    if run is None:
        raise click.ClickException(f"no run {run_id}; list them with `koege-archive runs`")
    if not run.log_file:
        raise click.ClickException(f"run {run_id} kept no log file (it was run with -v or by `scrapy crawl`)")
    try:
        with Path(run.log_file).open(encoding="utf-8", errors="replace") as log:
            for line in log:
                click.echo(line, nl=False)
    except OSError as exc:
        raise click.ClickException(f"cannot read the log of run {run_id} at {run.log_file}: {exc.strerror}") from exc


@cli.command()
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), required=True, help="File format.")
@click.option(
    "-o",
    "--output",
    default="-",
    show_default=True,
    metavar="FILE",
    help="Where to write; - is stdout.",
)
@click.option("--all-versions", is_flag=True, help="One row per content version instead of per document.")
@click.option("--site", metavar="SITE", help="Only this site.")
@click.option("--since", metavar="DATE", help="Published on or after (YYYY[-MM[-DD]]).")
@click.option("--until", metavar="DATE", help="Published on or before (YYYY[-MM[-DD]]).")
@db_option
def export(
    fmt: str,
    output: str,
    all_versions: bool,
    site: str | None,
    since: str | None,
    until: str | None,
    db_url: str,
) -> None:
    """Export documents (latest version each) with the contract's columns.

    \b
    Examples:
      koege-archive export --format csv -o koege.csv
      koege-archive export --format jsonl --all-versions --site koege -o versions.jsonl
    """
    writer = FORMATS[fmt]
    with _archive(db_url) as archive:
        rows = queries.export_rows(archive, all_versions=all_versions, site=site, since=since, until=until)
        if output == "-":
            count = writer(rows, sys.stdout)
        else:
            target = Path(output)
            partial = target.with_name(target.name + ".partial")
            try:
                with partial.open("w", encoding="utf-8", newline="") as out:
                    count = writer(rows, out)
                partial.replace(target)
            except OSError as exc:
                partial.unlink(missing_ok=True)
                raise click.ClickException(f"cannot write {target}: {exc.strerror}") from exc
    _echo_err(f"Exported {count} rows" + ("" if output == "-" else f" to {output}"))


# --- administration ---------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Archive database administration."""


@db.command()
@db_option
def upgrade(db_url: str) -> None:
    """Migrate the archive to this version's schema, keeping every row (back it up first).

    \b
    Example:
      koege-archive db upgrade --db sqlite:///archive.sqlite
    """
    try:
        before, after = upgrade_archive(db_url)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    if before == after:
        _echo_err(f"The archive is already at schema {after}.")
    else:
        _echo_err(f"Upgraded the archive from schema {before or '(empty)'} to {after}.")


@cli.command()
@format_option("table", "json")
@db_option
def sites(fmt: str, db_url: str) -> None:
    """List the site profiles this version knows.

    \b
    Example:
      koege-archive sites
    """
    from koege_spider.sites import load_profiles

    profiles = load_profiles()
    records = [
        {
            "site": p.name,
            "title": p.title,
            "origin": p.canonical_origin,
            "aliases": list(p.aliases),
            "profile_version": p.version,
        }
        for p in profiles.values()
    ]
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    for rec in records:
        click.echo(f"{rec['site']:<16} {rec['title']:<24} {rec['origin']}")


@cli.command()
@click.argument("text")
@click.option(
    "--relative-to",
    metavar="DATE",
    help="Reference for year-less and relative dates (YYYY-MM-DD[THH:MM]).",
)
@click.option("--all", "find_all", is_flag=True, help="Every date in the text, in order, not only the first.")
@db_option
def dates(text: str, relative_to: str | None, find_all: bool, db_url: str) -> None:
    """Read Danish dates in TEXT and print them as JSON (null when there is none).

    \b
    Examples:
      koege-archive dates "Opdateret af Kirstine Kryger 01.05.18"
      koege-archive dates "lørdag d. 12. september kl. 10" --relative-to 2020-09-01
      koege-archive dates --all "Høringen løber fra 1. juni til 16. august 2021, borgermøde 24. juni kl. 19-21"
    """
    from pipelines.dates import find_danish_dates, parse_danish_date

    reference = None
    if relative_to is not None:
        try:
            reference = dt.datetime.fromisoformat(relative_to)
        except ValueError as exc:
            raise click.BadParameter(
                f"{relative_to!r} is not an ISO date such as 2024-03-01", param_hint="--relative-to"
            ) from exc
    if find_all:
        found = [d.to_json() for d in find_danish_dates(text, relative_to=reference)]
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    first = parse_danish_date(text, relative_to=reference)
    click.echo(json.dumps(first.to_json() if first else None, ensure_ascii=False, indent=2))


def main() -> None:
    """Entry point that turns a broken pipe (``| head``) into a quiet exit."""
    try:
        cli()
    except BrokenPipeError:
        sys.stderr.close()
