"""Extraction scoring: how close one extraction comes to what a reader sees on the page.

Pure functions on plain values, used by the quality gate (``tests/pipelines/test_quality_gate.py``)
and the extractor comparison (``bench/quality.py``).

**Tokens.** A text is normalised to Unicode NFC and lower-cased (``str.casefold``); a token is
then a maximal run of word characters (``\\w``: letters in any script, digits, underscore), so
punctuation, list markers, table pipes and whitespace only separate tokens and never count:
``"Mandag | 10.00-15.00"`` and ``"- Mandag 10.00–15.00"`` both read ``mandag 10 00 15 00``.

**Body precision and recall** compare the word 4-grams (every run of four consecutive tokens,
counted as a multiset) of the extracted *article text* with those of the expected one. The
article text is the lead followed by the body, without the title: where the boundary between
lead and body falls is scored separately (lead match), so an extractor that leaves the lead in
the body is not punished twice. A text of one to three tokens is a single shorter n-gram.
``precision = matched / extracted n-grams`` (boilerplate that came through lowers it);
``recall = matched / expected n-grams`` (article text that was lost lowers it). An empty
extraction of a non-empty page has precision 0 and recall 0. Over a corpus the figures are
micro-averaged: matched, extracted and expected n-grams are summed over the pages first.

**Exact fields** (title, lead, published, updated) match when both are None, or when both are
strings equal after NFC and whitespace normalisation (case and punctuation count). Dates are
the ISO strings ``pipelines.extraction.extract_article`` returns
(``2026-05-08T11:01:00+02:00``, ``2018-02-05``, ``2012-10``), so precision counts too.

**Key sentences** must each appear in the extracted title, lead or text as a substring after
whitespace normalisation. **Items** (list entries, table rows, FAKTA lines) must each appear as
a contiguous run of tokens, so table pipes and list dashes do not matter. **Absent** strings
(boilerplate) must not appear (whitespace-normalised substring).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "Expected",
    "NGRAM",
    "Extraction",
    "Overlap",
    "PageScore",
    "body_overlap",
    "exact_match",
    "leaked",
    "missing_items",
    "missing_sentences",
    "ngrams",
    "score_page",
    "tokens",
]

_TOKEN = re.compile(r"\w+")
NGRAM = 4
"""The n-gram length of body precision and recall."""


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _squash(text: str) -> str:
    return " ".join(_nfc(text).split())


def tokens(text: str | None) -> list[str]:
    """Split a text into scoring tokens (NFC, case-folded, punctuation-insensitive).

    Args:
        text: any text; None counts as empty.

    Returns:
        The tokens in order.
    """
    return _TOKEN.findall(_nfc(text or "").casefold())


def ngrams(toks: list[str], n: int = NGRAM) -> Counter[tuple[str, ...]]:
    """Count the n-grams of a token list (a text shorter than ``n`` is one shorter n-gram).

    Args:
        toks: tokens from :func:`tokens`.
        n: the n-gram length.

    Returns:
        A multiset of n-grams.
    """
    if not toks:
        return Counter()
    if len(toks) < n:
        return Counter([tuple(toks)])
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


@dataclass(frozen=True, slots=True)
class Overlap:
    """N-gram counts of one comparison; add them to pool pages (micro-average)."""

    matched: int = 0
    extracted: int = 0
    expected: int = 0

    def __add__(self, other: Overlap) -> Overlap:
        """Pool two comparisons."""
        return Overlap(self.matched + other.matched, self.extracted + other.extracted, self.expected + other.expected)

    @property
    def precision(self) -> float:
        """Share of extracted n-grams that are expected (1.0 when nothing was expected or extracted)."""
        if self.extracted == 0:
            return 1.0 if self.expected == 0 else 0.0
        return self.matched / self.extracted

    @property
    def recall(self) -> float:
        """Share of expected n-grams that were extracted (1.0 when nothing was expected)."""
        if self.expected == 0:
            return 1.0
        return self.matched / self.expected

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def body_overlap(extracted: str | None, expected: str | None, n: int = NGRAM) -> Overlap:
    """Compare an extracted article text with the expected one on word n-grams.

    Args:
        extracted: what the extractor gave (lead and body).
        expected: what a reader sees as the article (lead and body).
        n: the n-gram length.

    Returns:
        The matched, extracted and expected n-gram counts.
    """
    got, want = ngrams(tokens(extracted), n), ngrams(tokens(expected), n)
    return Overlap(sum((got & want).values()), sum(got.values()), sum(want.values()))


def exact_match(got: str | None, expected: str | None) -> bool:
    """Whether a field matches exactly (None only matches None; NFC, whitespace-normalised).

    Args:
        got: the extracted value.
        expected: the expected value.

    Returns:
        True when they match.
    """
    if got is None or expected is None:
        return got is None and expected is None
    return _squash(got) == _squash(expected)


def missing_sentences(sentences: Iterable[str], extracted: str) -> list[str]:
    """Key sentences that do not appear in the extraction (whitespace-normalised substrings).

    Args:
        sentences: sentences that must be present.
        extracted: the whole extraction (title, lead, text).

    Returns:
        The missing ones, in the given order.
    """
    haystack = _squash(extracted)
    return [s for s in sentences if _squash(s) not in haystack]


def missing_items(items: Iterable[str], extracted: str) -> list[str]:
    """List entries or table rows whose tokens do not appear as a contiguous run in the extraction.

    Args:
        items: entries that must come through (``"Mandag 10.00-15.00"``).
        extracted: the whole extraction.

    Returns:
        The missing ones, in the given order.
    """
    haystack = f" {' '.join(tokens(extracted))} "
    return [item for item in items if f" {' '.join(tokens(item))} " not in haystack]


def leaked(absent: Iterable[str], extracted: str) -> list[str]:
    """Strings that must not come through but did (whitespace-normalised substrings).

    Args:
        absent: boilerplate strings.
        extracted: the whole extraction.

    Returns:
        The ones found, in the given order.
    """
    haystack = _squash(extracted)
    return [s for s in absent if _squash(s) in haystack]


@dataclass(frozen=True, slots=True)
class Extraction:
    """What an extractor gave for one page (any extractor: ours, trafilatura, news-please)."""

    title: str | None
    lead: str | None
    text: str | None
    published: str | None = None
    updated: str | None = None

    @property
    def article_text(self) -> str:
        """Lead and body, the text body precision and recall are computed on."""
        return "\n".join(filter(None, (self.lead, self.text)))

    @property
    def whole(self) -> str:
        """Title, lead and body: where key sentences, items and boilerplate are looked for."""
        return "\n".join(filter(None, (self.title, self.lead, self.text)))


@dataclass(frozen=True, slots=True)
class Expected:
    """A page's expectations, as kept in ``expected.json``."""

    title: str | None
    lead: str | None
    body: str
    published: str | None = None
    updated: str | None = None
    key_sentences: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Expected:
        """Read expectations from a parsed ``expected.json``.

        Args:
            data: the JSON object (``title``, ``lead``, ``body``, ``published``, ``updated``,
                ``key_sentences``, ``items``, ``absent``; other keys are ignored).

        Returns:
            The expectations.

        Raises:
            KeyError: when ``title``, ``lead`` or ``body`` is missing.
        """
        return cls(
            title=data["title"],
            lead=data["lead"],
            body=data["body"],
            published=data.get("published"),
            updated=data.get("updated"),
            key_sentences=tuple(data.get("key_sentences", ())),
            items=tuple(data.get("items", ())),
            absent=tuple(data.get("absent", ())),
        )

    @property
    def article_text(self) -> str:
        """Lead and body."""
        return "\n".join(filter(None, (self.lead, self.body)))


@dataclass(frozen=True, slots=True)
class PageScore:
    """One page scored against its expectations."""

    body: Overlap
    title: bool
    lead: bool
    published: bool
    updated: bool
    missing_sentences: list[str] = field(default_factory=list)
    missing_items: list[str] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)

    @property
    def dates(self) -> bool:
        """Both dates exact."""
        return self.published and self.updated


def score_page(expected: Expected, got: Extraction | None) -> PageScore:
    """Score one extraction (None: the extractor gave nothing) against a page's expectations.

    Args:
        expected: the page's expectations.
        got: the extraction, or None.

    Returns:
        The page's score.
    """
    got = got or Extraction(title=None, lead=None, text=None)
    whole = got.whole
    return PageScore(
        body=body_overlap(got.article_text, expected.article_text),
        title=exact_match(got.title, expected.title),
        lead=exact_match(got.lead, expected.lead),
        published=exact_match(got.published, expected.published),
        updated=exact_match(got.updated, expected.updated),
        missing_sentences=missing_sentences(expected.key_sentences, whole),
        missing_items=missing_items(expected.items, whole),
        leaked=leaked(expected.absent, whole),
    )
