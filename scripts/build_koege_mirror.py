"""Build the offline koege.dk news mirror (both site eras) from ``koege_mirror_articles.toml``.

Run from the project root::

    .venv/bin/python scripts/build_koege_mirror.py          # regenerate everything below
    .venv/bin/python scripts/build_koege_mirror.py --check  # exit 1 if committed output is stale

Writes, deleting and re-creating the mirror directory first:

- ``koege_spider/mirrors/koege/``: ``routes.json`` (served by ``koege_spider/mirror.py``),
  ``404.html``, ``robots.txt``, the sitemaps and the files the routes name.
- ``tests/fixtures/koege_mirror_expected.json``: the perfect archive row of every article URL,
  plus one entry per trap (``kind`` robots_disallowed, not_found, not_article, not_html, redirect).
- ``tests/fixtures/koege_mirror_listings.json``: every listing, its pages and its article URLs.

The content (articles, non-news pages, traps, URL variants) is data in the TOML file; this script
holds the page templates and the rules. Output is deterministic: no clock, sorted keys, fixed file
times. After writing it checks its own output (every route's file exists, every file is used, every
internal link resolves to a route or is a deliberate 404, key sentences are in the body, boilerplate
is not) and exits 1 on any problem. Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import shutil
import struct
import sys
import tomllib
import zlib
from base64 import b64encode
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "scripts" / "koege_mirror_articles.toml"
MIRROR = Path("koege_spider/mirrors/koege")
EXPECTED = Path("tests/fixtures/koege_mirror_expected.json")
LISTINGS = Path("tests/fixtures/koege_mirror_listings.json")
ORIGIN = "https://www.koege.dk"
HOSTS = {"www.koege.dk", "koege.dk", "www.etk.koege.dk", "etk.koege.dk"}
TZ = ZoneInfo("Europe/Copenhagen")
FILE_TIME = 1767225600  # 2026-01-01T00:00:00Z, the mtime of every written file
MAX_BYTES = 1_500_000
NEWS = "/om-koege-kommune/presse-og-kommunikation"
SECTION = {
    "nyheder": f"{NEWS}/nyheder-og-aktuelt/nyheder",
    "pressemeddelelser": f"{NEWS}/nyheder-og-aktuelt/pressemeddelelser",
    "aktuelle": f"{NEWS}/aktuelle-nyheder-og-pressemeddelser",
}
SITECORE_LISTING = "/Service/Nyheder.aspx"
MONTHS = "januar februar marts april maj juni juli august september oktober november december"
MONTHS_DA = MONTHS.split()
TRANSLIT = (
    ("æ", "ae"),
    ("ø", "oe"),
    ("å", "aa"),
    ("Æ", "Ae"),
    ("Ø", "Oe"),
    ("Å", "Aa"),
    ("é", "e"),
)
VARIANT_FORMS = {
    "no_www": "https://koege.dk{p}",
    "http_www": "http://www.koege.dk{p}",
    "utm": ORIGIN + "{p}?utm_source=nyhedsbrev&utm_medium=email",
    "fragment": ORIGIN + "{p}#{frag}",
    "trailing_slash": ORIGIN + "{p}/",
    "etk": "http://www.etk.koege.dk{p}",
}
BANNER_STRINGS = [
    "Få det bedste ud af koege.dk",
    "Vi bruger cookies til statistik",
    "Læs om vores cookiepolitik",
]
esc = html.escape


# ---------------------------------------------------------------- small helpers


def translit(text: str) -> str:
    for src, dst in TRANSLIT:
        text = text.replace(src, dst)
    return text


def new_slug(title: str) -> str:
    """Slug of the current platform: lowercase, æ→ae ø→oe å→aa, dates spelled out."""
    return re.sub(r"[^a-z0-9]+", "-", translit(title.lower())).strip("-")


def sitecore_slug(title: str) -> str:
    """Sitecore item name: case kept, letters transliterated, "." → ",-d-,", spaces → "-"."""
    slug = re.sub(r"[^A-Za-z0-9,.\-]+", "-", translit(title)).replace(".", ",-d-,")
    return re.sub(r"-{2,}", "-", slug).strip("-")


def parse_cms(raw: str) -> datetime:
    """Read ``2022-06-22 10.15`` or ``2023-03-14 09:05:33`` as Copenhagen time (seconds dropped)."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d) (\d\d)[.:](\d\d)(?::\d\d)?", raw)
    if not m:
        raise ValueError(f"bad cms date {raw!r}")
    y, mo, d, h, mi = map(int, m.groups())
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=TZ)


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def dmy(day: date) -> str:
    return day.strftime("%d.%m.%y")


def spelled(day: date) -> str:
    return f"{day.day} {MONTHS_DA[day.month - 1]} {day.year}"


def route_key(href: str) -> str:
    """The route-table key of an absolute URL: decoded path plus ``?query``."""
    parts = urlsplit(href)
    path = unquote(parts.path) or "/"
    return f"{path}?{parts.query}" if parts.query else path


# ---------------------------------------------------------------- body markup


Block = tuple[str, str]  # (kind, visible text) of one body block
LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def inline(text: str) -> tuple[str, str]:
    """Render ``[text](href)`` links; return (html, visible text)."""
    out, plain, pos = [], [], 0
    for m in LINK.finditer(text):
        out.append(esc(text[pos : m.start()]))
        plain.append(text[pos : m.start()])
        href = m.group(2)
        if href.startswith("/"):
            href = quote(href, safe="/?&=#,%-")
        out.append(f'<a href="{esc(href)}">{esc(m.group(1))}</a>')
        plain.append(m.group(1))
        pos = m.end()
    out.append(esc(text[pos:]))
    plain.append(text[pos:])
    return "".join(out), "".join(plain)


def render_body(body: str, era: str, heading_style: str = "h2") -> tuple[str, list[Block]]:
    """Render the line-based body markup (see the TOML header).

    Returns:
        The HTML, and every block's visible text with its kind: ``p``, ``h``, ``li``, ``cell``,
        or ``fakta`` for anything inside a FAKTA box.
    """
    lines = [ln.strip() for ln in body.strip().splitlines() if ln.strip()]
    parts: list[str] = []
    blocks: list[Block] = []
    in_fakta, i = False, 0
    box = "faktaboks" if era == "sitecore" else "factbox"

    def keep(kind: str, text: str) -> None:
        blocks.append(("fakta" if in_fakta else kind, text))

    while i < len(lines):
        line = lines[i]
        if line in ("[FAKTA]", "[/FAKTA]"):
            in_fakta = line == "[FAKTA]"
            label = f'<p class="{box}__label"><strong>FAKTA</strong></p>'
            parts.append(f'<div class="{box}">\n{label}' if in_fakta else "</div>")
            i += 1
            continue
        if line.startswith(("* ", "| ")):
            marker, group = line[:2], []
            while i < len(lines) and lines[i].startswith(marker):
                group.append(lines[i])
                i += 1
            if marker == "* ":
                items = [inline(g[2:]) for g in group]
                for _, plain in items:
                    keep("li", plain)
                parts.append("<ul>\n" + "\n".join(f"<li>{h}</li>" for h, _ in items) + "\n</ul>")
            else:
                rows = [[c.strip() for c in g.strip("| ").split("|")] for g in group]
                for cell in (c for row in rows for c in row):
                    keep("cell", cell)
                head = "".join(f'<th scope="col">{esc(c)}</th>' for c in rows[0])
                trs = "\n".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows[1:])
                parts.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{trs}\n</tbody>\n</table>")
            continue
        m = re.fullmatch(r"(#{2,3}) (.+?)(?: \{#([\w-]+)\})?", line)
        if m:
            level, text, anchor = len(m.group(1)), m.group(2), m.group(3)
            keep("h", text)
            ident = f' id="{anchor}"' if anchor else ""
            if heading_style == "strong" and level == 2:
                parts.append(f"<p{ident}><strong>{esc(text)}</strong></p>")
            else:
                parts.append(f"<h{level}{ident}>{esc(text)}</h{level}>")
        else:
            h, plain = inline(line)
            keep("p", plain)
            parts.append(f"<p>{h}</p>")
        i += 1
    return "\n".join(parts), blocks


# ---------------------------------------------------------------- the model


@dataclass
class Article:
    """One news article of either era, with everything the templates and fixtures need."""

    raw: dict[str, Any]
    id: str
    era: str
    title: str
    lead: str
    path: str
    section: str
    listings: list[str]
    in_sitemap: bool
    sort: datetime
    published: str | None = None
    precision: str | None = None
    source: str | None = None
    updated: str | None = None
    updated_by: str | None = None
    contact: str | None = None
    card_date: str | None = None
    last_modified: datetime | None = None
    lastmod: str | None = None
    created_raw: str | None = None
    updated_raw: str | None = None
    visible_updated: str | None = None
    dateline: str | None = None
    footer_updated: str | None = None
    body_html: str = ""
    blocks: list[Block] = field(default_factory=list)
    related: list[Article] = field(default_factory=list)

    @property
    def url(self) -> str:
        return ORIGIN + self.path

    @property
    def file(self) -> str:
        name = re.sub(r"[^A-Za-z0-9-]+", "", self.path.rsplit("/", 1)[1].removesuffix(".aspx"))
        if self.era == "sitecore":
            return "articles/sitecore/" + "-".join(self.path.split("/")[3:5]) + f"-{name}.html"
        return f"articles/new/{name}.html"


def make_article(raw: dict[str, Any]) -> Article:
    era, title = raw["era"], raw["title"]
    if era == "new":
        section = raw["section"]
        path = f"{SECTION[section]}/{raw.get('slug') or new_slug(title)}"
        listings = raw.get("listings", ["nyheder" if section == "aktuelle" else section])
    else:
        section = "sitecore"
        path = f"/Service/Nyheder/{raw['month']}/{raw.get('slug') or sitecore_slug(title)}.aspx"
        listings = raw.get("listings", ["sitecore"])
    art = Article(
        raw,
        raw["id"],
        era,
        title,
        raw["lead"],
        path,
        section,
        listings,
        raw.get("sitemap", True),
        datetime(2000, 1, 1, tzinfo=TZ),
    )
    if era == "new":
        art.created_raw, art.updated_raw = raw.get("created"), raw.get("updated")
        if art.created_raw:
            created = parse_cms(art.created_raw)
            art.published, art.precision, art.source = (
                created.isoformat(),
                "minute",
                "meta:cmspagecreated",
            )
            art.sort, art.card_date, art.last_modified = created, dmy(created.date()), created
        if raw.get("visible_updated"):
            day = raw["visible_updated"]
            art.visible_updated, art.updated = f"Opdateret: {spelled(day)}", day.isoformat()
            art.last_modified = local_midnight(day)
        if art.updated_raw:
            upd = parse_cms(art.updated_raw)
            art.updated, art.last_modified = upd.isoformat(), upd
        if "listing_sort" in raw:
            art.sort = local_midnight(raw["listing_sort"])
        if art.updated_raw or (art.created_raw and not art.visible_updated):
            art.lastmod = art.last_modified.isoformat() if art.last_modified else None
        elif art.updated:
            art.lastmod = art.updated
    else:
        year, month = map(int, raw["month"].split("/"))
        art.sort = local_midnight(date(year, month, 1))
        if "dateline" in raw:
            day = raw["dateline"]
            art.dateline = art.card_date = dmy(day)
            art.published, art.precision, art.source = day.isoformat(), "day", "dateline"
            art.sort = art.last_modified = local_midnight(day)
        else:
            art.published, art.precision, art.source = f"{year:04d}-{month:02d}", "month", "url"
        art.contact = raw.get("contact")
        if "updated_by" in raw:
            art.updated_by, upd_day = raw["updated_by"], raw["updated"]
            art.updated = upd_day.isoformat()
            art.footer_updated = f"Opdateret af {art.updated_by} {dmy(upd_day)}"
            art.last_modified = local_midnight(upd_day)
        if art.last_modified:
            art.lastmod = art.last_modified.date().isoformat()
    art.body_html, art.blocks = render_body(raw["body"], era, raw.get("heading_style", "h2"))
    return art


# ---------------------------------------------------------------- page templates


NEW_MENU = [
    ("Borger", "/borger"),
    ("Erhverv", "/erhverv"),
    ("Politik", "/politik"),
    ("Om Køge Kommune", "/om-koege-kommune"),
    ("Job", "/job"),
]
SC_MENU = [
    ("Borger", "/Borger.aspx"),
    ("Erhverv", "/Erhverv.aspx"),
    ("Kommunen", "/Kommunen.aspx"),
    ("Byråd og udvalg", "/Byraad-udvalg.aspx"),
    ("Service", "/Service.aspx"),
]
NEW_CRUMBS = [
    ("Hjem", "/"),
    ("Om Køge Kommune", "/om-koege-kommune"),
    ("Presse og kommunikation", NEWS),
    ("Nyheder og aktuelt", f"{NEWS}/nyheder-og-aktuelt"),
]
SECTION_CRUMB = {
    "nyheder": ("Nyheder", SECTION["nyheder"]),
    "pressemeddelelser": ("Pressemeddelelser", SECTION["pressemeddelelser"]),
}


def new_layout(
    *,
    title: str,
    main: str,
    crumbs: list[tuple[str, str | None]],
    canonical: str | None,
    metas: list[tuple[str, str, str]],
    body_class: str,
) -> str:
    """A page of the current platform (shared by 17 municipalities)."""
    head = "\n".join(f'<meta {k}="{esc(n)}" content="{esc(v)}">' for k, n, v in metas)
    canon = f'\n<link rel="canonical" href="{esc(canonical)}">' if canonical else ""
    menu = "\n".join(f'<li class="main-menu__item"><a href="{h}">{esc(t)}</a></li>' for t, h in NEW_MENU)
    crumb_items = []
    for n, (text, href) in enumerate(crumbs):
        sep = '<span class="breadcrumb__sep" aria-hidden="true">›</span> ' if n else ""
        inner = f'<a href="{esc(href)}">{esc(text)}</a>' if href else f'<span aria-current="page">{esc(text)}</span>'
        crumb_items.append(f'<li class="breadcrumb__item">{sep}{inner}</li>')
    crumb_html = "\n".join(crumb_items)
    return f"""<!DOCTYPE html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
{head}{canon}
<link rel="stylesheet" href="/dist/css/main.css">
<script>window.dataLayer = window.dataLayer || [];</script>
</head>
<body class="{body_class}">
<a class="skip-link" href="#main-content">Skip til hoved indholdet</a>
<header class="site-header">
<div class="site-header__inner">
<a class="site-header__logo" href="/" aria-label="Køge Kommune - til forsiden">
<span class="logo-text">Køge Kommune</span></a>
<nav class="main-menu" aria-label="Hovedmenu">
<ul class="main-menu__list">
{menu}
</ul>
</nav>
<form class="site-search" action="/soeg" method="get" role="search">
<label class="visually-hidden" for="site-search-q">Søg</label>
<input id="site-search-q" name="q" type="search" placeholder="Hvad søger du?">
<button type="submit">Søg</button>
</form>
</div>
</header>
<nav class="breadcrumb" aria-label="Brødkrumme">
<ol class="breadcrumb__list">
{crumb_html}
</ol>
</nav>
{main}
<footer class="site-footer">
<div class="site-footer__contact">
<h2 class="site-footer__title">Køge Kommune</h2>
<p>Torvet 1, 4600 Køge</p>
<p>Tlf. 56 67 67 67 · <a href="mailto:koege@koege.dk">koege@koege.dk</a></p>
<p>Telefontid og EAN-numre finder du på <a href="/om-koege-kommune/kontakt">kontaktsiden</a></p>
</div>
<ul class="site-footer__links">
<li><a href="/om-koege-kommune/kontakt">Kontakt</a></li>
<li><a href="/om-koege-kommune/om-hjemmesiden/tilgaengelighedserklaering">
Tilgængelighedserklæring</a></li>
<li><a href="/om-koege-kommune/om-hjemmesiden/cookiepolitik">Cookie- og privatlivspolitik</a></li>
<li><a href="https://www.facebook.com/koegekommune">Køge Kommune på Facebook</a></li>
</ul>
</footer>
<div class="cookie-consent" id="cookie-consent" role="dialog" aria-modal="true"
 aria-labelledby="cookie-consent-title">
<h2 id="cookie-consent-title">Vi bruger cookies</h2>
<p>Vi bruger cookies til at få hjemmesiden til at fungere, til statistik og til at forbedre
din oplevelse af koege.dk. Du kan altid ændre eller trække dit samtykke tilbage.</p>
<button type="button" class="cookie-consent__accept">Tillad alle</button>
<button type="button" class="cookie-consent__necessary">Kun nødvendige</button>
<button type="button" class="cookie-consent__settings">Tilpas</button>
<p><a href="/om-koege-kommune/om-hjemmesiden/cookiepolitik">Læs mere om cookies</a></p>
</div>
</body>
</html>
"""


def sitecore_layout(
    *,
    path: str,
    title: str,
    content: str,
    crumbs: list[tuple[str, str | None]],
    banner: bool,
    side: str = "",
) -> str:
    """A page of the Sitecore era: one ASP.NET WebForms form around everything."""
    viewstate = b64encode(hashlib.sha256(path.encode()).digest() * 4).decode()
    menu = "\n".join(f'<li><a href="{h}">{esc(t)}</a></li>' for t, h in SC_MENU)
    crumb_html = " &gt; ".join(f'<a href="{esc(h)}">{esc(t)}</a>' if h else f"<span>{esc(t)}</span>" for t, h in crumbs)
    banner_html = ""
    if banner:
        banner_html = """
<div id="browserWarning" class="browserwarning">Få det bedste ud af koege.dk med den nyeste
version af <a href="https://www.mozilla.org/firefox/">Firefox</a>,
<a href="https://www.google.com/chrome/">Google Chrome</a>,
<a href="https://windows.microsoft.com/internet-explorer">Internet Explorer</a>&nbsp;eller
<a href="https://www.apple.com/safari/">Safari</a>.</div>
<div id="cookieWarning" class="cookiewarning">
<p>Vi bruger cookies til statistik som en del af vores arbejde for at lave en god hjemmeside.</p>
<p><a href="/Service/Cookiepolitik.aspx">Læs om vores cookiepolitik</a></p>
<p><a href="#" id="ctl00_lnkCookieAccept">Ja tak til cookies</a> eller
<a href="#" id="ctl00_lnkCookieDecline">nej tak til cookies</a></p>
</div>"""
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="da" lang="da">
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8" /><title>
	{esc(title)}
</title><link href="/css/koege.css" rel="stylesheet" type="text/css" /></head>
<body>
<form name="aspnetForm" method="post" action="{esc(quote(path, safe="/,-"))}" id="aspnetForm">
<div>
<input type="hidden" name="__EVENTTARGET" id="__EVENTTARGET" value="" />
<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="{viewstate}" />
</div>
<script type="text/javascript">
//<![CDATA[
var theForm = document.forms['aspnetForm'];
function __doPostBack(eventTarget) {{
  theForm.__EVENTTARGET.value = eventTarget; theForm.submit();
}}
//]]>
</script>{banner_html}
<div id="wrapper">
<div id="header">
<a id="ctl00_hlLogo" class="logo" href="/"><span>Køge Kommune</span></a>
<ul id="topmenu">
{menu}
</ul>
<div id="search"><input name="ctl00$txtSearch" type="text" id="ctl00_txtSearch" title="Søg" />
<input type="submit" name="ctl00$btnSearch" value="Søg" id="ctl00_btnSearch" /></div>
</div>
<div id="breadcrumb">Du er her: {crumb_html}</div>
<div id="columns">
<div id="content">
{content}
</div>
<div id="rightcolumn">
{side}
</div>
</div>
<div id="footer">
<p><strong>Køge Kommune</strong> · Torvet 1, 4600 Køge · Telefon 56 67 67 67 ·
<a href="mailto:koege@koege.dk">koege@koege.dk</a></p>
<p>Telefontid: mandag-onsdag kl. 9-15, torsdag kl. 9-17, fredag kl. 9-13</p>
</div>
</div>
</form>
</body>
</html>
"""


def link_list(items: list[tuple[str, str, str | None]], date_class: str) -> str:
    rows = []
    for title, href, day in items:
        stamp = f' <span class="{date_class}">{day}</span>' if day else ""
        rows.append(f'<li><a href="{esc(href)}">{esc(title)}</a>{stamp}</li>')
    return "<ul>\n" + "\n".join(rows) + "\n</ul>"


def page_metas(
    title: str,
    created: str | None,
    updated: str | None = None,
    description: str | None = None,
    image: str | None = None,
) -> list[tuple[str, str, str]]:
    metas = [("name", "cmspagecreated", created)] if created else []
    if updated:
        metas.append(("name", "cmspageupdated", updated))
    if description:
        metas += [("name", "description", description)]
    kind = "article" if image else "website"
    metas += [("property", "og:type", kind), ("property", "og:title", f"{title} - Køge Kommune")]
    if description:
        metas.append(("property", "og:description", description))
    if image:
        metas.append(("property", "og:image", image))
    return metas


# ---------------------------------------------------------------- binary files


def tiny_pdf(lines: list[str]) -> bytes:
    """A one-page PDF 1.4 with Helvetica text (WinAnsi, so æøå survive)."""

    def pdf_str(text: str) -> bytes:
        raw = text.encode("cp1252")
        return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"

    ops = [b"BT /F1 13 Tf 60 780 Td 16 TL"] + [pdf_str(ln) + b" Tj T*" for ln in lines] + [b"ET"]
    stream = b"\n".join(ops)
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Producer (koege-archive mirror builder) /CreationDate (D:20220101000000+01'00') >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
    for n, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1,
        xref,
    )
    return bytes(out)


def tiny_png(rgb: list[int], width: int = 120, height: int = 63) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


CSS_NEW = """body{font-family:system-ui,sans-serif;margin:0;color:#1d1d1b;line-height:1.5}
.skip-link{position:absolute;left:-999px}.skip-link:focus{left:1rem;top:1rem}
.site-header,.breadcrumb,main,.site-footer{max-width:60rem;margin:0 auto;padding:0 1rem}
.site-header__inner{display:flex;gap:2rem;align-items:center;padding:1rem 0}
.main-menu__list,.breadcrumb__list,.site-footer__links,.pagination ul{list-style:none;display:flex;
gap:1rem;padding:0}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden}
.manchet{font-size:1.25rem;font-weight:600}.factbox{background:#eef4f7;padding:1rem}
.news-list{list-style:none;padding:0}.news-card{border-bottom:1px solid #ccc;padding:1rem 0}
.news-card__date,.related-news .date{color:#666}
.cookie-consent{position:fixed;bottom:0;left:0;right:0;background:#fff;
border-top:2px solid #005f83;padding:1rem}
.site-footer{border-top:1px solid #ccc;margin-top:3rem}
"""
CSS_SITECORE = """body{font-family:Verdana,Arial,sans-serif;font-size:12px;margin:0}
#wrapper{width:980px;margin:0 auto}#topmenu li{display:inline;margin-right:1em}
#columns{overflow:hidden}#content{float:left;width:680px}#rightcolumn{float:right;width:260px}
.browserwarning,.cookiewarning{background:#ffd;padding:6px;border:1px solid #cc9}
.manchet{font-weight:bold}.dato{color:#777;margin:6px 0}.faktaboks{background:#e6eef2;padding:10px}
.newsitem{border-bottom:1px dotted #999;padding:8px 0}#footer{clear:both;border-top:1px solid #999}
"""


def teaser(text: str, limit: int = 160) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",.:;") + " …"


def page_path(key: str, number: int) -> str:
    if number == 1:
        return SECTION.get(key, SITECORE_LISTING)
    return f"{SECTION[key]}?page={number}" if key in SECTION else f"{SITECORE_LISTING}?side={number}"


class MirrorBuilder:
    """Collects routes and files, then the fixtures, from the TOML data."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.routes: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.deliberate_404: set[str] = set()
        self.expected: list[dict[str, Any]] = []
        self.listing_rows: list[dict[str, Any]] = []
        self.sitemap: dict[str, str | None] = {}
        self.errors: list[str] = []
        self.articles = [make_article(a) for a in data["article"]]
        self.by_id = {a.id: a for a in self.articles}
        self.href: dict[tuple[str, str], str] = {}
        self.variants: dict[str, list[str]] = {a.id: [] for a in self.articles}
        self.pages = {p["path"]: p for p in data["page"]}

    # ---- low level
    def add(
        self,
        key: str,
        file: str,
        content: str | bytes,
        *,
        content_type: str | None = None,
        last_modified: datetime | None = None,
    ) -> None:
        if key in self.routes:
            raise SystemExit(f"duplicate route {key}")
        blob = content.encode() if isinstance(content, str) else content
        if self.files.get(file, blob) != blob:
            raise SystemExit(f"two contents for {file}")
        self.files[file] = blob
        route: dict[str, Any] = {"file": file}
        if content_type:
            route["content_type"] = content_type
        if last_modified:
            route["last_modified"] = http_date(last_modified)
        self.routes[key] = route

    def redirect(self, key: str, location: str) -> None:
        if key in self.routes:
            raise SystemExit(f"duplicate route {key}")
        self.routes[key] = {"status": 301, "location": location}

    def link(self, page: str, art: Article) -> str:
        return self.href.get((page, art.id), art.path)

    # ---- articles
    def prepare_links(self) -> None:
        for v in self.data["variant"]:
            art = self.by_id[v["article"]]
            href = VARIANT_FORMS[v["form"]].format(p=art.path, frag=v.get("fragment", ""))
            self.href[(v["on"], art.id)] = href
            self.variants[art.id].append(href)
        linkable = [a for a in self.articles if a.listings and not a.raw.get("robots_disallowed")]
        for art in self.articles:
            pool = [o for o in linkable if o.era == art.era and o is not art]
            pool.sort(key=lambda o: (abs((o.sort - art.sort).total_seconds()), o.path))
            related = pool[:3]
            for (on, target), _ in sorted(self.href.items()):
                tgt = self.by_id[target]
                if on == art.id and tgt not in related:
                    related[-1] = tgt
            art.related = sorted(related, key=lambda o: (o.sort, o.path), reverse=True)

    def render_articles(self) -> None:
        images = self.data["image"]
        for art in self.articles:
            related = [(r.title, self.link(art.id, r), r.card_date) for r in art.related]
            if art.era == "new":
                html_text = self.render_new_article(art, related, images)
            else:
                html_text = self.render_sitecore_article(art, related)
            self.add(art.path, art.file, html_text, last_modified=art.last_modified)
            for href in self.variants[art.id]:
                key = route_key(href)
                if key != art.path:  # ?utm_… and trailing slash: the same page answers
                    self.add(key, art.file, html_text, last_modified=art.last_modified)
            if art.in_sitemap:
                self.sitemap[art.url] = art.lastmod

    def render_new_article(
        self, art: Article, related: list[tuple[str, str, str | None]], images: list[dict[str, Any]]
    ) -> str:
        image = images[int(hashlib.sha256(art.id.encode()).hexdigest(), 16) % len(images)]["path"]
        if art.section == "aktuelle":
            crumbs: list[tuple[str, str | None]] = [
                *NEW_CRUMBS[:3],
                ("Aktuelle nyheder og pressemeddelelser", None),
            ]
        else:
            crumbs = [*NEW_CRUMBS, SECTION_CRUMB[art.section]]
        crumbs.append((art.title, None))
        if art.raw.get("manchet_style") == "div":
            manchet = f'<div class="manchet"><p>{esc(art.lead)}</p></div>'
        else:
            manchet = f'<p class="manchet">{esc(art.lead)}</p>'
        upd = f'\n<p class="page-updated">{art.visible_updated}</p>' if art.visible_updated else ""
        heading = "Læs også" if art.section == "pressemeddelelser" else "Relaterede nyheder"
        main = f"""<main id="main-content" class="page page--news">
<article class="news-article">
<header class="news-article__header">
<h1 class="news-article__title">{esc(art.title)}</h1>
{manchet}
</header>
<div class="rich-text">
{art.body_html}
</div>{upd}
</article>
<aside class="related-news" aria-labelledby="related-news-title">
<h2 id="related-news-title">{heading}</h2>
{link_list(related, "date")}
</aside>
</main>"""
        metas = page_metas(art.title, art.created_raw, art.updated_raw, art.lead, ORIGIN + image)
        metas.append(("property", "og:url", art.url))
        return new_layout(
            title=f"{art.title} - Køge Kommune",
            main=main,
            crumbs=crumbs,
            canonical=art.url,
            metas=metas,
            body_class="page-news",
        )

    def render_sitecore_article(self, art: Article, related: list[tuple[str, str, str | None]]) -> str:
        raw = art.raw
        parts = [
            '<div id="ctl00_cphPageContentMain_pnlNews" class="newsarticle">',
            f"<h1>{esc(art.title)}</h1>",
            f'<div class="manchet">{esc(art.lead)}</div>',
        ]
        if art.dateline:
            parts.append(f'<div class="dato">{art.dateline}</div>')
        parts.append(
            f'<div id="ctl00_cphPageContentMain_pagecontentmain_1_txtText" class="rte">\n{art.body_html}\n</div>'
        )
        if art.contact:
            parts.append(
                f'<div class="kontakt"><strong>Kontakt</strong> <span class="kontaktnavn">'
                f"{esc(art.contact)}</span></div>"
            )
        if art.footer_updated:
            parts.append(f'<div class="opdateret">{esc(art.footer_updated)}</div>')
        parts.append("</div>")
        side = f'<div class="relatedlinks">\n<h2>Se også</h2>\n{link_list(related, "dato")}\n</div>'
        title = art.title + (" - Køge Kommune" if raw.get("title_suffix") else "")
        crumbs = [
            ("Forside", "/"),
            ("Service", "/Service.aspx"),
            ("Nyheder", SITECORE_LISTING),
            (art.title, None),
        ]
        return sitecore_layout(
            path=art.path,
            title=title,
            content="\n".join(parts),
            crumbs=crumbs,
            banner=raw.get("banner", False),
            side=side,
        )

    # ---- listings
    def listing_items(self, key: str) -> list[dict[str, Any]]:
        items = []
        for art in self.articles:
            if key in art.listings:
                items.append(
                    {
                        "title": art.title,
                        "href": self.link("listing", art),
                        "date": art.card_date,
                        "teaser": teaser(art.lead),
                        "sort": art.sort,
                        "target": art.url,
                        "kind": "robots_disallowed" if art.raw.get("robots_disallowed") else "article",
                    }
                )
        for trap in self.data["trap"]:
            if trap.get("listing") != key:
                continue
            href = trap.get("from") or f"{SECTION[key]}/{trap['slug']}"
            day = trap.get("date")
            target = self.by_id[trap["article"]].url if trap["kind"] == "redirect" else None
            items.append(
                {
                    "title": trap["title"],
                    "href": href,
                    "date": dmy(day) if day else None,
                    "teaser": trap["teaser"],
                    "sort": local_midnight(day or date(1990, 1, 1)),
                    "target": target,
                    "kind": trap["kind"],
                }
            )
        return sorted(items, key=lambda it: (it["sort"], it["title"]), reverse=True)

    def render_listings(self) -> None:
        for key, cfg in sorted(self.data["listing"].items()):
            items = self.listing_items(key)
            size = cfg["page_size"]
            chunks = [items[i : i + size] for i in range(0, len(items), size)]
            pages = []
            newest = max(it["sort"] for it in items if it["date"])
            for number, chunk in enumerate(chunks, 1):
                own = page_path(key, number)
                pages.append(ORIGIN + own)
                stem = "service-nyheder" if key == "sitecore" else key
                file = (
                    f"pages/{stem}.html"
                    if number == 1
                    else f"pages/{stem}-{'side' if key == 'sitecore' else 'page'}-{number}.html"
                )
                if key == "sitecore":
                    text = self.render_sitecore_listing(cfg, chunk, number, len(chunks))
                else:
                    text = self.render_new_listing(key, cfg, chunk, number, len(chunks))
                self.add(own, file, text, last_modified=newest)
            self.sitemap[ORIGIN + page_path(key, 1)] = cfg["lastmod"].isoformat()
            article_urls: list[str] = []
            excluded = []
            for it in items:
                if it["kind"] in ("article", "redirect"):
                    if it["target"] not in article_urls:
                        article_urls.append(it["target"])
                    if it["kind"] == "redirect":
                        excluded.append(
                            {
                                "url": urljoin(ORIGIN, it["href"]),
                                "kind": "redirect",
                                "target": it["target"],
                            }
                        )
                else:
                    excluded.append({"url": urljoin(ORIGIN, it["href"]), "kind": it["kind"]})
            variant_links = [
                {"href": it["href"], "canonical": it["target"]}
                for it in items
                if it["kind"] == "article" and it["href"] != urlsplit(it["target"]).path
            ]
            self.listing_rows.append(
                {
                    "listing_url": ORIGIN + page_path(key, 1),
                    "era": "sitecore" if key == "sitecore" else "new",
                    "pages": pages,
                    "article_urls": article_urls,
                    "variant_links": variant_links,
                    "excluded": excluded,
                }
            )

    def render_new_listing(
        self, key: str, cfg: dict[str, Any], chunk: list[dict[str, Any]], number: int, total: int
    ) -> str:
        cards = []
        for it in chunk:
            stamp = f'\n<p class="news-card__date">{it["date"]}</p>' if it["date"] else ""
            cards.append(f"""<li class="news-list__item">
<article class="news-card">
<h2 class="news-card__title"><a href="{esc(it["href"])}">{esc(it["title"])}</a></h2>{stamp}
<p class="news-card__teaser">{esc(it["teaser"])}</p>
</article>
</li>""")
        nav = []
        if number > 1:
            prev = SECTION[key] if number == 2 else f"?page={number - 1}"
            nav.append(f'<li><a rel="prev" href="{esc(prev)}">Forrige</a></li>')
        for n in range(1, total + 1):
            if n == number:
                nav.append(f'<li><span aria-current="page">{n}</span></li>')
            else:
                href = esc(SECTION[key] if n == 1 else f"?page={n}")
                nav.append(f'<li><a href="{href}" aria-label="Side {n}">{n}</a></li>')
        if number < total:
            nav.append(f'<li><a rel="next" href="?page={number + 1}">Næste</a></li>')
        main = f"""<main id="main-content" class="page page--list">
<h1>{esc(cfg["title"])}</h1>
<p class="intro">{esc(cfg["intro"])}</p>
<ul class="news-list">
{chr(10).join(cards)}
</ul>
<nav class="pagination" aria-label="Sider">
<ul>
{chr(10).join(nav)}
</ul>
</nav>
</main>"""
        metas = page_metas(cfg["title"], cfg["created"], description=cfg["intro"])
        return new_layout(
            title=f"{cfg['title']} - Køge Kommune",
            main=main,
            crumbs=[*NEW_CRUMBS, (cfg["title"], None)],
            canonical=ORIGIN + page_path(key, number),
            metas=metas,
            body_class="page-list",
        )

    def render_sitecore_listing(self, cfg: dict[str, Any], chunk: list[dict[str, Any]], number: int, total: int) -> str:
        rows = []
        for it in chunk:
            stamp = f'<div class="dato">{it["date"]}</div>\n' if it["date"] else ""
            rows.append(
                f'<div class="newsitem">\n<h2><a href="{esc(it["href"])}">'
                f"{esc(it['title'])}</a></h2>\n{stamp}<p>{esc(it['teaser'])}</p>\n</div>"
            )
        pager = [f"<span>Side {number} af {total}</span>"]
        if number > 1:
            pager.append(f'<a href="{page_path("sitecore", number - 1)}">« Forrige</a>')
        for n in range(1, total + 1):
            pager.append(f"<strong>{n}</strong>" if n == number else f'<a href="{page_path("sitecore", n)}">{n}</a>')
        if number < total:
            pager.append(f'<a href="{page_path("sitecore", number + 1)}">Næste »</a>')
        content = (
            f'<h1>{esc(cfg["title"])}</h1>\n<div class="newslist">\n'
            + "\n".join(rows)
            + '\n</div>\n<div class="pager">'
            + " ".join(pager)
            + "</div>"
        )
        return sitecore_layout(
            path=SITECORE_LISTING,
            title=cfg["title"],
            content=content,
            crumbs=[("Forside", "/"), ("Service", "/Service.aspx"), ("Nyheder", None)],
            banner=cfg.get("banner", False),
        )

    # ---- traps, other pages, files
    def render_traps(self) -> None:
        for trap in self.data["trap"]:
            kind = trap["kind"]
            entry: dict[str, Any] = {"kind": kind}
            if kind == "redirect":
                target = self.by_id[trap["article"]]
                src = trap.get("from") or f"{SECTION['aktuelle']}/{new_slug(target.title)}"
                location = target.url if trap.get("absolute") else target.path
                self.redirect(src, location)
                entry.update(url=ORIGIN + src, status=301, location=location, target=target.url)
                if trap.get("sitemap"):
                    self.sitemap[ORIGIN + src] = target.lastmod
            elif kind == "not_found":
                src = f"{SECTION[trap['listing']]}/{trap['slug']}"
                self.deliberate_404.add(src)
                entry.update(url=ORIGIN + src, status=404)
            elif kind == "not_html":
                src = f"{SECTION[trap['listing']]}/{trap['slug']}"
                self.add(
                    src,
                    f"files/{trap['slug']}.pdf",
                    tiny_pdf(trap["pdf"]),
                    content_type="application/pdf",
                    last_modified=local_midnight(trap["date"]),
                )
                entry.update(url=ORIGIN + src, status=200, content_type="application/pdf")
            elif kind == "not_article":
                src = f"{SECTION[trap['listing']]}/{trap['slug']}"
                body, _ = render_body(trap["body"], "new")
                main = (
                    '<main id="main-content" class="page page--content">\n'
                    f"<h1>{esc(trap['title'])}</h1>\n{body}\n</main>"
                )
                crumbs = [*NEW_CRUMBS, SECTION_CRUMB[trap["listing"]], (trap["title"], None)]
                text = new_layout(
                    title=f"{trap['title']} - Køge Kommune",
                    main=main,
                    crumbs=crumbs,
                    canonical=ORIGIN + src,
                    metas=page_metas(trap["title"], trap["created"]),
                    body_class="page-content",
                )
                self.add(src, f"pages/{trap['slug']}.html", text)
                entry.update(url=ORIGIN + src, status=200)
            else:
                raise SystemExit(f"unknown trap kind {kind}")
            linked = [
                row["listing_url"]
                for row in self.listing_rows
                if any(e["url"] == entry["url"] for e in row["excluded"])
            ]
            entry.update(
                in_listing=bool(linked),
                in_sitemap=entry["url"] in self.sitemap,
                linked_from=linked,
                note=trap["note"],
            )
            self.expected.append(entry)

    def crumbs_for(self, path: str, title: str) -> list[tuple[str, str | None]]:
        crumbs: list[tuple[str, str | None]] = [("Hjem", "/")]
        segments = path.strip("/").split("/")
        for n in range(1, len(segments)):
            prefix = "/" + "/".join(segments[:n])
            if prefix in self.pages:
                crumbs.append((self.pages[prefix]["title"], prefix))
        return [*crumbs, (title, None)]

    def render_pages(self) -> None:
        for path, page in sorted(self.pages.items()):
            body, _ = render_body(page["body"], page.get("era", "new"))
            file = "pages/" + (path.strip("/").replace("/", "--").lower().removesuffix(".aspx") or "index") + ".html"
            if page.get("era") == "sitecore":
                content = (
                    f'<div class="contentpage">\n<h1>{esc(page["title"])}</h1>\n'
                    f'<div class="manchet">{esc(page["lead"])}</div>\n'
                    '<div id="ctl00_cphPageContentMain_pagecontentmain_1_txtText" class="rte">\n'
                    f'{body}\n</div>\n<div class="opdateret">Opdateret af '
                    f"{esc(page['updated_by'])} {dmy(page['updated'])}</div>\n</div>"
                )
                crumbs = [
                    ("Forside", "/"),
                    ("Byråd og udvalg", "/Byraad-udvalg.aspx"),
                    (page["title"], None),
                ]
                text = sitecore_layout(
                    path=path,
                    title=page["title"],
                    content=content,
                    crumbs=crumbs,
                    banner=page.get("banner", False),
                )
                modified = local_midnight(page["updated"])
            else:
                if path == "/":
                    body += "\n" + self.home_news()
                lead = f'\n<p class="manchet">{esc(page["lead"])}</p>' if page.get("lead") else ""
                main = (
                    '<main id="main-content" class="page page--content">\n'
                    f"<h1>{esc(page['title'])}</h1>{lead}\n{body}\n</main>"
                )
                metas = page_metas(page["title"], page["created"], page.get("updated"), page.get("lead"))
                crumbs = [("Hjem", None)] if path == "/" else self.crumbs_for(path, page["title"])
                text = new_layout(
                    title=page["title"] if path == "/" else f"{page['title']} - Køge Kommune",
                    main=main,
                    crumbs=crumbs,
                    canonical=ORIGIN + path,
                    metas=metas,
                    body_class="page-content",
                )
                modified = parse_cms(page.get("updated") or page["created"])
            self.add(path, file, text, last_modified=modified)
            if page.get("sitemap", True):
                self.sitemap[ORIGIN + path] = modified.date().isoformat()

    def home_news(self) -> str:
        newest = sorted(
            (a for a in self.articles if a.era == "new" and a.listings and a.published),
            key=lambda a: a.sort,
            reverse=True,
        )[:3]
        items = [(a.title, a.path, a.card_date) for a in newest]
        return (
            '<section class="frontpage-news">\n<h2>Nyheder</h2>\n'
            + link_list(items, "date")
            + f'\n<p><a href="{SECTION["nyheder"]}">Se alle nyheder</a></p>\n</section>'
        )

    def render_static(self) -> None:
        for redirect in self.data["redirect"]:
            self.redirect(redirect["from"], redirect["to"])
        for image in self.data["image"]:
            self.add(
                image["path"],
                "media/" + image["path"].rsplit("/", 1)[1],
                tiny_png(image["rgb"]),
                content_type="image/png",
            )
        for att in self.data["attachment"]:
            self.add(
                att["path"],
                att["file"],
                tiny_pdf(att["lines"]),
                content_type="application/pdf",
                last_modified=local_midnight(att["date"]),
            )
        self.add("/dist/css/main.css", "assets/main.css", CSS_NEW, content_type="text/css; charset=utf-8")
        self.add(
            "/css/koege.css",
            "assets/koege.css",
            CSS_SITECORE,
            content_type="text/css; charset=utf-8",
        )
        robots = "User-agent: *\n" + "".join(f"Disallow: {d}\n" for d in self.data["robots"]["disallow"])
        self.add(
            "/robots.txt",
            "robots.txt",
            robots + f"\nSitemap: {ORIGIN}/sitemap.xml\n",
            content_type="text/plain; charset=utf-8",
        )
        main = (
            f'<main id="main-content" class="page page--error">\n<h1>Siden blev ikke fundet</h1>\n'
            "<p>Vi kan desværre ikke finde den side, du leder efter. "
            "Den kan være flyttet eller slettet.</p>\n"
            f'<p>Prøv at søge på koege.dk, eller gå til <a href="/">forsiden</a> eller '
            f'<a href="{SECTION["nyheder"]}">nyhederne</a>.</p>\n</main>'
        )
        self.files["404.html"] = new_layout(
            title="Siden blev ikke fundet - Køge Kommune",
            main=main,
            crumbs=[("Hjem", "/"), ("Siden blev ikke fundet", None)],
            canonical=None,
            metas=[],
            body_class="page-error",
        ).encode()

    def render_sitemaps(self) -> None:
        rows = []
        for loc, lastmod in sorted(self.sitemap.items()):
            mod = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
            rows.append(f"<url><loc>{esc(loc)}</loc>{mod}</url>")
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "\n".join(rows)
            + "\n</urlset>\n"
        )
        self.add(
            "/sitemap-pages.xml",
            "sitemap-pages.xml",
            xml,
            content_type="application/xml; charset=utf-8",
        )
        newest = max(m for m in self.sitemap.values() if m)[:10]
        index = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"<sitemap><loc>{ORIGIN}/sitemap-pages.xml</loc><lastmod>{newest}</lastmod></sitemap>\n</sitemapindex>\n"
        )
        self.add("/sitemap.xml", "sitemap.xml", index, content_type="application/xml; charset=utf-8")

    # ---- fixtures
    def article_rows(self) -> None:
        for art in self.articles:
            related_titles = [r.title for r in art.related]
            if art.era == "new":
                heading = "Læs også" if art.section == "pressemeddelelser" else "Relaterede nyheder"
                absent = [
                    "Skip til hoved indholdet",
                    "Vi bruger cookies",
                    "Tillad alle",
                    "Torvet 1, 4600 Køge",
                    "Presse og kommunikation",
                    heading,
                    *related_titles,
                ]
                absent += [art.visible_updated] if art.visible_updated else []
            else:
                absent = [
                    *(BANNER_STRINGS if art.raw.get("banner") else []),
                    "Du er her",
                    "Torvet 1, 4600 Køge",
                    "Se også",
                    *related_titles,
                ]
                absent += [art.dateline] if art.dateline else []
                absent += ["Opdateret af", art.footer_updated] if art.footer_updated else []
                absent += [f"Kontakt {art.contact}"] if art.contact else []
            row: dict[str, Any] = {
                "url": art.url,
                "kind": "robots_disallowed" if art.raw.get("robots_disallowed") else "article",
                "era": art.era,
                "title": art.title,
                "lead": art.lead,
                "published": art.published,
                "published_precision": art.precision,
                "published_source": art.source,
                "updated": art.updated,
                "updated_by": art.updated_by,
                "contact": art.contact,
                "key_sentences": art.raw["key_sentences"],
                "absent": absent,
                "variants": self.variants[art.id],
                "in_listing": bool(art.listings),
                "in_sitemap": art.in_sitemap,
                "listings": [ORIGIN + page_path(k, 1) for k in art.listings],
                "listing_date_text": art.card_date,
            }
            if art.raw.get("robots_disallowed"):
                row["robots_disallowed"] = True
            self.expected.append(row)
            self.check_article(art, absent)

    def check_article(self, art: Article, absent: list[str]) -> None:
        raw, err = art.raw, self.errors.append
        kinds = art.blocks
        texts = [t for _, t in kinds]
        keys = raw["key_sentences"]
        if not 2 <= len(keys) <= 4:
            err(f"{art.id}: {len(keys)} key sentences")
        for key in keys:
            if not any(key in t for t in texts):
                err(f"{art.id}: key sentence not in body: {key!r}")
        if any(k in ("li", "cell", "fakta") for k, _ in kinds) and not any(
            key in t for key in keys for k, t in kinds if k in ("li", "cell", "fakta")
        ):
            err(f"{art.id}: no key sentence from its list/table/FAKTA box")
        for bad in absent:
            if bad in art.title or bad in art.lead or any(bad in t for t in texts):
                err(f"{art.id}: boilerplate string {bad!r} occurs in the content")
        words = len(art.lead.split()) + sum(len(t.split()) for t in texts)
        if not raw.get("verbatim") and not 150 <= words <= 600:
            err(f"{art.id}: lead and body have {words} words")

    def build(self) -> dict[Path, bytes]:
        self.prepare_links()
        self.render_articles()
        self.render_listings()
        self.render_pages()
        self.render_static()
        self.render_traps()
        self.render_sitemaps()
        self.article_rows()
        self.check_output()
        order = {
            "article": 0,
            "robots_disallowed": 1,
            "redirect": 2,
            "not_found": 3,
            "not_article": 4,
            "not_html": 5,
        }
        self.expected.sort(key=lambda e: (order[e["kind"]], e["url"]))
        out = {MIRROR / name: blob for name, blob in self.files.items()}
        out[MIRROR / "routes.json"] = dumps({"routes": dict(sorted(self.routes.items()))})
        out[EXPECTED] = dumps(self.expected)
        out[LISTINGS] = dumps(sorted(self.listing_rows, key=lambda r: r["listing_url"]))
        size = sum(len(b) for p, b in out.items() if MIRROR in p.parents)
        if size > MAX_BYTES:
            self.errors.append(f"mirror is {size} bytes")
        return out

    # ---- self-check
    def check_output(self) -> None:
        err = self.errors.append
        for key, route in self.routes.items():
            if "file" in route and route["file"] not in self.files:
                err(f"route {key}: missing file {route['file']}")
            if "location" in route and not self.resolves(urljoin(ORIGIN + key, route["location"])):
                err(f"route {key}: redirect to nowhere {route['location']}")
        used = {r["file"] for r in self.routes.values() if "file" in r} | {"404.html"}
        for name in self.files:
            if name not in used:
                err(f"file {name} is not served by any route")
        pages = [
            (key, route["file"])
            for key, route in sorted(self.routes.items())
            if route.get("file", "").endswith((".html", ".xml", ".txt"))
        ]
        for key, name in [*pages, ("/404", "404.html")]:
            for href in extract_links(self.files[name].decode(), name):
                target = urljoin(ORIGIN + key, href)
                parts = urlsplit(target)
                if parts.scheme in ("http", "https") and parts.hostname in HOSTS and not self.resolves(target):
                    err(f"{key}: link {href!r} resolves to no route")
        disallow = self.data["robots"]["disallow"]
        for art in self.articles:
            blocked = any(art.path.startswith(d) for d in disallow)
            if blocked != bool(art.raw.get("robots_disallowed")):
                err(f"{art.id}: robots.txt disagrees with robots_disallowed")
            if self.routes.get(art.path, {}).get("file") != art.file:
                err(f"{art.id}: canonical path not served")
        if any(d in self.routes for d in self.deliberate_404):
            err("a deliberate 404 has a route")
        for a in self.articles:
            if not a.listings:
                for b in self.articles:
                    if a in b.related:
                        err(f"sitemap-only {a.id} is linked from {b.id}")

    def resolves(self, url: str) -> bool:
        key = route_key(url)
        return key in self.routes or key in self.deliberate_404 or urlsplit(url).path == ""


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name in {
            "a": "href",
            "link": "href",
            "img": "src",
            "script": "src",
            "form": "action",
        }.get(tag, "").split():
            if a.get(name):
                self.links.append(a[name] or "")
        if tag == "meta" and a.get("property") in ("og:image", "og:url"):
            self.links.append(a.get("content") or "")


def extract_links(text: str, name: str) -> list[str]:
    if name.endswith(".xml"):
        return [html.unescape(u) for u in re.findall(r"<loc>(.*?)</loc>", text)]
    if name.endswith(".txt"):
        return re.findall(r"^Sitemap: (\S+)", text, re.MULTILINE)
    parser = _Links()
    parser.feed(text)
    return [h for h in parser.links if not h.startswith(("mailto:", "tel:", "javascript:", "#"))]


def dumps(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = parser.parse_args()
    builder = MirrorBuilder(tomllib.loads(DATA.read_text(encoding="utf-8")))
    out = builder.build()
    if builder.errors:
        print("\n".join(f"error: {e}" for e in builder.errors), file=sys.stderr)
        return 1
    if args.check:
        on_disk = {p.relative_to(ROOT) for p in (ROOT / MIRROR).rglob("*") if p.is_file()}
        stale = sorted(
            str(p)
            for p in on_disk | set(out)
            if p not in out or not (ROOT / p).is_file() or (ROOT / p).read_bytes() != out[p]
        )
        print("\n".join(f"stale: {s}" for s in stale) or "up to date", file=sys.stderr)
        return 1 if stale else 0
    shutil.rmtree(ROOT / MIRROR, ignore_errors=True)
    for rel, blob in sorted(out.items()):
        target = ROOT / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
        os.utime(target, (FILE_TIME, FILE_TIME))
    print(summary(builder, out), file=sys.stderr)
    return 0


def summary(builder: MirrorBuilder, out: dict[Path, bytes]) -> str:
    arts = builder.articles
    kinds: dict[str, int] = {}
    for e in builder.expected:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    size = sum(len(b) for p, b in out.items() if MIRROR in p.parents)
    lines = [
        f"articles: {sum(a.era == 'new' for a in arts)} new-era, "
        f"{sum(a.era == 'sitecore' for a in arts)} Sitecore "
        f"(of which {sum(bool(a.raw.get('robots_disallowed')) for a in arts)} robots-disallowed)",
        "listings: "
        + ", ".join(f"{urlsplit(r['listing_url']).path} {len(r['pages'])} pages" for r in builder.listing_rows),
        f"sitemap entries: {len(builder.sitemap)}; routes: {len(builder.routes)}; "
        f"files: {len(builder.files)}; "
        f"mirror size: {size} bytes",
        "expected.json: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
