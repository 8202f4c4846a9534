"""Extraction quality benchmark: koege-archive against other extractors on the quality corpus.

Runs every page of ``tests/fixtures/quality/`` (the corpus of the quality gate, docs/quality.md)
through, in one process:
- koege-archive: ``pipelines.extraction.extract_article`` with the page's site profile;
- plain ``trafilatura.bare_extraction`` (its defaults, with metadata: its own title and date;
  it has no lead and no separate update date);
- news-please (``NewsPlease.from_html``) and Fundus, when importable. They are not project
  dependencies; without them the table says "not installed". Fundus only parses the publishers
  it ships parsers for, none of them a municipality, so it gets no row either way.
Scoring is ``pipelines.scoring``: body precision/recall/F1 on word 4-grams of lead + body
(micro-averaged), exact title, lead, published and updated (as ISO strings in the archive's
export format), and "pub day": the published date right to the day, which is fairer to tools
that give only a day. Speed is pages/s over the corpus (best of ``--rounds``), HTML in memory.

    .venv/bin/python bench/quality.py [--rounds 3] [--pages]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.scoring import Expected, Extraction, Overlap, PageScore, score_page

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "fixtures" / "quality"

Extractor = Callable[["Page"], Extraction | None]


@dataclass(frozen=True)
class Page:
    """One corpus page."""

    case: str
    family: str
    html: str
    url: str
    site: str
    fetched_at: dt.datetime
    expected: Expected


def load_pages() -> list[Page]:
    """Read every case of the corpus, sorted by family and name."""
    pages = []
    for case in sorted(p.parent for p in CORPUS.glob("*/*/expected.json")):
        meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
        pages.append(
            Page(
                case=f"{case.parent.name}/{case.name}",
                family=case.parent.name,
                html=(case / "page.html").read_text(encoding="utf-8"),
                url=meta["url"],
                site=meta["site"],
                fetched_at=dt.datetime.fromisoformat(meta["fetched_at"]),
                expected=Expected.from_json(json.loads((case / "expected.json").read_text(encoding="utf-8"))),
            )
        )
    return pages


def _iso(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def ours() -> Extractor:
    """koege-archive's extraction with the page's profile."""
    from koege_spider.sites import load_profile
    from pipelines.extraction import extract_article

    profiles: dict[str, Any] = {}

    def run(page: Page) -> Extraction | None:
        if page.site not in profiles:
            profiles[page.site] = load_profile(page.site)
        art = extract_article(page.html, page.url, fetched_at=page.fetched_at, profile=profiles[page.site])
        if art is None:
            return None
        return Extraction(art.title, art.lead, art.text, art.published, art.updated)

    return run


def plain_trafilatura() -> Extractor:
    """trafilatura.bare_extraction with its defaults and metadata."""
    from trafilatura import bare_extraction

    def run(page: Page) -> Extraction | None:
        doc = bare_extraction(page.html, url=page.url, with_metadata=True)
        if doc is None:
            return None
        return Extraction(doc.title, None, doc.text, _iso(doc.date), None)

    return run


def news_please() -> Extractor:
    """news-please's from_html (title, description as lead, maintext, publish/modify dates)."""
    from newsplease import NewsPlease

    def run(page: Page) -> Extraction | None:
        art = NewsPlease.from_html(page.html, url=page.url, fetch_images=False)
        if art is None:
            return None
        return Extraction(art.title, art.description, art.maintext, _iso(art.date_publish), _iso(art.date_modify))

    return run


TOOLS: list[tuple[str, str | None, Callable[[], Extractor] | None]] = [
    ("koege-archive", None, ours),
    ("trafilatura", "trafilatura", plain_trafilatura),
    ("news-please", "newsplease", news_please),
    ("fundus", "fundus", None),
]


def _safe(extract: Extractor, page: Page) -> Extraction | None:
    try:
        return extract(page)
    except Exception:  # noqa: BLE001 - a tool that crashes on a page scores nothing for it
        return None


def measure(extract: Extractor, pages: list[Page], rounds: int) -> tuple[list[PageScore], float]:
    """Score every page and time the extraction (best of ``rounds``).

    Returns:
        The per-page scores and pages/s.
    """
    best = float("inf")
    got: list[Extraction | None] = []
    for _ in range(rounds):
        start = time.perf_counter()
        got = [_safe(extract, page) for page in pages]
        best = min(best, time.perf_counter() - start)
    return [score_page(p.expected, g) for p, g in zip(pages, got, strict=True)], len(pages) / best


def _day(got: Extraction | None, expected: Expected) -> bool:
    value = got.published if got else None
    if value is None or expected.published is None:
        return value is None and expected.published is None
    return value[:10] == expected.published[:10]


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds per tool")
    parser.add_argument("--pages", action="store_true", help="also print each tool's F1 per page family")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    pages = load_pages()
    n = len(pages)
    families = sorted({p.family for p in pages})
    print(f"corpus: {n} pages in {len(families)} families ({CORPUS.relative_to(REPO)})")
    print(
        f"{'tool':<14} {'body P':>7} {'R':>6} {'F1':>6} {'titles':>7} {'leads':>6} {'pub':>6} {'pub day':>7} "
        f"{'upd':>6} {'pages/s':>8}"
    )
    per_family: dict[str, dict[str, float]] = {}
    for name, module, factory in TOOLS:
        if module is not None and importlib.util.find_spec(module) is None:
            print(f"{name:<14} not installed")
            continue
        if factory is None:
            print(f"{name:<14} installed, but it only parses the publishers it has parsers for (no municipality)")
            continue
        extract = factory()
        scores, speed = measure(extract, pages, args.rounds)
        body = sum((s.body for s in scores), Overlap())
        days = sum(_day(_safe(extract, p), p.expected) for p in pages)
        print(
            f"{name:<14} {body.precision:>7.3f} {body.recall:>6.3f} {body.f1:>6.3f} "
            f"{sum(s.title for s in scores):>3}/{n:<3} {sum(s.lead for s in scores):>2}/{n:<3} "
            f"{sum(s.published for s in scores):>2}/{n:<3} {days:>3}/{n:<3} "
            f"{sum(s.updated for s in scores):>2}/{n:<3} {speed:>8.1f}"
        )
        per_family[name] = {
            fam: sum((s.body for p, s in zip(pages, scores, strict=True) if p.family == fam), Overlap()).f1
            for fam in families
        }
    if args.pages and per_family:
        print()
        print(f"{'body F1':<16}" + "".join(f"{name:>15}" for name in per_family))
        for fam in families:
            print(f"{fam:<16}" + "".join(f"{per_family[name][fam]:>15.3f}" for name in per_family))
    return 0


if __name__ == "__main__":
    sys.exit(main())
