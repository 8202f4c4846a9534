"""A small Danish corpus written through ArchiveWriter, for search, export and web tests."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from archive.db import open_archive
from archive.store import ArchiveWriter, CaptureRecord, VersionRecord

T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
KOEGE = "https://www.koege.dk"
HOSTILE_TITLE = '<script>document.title="pwned-title"</script> Farlig <img src=x onerror="document.title=1">'
HOSTILE_BODY = (
    b"<html><head><title>Arkiveret</title></head><body><h1>Arkiveret side</h1>"
    b"<script>window.parent.document.title='pwned-script';document.title='pwned-inner'</script>"
    b"<img src=x onerror=\"window.parent.document.title='pwned-onerror'\">"
    b"<p>Indhold fra kommunen.</p></body></html>"
)


@dataclass(frozen=True)
class Doc:
    """One corpus document: its path on the site, versions (title, lead, text), dates."""

    key: str
    path: str
    versions: tuple[tuple[str, str | None, str], ...]
    published: str | None
    updated: str | None = None
    site: str = "koege"
    body: bytes | None = None


DOCS = [
    Doc(
        "vaekst",
        "/Service/Nyheder/2018/02/Nye-vaekstomraader.aspx",
        (
            (
                "Nye vækstområder langs Køge Bugt",
                "Byrådet peger på tre områder.",
                "Byrådet udpeger vækstområder ved kysten. Planen skal skabe grøn vækst i Køge og nye arbejdspladser.",
            ),
        ),
        "2018-02-05",
        "2018-05-01",
    ),
    Doc(
        "delegation",
        "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/pressemeddelelser/delegation-fra-kina",
        (("Besøg fra Kina", None, "En delegation fra Kinas miljøministerium besøgte rådhuset og så havnen."),),
        "2019-05-01T10:00:00+02:00",
    ),
    Doc(
        "affald",
        "/Service/Nyheder/2019/01/Affaldsordningen-aendres.aspx",
        (
            (
                "Affaldsordningen ændres",
                "Fra april sorteres mere.",
                "Den nye affaldsordning betyder, at haveaffald "
                "hentes hver fjortende dag. Kommunen sender en folder ud.",
            ),
        ),
        "2019-01-07",
        "2019-04-04",
    ),
    Doc(
        "baade",
        "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/baade-i-havnen",
        (("Både i havnen", None, "Både ligger tæt i lystbådehavnen i sommer. Sejlklubben holder åbent hus."),),
        "2021-07-01",
    ),
    Doc(
        "bade",
        "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/bade-ved-stranden",
        (("Badevand ved stranden", None, "Det er sikkert at bade ved Køge Strand. Vandet ved søen er også rent."),),
        "2021-06-15",
    ),
    Doc(
        "groen-spredt",
        "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/vaekst-i-erhvervslivet",
        (("Vækst i erhvervslivet", None, "Der er vækst i antallet af virksomheder, og en grøn profil tiltrækker."),),
        "2022-09-10",
    ),
    Doc(
        "kommune-titel",
        "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/kommunen-vinder-pris",
        (
            (
                "Kommunen vinder pris for kommunens digitale service",
                None,
                "Prisen gives hvert år. Kommune og borgere fejrer.",
            ),
        ),
        "2023-01-20",
    ),
    Doc(
        "kommune-tekst",
        "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/ny-cykelsti",
        (("Ny cykelsti til Ølby", None, "Cykelstien åbner i maj. Den betales af kommunen."),),
        "2023-04-02",
    ),
    Doc(
        "budget",
        "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/pressemeddelelser/budget-2020",
        (
            ("Budget 2020 er vedtaget", None, "Byrådet afsætter 12 millioner kroner til skoler."),
            ("Budget 2020 er vedtaget", None, "Byrådet afsætter 14 millioner kroner til skoler og daginstitutioner."),
        ),
        "2019-10-09",
    ),
    Doc(
        "roskilde",
        "/nyheder/affald/ny-genbrugsplads",
        (("Ny genbrugsplads åbner", None, "Roskilde får en ny genbrugsplads til haveaffald og affaldssortering."),),
        "2020-02-02",
        site="roskilde",
    ),
    Doc(
        "hostile",
        "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/farlig-side",
        ((HOSTILE_TITLE, "<b>fed</b>", 'Teksten har <script>alert("x")</script> og onerror=alert(1) i sig.'),),
        "2024-01-01",
        body=HOSTILE_BODY,
    ),
]

ORIGINS = {"koege": KOEGE, "roskilde": "https://www.roskilde.dk"}


def build_corpus(db_url: str) -> dict[str, int]:
    """Write the corpus into an archive (each extra version one day later).

    Returns:
        Document ids by corpus key.
    """
    archive = open_archive(db_url)
    writer = ArchiveWriter(archive, batch_size=4)
    writer.ensure_site("koege", "Køge Kommune", KOEGE)
    writer.ensure_site("roskilde", "Roskilde Kommune", ORIGINS["roskilde"])
    for n in range(max(len(d.versions) for d in DOCS)):
        for i, doc in enumerate(DOCS):
            if n >= len(doc.versions):
                continue
            title, lead, text = doc.versions[n]
            url = ORIGINS[doc.site] + doc.path
            body = doc.body or f"<html><body><h1>{title}</h1><p>{text}</p></body></html>".encode()
            at = T0 + dt.timedelta(days=n, minutes=i)
            writer.add(
                site_key=doc.site,
                run_id=None,
                capture=CaptureRecord(url, url, at, 200, {"Content-Type": "text/html"}, "text/html", "utf-8", body),
                version=VersionRecord(
                    title=title,
                    lead=lead,
                    text=text,
                    content_hash=hashlib.sha256(text.encode()).hexdigest(),
                    extractor="test",
                    published=doc.published,
                    published_precision="day",
                    published_source="dateline",
                    updated=doc.updated,
                    language="da",
                ),
                outcome="new" if n == 0 else "changed",
            )
        writer.flush()
        writer.close()
    from archive.queries import find_document

    ids = {}
    for doc in DOCS:
        found = find_document(archive, ORIGINS[doc.site] + doc.path)
        assert found is not None
        ids[doc.key] = found.id
    archive.close()
    return ids
