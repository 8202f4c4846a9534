"""Extraction quality gate: the fixture corpus scored against a pinned floor (trafilatura's eval gate).

Every page under ``tests/fixtures/quality/<family>/<case>/`` (``page.html``, ``meta.json`` with
url, site and fetched_at, ``expected.json``) is extracted with its site's profile and scored by
``pipelines.scoring``. The corpus-wide figures must stay at or above
``tests/fixtures/quality_floor.json``; a failure prints every page, worst first. Lists and tables
(FAKTA boxes, opening hours, bullet lists) must come through on every page, with no floor.
See docs/quality.md.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest

from koege_spider.sites import load_profile
from pipelines.extraction import extract_article
from pipelines.scoring import Expected, Extraction, Overlap, PageScore, score_page
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "quality"
FLOOR = json.loads((FIXTURES / "quality_floor.json").read_text(encoding="utf-8"))
CASES = sorted(p.parent for p in CORPUS.glob("*/*/expected.json"))


@dataclass(frozen=True)
class Result:
    case: str
    expected: Expected
    got: Extraction | None
    score: PageScore


def _extract(case: Any) -> Result:
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    expected = Expected.from_json(json.loads((case / "expected.json").read_text(encoding="utf-8")))
    article = extract_article(
        (case / "page.html").read_text(encoding="utf-8"),
        meta["url"],
        fetched_at=dt.datetime.fromisoformat(meta["fetched_at"]),
        profile=load_profile(meta["site"]),
    )
    got = None
    if article is not None:
        got = Extraction(article.title, article.lead, article.text, article.published, article.updated)
    return Result(f"{case.parent.name}/{case.name}", expected, got, score_page(expected, got))


@pytest.fixture(scope="module")
def results() -> list[Result]:
    return [_extract(case) for case in CASES]


def _figures(results: list[Result]) -> dict[str, float]:
    body = sum((r.score.body for r in results), Overlap())
    n = len(results)
    return {
        "body_precision": body.precision,
        "body_recall": body.recall,
        "title_exact": sum(r.score.title for r in results) / n,
        "lead_exact": sum(r.score.lead for r in results) / n,
        "published_exact": sum(r.score.published for r in results) / n,
        "updated_exact": sum(r.score.updated for r in results) / n,
        "key_sentences_present": sum(not r.score.missing_sentences for r in results) / n,
        "boilerplate_free": sum(not r.score.leaked for r in results) / n,
    }


def _table(results: list[Result]) -> str:
    def mark(ok: bool) -> str:
        return "ok" if ok else "--"

    lines = [f"{'page':55} {'P':>6} {'R':>6} {'F1':>6} title lead pub  upd  problems"]
    for r in sorted(results, key=lambda r: (r.score.body.f1, r.score.title + r.score.dates)):
        s = r.score
        problems = [f"missing {m!r}" for m in s.missing_sentences + s.missing_items]
        problems += [f"leaked {x!r}" for x in s.leaked]
        if not s.published:
            problems.append(f"published {r.got.published if r.got else None!r} != {r.expected.published!r}")
        if not s.updated:
            problems.append(f"updated {r.got.updated if r.got else None!r} != {r.expected.updated!r}")
        if not s.title:
            problems.append(f"title {r.got.title if r.got else None!r}")
        lines.append(
            f"{r.case:55} {s.body.precision:6.3f} {s.body.recall:6.3f} {s.body.f1:6.3f} "
            f"{mark(s.title):5} {mark(s.lead):4} {mark(s.published):4} {mark(s.updated):4} {'; '.join(problems)[:200]}"
        )
    return "\n".join(lines)


def test_the_corpus_covers_every_platform_family() -> None:
    families = {case.parent.name for case in CASES}
    assert families >= {"koege-sitecore", "koege-new", "moliri", "gopublic", "drupal", "ritzau"}
    assert len(CASES) >= 40
    for case in CASES:
        expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
        assert expected["body"].strip(), case
        assert expected["key_sentences"], case


def test_the_corpus_holds_lists_tables_and_fact_boxes() -> None:
    bodies = [(case / "page.html").read_text(encoding="utf-8") for case in CASES]
    assert sum("FAKTA" in b or "Fakta" in b for b in bodies) >= 8
    assert sum("<table" in b for b in bodies) >= 8
    assert sum("<ul>" in b or "<ol>" in b for b in bodies) >= 10


def test_extraction_stays_above_the_floor(results: list[Result]) -> None:
    figures = _figures(results)
    below = {k: round(v, 4) for k, v in figures.items() if v < FLOOR[k]}
    assert not below, f"below the floor {below} (floor {FLOOR})\n{_table(results)}"


@pytest.mark.parametrize("case", [c for c in CASES if json.loads((c / "expected.json").read_text())["items"]], ids=str)
def test_lists_and_tables_come_through(case: Any) -> None:
    result = _extract(case)
    assert result.got is not None
    assert result.score.missing_items == [], result.got.text


def test_the_floor_is_pinned_close_to_what_we_measure(results: list[Result]) -> None:
    """A floor far below the measured figures would let a regression through unseen: raise it."""
    figures = _figures(results)
    slack = {k: round(v - FLOOR[k], 4) for k, v in figures.items()}
    slack = {k: v for k, v in slack.items() if v > FLOOR["max_slack"]}
    assert not slack, f"raise these floors in quality_floor.json: {slack}"
