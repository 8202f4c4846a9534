"""Administration commands: schema upgrades and the list of site profiles."""

from __future__ import annotations

import json
from typing import Any, cast

import click

from archive.cli.common import cli, data_dir, db_option, echo_err, format_option
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
        before, after = upgrade_archive(db_url, data_dir=data_dir())
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    if before == after:
        echo_err(f"The archive is already at schema {after}.")
    else:
        echo_err(f"Upgraded the archive from schema {before or '(empty)'} to {after}.")


@cli.command()
@format_option("table", "json")
@click.option(
    "--platform",
    metavar="NAME",
    help="Only profiles on this platform (e.g. GoPublic, Moliri, own; 'unknown' for none known).",
)
@db_option
def sites(fmt: str, platform: str | None, db_url: str) -> None:
    """List the site profiles this version knows: one per municipality.

    Each with its platform (where the 2026 survey knew it), the channel that finds its news
    (auto: feed, then listings, then sitemaps), and whether it has been checked against the
    live site (scripts/check_profiles_live.py, run by hand when online).

    \b
    Examples:
      koege-archive sites
      koege-archive sites --platform GoPublic
      koege-archive sites --format json
    """
    from koege_spider.sites import ProfileError, load_live_checks, load_profiles

    try:
        profiles = load_profiles()
    except ProfileError as exc:
        raise click.ClickException(f"a bundled profile is broken: {exc}") from exc
    checks = load_live_checks()
    records = [
        {
            "site": p.name,
            "title": p.title,
            "origin": p.canonical_origin,
            "aliases": list(p.aliases),
            "external_hosts": list(p.external_hosts),
            "platform": p.platform,
            "channel": p.channel,
            "sources": p.sources,
            "profile_version": p.version,
            "checked_live": checks.get(p.name),
        }
        for p in profiles.values()
        if platform is None or (p.platform or "unknown").casefold() == platform.casefold()
    ]
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{'SITE':<18} {'TITLE':<28} {'PLATFORM':<10} {'CHANNEL':<8} {'CHECKED':<11} ORIGIN")
        for rec in records:
            check = cast("dict[str, Any] | None", rec["checked_live"])
            checked = "no" if not check else str(check.get("checked_at", "yes"))[:10]
            if check and not check.get("ok", False):
                checked += "!"
            click.echo(
                f"{rec['site']:<18} {rec['title']:<28} {rec['platform'] or '-':<10} {rec['channel']:<8} "
                f"{checked:<11} {rec['origin']}"
            )
    checked_count = sum(1 for r in records if r["checked_live"])
    echo_err(
        f"{len(records)} profiles; {checked_count} checked against the live site"
        + ("" if checked_count == len(records) else " (scripts/check_profiles_live.py checks them when online)")
    )
