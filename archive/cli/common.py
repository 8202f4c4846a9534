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


def _remember_data_dir(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    ctx.meta["koege_data_dir"] = value or None


def data_dir() -> str | None:
    """The ``--data-dir`` given to the running command (None: the archive's default)."""
    ctx = click.get_current_context(silent=True)
    return None if ctx is None else ctx.meta.get("koege_data_dir")


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """The shared ``--db`` option (env ``KOEGE_ARCHIVE_DB``) and ``--data-dir`` (env ``KOEGE_ARCHIVE_DATA``)."""
    func = click.option(
        "--data-dir",
        envvar="KOEGE_ARCHIVE_DATA",
        expose_value=False,
        callback=_remember_data_dir,
        metavar="DIR",
        help="Folder for WARC captures and logs (default: beside an SQLite file; for PostgreSQL a folder "
        "per server under ~/.local/share/koege-archive/servers). Env: KOEGE_ARCHIVE_DATA.",
    )(func)
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
        archive = open_archive(db_url, create=create, data_dir=data_dir())
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
