"""History commands: a document's versions, events and diffs; the archive's near-duplicate clusters."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.exc import SQLAlchemyError

from archive.cli.common import cli, cli_archive, db_option, echo_err, format_option
from archive.diff import diff_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from archive.diff import DiffPiece


def _canonical(url: str) -> str:
    """The archive key of a URL given in any variant (alias host, http, tracking parameters)."""
    from urllib.parse import urlsplit

    from koege_spider.sites import load_profiles
    from koege_spider.urls import canonicalize

    host = (urlsplit(url).hostname or "").lower()
    profile = next((p for p in load_profiles().values() if host in p.hosts), None)
    return canonicalize(url, profile) if profile is not None else url


def _parse_pair(pair: tuple[int, int] | None) -> tuple[int, int] | None:
    if pair is None:
        return None
    old, new = pair
    if old < 1 or new < 1:
        raise click.BadParameter("version numbers start at 1", param_hint="--diff")
    return old, new


@cli.command()
@click.argument("url_or_id")
@click.option(
    "--diff",
    "pair",
    type=(int, int),
    metavar="A B",
    help="Show the word-level difference from version A to version B.",
)
@click.option(
    "--context",
    type=click.IntRange(0, 10_000),
    default=12,
    show_default=True,
    help="Words of unchanged text kept around each change in --diff (0 shows only the changes).",
)
@format_option("table", "json")
@db_option
def history(url_or_id: str, pair: tuple[int, int] | None, context: int, fmt: str, db_url: str) -> None:
    """Show a document's content versions with their dates, and what happened to it.

    A document gets a new version only when its extracted content (title, lead, text, dates)
    changed. Events say when it was removed (404/410), restored or moved; aliases are the other
    URLs that lead to it. With --diff A B: the word-level difference, [-removed-] {+added+}.

    \b
    Examples:
      koege-archive history https://www.koege.dk/Service/Nyheder/2021/06/Invitation-til-borgermoede.aspx
      koege-archive history 12 --diff 1 2
    """
    from archive.cli.takedown import hidden_document, report_hidden
    from archive.history import document_history, version_diff

    versions = _parse_pair(pair)
    with cli_archive(db_url) as archive:
        hidden = hidden_document(archive, url_or_id, None if url_or_id.strip().isdigit() else _canonical(url_or_id))
        if hidden is not None:
            report_hidden(hidden, fmt)
            return
        found = document_history(archive, url_or_id)
        if found is None and not url_or_id.strip().isdigit():
            found = document_history(archive, _canonical(url_or_id))
        if found is None:
            raise click.ClickException(
                f"no document for {url_or_id!r}; find one with `koege-archive search WORD` or give its id"
            )
        pieces = None
        if versions is not None:
            try:
                pieces = version_diff(archive, found.id, *versions)
            except LookupError as exc:
                raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        record = found.as_dict()
        if pieces is not None:
            record["diff"] = {
                "from": versions[0] if versions else None,
                "to": versions[1] if versions else None,
                "pieces": [{"op": p.op, "text": p.text} for p in pieces],
            }
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    if pieces is not None and versions is not None:
        changed = sum(len(p.text.split()) for p in pieces if p.op != "same")
        echo_err(f"{found.url}: version {versions[0]} → {versions[1]} ({changed} words differ)")
        click.echo(diff_text(pieces, context=context or None) if context else _changes_only(pieces))
        return
    _print_history(found)


def _without(cluster: Any, hidden: set[int]) -> Any:
    """A cluster without its suppressed documents (they are shown nowhere)."""
    if not hidden or not any(m.id in hidden for m in cluster.members):
        return cluster
    import dataclasses

    members = [m for m in cluster.members if m.id not in hidden]
    links = [(a, b, s) for a, b, s in cluster.links if a not in hidden and b not in hidden]
    return dataclasses.replace(cluster, members=members, links=links)


def _changes_only(pieces: Sequence[DiffPiece]) -> str:
    marks = {"removed": ("[-", "-]"), "added": ("{+", "+}")}
    return "\n".join(f"{marks[p.op][0]}{p.text.strip()}{marks[p.op][1]}" for p in pieces if p.op in marks)


def _reading_line(reading: dict[str, Any]) -> str:
    profile = f" profile v{reading['profile_version']}" if reading["profile_version"] is not None else ""
    changes = []
    for change in reading["changes"]:
        if "from_words" in change:
            changes.append(f"{change['field']} {change['from_words']} → {change['to_words']} words")
        else:
            changes.append(f"{change['field']} {change['from'] or '—'} → {change['to'] or '—'}")
    return f"  {reading['version']:>3}  {reading['at']}  {reading['extractor']}{profile}: {'; '.join(changes)}"


def _print_history(found: object) -> None:
    doc = found.as_dict()  # type: ignore[attr-defined]
    state = f"removed since {doc['removed_at']}" if doc["removed_at"] else "on the server"
    lines = [
        f"{doc['url']}",
        f"id {doc['id']} · site {doc['site']} · {len(doc['versions'])} version(s) · {state}",
        f"seen {doc['first_seen']} … {doc['last_seen']}; last checked {doc['last_checked'] or '—'}",
        "",
        "Versions:",
    ]
    for v in doc["versions"]:
        lines.append(
            f"  {v['version']:>3}  {v['first_seen']} … {v['last_seen']}  published {v['published'] or '—':<10}"
            f"  {v['words']:>5} words  {v['title'] or '(no title)'}"
        )
    if doc.get("readings"):
        lines += ["", "Readings (later extractions of the same captures: our reading changed, not the page):"]
        lines += [_reading_line(r) for r in doc["readings"]]
    if doc["events"]:
        lines += ["", "Events:"]
        for e in doc["events"]:
            status = f" (HTTP {e['http_status']})" if e["http_status"] else ""
            detail = f": {e['detail']}" if e["detail"] else ""
            lines.append(f"  {e['at']}  {e['kind']}{status}{detail}")
    if doc["aliases"]:
        lines += ["", "Also reached as:"]
        lines += [f"  {a['url']}  ({a['reason']}, last seen {a['last_seen']})" for a in doc["aliases"]]
    if doc["near_duplicates"]:
        lines += ["", "Near-duplicates:"]
        lines += [f"  {n['id']:>6}  {n['similarity']:.2f}  {n['url']}" for n in doc["near_duplicates"]]
    if doc["duplicate_of"]:
        lines += ["", f"Same text as {doc['duplicate_of']}"]
    if len(doc["versions"]) > 1:
        last = len(doc["versions"])
        lines += ["", f"Compare: koege-archive history {doc['id']} --diff {last - 1} {last}"]
    click.echo("\n".join(lines))


@cli.command()
@click.option("--site", metavar="SITE", help="Only clusters with a document of this site.")
@click.option(
    "--min-size",
    type=click.IntRange(2, 10_000),
    default=2,
    show_default=True,
    help="Only clusters with at least this many documents.",
)
@format_option("table", "json")
@db_option
def duplicates(site: str | None, min_size: int, fmt: str, db_url: str) -> None:
    """List clusters of near-duplicate documents (the same text under several URLs or sites).

    Texts are compared by MinHash over word 3-grams; documents whose texts match closely (a copy
    with a changed footer, a print version, the same press release on a sister site) are linked
    into a cluster. Nothing is deleted: every document stays in the archive. Documents not yet
    compared (an upgraded archive, a crawl with KOEGE_NEARDUP_ENABLED=False) are compared first.

    \b
    Examples:
      koege-archive duplicates
      koege-archive duplicates --site koege --format json
    """
    from archive.duplicates import duplicate_clusters, link_near_duplicates

    with cli_archive(db_url) as archive:
        try:
            report = link_near_duplicates(archive)
        except SQLAlchemyError as exc:
            echo_err(f"Could not compare new documents ({getattr(exc, 'orig', None) or exc}); listing what is known.")
        else:
            if report.signed:
                echo_err(f"Compared {report.signed} document(s) not compared before; {report.linked} new link(s).")
        from archive.suppression import list_suppressions

        hidden = {s.document_id for s in list_suppressions(archive)}
        clusters = [_without(c, hidden) for c in duplicate_clusters(archive, site=site)]
        found = [c for c in clusters if len(c.members) >= min_size]
    if fmt == "json":
        records = [
            {
                "cluster": n,
                "size": len(c.members),
                "documents": [
                    {"id": m.id, "url": m.url, "site": m.site, "title": m.title, "published": m.published}
                    for m in c.members
                ],
                "links": [{"a": a, "b": b, "similarity": s} for a, b, s in c.links],
            }
            for n, c in enumerate(found, start=1)
        ]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    if not found:
        echo_err("No near-duplicate documents in the archive.")
        return
    for n, cluster in enumerate(found, start=1):
        best = max((s for _, _, s in cluster.links), default=0.0)
        click.echo(f"Cluster {n}: {len(cluster.members)} documents (similarity up to {best:.2f})")
        for member in cluster.members:
            click.echo(f"  {member.id:>6}  {member.published or '—':<10}  {member.title or '(no title)'}")
            click.echo(f"          {member.url}")
        click.echo("")
