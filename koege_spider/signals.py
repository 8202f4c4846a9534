"""The crawl's own signals, and the hook that sends one before every archive commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.python.failure import Failure

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy.crawler import Crawler

__all__ = ["before_archive_commit", "commit_hook"]

#: Sent just before a transaction that may point at WARC records commits: whoever wrote
#: those records makes them durable (fsync) in its handler; a handler that fails stops the commit.
before_archive_commit = object()


def commit_hook(crawler: Crawler) -> Callable[[], None]:
    """A ``before_commit`` callable for :class:`archive.store.ArchiveWriter` within a crawl.

    Args:
        crawler: the running crawler.

    Returns:
        A function that sends :data:`before_archive_commit` and raises ``OSError`` when a
        handler failed (the writer then rolls the batch back).
    """

    def _send() -> None:
        for receiver, result in crawler.signals.send_catch_log(signal=before_archive_commit):
            if isinstance(result, Failure):
                raise OSError(f"WARC records not made durable ({receiver}): {result.getErrorMessage()}")

    return _send
