"""Administration commands: schema upgrades and the list of site profiles."""

from __future__ import annotations

import json

import click

from archive.cli.common import cli, db_option, echo_err, format_option
from archive.db import ArchiveError, upgrade_archive


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
        echo_err(f"The archive is already at schema {after}.")
    else:
        echo_err(f"Upgraded the archive from schema {before or '(empty)'} to {after}.")


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
