"""pipelines.scoring: tokens, n-gram precision/recall and exact matches, on small Danish texts."""

from __future__ import annotations

import unicodedata

import pytest

from pipelines.scoring import (
    Expected,
    Extraction,
    Overlap,
    body_overlap,
    exact_match,
    leaked,
    missing_items,
    missing_sentences,
    ngrams,
    score_page,
    tokens,
)


def test_tokens_ignore_case_punctuation_and_unicode_form() -> None:
    decomposed = unicodedata.normalize("NFD", "Køge Å")
    assert tokens(f"- {decomposed}: Mandag | 10.00-15.00!") == ["køge", "å", "mandag", "10", "00", "15", "00"]
    assert tokens(None) == []


def test_ngrams_of_a_short_text_are_one_gram() -> None:
    assert ngrams(["a", "b"]) == {("a", "b"): 1}
    assert ngrams([]) == {}
    assert sum(ngrams(list("abcdef")).values()) == 3


def test_precision_counts_boilerplate_and_recall_counts_losses() -> None:
    body = "Borgerservice får nye åbningstider fra den 1. september."
    perfect = body_overlap(body, body)
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    noisy = body_overlap(f"Vi bruger cookies til statistik\n{body}", body)
    assert noisy.recall == 1.0
    assert noisy.precision < 0.7
    lost = body_overlap("Borgerservice får nye åbningstider", body)
    assert lost.precision == 1.0
    assert lost.recall == pytest.approx(1 / 5)  # 8 tokens, 5 four-grams, one of them kept


def test_an_empty_extraction_scores_zero() -> None:
    empty = body_overlap("", "Borgerservice får nye åbningstider fra den 1. september.")
    assert (empty.precision, empty.recall, empty.f1) == (0.0, 0.0, 0.0)
    assert body_overlap("", "").precision == 1.0


def test_overlaps_pool_as_a_micro_average() -> None:
    pooled = Overlap(9, 10, 10) + Overlap(0, 0, 90)
    assert pooled == Overlap(9, 10, 100)
    assert pooled.precision == 0.9
    assert pooled.recall == 0.09


@pytest.mark.parametrize(
    ("got", "expected", "match"),
    [
        ("2018-02-05", "2018-02-05", True),
        ("2018-02-05T00:00:00+01:00", "2018-02-05", False),
        (None, None, True),
        (None, "2018-02", False),
        ("Nyt fra byrådets  møde\n", "Nyt fra byrådets møde", True),
        ("nyt fra byrådets møde", "Nyt fra byrådets møde", False),
    ],
)
def test_exact_match(got: str | None, expected: str | None, match: bool) -> None:
    assert exact_match(got, expected) is match


def test_sentences_items_and_boilerplate() -> None:
    text = "FAKTA\n- Mandag | 10.00-15.00 |\nDigitalt borgermøde den 24.\njuni 2021 kl. 19-21."
    assert missing_sentences(["Digitalt borgermøde den 24. juni 2021 kl. 19-21."], text) == []
    assert missing_sentences(["Tilmelding senest den 24. juni"], text) == ["Tilmelding senest den 24. juni"]
    assert missing_items(["Mandag 10.00-15.00", "Tirsdag 10.00-15.00"], text) == ["Tirsdag 10.00-15.00"]
    assert missing_items(["Man"], text) == ["Man"]  # whole tokens only
    assert leaked(["Vi bruger cookies", "FAKTA"], text) == ["FAKTA"]


def test_score_page_reads_lead_and_body_as_one_article_text() -> None:
    expected = Expected.from_json(
        {
            "title": "Invitation til borgermøde",
            "lead": "Høringen forløber i perioden 1. juni – 16. august 2021.",
            "body": "Digitalt borgermøde den 24. juni 2021 kl. 19-21.",
            "published": "2021-06-16",
            "updated": "2021-06-16",
            "key_sentences": ["Digitalt borgermøde den 24. juni 2021 kl. 19-21."],
            "items": [],
            "absent": ["Opdateret af"],
        }
    )
    # The lead left in the body: same article text, only the lead field differs.
    got = Extraction(
        title="Invitation til borgermøde",
        lead=None,
        text=f"{expected.lead}\n{expected.body}",
        published="2021-06-16",
        updated=None,
    )
    score = score_page(expected, got)
    assert score.body.precision == score.body.recall == 1.0
    assert (score.title, score.lead, score.published, score.updated, score.dates) == (True, False, True, False, False)
    nothing = score_page(expected, None)
    assert nothing.body.recall == 0.0
    assert nothing.missing_sentences == list(expected.key_sentences)
