"""Generate a synthetic koege.dk-shaped mirror of N news articles for benchmarks.

Pages follow today's koege.dk layout (cmspagecreated meta, skip link, navigation, breadcrumb,
h1, manchet, body with sub-headings, quotes, a list, related links, footer) so extraction does
the same work as on the real site. Deterministic for a given seed.

    .venv/bin/python bench/sitegen.py /tmp/site 2000
"""

from __future__ import annotations

import datetime as dt
import html
import json
import random
import sys
from pathlib import Path

LISTING = "/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder"
PER_PAGE = 20

_WORDS = [
    "kommune",
    "byråd",
    "borgere",
    "affald",
    "genbrug",
    "ordning",
    "skole",
    "elever",
    "lærere",
    "trafik",
    "vej",
    "cykelsti",
    "bus",
    "klima",
    "energi",
    "varme",
    "vand",
    "kloak",
    "park",
    "strand",
    "havn",
    "bibliotek",
    "kultur",
    "idræt",
    "forening",
    "frivillige",
    "budget",
    "økonomi",
    "millioner",
    "kroner",
    "udvalg",
    "beslutning",
    "høring",
    "plan",
    "lokalplan",
    "kommuneplan",
    "byggeri",
    "boliger",
    "erhverv",
    "virksomheder",
    "job",
    "ældre",
    "pleje",
    "sundhed",
    "børn",
    "dagtilbud",
    "institution",
    "borgmester",
    "projekt",
    "samarbejde",
    "udvikling",
    "grøn",
    "vækst",
    "bæredygtig",
    "fremtid",
    "sommer",
    "vinter",
    "uge",
    "måned",
    "år",
    "møde",
    "dialog",
    "information",
    "ansøgning",
    "tilskud",
    "pulje",
    "frist",
    "tilmelding",
    "arrangement",
    "åbning",
]
_FILLER = [
    "og",
    "i",
    "at",
    "på",
    "for",
    "med",
    "til",
    "er",
    "som",
    "det",
    "der",
    "den",
    "af",
    "har",
    "vil",
    "skal",
    "kan",
    "nu",
    "også",
    "mere",
]
_MONTHS = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
]


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(_WORDS if i % 3 else _FILLER) for i in range(n)]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(8, 18)) for _ in range(rng.randint(2, 5)))


def _slug(title: str) -> str:
    table = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", " ": "-", ".": "", ",": ""})
    return title.lower().translate(table)


def _nav() -> str:
    items = "".join(
        f'<li><a href="/{s.lower()}">{s}</a><ul>'
        + "".join(f'<li><a href="/{s.lower()}/{i}">Emne {i}</a></li>' for i in range(12))
        + "</ul></li>"
        for s in ("Borger", "Erhverv", "Politik", "Om-Koege-Kommune", "Job")
    )
    return f'<header class="site-header"><a class="skip-link" href="#main">Skip til hoved indholdet</a><nav class="main-nav"><ul>{items}</ul></nav></header>'


_FOOTER = (
    '<footer class="site-footer"><p>Køge Kommune, Torvet 1, 4600 Køge. Tlf. 56 67 67 67.</p>'
    '<ul><li><a href="/kontakt">Kontakt</a></li><li><a href="/cookies">Cookies</a></li>'
    '<li><a href="/tilgaengelighed">Tilgængelighedserklæring</a></li></ul></footer>'
    '<div class="cookie-consent"><p>Vi bruger cookies til statistik.</p><button>Accepter alle</button></div>'
)


def _article(rng: random.Random, n: int, when: dt.datetime) -> tuple[str, str, str]:
    title = f"{_sentence(rng, rng.randint(4, 8))[:-1]} {n}"
    slug = _slug(title)
    lead = _paragraph(rng)
    body = []
    for _ in range(rng.randint(3, 6)):
        body.append(f"<h2>{html.escape(_sentence(rng, 4)[:-1])}</h2>")
        for _ in range(rng.randint(1, 3)):
            body.append(f"<p>{html.escape(_paragraph(rng))}</p>")
        if rng.random() < 0.4:
            body.append(f"<p>- {html.escape(_sentence(rng, 14))} siger borgmester Marie Stærke.</p>")
        if rng.random() < 0.3:
            body.append("<ul>" + "".join(f"<li>{_sentence(rng, 6)}</li>" for _ in range(4)) + "</ul>")
    related = "".join(
        f'<li><a href="{LISTING}/relateret-{rng.randint(0, 10**6)}">{_sentence(rng, 5)}</a> <span>{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.23</span></li>'
        for _ in range(3)
    )
    stamp = when.strftime("%Y-%m-%d %H.%M")
    page = f"""<!DOCTYPE html><html lang="da"><head><meta charset="utf-8">
<title>{html.escape(title)} - Køge Kommune</title>
<meta name="cmspagecreated" content="{stamp}"><meta name="cmspageupdated" content="{stamp}">
<meta property="og:title" content="{html.escape(title)} - Køge Kommune">
<meta property="og:description" content="{html.escape(lead)}">
<link rel="canonical" href="https://www.koege.dk{LISTING}/{slug}">
<link rel="stylesheet" href="/css/main.css"><script src="/js/main.js"></script></head><body>
{_nav()}
<nav class="breadcrumb"><ol><li><a href="/">Hjem</a></li><li><a href="/om-koege-kommune">Om Køge Kommune</a></li><li>{html.escape(title)}</li></ol></nav>
<main id="main"><article><h1>{html.escape(title)}</h1><p class="manchet">{html.escape(lead)}</p>
<div class="rich-text">{"".join(body)}</div></article>
<aside class="related"><h2>Relaterede nyheder</h2><ul>{related}</ul></aside></main>
{_FOOTER}</body></html>"""
    return slug, title, page


def generate(root: Path, count: int, *, seed: int = 2026) -> list[str]:
    """Write a mirror with ``count`` articles and paginated listings.

    Args:
        root: the (empty or missing) folder to write.
        count: number of articles.
        seed: random seed.

    Returns:
        The request targets of the articles.
    """
    rng = random.Random(seed)
    (root / "pages").mkdir(parents=True, exist_ok=True)
    routes: dict[str, dict[str, str]] = {
        "/robots.txt": {"file": "robots.txt", "content_type": "text/plain"},
    }
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /soeg\n", encoding="utf-8")
    start = dt.datetime(2021, 1, 1, 9, 0)
    targets = []
    for n in range(count):
        slug, _title, page = _article(rng, n, start + dt.timedelta(hours=7 * n))
        target = f"{LISTING}/{slug}"
        name = f"pages/a{n:05d}.html"
        (root / name).write_text(page, encoding="utf-8")
        routes[target] = {"file": name}
        targets.append(target)
    pages = [targets[i : i + PER_PAGE] for i in range(0, len(targets), PER_PAGE)]
    for i, chunk in enumerate(pages, start=1):
        links = "".join(f'<li><a href="{t}">{t.rsplit("/", 1)[1]}</a></li>' for t in chunk)
        nxt = f'<a rel="next" href="?page={i + 1}">Næste</a>' if i < len(pages) else ""
        listing = (
            f'<html lang="da"><body>{_nav()}<main><h1>Nyheder</h1><ul>{links}</ul>{nxt}</main>{_FOOTER}</body></html>'
        )
        name = f"pages/listing-{i}.html"
        (root / name).write_text(listing, encoding="utf-8")
        routes[LISTING if i == 1 else f"{LISTING}?page={i}"] = {"file": name}
    (root / "routes.json").write_text(json.dumps({"routes": routes}, indent=0), encoding="utf-8")
    return targets


if __name__ == "__main__":
    print(len(generate(Path(sys.argv[1]), int(sys.argv[2]))), "articles written")
