"""Shared parts of the command line: the group, the --db and --format options, output helpers."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import click

from archive.db import (
    ArchiveError,
    default_archive_url,
    open_archive,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from archive.db import Archive

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def echo_err(message: str) -> None:
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
def cli_archive(db_url: str, *, create: bool = True) -> Iterator[Archive]:
    try:
        archive = open_archive(db_url, create=create)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        yield archive
    finally:
        archive.close()


def parse_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
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
