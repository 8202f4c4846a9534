"""Date benchmark: accuracy and snippets/s of pipelines.dates against plain dateparser.

Runs, in one process on the same corpus (``tests/pipelines/danish_dates_corpus.tsv``):
- ``parse_danish_date`` and ``find_danish_dates`` (first hit) from pipelines.dates;
- plain ``dateparser.parse(text, languages=['da'])``;
- plain ``dateparser.search.search_dates(text, languages=['da'])`` (first hit), and the same with
  ``DATE_ORDER='DMY'`` (the configuration TRAPS.md calls the best plain one).
Rows that carry a reference date give it to dateparser as ``RELATIVE_BASE``; rows without one
leave dateparser on its defaults (the wall clock), which is what plain use looks like.

A hit is right when it equals the expected value at the expected precision (``YYYY-MM-DDTHH:MM``,
``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``) and, for ours, the expected range end too; dateparser
has no ranges, so only its start is compared (a lenient score). Expected None needs None.
Then it times find_danish_dates on 1 MB of real page text and on 1 MB of adversarial repetition.

    .venv/bin/python bench/dates.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.dates import COPENHAGEN, DanishDate, find_danish_dates, parse_danish_date

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "pipelines" / "danish_dates_corpus.tsv"
ARTICLE = Path("/work/shared/examples/koege_2018_article.txt")

Row = dict[str, Any]
Reader = Callable[[Row], Any]


def load_rows() -> list[Row]:
    """Read the corpus rows, with the reference parsed and escaped newlines restored."""
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    for row in rows:
        row["input"] = row["input"].replace("\\n", "\n").replace("\\t", "\t")
        raw = row["relative_to"]
        row["ref"] = None
        if raw:
            row["ref"] = dt.datetime.fromisoformat(raw) if "T" in raw else dt.date.fromisoformat(raw)
    return rows


def _precision(expected: str) -> str:
    if "T" in expected:
        return "minute"
    return {10: "day", 7: "month", 4: "year"}[len(expected)]


def _cut(value: dt.datetime, precision: str) -> str:
    fmt = {"minute": "%Y-%m-%dT%H:%M", "day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}
    return value.strftime(fmt[precision])


def _end_iso(found: DanishDate) -> str:
    if found.end is None:
        return ""
    if isinstance(found.end, dt.datetime):
        return found.end.strftime("%Y-%m-%dT%H:%M")
    return _cut(dt.datetime.combine(found.end, dt.time()), found.precision)


def _ours_right(found: DanishDate | None, row: Row) -> bool:
    got = ("", "") if found is None else (found.iso(), _end_iso(found))
    return got == (row["expected"], row["expected_end"])


def _dateparser_right(value: dt.datetime | None, row: Row) -> bool:
    if not row["expected"]:
        return value is None
    if value is None:
        return False
    if value.tzinfo is not None:  # "…Z" comes back aware: compare in Copenhagen time
        value = value.astimezone(COPENHAGEN)
    return bool(_cut(value, _precision(row["expected"])) == row["expected"])


def _base(row: Row) -> dict[str, Any]:
    ref = row["ref"]
    if ref is None:
        return {}
    if not isinstance(ref, dt.datetime):
        ref = dt.datetime.combine(ref, dt.time())
    return {"RELATIVE_BASE": ref.replace(tzinfo=None)}


def readers() -> dict[str, tuple[Reader, Callable[[Any, Row], bool]]]:
    """The contenders: a reader per name, and how to score its answer."""
    import dateparser
    from dateparser.search import search_dates

    def dp_parse(row: Row) -> dt.datetime | None:
        parsed: dt.datetime | None = dateparser.parse(row["input"], languages=["da"], settings=_base(row))
        return parsed

    def dp_search(row: Row, dmy: bool = False) -> dt.datetime | None:
        settings = _base(row) | ({"DATE_ORDER": "DMY"} if dmy else {})
        hits = search_dates(row["input"], languages=["da"], settings=settings)
        return hits[0][1] if hits else None

    return {
        "parse_danish_date": (
            lambda row: parse_danish_date(row["input"], relative_to=row["ref"]),
            _ours_right,
        ),
        "find_danish_dates": (
            lambda row: next(iter(find_danish_dates(row["input"], relative_to=row["ref"])), None),
            _ours_right,
        ),
        "dateparser.parse": (dp_parse, _dateparser_right),
        "search_dates": (dp_search, _dateparser_right),
        "search_dates DMY": (lambda row: dp_search(row, dmy=True), _dateparser_right),
    }


def _safe(reader: Reader, row: Row) -> Any:
    try:
        return reader(row)
    except Exception:  # noqa: BLE001 - a crash counts as a wrong answer for the contender
        return None


def measure(rows: list[Row], rounds: int) -> dict[str, tuple[float, float, int]]:
    """Return name -> (accuracy, snippets per second, rounds timed)."""
    results = {}
    for name, (reader, right) in readers().items():
        _safe(reader, rows[0])  # warm up: imports, locale loading
        answers = [_safe(reader, row) for row in rows]
        accuracy = sum(right(answer, row) for answer, row in zip(answers, rows, strict=True))
        n = rounds if name in ("parse_danish_date", "find_danish_dates") else 1
        start = time.perf_counter()
        for _ in range(n):
            for row in rows:
                _safe(reader, row)
        elapsed = time.perf_counter() - start
        results[name] = (accuracy / len(rows), n * len(rows) / elapsed, n)
    return results


def long_text() -> list[tuple[str, int, float]]:
    """Time find_danish_dates on 1 MB of page text and on 1 MB adversarial inputs."""
    page = ARTICLE.read_text(encoding="utf-8") if ARTICLE.exists() else "Opdateret af X 01.05.18\n"
    inputs = {
        "1 MB of the 2018 Køge article": page,
        "1 MB of 'i '": "i ",
        "1 MB of '1-'": "1-",
        "1 MB of '5. maj ' (142,857 dates)": "5. maj ",
    }
    out = []
    for label, unit in inputs.items():
        text = (unit * (1_000_000 // len(unit) + 1))[:1_000_000]
        start = time.perf_counter()
        found = find_danish_dates(text, relative_to=dt.date(2018, 2, 5))
        out.append((label, len(found), time.perf_counter() - start))
    return out


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="timing rounds for ours")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = load_rows()
    results = measure(rows, args.rounds)
    baseline = results["search_dates"][1]
    print(f"corpus: {len(rows)} snippets ({CORPUS.relative_to(REPO)})")
    print(f"{'reader':<20} {'accuracy':>9} {'snippets/s':>12} {'vs search_dates':>16}")
    for name, (accuracy, speed, _n) in results.items():
        print(f"{name:<20} {accuracy:>8.1%} {speed:>12,.0f} {speed / baseline:>15.1f}x")
    print()
    for label, count, seconds in long_text():
        print(f"find_danish_dates on {label}: {count} dates in {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
