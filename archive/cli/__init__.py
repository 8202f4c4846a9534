"""The `koege-archive` command line (click).

Data goes to stdout, messages to stderr. Exit codes: 0 success, 1 the work failed (the message
says why and what to do), 2 usage error. Commands live in modules by job (``crawling``,
``reading``, ``admin``); the crawl side (Scrapy) is imported lazily inside the commands that crawl.
"""

from __future__ import annotations

import sys

from archive.cli import (  # noqa: F401  (importing registers the commands)
    admin,
    captures,
    crawling,
    history,
    importing,
    ops,
    reading,
    reextracting,
    takedown,
    web,
)
from archive.cli.common import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Entry point that turns a broken pipe (``| head``) into a quiet exit."""
    try:
        cli()
    except BrokenPipeError:
        sys.stderr.close()
