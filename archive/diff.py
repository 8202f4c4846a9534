"""Word-level differences between two texts (two versions of an article)."""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["DiffPiece", "diff_html", "diff_text", "word_diff"]

# Words with the spacing that follows them, so that joining pieces gives the text back.
_TOKEN = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True, slots=True)
class DiffPiece:
    """A run of text that is the same in both versions, or only in the old or the new one."""

    op: Literal["same", "removed", "added"]
    text: str


def word_diff(old: str, new: str) -> list[DiffPiece]:
    """Compare two texts word by word.

    Args:
        old: the earlier text.
        new: the later text.

    Returns:
        Pieces in reading order; the ``same`` and ``removed`` pieces joined give ``old``, the
        ``same`` and ``added`` pieces joined give ``new``.
    """
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    pieces: list[DiffPiece] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(DiffPiece("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(DiffPiece("removed", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(DiffPiece("added", "".join(b[j1:j2])))
    return pieces


def diff_text(pieces: list[DiffPiece], *, context: int | None = 12) -> str:
    """Render a diff for a terminal: ``[-removed-]`` and ``{+added+}`` (git's word-diff style).

    Args:
        pieces: from :func:`word_diff`.
        context: words of unchanged text kept around each change (None keeps all).

    Returns:
        The rendered text.
    """
    out = []
    last = len(pieces) - 1
    for i, piece in enumerate(pieces):
        if piece.op != "same":
            body = piece.text.rstrip()
            mark = ("[-", "-]") if piece.op == "removed" else ("{+", "+}")
            out.append(f"{mark[0]}{body}{mark[1]}{piece.text[len(body) :]}")
            continue
        words = piece.text.split()
        if context is None or len(words) <= 2 * context:
            out.append(piece.text)
        elif i == 0:
            out.append("… " + " ".join(words[-context:]) + " ")
        elif i == last:
            out.append(" ".join(words[:context]) + " …")
        else:
            out.append(" ".join(words[:context]) + " … " + " ".join(words[-context:]) + " ")
    return "".join(out)


def diff_html(pieces: list[DiffPiece]) -> str:
    """Render a diff as HTML with ``<del>`` and ``<ins>`` (text escaped).

    Args:
        pieces: from :func:`word_diff`.

    Returns:
        An HTML fragment.
    """
    tags = {"removed": "del", "added": "ins"}
    return "".join(
        html.escape(p.text) if p.op == "same" else f"<{tags[p.op]}>{html.escape(p.text)}</{tags[p.op]}>" for p in pieces
    )
