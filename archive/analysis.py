"""Danish text analysis for search: words, Snowball stems, and snippets mapped back to the text.

The same analysis runs when a text is indexed and when a query is read, so that
``vækstområdet`` and ``vækstområder`` meet at the stem ``vækstområd``. Æ, ø and å are letters
of their own (never folded to a/o). Compounds are not split: ``affald*`` (a prefix) finds
``affaldsordningen``, ``affald`` alone does not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
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
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(cls, stems: frozenset[str], prefixes: tuple[str, ...]) -> Matcher:
        """A matcher with the regular expression that finds candidate words fast."""
        starts = sorted(set(stems) | set(prefixes), key=len, reverse=True)
        pattern = (
            re.compile(r"(?<![^\W_])(?:" + "|".join(map(re.escape, starts)) + r")[^\W_]*", re.IGNORECASE)
            if starts
            else None
        )
        return cls(stems, prefixes, pattern)

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
        return _segments(text, 0, len(text), [(a, b) for a, b, _ in self._hits(text, matcher)])

    def snippet(self, text: str, matcher: Matcher, *, chars: int = 220) -> list[Segment]:
        """The passage of a text with the most (and the most varied) matches, matches marked.

        Args:
            text: the original text (not the stems).
            matcher: what to mark.
            chars: about how long the passage is.

        Returns:
            Segments on one line; an ellipsis starts or ends the passage where the text goes
            on. The start of the text when nothing matches.
        """
        text = unicodedata.normalize("NFC", text)
        hits = self._hits(text, matcher)
        start = _best_start(hits, chars)
        start = _word_start(text, start)
        end = min(len(text), start + chars)
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start else end
        spans = [(a, min(b, end)) for a, b, _ in hits if a >= start and a < end]
        pieces = [Segment(re.sub(r"\s+", " ", p.text), p.hit) for p in _segments(text, start, end, spans)]
        if start > 0:
            pieces.insert(0, Segment("… ", False))
        if end < len(text):
            pieces.append(Segment(" …", False))
        return pieces

    def _hits(self, text: str, matcher: Matcher) -> list[tuple[int, int, str]]:
        """(start, end, stem) of every word in the text the matcher accepts, in order."""
        if matcher._pattern is None:
            return []
        found = []
        for m in matcher._pattern.finditer(text):
            word = m.group().lower()
            stem = self.stem(word)
            if matcher.matches(word, stem):
                found.append((m.start(), m.end(), stem))
        return found


def _word_start(text: str, at: int) -> int:
    while at > 0 and not (text[at - 1].isspace()):
        at -= 1
    return at


def _best_start(hits: list[tuple[int, int, str]], size: int) -> int:
    """Where to start a passage of ``size`` characters holding the most distinct, then most, hits."""
    if not hits:
        return 0
    best, best_key, lo = 0, (-1, -1), 0
    for hi, (_start, end, _stem) in enumerate(hits):
        while hits[lo][0] <= end - size:
            lo += 1
        inside = hits[lo : hi + 1]
        key = (len({h[2] for h in inside}), len(inside))
        if key > best_key:
            best_key = key
            # Centre the hits, so they read in context.
            best = max(0, hits[lo][0] - (size - (end - hits[lo][0])) // 2)
    return best


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
