"""Reading commands: search, show, runs, export, dates."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import click

from archive import queries
from archive.export import BINARY_FORMATS, CAPTURE_FORMATS, FORMATS
from archive.export_files import ExportDescription, ExportResult, export_file_name, safe_path, write_export
from archive.fts import rebuild_index
from archive.querylang import QueryError
from archive.search import SORTS, SearchFilters, matching_ids, search_page

if TYPE_CHECKING:
    from collections.abc import Callable

    from archive.db import Archive

from archive.cli.common import cli, cli_archive, db_option, echo_err, format_option


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


def _filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The search layer's filters, shared by ``search`` and ``export``."""
    options = [
        click.option("--site", metavar="SITE", help="Only this site (profile key, e.g. koege)."),
        click.option("--section", metavar="NAME", help="Only this section (the URL folder, e.g. pressemeddelelser)."),
        click.option("--since", metavar="DATE", help="Published on or after (YYYY[-MM[-DD]])."),
        click.option("--until", metavar="DATE", help="Published on or before (YYYY[-MM[-DD]])."),
        click.option("--updated-since", metavar="DATE", help="Updated on or after (YYYY[-MM[-DD]])."),
        click.option("--updated-until", metavar="DATE", help="Updated on or before (YYYY[-MM[-DD]])."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _filters(kw: dict[str, Any]) -> SearchFilters:
    return SearchFilters(
        **{k: kw.pop(k) for k in ("site", "section", "since", "until", "updated_since", "updated_until")}
    )


@cli.command()
@click.argument("query")
@_filter_options
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="relevance",
    show_default=True,
    help="relevance (best first), newest or oldest (by publication date).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="Most hits to show.",
)
@click.option("--offset", type=click.IntRange(0), default=0, help="Hits to skip (the next page).")
@click.option("--reindex", is_flag=True, help="Rebuild the search index first (it is derived from the versions).")
@format_option("table", "json", "jsonl", "csv")
@db_option
def search(query: str, sort: str, limit: int, offset: int, reindex: bool, fmt: str, db_url: str, **kw: Any) -> None:
    """Full-text search in Danish, best first: words ANDed, "phrases", prefix*, OR, NOT.

    Words are matched by their Danish stem (vækstområdet finds vækstområder); compounds need
    a prefix (affald* finds affaldsordningen). OR/ELLER, NOT/IKKE or -word, and parentheses
    combine words.

    \b
    Examples:
      koege-archive search "grøn vækst"
      koege-archive search 'affald* NOT papir' --since 2018 --until 2021 --format json
      koege-archive search delegation --section pressemeddelelser --sort newest
    """
    filters = _filters(kw)
    if not query.strip():
        raise click.ClickException('the query holds no word to search for; try e.g. affald or "grøn vækst"')
    with cli_archive(db_url) as archive:
        try:
            if reindex:
                rebuild_index(archive, notify=echo_err)
            page = search_page(archive, query, filters, sort=sort, limit=limit, offset=offset, notify=echo_err)
        except QueryError as exc:
            raise click.ClickException(str(exc)) from exc
    hits = page.hits
    if fmt == "table":
        if not hits:
            echo_err(f"No documents match {query!r}.")
        else:
            echo_err(f"{page.total} documents match; showing {offset + 1}–{offset + len(hits)}.")
        for hit in hits:
            click.echo(f"{hit.published or '—':<26} {hit.title or '(no title)'}\n    {hit.url}\n    {hit.snippet}\n")
        return
    records = [h.as_json() for h in hits]
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
    from archive.attachments import document_attachments
    from archive.cli.takedown import hidden_document, report_hidden

    with cli_archive(db_url) as archive:
        hidden = hidden_document(archive, url_or_id, _canonical(url_or_id))
        doc = queries.find_document(archive, url_or_id) or queries.find_document(archive, _canonical(url_or_id))
        files = document_attachments(archive, doc.id) if doc is not None else []
    if hidden is not None:
        report_hidden(hidden, fmt)
        return
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
            "attachments": [f.as_json() for f in files],
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
    lines += [
        f"  {v['version']}  first seen {v['first_seen']}  {v['content_hash'][:12]}"
        + (f"  capture {v['capture']['warc_file']}@{v['capture']['warc_offset']}" if v.get("capture") else "")
        for v in doc.versions
    ]
    if files:
        lines += ["", "Attachments:"]
        for f in files:
            pages = f"{f.pages} pages, " if f.pages else ""
            note = f", no text: {f.text_error}" if f.text_error else ""
            lines += [f"  {f.title or f.name}  ({f.name}, {pages}{f.length:,} bytes{note})", f"    {f.url}"]
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

    A run whose crawl was killed (kill -9, a power cut) shows as "interrupted", as does one
    stopped with Ctrl-C; the next crawl of the site completes its work.

    \b
    Examples:
      koege-archive runs --limit 5
      koege-archive runs --log 12
    """
    with cli_archive(db_url) as archive:
        if log_run is not None:
            _print_log(archive, log_run)
            return
        from archive.runs import mark_interrupted_runs, run_quality

        mark_interrupted_runs(archive)  # runs of this machine whose process is gone
        found = queries.list_runs(archive, limit=limit)
        # The quality figures each run stored per site (pages, listings, articles, what they lacked).
        figures = {r.id: [f.as_dict() for f in run_quality(archive, r.id)] for r in found} if fmt != "table" else {}
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
        "not_modified",
        "removed",
        "restored",
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
        if fmt in ("json", "jsonl"):
            rec["figures"] = figures.get(run.id, [])
        records.append(rec)
    if fmt != "table":
        _write_records(records, fmt, sys.stdout, columns)
        return
    if not records:
        echo_err("No crawl runs yet. Start one with `koege-archive crawl koege` or `koege-archive demo`.")
        return
    click.echo(
        f"{'run':>4}  {'started (UTC)':<20}  {'status':<9}  {'sites':<10} {'fetched':>7} "
        f"{'new':>5} {'chg':>5} {'same':>5} {'304':>5} {'gone':>5} {'back':>5} {'fail':>5} {'skip':>5}"
    )
    for r in records:
        click.echo(
            f"{r['id']:>4}  {r['started_at']:<20}  {r['status']:<9}  {r['sites']:<10} {r['pages_fetched']:>7} "
            f"{r['new']:>5} {r['changed']:>5} {r['unchanged']:>5} {r['not_modified']:>5} {r['removed']:>5}"
            f" {r['restored']:>5} {r['failed']:>5} {r['skipped']:>5}"
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
@click.option("--format", "fmt", type=click.Choice([*FORMATS, *CAPTURE_FORMATS]), required=True, help="File format.")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="The file to write (a manifest goes beside it); - is stdout (csv, csv-excel, jsonl, cdxj only).",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write into this folder under a name made from the query and filters.",
)
@click.option("-q", "--query", default="", help="Only documents this search finds (same language as `search`).")
@_filter_options
@click.option(
    "--all-versions",
    is_flag=True,
    help="One row per content version instead of per document (warc, cdxj: every capture of each document).",
)
@db_option
def export(
    fmt: str,
    output: str | None,
    output_dir: Path | None,
    query: str,
    all_versions: bool,
    db_url: str,
    **kw: Any,
) -> None:
    """Export documents (latest version each) with the contract's columns, and a manifest.

    Formats: csv (UTF-8), csv-excel (opens right in Danish Excel), jsonl, parquet, xlsx. Beside
    the file goes FILE.manifest.json: query, filters, archive, time, rows, columns, SHA-256.
    The capture formats: warc (the selected documents' captures as one WARC file, records copied
    verbatim) and cdxj (a pywb index of those captures in the archive's own WARC files).

    \b
    Examples:
      koege-archive export --format csv -o koege.csv
      koege-archive export --format xlsx -q 'affald*' --since 2018 --until 2021 --output-dir eksport/
      koege-archive export --format jsonl --all-versions --site koege -o versions.jsonl
      koege-archive export --format warc -q skole --all-versions -o skole.warc.gz
      koege-archive export --format cdxj -o index.cdxj
    """
    filters = _filters(kw)
    if output is None and output_dir is None:
        output = "-"
    if output is not None and output_dir is not None:
        raise click.UsageError("give -o FILE or --output-dir DIR, not both")
    if output == "-" and fmt in BINARY_FORMATS:
        raise click.UsageError(f"{fmt} cannot go to stdout: give -o FILE or --output-dir DIR")
    with cli_archive(db_url) as archive:
        try:
            filters = filters.validate()
            ids = matching_ids(archive, query, filters, notify=echo_err) if query.strip() or filters.as_dict() else None
        except QueryError as exc:
            raise click.ClickException(str(exc)) from exc
        if output == "-":
            if fmt in CAPTURE_FORMATS:
                count = _cdxj_to_stdout(archive, ids, all_versions)
                echo_err(f"Exported {count} capture" + ("" if count == 1 else "s"))
                return
            rows = queries.export_rows(archive, all_versions=all_versions, document_ids=ids)
            count = FORMATS[fmt](rows, sys.stdout)
            echo_err(f"Exported {count} rows")
            return
        if output_dir is not None:
            try:
                output_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise click.ClickException(f"cannot create the folder {output_dir}: {exc.strerror}") from exc
            target = _free_path(output_dir, export_file_name(query, filters.as_dict(), fmt))
        else:
            target = Path(str(output))
        what = ExportDescription(archive.display_url, query, filters.as_dict(), all_versions)
        try:
            if fmt in CAPTURE_FORMATS:
                result = _capture_export(archive, fmt, ids, all_versions, target, what)
            else:
                rows = queries.export_rows(archive, all_versions=all_versions, document_ids=ids)
                result = write_export(rows, fmt, target, what)
        except OSError as exc:
            raise click.ClickException(f"cannot write {target}: {exc.strerror or exc}") from exc
    if fmt in CAPTURE_FORMATS:
        missing = result.manifest.get("revisits_left_out") or []
        note = f"; {len(missing)} revisits left out: the archive holds no full record of them" if missing else ""
        echo_err(
            f"Exported {result.rows} capture{'' if result.rows == 1 else 's'} ({result.manifest['records']} records) "
            f"to {result.path}{note}\n"
            f"Manifest: {result.manifest_path}"
        )
        return
    cut = f"; {result.cells_cut} texts cut to Excel's 32,767-character cell limit" if result.cells_cut else ""
    echo_err(f"Exported {result.rows} rows to {result.path}{cut}\nManifest: {result.manifest_path}")


def _cdxj_to_stdout(archive: Archive, ids: Any, all_versions: bool) -> int:
    from archive.warc_export import select_captures, write_cdxj

    sys.stdout.flush()
    return write_cdxj(select_captures(archive, ids, all_captures=all_versions), sys.stdout.buffer)


def _capture_export(
    archive: Archive, fmt: str, ids: Any, all_versions: bool, target: Path, what: ExportDescription
) -> ExportResult:
    """A warc or cdxj export to a file, with its manifest."""
    from archive.captures import WarcError, warc_folder
    from archive.export_files import CaptureExportFacts, write_capture_export
    from archive.warc_export import select_captures, write_cdxj, write_warc

    entries = select_captures(archive, ids, all_captures=all_versions)

    def write(out: BinaryIO) -> CaptureExportFacts:
        documents = len({e.document_id for e in entries})
        if fmt == "cdxj":
            lines = write_cdxj(entries, out)
            return CaptureExportFacts(len(entries), lines, documents, {"warc_folder": str(warc_folder(archive))})
        selection = "".join(f", {k}={v}" for k, v in sorted((what.filters or {}).items()))
        info = {
            "description": f"export of {what.archive}" + (f", query {what.query!r}" if what.query else "") + selection,
            "isPartOf": what.archive,
        }
        stats = write_warc(archive, entries, out, info=info, filename=target.name)
        extra: dict[str, Any] = {"originals_added": stats.originals_added}
        if stats.missing_originals:
            extra["revisits_left_out"] = stats.missing_originals
        return CaptureExportFacts(stats.captures, stats.records, len(stats.documents), extra)

    try:
        return write_capture_export(write, fmt, target, what)
    except WarcError as exc:
        raise click.ClickException(
            f"{exc}. Nothing was exported. Restore the file from a backup; `koege-archive verify` lists every "
            "damaged capture and the documents affected."
        ) from exc


def _free_path(directory: Path, name: str) -> Path:
    """A path for ``name`` inside ``directory`` that does not exist yet (name-2.ext, …)."""
    path = safe_path(directory, name)
    if path.name.endswith(".warc.gz"):
        stem, suffix = path.name.removesuffix(".warc.gz"), ".warc.gz"
    else:
        stem, suffix = path.stem, path.suffix
    n = 2
    while path.exists():
        path = safe_path(directory, f"{stem}-{n}{suffix}")
        n += 1
    return path


# --- administration ---------------------------------------------------------------------------


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
