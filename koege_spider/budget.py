"""SiteBudgetMiddleware: a run-time budget per site, so a calendar or pagination trap cannot run away.

Each site may fetch at most ``max_pages`` pages and spend at most ``max_minutes`` minutes (from
its first request) in one run. The profile's ``[politeness] max_pages``/``max_minutes`` apply,
else ``KOEGE_BUDGET_MAX_PAGES``/``KOEGE_BUDGET_MAX_MINUTES``; a value given with ``-s`` wins over
every profile. Requests beyond the budget fail as skipped ``budget_pages``/``budget_time``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.settings import SETTINGS_PRIORITIES

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler

    from koege_spider.sites import SiteProfile

__all__ = ["Budget", "BudgetExhausted", "SiteBudgetMiddleware"]

logger = logging.getLogger(__name__)


class BudgetExhausted(IgnoreRequest):
    """A request refused because its site used up its budget for this run."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.koege_reason = reason


@dataclass(frozen=True, slots=True)
class Budget:
    """One site's budget for a run."""

    max_pages: int
    max_minutes: float

    @classmethod
    def for_profile(cls, profile: SiteProfile, default: Budget, *, override: Budget | None = None) -> Budget:
        """The budget that applies to a site.

        Args:
            profile: the site.
            default: the crawl's default budget.
            override: values given on the command line (they win), or None.

        Returns:
            The budget.
        """
        pol = profile.politeness
        pages = pol.max_pages if pol.max_pages is not None else default.max_pages
        minutes = pol.max_minutes if pol.max_minutes is not None else default.max_minutes
        if override is not None:
            pages = override.max_pages or pages
            minutes = override.max_minutes or minutes
        return cls(pages, minutes)


class SiteBudgetMiddleware:
    """Counts each site's requests (retries included) and refuses them beyond its budget.

    Stats: ``koege/budget/exhausted/<site>`` (``pages`` or ``time``), ``koege/budget/pages/<site>``.
    """

    def __init__(
        self,
        crawler: Crawler,
        default: Budget,
        override: Budget | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.crawler = crawler
        self.default = default
        self.override = override
        self._clock = clock
        self._budgets: dict[str, Budget] = {}
        self._pages: dict[str, int] = {}
        self._started: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the middleware from the crawl's settings."""
        settings = crawler.settings
        if not settings.getbool("KOEGE_BUDGET_ENABLED"):
            raise NotConfigured
        default = Budget(settings.getint("KOEGE_BUDGET_MAX_PAGES"), settings.getfloat("KOEGE_BUDGET_MAX_MINUTES"))
        cmdline = SETTINGS_PRIORITIES["cmdline"]
        pages = (
            settings.getint("KOEGE_BUDGET_MAX_PAGES")
            if (settings.getpriority("KOEGE_BUDGET_MAX_PAGES") or 0) >= cmdline
            else 0
        )
        minutes = (
            settings.getfloat("KOEGE_BUDGET_MAX_MINUTES")
            if (settings.getpriority("KOEGE_BUDGET_MAX_MINUTES") or 0) >= cmdline
            else 0.0
        )
        return cls(crawler, default, Budget(pages, minutes) if pages or minutes else None)

    def _budget(self, site: str) -> Budget:
        if site not in self._budgets:
            profiles = getattr(self.crawler.spider, "profiles", {})
            profile = profiles.get(site)
            self._budgets[site] = (
                Budget.for_profile(profile, self.default, override=self.override) if profile else self.default
            )
        return self._budgets[site]

    def process_request(self, request: Request) -> None:
        """Count a site's request; refuse it when the site's budget is spent.

        Raises:
            BudgetExhausted: with reason ``budget_pages`` or ``budget_time``.
        """
        site = request.meta.get("koege_site")
        if site is None:
            return
        budget = self._budget(site)
        now = self._clock()
        started = self._started.setdefault(site, now)
        if now - started > budget.max_minutes * 60:
            self._exhausted(site, "time", f"{budget.max_minutes:g} minutes")
            raise BudgetExhausted(f"{site} spent its budget of {budget.max_minutes:g} minutes", "budget_time")
        pages = self._pages.get(site, 0)
        if pages >= budget.max_pages:
            self._exhausted(site, "pages", f"{budget.max_pages} pages")
            raise BudgetExhausted(f"{site} fetched its budget of {budget.max_pages} pages", "budget_pages")
        self._pages[site] = pages + 1
        self.crawler.stats.set_value(f"koege/budget/pages/{site}", pages + 1)

    def _exhausted(self, site: str, kind: str, limit: str) -> None:
        key = f"koege/budget/exhausted/{site}"
        if self.crawler.stats.get_value(key) is None:
            self.crawler.stats.set_value(key, kind)
            logger.warning(
                "%s reached its budget of %s in this run; its remaining requests are skipped "
                "(raise [politeness] max_pages/max_minutes in its profile, or -s KOEGE_BUDGET_MAX_…)",
                site,
                limit,
            )
