"""Revisit policy: which articles a recrawl fetches again, and how (plain functions, no Scrapy).

Every known article is checked at least once every ``revisit_after`` (a conditional request:
ETag / Last-Modified). Between those checks an article is fetched again only when there is a
reason to think it changed: it is on the first listing pages (where new and corrected news
shows), or its sitemap ``lastmod`` is newer than the last check. New URLs are always fetched.
With ``since`` set, articles known to be older than that date are left alone.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from archive.lifecycle import PageState

__all__ = [
    "RevisitPolicy",
    "Verdict",
    "conditional_headers",
    "decide",
    "keep_paginating",
    "lastmod_end",
    "parse_since",
]

Reason = Literal["new", "fresh", "lastmod", "due", "always", "not_due", "lastmod_unchanged", "older_than_since"]
_FETCH_REASONS = frozenset({"new", "fresh", "lastmod", "due", "always"})
# Reasons that say the pages beyond this listing page may hold work too.
_PAGINATE_REASONS = frozenset({"new", "lastmod", "due", "always"})
_W3C = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?$"
)
_ISO_DAYISH = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@dataclass(frozen=True, slots=True)
class RevisitPolicy:
    """The recrawl settings of one run.

    Attributes:
        enabled: False fetches every article every time (no conditional requests).
        revisit_after: longest time a known article goes unchecked.
        fresh_pages: articles on this many first pages of a listing are checked every run.
        since: leave articles known to be older than this date alone (None: all).
    """

    enabled: bool = True
    revisit_after: dt.timedelta = dt.timedelta(hours=24)
    fresh_pages: int = 1
    since: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether to fetch a URL, and why."""

    reason: Reason

    @property
    def fetch(self) -> bool:
        """True when the URL should be requested."""
        return self.reason in _FETCH_REASONS


def parse_since(value: str | None) -> dt.date | None:
    """Read ``--since``: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (the first day of a year or month).

    Raises:
        ValueError: with a message naming the accepted forms.
    """
    if value is None or not str(value).strip():
        return None
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", str(value).strip())
    try:
        if match is None:
            raise ValueError
        return dt.date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
    except ValueError:
        raise ValueError(f"{value!r} is not a date; give YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2024-03-01)") from None


def lastmod_end(value: str, tz: ZoneInfo) -> dt.datetime | None:
    """The latest moment a sitemap ``<lastmod>`` may mean, in UTC (a bare day: its last second).

    Args:
        value: a W3C datetime (``2024-03-01``, ``2024-03-01T10:00:00+01:00``, …).
        tz: the site's time zone, for values without an offset.

    Returns:
        The moment, or None when the value cannot be read.
    """
    match = _W3C.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        if hour is None:
            y, m = int(year), int(month or 12)
            d = int(day) if day else calendar.monthrange(y, m)[1]
            local = dt.datetime(y, m, d, 23, 59, 59, tzinfo=tz)
            return local.astimezone(dt.UTC)
        moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
    except ValueError:
        return None
    if zone is None:
        return moment.replace(tzinfo=tz).astimezone(dt.UTC)
    if zone == "Z":
        return moment.replace(tzinfo=dt.UTC)
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment.replace(tzinfo=dt.timezone(sign * offset)).astimezone(dt.UTC)


def _latest_day(value: str | None) -> dt.date | None:
    """The last day an ISO date prefix (``2024``, ``2024-03``, ``2024-03-05…``) can stand for."""
    match = _ISO_DAYISH.match(value or "")
    if match is None:
        return None
    year, month, day = match.groups()
    try:
        y, m = int(year), int(month or 12)
        return dt.date(y, m, int(day) if day else calendar.monthrange(y, m)[1])
    except ValueError:
        return None


def _older_than_since(
    policy: RevisitPolicy, known: PageState | None, lastmod: str | None, url_month: tuple[int, int] | None
) -> bool:
    if policy.since is None:
        return False
    hints = [known.published if known else None, lastmod]
    if url_month is not None:
        hints.append(f"{url_month[0]:04d}-{url_month[1]:02d}")
    latest = [d for d in map(_latest_day, hints) if d is not None]
    # A page modified (lastmod) or published before the date cannot be newer than it.
    return bool(latest) and min(latest) < policy.since


def decide(
    known: PageState | None,
    *,
    now: dt.datetime,
    policy: RevisitPolicy,
    tz: ZoneInfo,
    lastmod: str | None = None,
    listing_page: int | None = None,
    url_month: tuple[int, int] | None = None,
) -> Verdict:
    """Decide whether to fetch an article URL in this run.

    Args:
        known: what the archive holds for the URL, or None for a new URL.
        now: the current time (UTC).
        policy: the run's settings.
        tz: the site's time zone (for sitemap dates without an offset).
        lastmod: the sitemap's ``<lastmod>`` for the URL, if it came from a sitemap.
        listing_page: the listing page number (1 = first) it was linked from, if any.
        url_month: (year, month) from the URL's date folder, if the profile has one.

    Returns:
        The verdict: fetch (``new``, ``fresh``, ``lastmod``, ``due``, ``always``) or not
        (``not_due``, ``lastmod_unchanged``, ``older_than_since``).
    """
    if _older_than_since(policy, known, lastmod, url_month):
        return Verdict("older_than_since")
    if known is None:
        return Verdict("new")
    if not policy.enabled:
        return Verdict("always")
    due = known.last_checked is None or now - known.last_checked >= policy.revisit_after
    if due:
        return Verdict("due")
    if listing_page is not None and listing_page <= policy.fresh_pages:
        return Verdict("fresh")
    if lastmod:
        if known.sitemap_lastmod == lastmod.strip():
            return Verdict("lastmod_unchanged")
        moment = lastmod_end(lastmod, tz)
        if moment is not None and known.last_checked is not None and moment <= known.last_checked:
            return Verdict("lastmod_unchanged")
        return Verdict("lastmod")
    return Verdict("not_due")


def keep_paginating(verdicts: list[Verdict], *, walked_before: bool) -> bool:
    """Whether to follow a listing page's next pages.

    Listings run newest first: once a page links nothing new, nothing due and nothing whose
    sitemap says it changed, the pages beyond it hold nothing for this run either. Until a run
    has once followed every listing to its end, pagination is always followed (an interrupted
    first crawl must not leave the older pages unseen).

    Args:
        verdicts: the verdicts for the page's article links.
        walked_before: a finished run followed every listing of the site to its end.

    Returns:
        True to follow the next pages.
    """
    if not walked_before:
        return not verdicts or any(v.reason != "older_than_since" for v in verdicts)
    return any(v.reason in _PAGINATE_REASONS for v in verdicts)


def conditional_headers(known: PageState | None) -> dict[str, str]:
    """The ``If-None-Match`` / ``If-Modified-Since`` headers for refetching a known document.

    An alias URL (it redirects to the document) gets none: the validators belong to the target.
    """
    if known is None or known.alias_of is not None:
        return {}
    headers = {}
    if known.etag:
        headers["If-None-Match"] = known.etag
    if known.last_modified:
        headers["If-Modified-Since"] = known.last_modified
    return headers
