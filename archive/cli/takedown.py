"""Takedowns: suppress a document (optionally purge it), list suppressions and their audit, lift one."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from archive.cli.common import cli, cli_archive, db_option, echo_err, format_option
from archive.queries import utc_iso

if TYPE_CHECKING:
    from archive.db import Archive
    from archive.suppression import SuppressionView


def hidden_document(archive: Archive, url_or_id: str, canonical: str | None = None) -> SuppressionView | None:
    """The active suppression of the document a person asked for (by id, URL or URL variant)."""
    from archive.suppression import find_suppression

    found = find_suppression(archive, url_or_id)
    if found is None and canonical and canonical != url_or_id:
        found = find_suppression(archive, canonical)
    return found


def report_hidden(hidden: SuppressionView, fmt: str) -> None:
    """Say that a document is suppressed, and nothing else about it (`show`, `history`)."""
    if fmt == "json":
        record = {"id": hidden.document_id, "url": hidden.url, "suppressed": True}
        record["suppressed_at"] = utc_iso(hidden.suppressed_at)
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"Document {hidden.document_id} is suppressed (since {utc_iso(hidden.suppressed_at)}): it is not shown.\n"
        "`koege-archive suppressions` says who suppressed it and why."
    )


def _record(s: SuppressionView) -> dict[str, Any]:
    return {
        "id": s.id,
        "document": s.document_id,
        "url": s.url,
        "reason": s.reason,
        "suppressed_by": s.suppressed_by,
        "suppressed_at": utc_iso(s.suppressed_at),
        "lifted_by": s.lifted_by,
        "lifted_at": utc_iso(s.lifted_at),
        "purged_by": s.purged_by,
        "purged_at": utc_iso(s.purged_at),
    }


@cli.command()
@click.argument("url_or_id")
@click.option("--reason", required=True, metavar="TEXT", help="Why (kept in the audit trail), e.g. a case number.")
@click.option("--by", metavar="NAME", help="Who asks for it (default: the OS user).")
@click.option("--purge", is_flag=True, help="Also remove the document's texts and raw captures (cannot be undone).")
@db_option
def suppress(url_or_id: str, reason: str, by: str | None, purge: bool, db_url: str) -> None:
    """Hide a document from search, exports and the web page (a takedown, a GDPR request).

    Crawls stop fetching its URL. Its versions and raw captures stay, so `unsuppress` can
    bring it back; --purge removes the texts and raw captures for good (the URL and dates of
    capture stay, so the archive knows what it no longer holds). Every step is audited.

    \b
    Examples:
      koege-archive suppress https://www.koege.dk/nyheder/x --reason "GDPR-anmodning 2026-114"
      koege-archive suppress 1234 --reason "Navn skal fjernes, sag 77" --by "J. Jensen" --purge
    """
    from archive.cli.history import _canonical
    from archive.suppression import SuppressionError
    from archive.suppression import suppress as do_suppress

    with cli_archive(db_url) as archive:
        try:
            try:
                done, detail = do_suppress(archive, url_or_id, reason=reason, by=by, purge=purge)
            except SuppressionError:
                canonical = _canonical(url_or_id)
                if canonical == url_or_id:
                    raise
                done, detail = do_suppress(archive, canonical, reason=reason, by=by, purge=purge)
        except SuppressionError as exc:
            raise click.ClickException(str(exc)) from exc
    echo_err(f"Document {done.document_id} suppressed by {done.suppressed_by}: {done.url}")
    if detail:
        echo_err(f"Purged: {detail}.")


@cli.command()
@click.option("--all", "include_lifted", is_flag=True, help="Also suppressions that were lifted.")
@click.option("--audit", is_flag=True, help="Print the audit trail (every suppress, purge, unsuppress) instead.")
@format_option("table", "json")
@db_option
def suppressions(include_lifted: bool, audit: bool, fmt: str, db_url: str) -> None:
    """List suppressed documents: who hid them, when and why; --audit prints the full trail.

    \b
    Examples:
      koege-archive suppressions
      koege-archive suppressions --audit --format json
    """
    from archive.suppression import audit_trail, list_suppressions

    with cli_archive(db_url) as archive:
        if audit:
            entries = audit_trail(archive)
            records = [
                {
                    "suppression": e.suppression_id,
                    "document": e.document_id,
                    "url": e.url,
                    "action": e.action,
                    "by": e.by,
                    "at": utc_iso(e.at),
                    "reason": e.reason,
                    "detail": e.detail,
                }
                for e in entries
            ]
        else:
            records = [_record(s) for s in list_suppressions(archive, include_lifted=include_lifted)]
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    if not records:
        echo_err("No suppressions." if not audit else "The audit trail is empty.")
        return
    for r in records:
        if audit:
            extra = f" ({r['detail']})" if r["detail"] else ""
            click.echo(f"{r['at']}  {r['action']:<10} {r['by']:<16} document {r['document']}  {r['url']}")
            click.echo(f"      {r['reason'] or '—'}{extra}")
            continue
        state = "purged" if r["purged_at"] else ("lifted" if r["lifted_at"] else "hidden")
        click.echo(f"{r['suppressed_at']}  {state:<7} {r['suppressed_by']:<16} document {r['document']}  {r['url']}")
        click.echo(f"      {r['reason']}")


@cli.command()
@click.argument("url_or_id")
@click.option("--reason", metavar="TEXT", help="Why it may be shown again (kept in the audit trail).")
@click.option("--by", metavar="NAME", help="Who lifts it (default: the OS user).")
@db_option
def unsuppress(url_or_id: str, reason: str | None, by: str | None, db_url: str) -> None:
    """Lift a suppression: the document is searchable, exported and shown again (audited).

    A purge cannot be undone: a purged document stays suppressed.

    \b
    Example:
      koege-archive unsuppress 1234 --reason "Anmodning trukket tilbage"
    """
    from archive.cli.history import _canonical
    from archive.suppression import SuppressionError
    from archive.suppression import unsuppress as do_unsuppress

    with cli_archive(db_url) as archive:
        try:
            try:
                lifted = do_unsuppress(archive, url_or_id, reason=reason, by=by)
            except SuppressionError:
                canonical = _canonical(url_or_id)
                if canonical == url_or_id:
                    raise
                lifted = do_unsuppress(archive, canonical, reason=reason, by=by)
        except SuppressionError as exc:
            raise click.ClickException(str(exc)) from exc
    echo_err(f"Document {lifted.document_id} is shown again: {lifted.url}")
