"""Danish text analysis for search: words, Snowball stems, and snippets mapped back to the text.

The same analysis runs when a text is indexed and when a query is read, so that
``vækstområdet`` and ``vækstområder`` meet at the stem ``vækstområd``. Æ, ø and å are letters
of their own (never folded to a/o). Compounds are not split: ``affald*`` (a prefix) finds
``affaldsordningen``, ``affald`` alone does not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

import Stemmer

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "ANALYZER_VERSION",
    "DanishAnalyzer",
    "Matcher",
    "Segment",
    "section_of",
]

#: Changes whenever indexed text would come out differently (tokenizer, stemmer, folding).
ANALYZER_VERSION = f"da-snowball-{Stemmer.version()}-1"

# Letters and digits; everything else (punctuation, hyphen, underscore) separates words, as
# SQLite's unicode61 tokenizer does.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a snippet: plain text, or a word that matched the query (``hit``)."""

    text: str
    hit: bool


@dataclass(frozen=True, slots=True)
class Matcher:
    """What counts as a hit in a text: stems of words and phrases, and prefixes."""

    stems: frozenset[str]
    prefixes: tuple[str, ...]

    def matches(self, word: str, stem: str) -> bool:
        """True when a word (lowercase) with this stem is one the query asked for."""
        return stem in self.stems or any(word.startswith(p) or stem.startswith(p) for p in self.prefixes)


class DanishAnalyzer:
    """Words and stems of Danish text (one per thread: the stemmer keeps a cache)."""

    def __init__(self) -> None:
        """Load the Danish Snowball stemmer."""
        self._stemmer = Stemmer.Stemmer("danish")

    def words(self, text: str) -> list[str]:
        """The lowercase words of a text, in order."""
        return _WORD.findall(unicodedata.normalize("NFC", text).lower())

    def stem(self, word: str) -> str:
        """The stem of one lowercase word."""
        return str(self._stemmer.stemWord(word))

    def stems(self, words: Iterable[str]) -> list[str]:
        """The stems of lowercase words, in order."""
        return list(self._stemmer.stemWords(list(words)))

    def index_text(self, text: str | None) -> str:
        """The text as it is indexed: its stems, space-separated, one per word position."""
        if not text:
            return ""
        return " ".join(self._stemmer.stemWords(self.words(text)))

    def highlight(self, text: str, matcher: Matcher) -> list[Segment]:
        """The whole text as segments, with every matching word marked.

        Args:
            text: the original text.
            matcher: what to mark.

        Returns:
            Segments whose texts joined give ``text`` back (NFC-normalised).
        """
        text = unicodedata.normalize("NFC", text)
        spans = self._hits(text, matcher)
        return _segments(text, 0, len(text), spans)

    def snippet(self, text: str, matcher: Matcher, *, words: int = 32) -> list[Segment]:
        """The passage of a text with the most (and the most varied) matches, matches marked.

        Args:
            text: the original text (not the stems).
            matcher: what to mark.
            words: about how many words the passage holds.

        Returns:
            Segments; an ellipsis starts or ends the passage where the text goes on. The start
            of the text when nothing matches.
        """
        text = unicodedata.normalize("NFC", text)
        tokens = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        if not tokens:
            return [Segment(text[:300], False)] if text else []
        hit_index = self._hit_indexes(text, tokens, matcher)
        first = _best_window(hit_index, len(tokens), words)
        last = min(len(tokens), first + words) - 1
        start = 0 if first == 0 else tokens[first][0]
        end = len(text) if last == len(tokens) - 1 else tokens[last][1]
        spans = [tokens[i] for i in sorted(hit_index) if first <= i <= last]
        pieces = _segments(text, start, end, spans)
        # One line: paragraphs and runs of spaces collapse.
        pieces = [Segment(re.sub(r"\s+", " ", p.text), p.hit) for p in pieces]
        if start > 0:
            pieces.insert(0, Segment("… ", False))
        if end < len(text):
            pieces.append(Segment(" …", False))
        return pieces

    def _hit_indexes(self, text: str, tokens: list[tuple[int, int]], matcher: Matcher) -> dict[int, str]:
        lowered = [text[a:b].lower() for a, b in tokens]
        stems = self._stemmer.stemWords(lowered)
        return {i: s for i, (w, s) in enumerate(zip(lowered, stems, strict=True)) if matcher.matches(w, s)}

    def _hits(self, text: str, matcher: Matcher) -> list[tuple[int, int]]:
        tokens = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        return [tokens[i] for i in sorted(self._hit_indexes(text, tokens, matcher))]


def _best_window(hits: dict[int, str], n_tokens: int, size: int) -> int:
    """First token of the window of ``size`` tokens with the most distinct, then most, hits."""
    if not hits:
        return 0
    positions = sorted(hits)
    best, best_key = 0, (-1, -1)
    lo = 0
    for hi, pos in enumerate(positions):
        while positions[lo] <= pos - size:
            lo += 1
        inside = positions[lo : hi + 1]
        key = (len({hits[p] for p in inside}), len(inside))
        if key > best_key:
            best_key = key
            # Centre the window's hits, so they read in context.
            best = max(0, positions[lo] - (size - (pos - positions[lo] + 1)) // 2)
    return min(best, max(0, n_tokens - size)) if n_tokens > size else 0


def _segments(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> list[Segment]:
    pieces: list[Segment] = []
    at = start
    for a, b in spans:
        if a > at:
            pieces.append(Segment(text[at:a], False))
        pieces.append(Segment(text[a:b], True))
        at = b
    if at < end:
        pieces.append(Segment(text[at:end], False))
    return pieces


def section_of(url: str) -> str | None:
    """The section of a document: the URL folder that holds it, date folders skipped.

    ``/Service/Nyheder/2018/02/X.aspx`` is in ``nyheder``;
    ``/om-koege-kommune/…/pressemeddelelser/slug`` in ``pressemeddelelser``.

    Args:
        url: the canonical URL.

    Returns:
        The lowercase folder name, or None for a page at the root.
    """
    path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", url, flags=re.IGNORECASE).split("?")[0].split("#")[0]
    folders = [f for f in path.split("/")[:-1] if f and not f.isdigit()]
    return folders[-1].lower() if folders else None
