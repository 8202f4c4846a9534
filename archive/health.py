"""Health of the crawls: a site's latest figures against its own history, and the verdict on a run.

A layout change rarely breaks a crawl outright: the crawl finishes, but the articles come back
without titles or dates, listings link nothing, or most pages answer 404. :func:`site_health`
compares each site's latest run with the median of its earlier finished runs and names what
moved sharply; :func:`check_run` says whether one run succeeded (for cron jobs).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from archive.models import CrawlRun, RunQuality
from archive.runs import SiteFigures, last_run, mark_interrupted_runs, process_alive

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from archive.db import Archive

__all__ = ["Finding", "HealthRules", "RunCheck", "SiteHealth", "check_run", "judge_site", "site_health"]


@dataclass(frozen=True, slots=True)
class HealthRules:
    """How far a figure may move before it is reported.

    Attributes:
        history: earlier finished runs of the site the latest run is compared with.
        min_articles: fewest articles a run needs before its shares mean anything.
        share_rise: rise in the share of articles missing a title, a date or text (0.25 = 25 points).
        empty_rise: rise in the share of listing pages that linked no article.
        not_found_rise: rise in the share of pages answering 404/410.
        min_not_found: fewest 404/410 answers before their share is judged.
    """

    history: int = 10
    min_articles: int = 5
    share_rise: float = 0.25
    empty_rise: float = 0.5
    not_found_rise: float = 0.25
    min_not_found: int = 5


@dataclass(frozen=True, slots=True)
class Finding:
    """One figure that moved sharply: its name, latest and usual value, and what it may mean."""

    figure: str
    latest: float
    usual: float
    message: str


@dataclass(frozen=True, slots=True)
class SiteHealth:
    """A site's latest run, the runs it was compared with, and what moved."""

    site: str
    run_id: int
    started_at: dt.datetime
    status: str
    latest: SiteFigures
    compared_with: list[int]
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing moved sharply."""
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        """The health as plain JSON-ready values."""
        return {
            "site": self.site,
            "ok": self.ok,
            "run": self.run_id,
            "started_at": self.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": self.status,
            "figures": {k: v for k, v in self.latest.as_dict().items() if k != "site"},
            "shares": _shares(self.latest),
            "compared_with_runs": self.compared_with,
            "findings": [
                {"figure": f.figure, "latest": round(f.latest, 3), "usual": round(f.usual, 3), "message": f.message}
                for f in self.findings
            ],
        }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _shares(f: SiteFigures) -> dict[str, float | None]:
    return {
        "missing_title": _share(f.missing_title, f.articles),
        "missing_published": _share(f.missing_published, f.articles),
        "missing_text": _share(f.missing_text, f.articles),
        "listings_empty": _share(f.listings_empty, f.listings_read),
        "not_found": _share(f.not_found, f.pages),
    }


def _usual(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


_MISSING = {
    "missing_title": "a title",
    "missing_published": "a published date",
    "missing_text": "body text",
}


def judge_site(latest: SiteFigures, history: list[SiteFigures], rules: HealthRules | None = None) -> list[Finding]:
    """Compare a site's latest figures with its earlier runs (plain values; no database).

    Args:
        latest: the figures of the latest run.
        history: figures of earlier finished runs (any order); empty when there are none.
        rules: the tolerances.

    Returns:
        What moved sharply (empty when nothing did, or when there is no history yet).
    """
    rules = rules or HealthRules()
    if not history:
        return []
    found: list[Finding] = []
    usual_pages = statistics.median(h.pages for h in history)
    usual_listings = statistics.median(h.listings_read for h in history)
    if latest.pages == 0 and usual_pages > 0:
        found.append(Finding("pages", 0, usual_pages, "no page was fetched (the site did not answer, or robots.txt)"))
        return found
    if latest.listings_read == 0 and usual_listings > 0:
        found.append(
            Finding(
                "listings_read",
                0,
                usual_listings,
                "no listing, feed or sitemap could be read (moved listing URLs, or the site refuses us)",
            )
        )
    shares = _shares(latest)
    usual_shares = {name: _usual([_shares(h)[name] for h in history]) for name in shares}
    empty, usual_empty = shares["listings_empty"], usual_shares["listings_empty"]
    if empty is not None and empty - (usual_empty or 0.0) >= rules.empty_rise:
        found.append(
            Finding(
                "listings_empty",
                empty,
                usual_empty or 0.0,
                f"{empty:.0%} of listing pages linked no article (usually {usual_empty or 0:.0%}): "
                "empty listings or a new listing layout",
            )
        )
    if latest.articles >= rules.min_articles:
        for name, what in _MISSING.items():
            now, usual = shares[name], usual_shares[name]
            # Shares from runs with too few articles say little; use them only when nothing else.
            solid = [_shares(h)[name] for h in history if h.articles >= rules.min_articles]
            usual = _usual(solid) if solid else usual
            if now is not None and now - (usual or 0.0) >= rules.share_rise:
                found.append(
                    Finding(
                        name,
                        now,
                        usual or 0.0,
                        f"{now:.0%} of {latest.articles} articles lack {what} (usually {usual or 0:.0%}): "
                        "a layout change?",
                    )
                )
    lost, usual_lost = shares["not_found"], usual_shares["not_found"]
    if (
        lost is not None
        and latest.not_found >= rules.min_not_found
        and lost - (usual_lost or 0.0) >= rules.not_found_rise
    ):
        found.append(
            Finding(
                "not_found",
                lost,
                usual_lost or 0.0,
                f"{latest.not_found} of {latest.pages} pages answered 404/410 (usually {usual_lost or 0:.0%}): "
                "moved articles or listings",
            )
        )
    return found


def _figures(row: RunQuality) -> SiteFigures:
    return SiteFigures(**{name: getattr(row, name) for name in SiteFigures(site="").as_dict()})


def site_health(archive: Archive, *, site: str | None = None, rules: HealthRules | None = None) -> list[SiteHealth]:
    """The health of every site with figures (or of one): latest run against its history.

    Args:
        archive: the open archive.
        site: only this profile key.
        rules: the tolerances.

    Returns:
        One entry per site, by site key.
    """
    rules = rules or HealthRules()
    stmt = (
        select(RunQuality, CrawlRun.status, CrawlRun.started_at)
        .join(CrawlRun, CrawlRun.id == RunQuality.run_id)
        .order_by(RunQuality.site, RunQuality.run_id.desc())
    )
    if site is not None:
        stmt = stmt.where(RunQuality.site == site)
    by_site: dict[str, list[tuple[RunQuality, str, dt.datetime]]] = {}
    with archive.reading() as session:
        for row, status, started_at in session.execute(stmt):
            by_site.setdefault(row.site, []).append((row, status, started_at))
    report = []
    for key, rows in sorted(by_site.items()):
        (latest, status, started_at), earlier = rows[0], rows[1:]
        history = [(r.run_id, _figures(r)) for r, s, _ in earlier if s == "finished"][: rules.history]
        report.append(
            SiteHealth(
                site=key,
                run_id=latest.run_id,
                started_at=started_at,
                status=status,
                latest=_figures(latest),
                compared_with=[run_id for run_id, _ in history],
                findings=judge_site(_figures(latest), [f for _, f in history], rules),
            )
        )
    return report


@dataclass(frozen=True, slots=True)
class RunCheck:
    """The verdict on one run: ``ok``, and the reasons when it is not."""

    run: CrawlRun | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when the run finished and nothing is wrong with it."""
        return self.run is not None and not self.problems


def check_run(
    archive: Archive,
    run_id: int | None = None,
    *,
    site: str | None = None,
    max_error_ratio: float | None = None,
    alive: Callable[[int, dt.datetime | None], bool] | None = None,
) -> RunCheck:
    """Judge a run (by default the last one): did it finish, read its listings, stay under the error ratio?

    A recrawl in which nothing changed is a success. A run whose process is gone is marked
    ``interrupted`` first (see :func:`archive.runs.mark_interrupted_runs`).

    Args:
        archive: the open archive.
        run_id: the run; None for the last one (of ``site`` when given).
        site: with ``run_id`` None, the last run of this profile key.
        max_error_ratio: most failed article fetches per page fetched (None: not checked).
        alive: tells whether a pid still runs (for tests).

    Returns:
        The run and what is wrong with it (``run`` None when there is no such run).
    """
    mark_interrupted_runs(archive, alive=alive or process_alive)
    if run_id is None:
        run = last_run(archive, site=site)
    else:
        with archive.reading() as session:
            run = session.get(CrawlRun, run_id)
    if run is None:
        return RunCheck(None, ["no such run"])
    problems = []
    if run.status == "running":
        problems.append(f"run {run.id} has not finished: it is still running (pid {run.pid} on {run.host})")
    elif run.status != "finished":
        problems.append(f"run {run.id} did not finish ({run.status}): {run.message or run.finish_reason or ''}".strip())
    if run.status == "finished" and run.listings_read == 0 and run.finish_reason != "import":
        problems.append(f"run {run.id} could read no listing or sitemap")
    if max_error_ratio is not None and run.pages_fetched and run.failed / run.pages_fetched > max_error_ratio:
        problems.append(
            f"run {run.id}: {run.failed} of {run.pages_fetched} pages failed "
            f"({run.failed / run.pages_fetched:.0%}, more than --max-error-ratio {max_error_ratio:g})"
        )
    return RunCheck(run, problems)
