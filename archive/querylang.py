"""The search query language: what a person types, parsed safely and rendered for each backend.

Words are ANDed; ``"quoted words"`` are phrases; ``word*`` is a prefix; ``AND``/``OG``,
``OR``/``ELLER``, ``NOT``/``IKKE`` (upper case) and ``-word`` combine them; parentheses group.
Anything else (quotes left open, ``NEAR(``, SQL fragments, stray operators) is read leniently:
the parser never fails on punctuation, it raises :class:`QueryError` only for a query with no
word to search for, one that only excludes, or one that is too long.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archive.analysis import Matcher

if TYPE_CHECKING:
    from archive.analysis import DanishAnalyzer

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "And",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "QueryError",
    "Term",
    "matcher_for",
    "parse_query",
    "to_fts5",
    "to_tsquery",
]

#: Longest query accepted, in characters.
MAX_QUERY_CHARS = 2000
#: Most words and phrases in one query.
MAX_TERMS = 64

_LEX = re.compile(r'"(?P<phrase>[^"]*)"?(?P<star>\*)?|(?P<open>\()|(?P<close>\))|(?P<bare>[^\s()"]+)')
_WORD = re.compile(r"[^\W_]+")
_AND, _OR, _NOT = {"AND", "OG", "&", "&&"}, {"OR", "ELLER", "|", "||"}, {"NOT", "IKKE"}


class QueryError(ValueError):
    """A search or filter the archive cannot run; the message says how to phrase it."""


@dataclass(frozen=True, slots=True)
class Term:
    """One word (lowercase); ``prefix`` for ``word*``."""

    word: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words in this order, next to each other; ``prefix`` applies to the last one."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class And:
    """All of the items (a :class:`Not` item excludes)."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Any of the items."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Documents without the item (only inside an :class:`And` with something to find)."""

    item: Node


Node = Term | Phrase | And | Or | Not


def _leaf(text: str, prefix: bool) -> Term | Phrase | None:
    words = tuple(_WORD.findall(unicodedata.normalize("NFC", text).lower()))
    if not words:
        return None
    if len(words) == 1:
        return Term(words[0], prefix)
    return Phrase(words, prefix)


def _lex(query: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    for m in _LEX.finditer(query):
        if m.group("open"):
            tokens.append(("(", None))
        elif m.group("close"):
            tokens.append((")", None))
        elif m.group("bare") is not None:
            bare = m.group("bare")
            if bare in _AND:
                tokens.append(("and", None))
            elif bare in _OR:
                tokens.append(("or", None))
            elif bare in _NOT:
                tokens.append(("not", None))
            else:
                negate = bare.startswith("-") and len(bare) > 1
                leaf = _leaf(bare.lstrip("-+"), bare.endswith("*"))
                if leaf is not None:
                    if negate:
                        tokens.append(("not", None))
                    tokens.append(("leaf", leaf))
        else:
            leaf = _leaf(m.group("phrase") or "", bool(m.group("star")))
            if isinstance(leaf, Term) and not leaf.prefix:
                leaf = Phrase((leaf.word,))
            if leaf is not None:
                tokens.append(("leaf", leaf))
    return tokens


class _Parser:
    """Recursive descent; lenient: stray operators and parentheses are skipped, never an error."""

    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def parse(self) -> Node | None:
        items: list[Node] = []
        while self.pos < len(self.tokens):
            node = self.or_expr()
            if node is not None:
                items.append(node)
            if self.peek() == ")":  # a ")" with no "(": skip it
                self.pos += 1
        return _join(And, items)

    def or_expr(self) -> Node | None:
        items = [self.and_expr()]
        while self.peek() == "or":
            self.pos += 1
            items.append(self.and_expr())
        return _join(Or, [i for i in items if i is not None])

    def and_expr(self) -> Node | None:
        items: list[Node] = []
        while self.peek() not in (None, ")", "or"):
            if self.peek() == "and":
                self.pos += 1
                continue
            node = self.unary()
            if node is not None:
                items.append(node)
        return _join(And, items)

    def unary(self) -> Node | None:
        kind = self.peek()
        self.pos += 1
        if kind == "not":
            if self.peek() in (None, ")", "or", "and"):
                return None
            inner = self.unary()
            return Not(inner) if inner is not None else None
        if kind == "(":
            inner = self.or_expr()
            if self.peek() == ")":
                self.pos += 1
            return inner
        if kind == "leaf":
            leaf: Node = self.tokens[self.pos - 1][1]
            return leaf
        return None


def _join(kind: type[And] | type[Or], items: list[Node]) -> Node | None:
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


def _count_terms(node: Node) -> int:
    if isinstance(node, Term | Phrase):
        return 1
    if isinstance(node, Not):
        return _count_terms(node.item)
    return sum(_count_terms(i) for i in node.items)


def _positive(node: Node) -> bool:
    """True when the node can find documents by itself (is not only an exclusion)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_positive(i) for i in node.items) and all(_positive(i) or isinstance(i, Not) for i in node.items)
    if isinstance(node, Or):
        return all(_positive(i) for i in node.items)
    return True


def parse_query(query: str) -> Node:
    """Parse what a person typed.

    Args:
        query: the query text, any characters.

    Returns:
        The query tree.

    Raises:
        QueryError: no word to search for, only exclusions, a one-letter prefix, or too long.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the query is {len(query):,} characters long; a search takes at most {MAX_QUERY_CHARS:,}. "
            "Shorten it, or split it into several searches"
        )
    node = _Parser(_lex(query)).parse()
    if node is None:
        raise QueryError('the query holds no word to search for; try e.g. affald or "grøn vækst"')
    if _count_terms(node) > MAX_TERMS:
        raise QueryError(f"the query has {_count_terms(node)} words and phrases; a search takes at most {MAX_TERMS}")
    if not _positive(node):
        raise QueryError(
            "NOT (or -word) only excludes: say what to find as well, e.g. affald NOT papir, or affald -papir"
        )
    for leaf in _leaves(node):
        last = leaf.word if isinstance(leaf, Term) else leaf.words[-1]
        if leaf.prefix and len(last) < 2:
            raise QueryError(f"{last}* is too short a prefix; give at least two letters before *, e.g. af*")
    return node


def _leaves(node: Node) -> list[Term | Phrase]:
    if isinstance(node, Term | Phrase):
        return [node]
    if isinstance(node, Not):
        return _leaves(node.item)
    return [leaf for i in node.items for leaf in _leaves(i)]


def matcher_for(node: Node, analyzer: DanishAnalyzer) -> Matcher:
    """What to highlight in a hit: the words the query looks for (not the excluded ones).

    Args:
        node: a parsed query.
        analyzer: the Danish analyzer.

    Returns:
        A matcher for snippets.
    """
    stems: set[str] = set()
    prefixes: list[str] = []

    def visit(n: Node) -> None:
        if isinstance(n, Not):
            return
        if isinstance(n, And | Or):
            for i in n.items:
                visit(i)
            return
        words = [n.word] if isinstance(n, Term) else list(n.words)
        if n.prefix:
            last = words.pop()
            prefixes.extend({last, analyzer.stem(last)})
        stems.update(analyzer.stems(words))

    visit(node)
    return Matcher.build(frozenset(stems), tuple(sorted(set(prefixes))))


def to_fts5(node: Node, analyzer: DanishAnalyzer) -> str:
    """Render a query for an SQLite FTS5 index of stems (every word quoted: nothing is syntax).

    Args:
        node: a parsed query.
        analyzer: the Danish analyzer (the same stems as the index).

    Returns:
        An FTS5 MATCH expression.
    """
    if isinstance(node, Term):
        stem = analyzer.stem(node.word)
        if not node.prefix:
            return f'"{stem}"'
        if node.word.startswith(stem):
            return f'"{stem}"*'
        return f'("{stem}"* OR "{node.word}"*)'
    if isinstance(node, Phrase):
        return '"' + " ".join(analyzer.stems(node.words)) + '"' + ("*" if node.prefix else "")
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts5(i, analyzer) for i in node.items) + ")"
    if isinstance(node, And):
        found = [to_fts5(i, analyzer) for i in node.items if not isinstance(i, Not)]
        left = "(" + " AND ".join(found) + ")"
        excluded = [to_fts5(i.item, analyzer) for i in node.items if isinstance(i, Not)]
        return left + (" NOT (" + " OR ".join(excluded) + ")" if excluded else "")
    raise QueryError("NOT only excludes: say what to find as well, e.g. affald NOT papir")


def to_tsquery(node: Node, params: dict[str, Any]) -> str:
    """Render a query as a PostgreSQL tsquery expression (``danish`` configuration).

    Every word goes in as a bound parameter; only the operators are SQL.

    Args:
        node: a parsed query.
        params: bound parameters, filled in here.

    Returns:
        An SQL expression of type tsquery.
    """
    if isinstance(node, Term | Phrase):
        name = f"tq{len(params)}"
        if isinstance(node, Term) and node.prefix:
            params[name] = f"{node.word}:*"
            return f"to_tsquery('danish', :{name})"
        if isinstance(node, Term):
            params[name] = node.word
            return f"plainto_tsquery('danish', :{name})"
        if node.prefix:
            params[name] = " <-> ".join(node.words) + ":*"
            return f"to_tsquery('danish', :{name})"
        params[name] = " ".join(node.words)
        return f"phraseto_tsquery('danish', :{name})"
    if isinstance(node, Not):
        return f"(!! {to_tsquery(node.item, params)})"
    glue = " && " if isinstance(node, And) else " || "
    return "(" + glue.join(to_tsquery(i, params) for i in node.items) + ")"
