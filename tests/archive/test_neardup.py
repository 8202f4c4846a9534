"""Near-duplicates: MinHash signatures, LSH buckets and clusters, in memory and in the archive."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from archive.db import open_archive
from archive.duplicates import duplicate_clusters, link_near_duplicates
from archive.neardup import MinHasher, clusters, find_near_duplicates
from archive.store import ArchiveWriter, CaptureRecord, VersionRecord

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
BASE = "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/"

PRESS_RELEASE = (
    "Køge Byråd har på sit møde tirsdag vedtaget en ny plan for affald og genbrug, som betyder at alle "
    "husstande fra næste sommer skal sortere i ti fraktioner. Borgerne får nye beholdere til papir, pap, "
    "plast, metal, glas, madaffald og restaffald, og genbrugspladserne udvider åbningstiderne i weekenden. "
    "- Vi skal have mere genanvendt, og det kræver at vi gør det let for borgerne at sortere rigtigt, siger "
    "formanden for Teknik- og Miljøudvalget. Ordningen koster den enkelte husstand omkring 300 kroner mere "
    "om året, men kommunen regner med at spare på forbrændingen. Der holdes borgermøder i Herfølge, "
    "Borup og på rådhuset i Køge, hvor man kan se de nye beholdere og stille spørgsmål til ordningen."
)
OTHER_NEWS = (
    "Biblioteket i Køge åbner læsesalene igen efter ombygningen, og der er nu plads til 120 studerende "
    "ad gangen. Den nye læsesal har stillezoner, grupperum og bedre lys, og åbningstiden forlænges til "
    "klokken 22 på hverdage i eksamensperioden. Byggeriet har kostet 14 millioner kroner og er betalt af "
    "en pulje fra staten og kommunens anlægsbudget. Biblioteket holder åbent hus lørdag med rundvisninger, "
    "kaffe og boglotteri for hele familien, og børnebiblioteket får en ny krog med spil og tegneserier."
)
# Text a municipal template puts on every article (a contact box and a footer).
TEMPLATE = (
    " Kontakt Teknik- og Miljøforvaltningen på telefon 56 67 67 67 eller skriv til kommunen via Digital "
    "Post. Køge Kommune, Torvet 1, 4600 Køge. Opdateret af Kommunikation."
)


def _edit(text: str, share: float, seed: int) -> str:
    """Replace a share of the words at random places (a copy keeping 1 - share of them)."""
    rng = random.Random(seed)
    words = text.split()
    for i in rng.sample(range(len(words)), round(len(words) * share)):
        words[i] = f"ændret{i}"
    return " ".join(words)


def test_a_copy_with_a_changed_footer_is_near_and_template_sharing_articles_are_not() -> None:
    hasher = MinHasher()
    original = hasher.signature(PRESS_RELEASE + TEMPLATE)
    footer = hasher.signature(PRESS_RELEASE + " Denne nyhed blev også sendt til lokalaviserne og Radio Køge.")
    template_mate = hasher.signature(OTHER_NEWS + TEMPLATE)
    assert original is not None and footer is not None and template_mate is not None
    assert hasher.similarity(original, footer) >= hasher.threshold
    assert hasher.similarity(original, template_mate) < 0.2


@pytest.mark.parametrize("kept", [0.90, 0.95, 0.99])
def test_copies_keeping_90_to_99_percent_of_the_words_are_found(kept: float) -> None:
    hasher = MinHasher()
    sigs = {
        1: hasher.signature(PRESS_RELEASE),
        2: hasher.signature(_edit(PRESS_RELEASE, 1 - kept, seed=int(kept * 100))),
        3: hasher.signature(OTHER_NEWS),
    }
    pairs = find_near_duplicates({k: v for k, v in sigs.items() if v is not None}, hasher)
    assert [(p.a, p.b) for p in pairs] == [(1, 2)]


def test_short_texts_get_no_signature_and_signatures_round_trip() -> None:
    hasher = MinHasher()
    assert hasher.signature("Læs mere her.") is None
    sig = hasher.signature(PRESS_RELEASE)
    assert sig is not None
    assert np.array_equal(hasher.from_bytes(hasher.to_bytes(sig)), sig)
    assert hasher.buckets(sig).shape == (1, hasher.bands)
    with pytest.raises(ValueError, match="expected 128"):
        hasher.from_bytes(b"\x00" * 12)


def test_clusters_are_connected_components_largest_first() -> None:
    assert clusters([(5, 6), (1, 2), (2, 3), (9, 9)]) == [[1, 2, 3], [5, 6]]


def _write(db_url: str, pages: list[tuple[str, str, str]], at: dt.datetime) -> None:
    archive = open_archive(db_url)
    writer = ArchiveWriter(archive)
    writer.ensure_site("koege", "Køge Kommune", "https://www.koege.dk")
    for url, text, outcome in pages:
        writer.add(
            site_key="koege",
            run_id=None,
            capture=CaptureRecord(url, url, at, 200, {}, "text/html", "utf-8", text.encode()),
            version=VersionRecord(title=None, lead=None, text=text, content_hash=f"h{hash(text)}", extractor="t"),
            outcome=outcome,  # type: ignore[arg-type]
        )
    writer.flush()
    archive.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, archive_url: str) -> str:
    return archive_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def test_the_archive_links_near_copies_across_runs_and_keeps_both(db_url: str) -> None:
    copy = PRESS_RELEASE + " Denne nyhed blev også sendt til lokalaviserne."
    _write(
        db_url,
        [
            (BASE + "nyheder/affald", PRESS_RELEASE + TEMPLATE, "new"),
            (BASE + "nyheder/bibliotek", OTHER_NEWS + TEMPLATE, "new"),
        ],
        T0,
    )
    archive = open_archive(db_url)
    first = link_near_duplicates(archive)
    assert (first.signed, first.linked) == (2, 0)
    archive.close()
    # A later run brings the same press release under another path and on a sister site.
    _write(
        db_url,
        [
            (BASE + "pressemeddelelser/affald", copy, "new"),
            ("https://www.solroed.dk/nyheder/affald-i-koege", _edit(PRESS_RELEASE, 0.05, 1), "new"),
        ],
        T0 + dt.timedelta(days=1),
    )
    archive = open_archive(db_url)
    second = link_near_duplicates(archive)
    assert (second.signed, second.linked) == (2, 3)
    assert link_near_duplicates(archive).signed == 0  # nothing left to compare
    (cluster,) = duplicate_clusters(archive)
    assert sorted(m.url for m in cluster.members) == sorted(
        [BASE + "nyheder/affald", BASE + "pressemeddelelser/affald", "https://www.solroed.dk/nyheder/affald-i-koege"]
    )
    assert all(s >= 0.5 for _, _, s in cluster.links)
    assert duplicate_clusters(archive, site="nosuchsite") == []
    archive.close()


def test_the_band_layout_table_is_what_datasketch_chooses() -> None:
    from datasketch import MinHashLSH

    from archive.neardup import LSH_LAYOUTS

    for (threshold, num_perm), layout in LSH_LAYOUTS.items():
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.2, 0.8))
        assert layout == (lsh.b, lsh.r), threshold


def test_signatures_made_ahead_of_time_are_linked_like_those_made_at_linking(tmp_path) -> None:
    """Signatures prepared in extraction workers (VersionRecord.signature) give the same links as
    signing every text when linking."""
    from sqlalchemy import select

    from archive.duplicates import link_near_duplicates
    from archive.models import NearDuplicate

    base = " ".join(f"ord{i} kommunen vedtager planen for byen nummer {i}" for i in range(40))
    texts = [("a", base), ("b", base.replace("ord7 ", "ordsyv ")), ("c", "helt anden tekst om havnen " * 30)]
    hasher = MinHasher()
    found = []
    for ahead in (False, True):
        archive = open_archive(f"sqlite:///{tmp_path / f'ahead-{ahead}.sqlite'}")
        writer = ArchiveWriter(archive)
        writer.ensure_site("koege", "Køge Kommune", "https://www.koege.dk")
        for key, text in texts:
            url = f"https://www.koege.dk/nyheder/{key}"
            version = VersionRecord(
                title=None,
                lead=None,
                text=text,
                content_hash=key,
                extractor="t",
                signature=hasher.signature_bytes(text) if ahead else None,
            )
            capture = CaptureRecord(url, url, T0, 200, {}, "text/html", "utf-8", text.encode())
            writer.add(site_key="koege", run_id=None, capture=capture, version=version, outcome="new")
        writer.flush()
        writer.close()
        report = link_near_duplicates(archive)
        with archive.reading() as session:
            pairs = [tuple(p) for p in session.execute(select(NearDuplicate.document_id, NearDuplicate.other_id))]
        found.append((pairs, report.signed))
        archive.close()
    assert found[0] == found[1] == ([(1, 2)], 3)
