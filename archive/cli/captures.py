"""Raw capture commands: verify (fixity of every WARC record the archive points to) and capture (one back out)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from archive.cli.common import cli, cli_archive, db_option, echo_err, format_option

if TYPE_CHECKING:
    from archive.fixity import FixityReport

__all__ = ["capture", "verify"]

#: A time given without a zone is read as the archive's sites' own (Danish) time.
_LOCAL = ZoneInfo("Europe/Copenhagen")
_SHOWN_PROBLEMS = 200


@cli.command()
@click.option("--site", metavar="SITE", help="Only the captures of this site's documents (profile key).")
@format_option("table", "json")
@db_option
def verify(site: str | None, fmt: str, db_url: str) -> None:
    """Check every WARC record the archive points to: there, whole, right length, right digests.

    Each WARC file is read once from start to end. A capture's record must start at its stored
    offset, be a whole gzip member of the stored length, hold a WARC record whose block and
    payload digests match its bytes, carry the digest the database stores and name the URL
    fetched. Records beside it (requests, listings) must be whole too. WARC files nobody points
    to and unfinished .open files are listed for information. Exits 1 on any problem.

    \b
    Examples:
      koege-archive verify
      koege-archive verify --site koege --format json
    """
    from archive.captures import WarcError
    from archive.fixity import verify_archive

    started = time.perf_counter()
    with cli_archive(db_url) as archive:
        try:
            report = verify_archive(archive, site=site)
        except WarcError as exc:
            raise click.ClickException(str(exc)) from exc
    seconds = time.perf_counter() - started
    if fmt == "json":
        click.echo(json.dumps({**report.as_json(), "seconds": round(seconds, 3)}, ensure_ascii=False, indent=2))
    else:
        _print_report(report, seconds)
    if not report.ok:
        documents = report.affected_documents()
        files = report.damaged_files()
        raise click.ClickException(
            f"{_count(len(report.problems), 'problem')} in {_count(len(files), 'WARC file')} ({', '.join(files)}), "
            f"affecting {_count(len(documents), 'document')}"
            + (
                f" ({', '.join(url for _, url in documents[:5])}{', …' if len(documents) > 5 else ''})"
                if documents
                else ""
            )
            + ". Restore these files from a backup into the archive's WARC folder and run `koege-archive verify` "
            "again. `koege-archive reextract` cannot help: it reads the same files. The documents' texts in the "
            "database are intact; only their raw captures are affected."
        )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _print_report(report: FixityReport, seconds: float) -> None:
    attachments = f" and {report.attachments:,} attachments" if report.attachments else ""
    click.echo(
        f"Checked {_count(report.captures, 'capture')}{attachments} in {_count(report.files, 'WARC file')} "
        f"({report.bytes:,} bytes, {report.records:,} records) in {seconds:.2f} s: "
        + (f"{_count(len(report.problems), 'problem')}." if report.problems else "no problems.")
    )
    current = None
    said = ""
    for problem in report.problems[:_SHOWN_PROBLEMS]:
        if problem.file != current:
            current, said = problem.file, ""
            click.echo(f"\n{problem.file}")
        what = f"capture {problem.capture_id}" if problem.capture_id is not None else ""
        if problem.attachment_id is not None:
            what = f"attachment {problem.attachment_id}"
        where = f"@{problem.offset}" if problem.offset is not None else ""
        click.echo(f"  {where:<12} {problem.kind:<17} {what:<16} {problem.document_url or ''}")
        if problem.detail != said:  # a lost file says the same of every capture in it: once is enough
            said = problem.detail
            click.echo(f"  {'':<12} {problem.detail}")
    if len(report.problems) > _SHOWN_PROBLEMS:
        click.echo(f"\n… and {len(report.problems) - _SHOWN_PROBLEMS:,} more (--format json lists them all)")
    if report.unreferenced_files:
        click.echo(f"\nWARC files nobody points to (information): {len(report.unreferenced_files)}")
        for name in report.unreferenced_files:
            click.echo(f"  {name}")
    if report.open_files:
        click.echo("\nUnfinished .open WARC files (information):")
        for found in report.open_files:
            state = "a live crawl is writing it" if found.live else "no live writer: the next crawl repairs it"
            click.echo(f"  {found.name}  {found.bytes:,} bytes  ({state})")


def _parse_at(text: str) -> dt.datetime:
    """An ``--at`` moment: a date means the end of that day; no zone means Copenhagen time."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time.max, tzinfo=_LOCAL)
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r} is not an ISO date or time such as 2024-03-01 or 2024-03-01T14:05:00Z", param_hint="--at"
        ) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=_LOCAL)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@cli.command()
@click.argument("url")
@click.option(
    "--at",
    "at_text",
    metavar="DATE",
    help="The capture in force then: the latest taken at or before it (a date: by the end of that day; "
    "a time without a zone is Copenhagen time). Default: the latest capture.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of stdout.",
)
@click.option("--record", is_flag=True, help="Give the WARC record itself (a one-record .warc.gz) instead of the body.")
@db_option
def capture(url: str, at_text: str | None, output: Path | None, record: bool, db_url: str) -> None:
    """Give back the raw capture of a document: the body as the server sent it, or its WARC record.

    URL may be any variant of the document's URL (as for `show`), or its id. The body is
    decoded from its Content-Encoding, as a browser would show it. Status, date, WARC file,
    offset and digest go to stderr.

    \b
    Examples:
      koege-archive capture https://www.koege.dk/nyheder/ny-skole > ny-skole.html
      koege-archive capture https://www.koege.dk/nyheder/ny-skole --at 2024-03-01 -o marts.html
      koege-archive capture https://www.koege.dk/nyheder/ny-skole --record -o ny-skole.warc.gz
    """
    from archive import queries
    from archive.captures import WarcError
    from archive.cli.reading import _canonical
    from archive.cli.takedown import hidden_document
    from archive.warc_export import capture_in_force, capture_problem, document_captures, read_record

    at = _parse_at(at_text) if at_text else None
    with cli_archive(db_url) as archive:
        canonical = _canonical(url)
        hidden = hidden_document(archive, url, canonical)
        if hidden is not None:
            purged = f", purged on {_iso(hidden.purged_at)}" if hidden.purged_at else ""
            raise click.ClickException(
                f"document {hidden.document_id} is suppressed (since {_iso(hidden.suppressed_at)}{purged}): "
                "its captures are not given out. `koege-archive suppressions` says who suppressed it and why."
            )
        doc = queries.find_document(archive, url) or queries.find_document(archive, canonical)
        if doc is None:
            raise click.ClickException(f"no document for {url!r}; find one with `koege-archive search WORD`")
        captures = document_captures(archive, doc.id)
        if not captures:
            raise click.ClickException(f"the archive keeps no capture of {doc.url} (document {doc.id})")
        chosen = capture_in_force(captures, at)
        if chosen is None:
            raise click.ClickException(
                f"no capture of {doc.url} at or before {_iso(at) if at else at_text}; "
                f"the first is from {_iso(captures[0].fetched_at)}"
            )
        try:
            if record:
                data = read_record(archive, chosen)
            else:
                problem = capture_problem(archive, chosen.id)  # checked first: a clear message naming the file
                if problem is not None:
                    raise WarcError(problem)
                view = queries.capture_bytes(archive, chosen.id)
                if view is None:
                    raise click.ClickException(
                        f"capture {chosen.id} of {doc.url} is a revisit of a payload the archive does not hold; "
                        "try --record, or --at an earlier date"
                    )
                data = view.body
        except WarcError as exc:
            raise click.ClickException(
                f"{exc}. The capture of {doc.url} (document {doc.id}, capture {chosen.id}) cannot be given back: "
                "restore the file from a backup; `koege-archive verify` lists every capture affected."
            ) from exc
    echo_err(f"capture    {chosen.id} of document {doc.id}  {doc.url}")
    echo_err(f"fetched    {_iso(chosen.fetched_at)}  {chosen.url}")
    echo_err(f"status     {chosen.http_status}  {chosen.content_type or ''}".rstrip())
    length = f" ({chosen.warc_length:,} bytes)" if chosen.warc_length is not None else ""
    echo_err(f"warc       {chosen.warc_file} @ {chosen.warc_offset}{length}")
    echo_err(f"digest     {chosen.warc_digest or '—'}")
    if chosen.revisit:
        echo_err("revisit    the record holds no payload; the body is that of the earlier full record")
    if output is not None:
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror}") from exc
        echo_err(f"wrote      {output} ({len(data):,} bytes)")
        return
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
