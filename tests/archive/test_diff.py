"""Word diffs between versions."""

from __future__ import annotations

from archive.diff import diff_html, diff_text, word_diff

OLD = "Byrådet vedtog budgettet tirsdag. Skatten stiger ikke."
NEW = "Byrådet vedtog budgettet onsdag. Skatten stiger ikke, og grundskylden falder."


def test_pieces_rebuild_both_texts() -> None:
    pieces = word_diff(OLD, NEW)
    assert "".join(p.text for p in pieces if p.op != "added") == OLD
    assert "".join(p.text for p in pieces if p.op != "removed") == NEW
    assert [p.text.strip() for p in pieces if p.op == "removed"] == ["tirsdag.", "ikke."]


def test_renderings() -> None:
    pieces = word_diff(OLD, NEW)
    assert "[-tirsdag.-] {+onsdag.+}" in diff_text(pieces)
    html = diff_html(word_diff("a <b>", "a <i>"))
    assert "<del>&lt;b&gt;</del><ins>&lt;i&gt;</ins>" in html


def test_context_is_shortened_far_from_changes() -> None:
    long = " ".join(f"ord{i}" for i in range(100))
    text = diff_text(word_diff(long + " slut", long + " ende"), context=3)
    assert text.startswith("… ord97 ord98 ord99 ") and "[-slut-]" in text and "{+ende+}" in text
