"""Attachments: PDFs linked from articles, captured into WARC, read, linked, searchable (real crawls)."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader, PdfWriter
from scrapy.http import HtmlResponse, Request
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from archive.captures import payload_digest, warc_folder
from archive.db import open_archive
from archive.models import Attachment, Document
from archive.web import create_app
from koege_spider.pages import ArticlePage
from koege_spider.sites import ProfileError, load_profile, parse_profile
from koege_spider.urls import SiteUrls
from pipelines.attachments import read_attachment
from tests.conftest import MIRROR_ROOT, crawl_mirror, run_cli

if TYPE_CHECKING:
    from koege_spider.mirror import MirrorServer

NEWS = "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/"
BATHING = NEWS + "tre-nye-badebroer-i-koege-bugt-strandpark"
DAYCARE = NEWS + "byraadet-vedtager-ny-plan-for-fremtidens-dagtilbud"
BATHING_PDF = "https://www.koege.dk/p/Badevand%20og%20strande/Badevandsprofil%20K%C3%B8ge%20Sydstrand%202022.pdf"
DAYCARE_PDF = "https://www.koege.dk/media/k2xq7fzv/hoeringsnotat-dagtilbudsplan-2024.pdf"
FILES = {
    BATHING_PDF: (BATHING, "files/badevandsprofil-koege-sydstrand-2022.pdf"),
    DAYCARE_PDF: (DAYCARE, "files/hoeringsnotat-dagtilbudsplan-2024.pdf"),
}
EVERYTHING_DUE = ("-s", "KOEGE_RECRAWL_REVISIT_HOURS=0")


def _attachments(db_url: str) -> list[dict[str, Any]]:
    archive = open_archive(db_url)
    try:
        with archive.reading() as session:
            rows = session.execute(
                select(Attachment, Document.url).join(Document, Document.id == Attachment.document_id)
            ).all()
            return [
                {c.name: getattr(a, c.name) for c in Attachment.__table__.columns} | {"article": url} for a, url in rows
            ]
    finally:
        archive.close()


def _file_requests(server: MirrorServer, start: int) -> Counter[str]:
    return Counter(
        unquote(urlsplit(r.target).path) for r in server.requests[start:] if r.target.lower().endswith(".pdf")
    )


def _last_stats(db_url: str) -> dict[str, Any]:
    from archive.queries import list_runs

    archive = open_archive(db_url)
    try:
        return dict(list_runs(archive, limit=1)[0].stats)
    finally:
        archive.close()


@pytest.fixture(scope="module")
def crawled(koege_mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One crawl of the bundled mirror."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('attachments') / 'archive.sqlite'}"
    start = len(koege_mirror.requests)
    result = crawl_mirror(koege_mirror, db_url)
    assert result.returncode == 0, result.stderr
    return {"db_url": db_url, "result": result, "files": _file_requests(koege_mirror, start)}


def test_pdfs_are_read_and_linked_to_their_articles(crawled: dict[str, Any]) -> None:
    assert "Traceback" not in crawled["result"].stderr
    rows = {r["url"]: r for r in _attachments(crawled["db_url"])}
    assert set(rows) == set(FILES)
    for url, (article, file) in FILES.items():
        row, body = rows[url], (MIRROR_ROOT / file).read_bytes()
        assert row["article"] == article
        assert (row["http_status"], row["pages"], row["length"], row["text_error"]) == (200, 1, len(body), None)
        assert row["content_type"] == "application/pdf" and row["run_id"] is not None
    assert rows[BATHING_PDF]["title"] == "Badevandsprofil for Køge Sydstrand 2022"
    assert "Prøverne tages ved badebroen og ved livredderstationen." in rows[BATHING_PDF]["text"]
    assert "Forældrene i Vemmedrup ønsker en ny legeplads" in rows[DAYCARE_PDF]["text"]
    # Each file fetched once; the crawl's own figures are those of articles and listings.
    assert set(crawled["files"].values()) == {1}
    stats = _last_stats(crawled["db_url"])
    assert stats["koege/attachment/fetched"] == 2 and stats["koege/attachment/read"] == 2
    assert stats["koege/storage/attachment"] == 2


def test_pdfs_are_in_warc_as_sent(crawled: dict[str, Any]) -> None:
    archive = open_archive(crawled["db_url"])
    folder = warc_folder(archive)
    archive.close()
    for url, row in ((r["url"], r) for r in _attachments(crawled["db_url"])):
        body = (MIRROR_ROOT / FILES[url][1]).read_bytes()
        name = row["warc_file"]
        path = folder / name if (folder / name).exists() else folder / f"{name}.open"
        with path.open("rb") as fh:
            fh.seek(row["warc_offset"])
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_type == "response"
            assert unquote(urlsplit(record.rec_headers.get_header("WARC-Target-URI")).path) == unquote(
                urlsplit(url).path
            )
            assert record.content_stream().read() == body
            assert record.rec_headers.get_header("WARC-Payload-Digest") == row["warc_digest"] == payload_digest(body)


def test_a_word_only_in_a_pdf_finds_the_article(crawled: dict[str, Any]) -> None:
    shown = run_cli("show", DAYCARE, "--format", "json", "--db", crawled["db_url"])
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert "Vemmedrup" not in json.dumps(record["versions"], ensure_ascii=False)
    assert [(a["url"], a["name"], a["pages"]) for a in record["attachments"]] == [
        (DAYCARE_PDF, "hoeringsnotat-dagtilbudsplan-2024.pdf", 1)
    ]
    found = run_cli("search", "Vemmedrup", "--format", "json", "--db", crawled["db_url"])
    assert found.returncode == 0, found.stderr
    (hit,) = json.loads(found.stdout)
    assert hit["url"] == DAYCARE and hit["matched_in"] == "attachment" and hit["attachment_url"] == DAYCARE_PDF
    assert "[Vemmedrup]" in hit["snippet"]
    in_text = json.loads(run_cli("search", "dagtilbudsplan", "--format", "json", "--db", crawled["db_url"]).stdout)
    assert in_text[0]["url"] == DAYCARE and in_text[0]["matched_in"] == "article"
    table = run_cli("show", BATHING, "--db", crawled["db_url"])
    assert "Attachments:" in table.stdout and "Badevandsprofil Køge Sydstrand 2022.pdf" in table.stdout


def test_the_web_page_lists_attachments_and_gives_the_file_back(crawled: dict[str, Any], tmp_path: Path) -> None:
    app = create_app(crawled["db_url"], export_dir=tmp_path / "exports", allowed_hosts=["testserver"])
    with TestClient(app) as client:
        hits = client.get("/", params={"q": "Vemmedrup"}).text
        assert "Fundet i vedhæftet fil: hoeringsnotat-dagtilbudsplan-2024.pdf" in hits
        doc_id = re.search(r'href="/artikel/(\d+)', hits)[1]  # type: ignore[index]
        page = client.get(f"/artikel/{doc_id}").text
        assert 'id="attachments"' in page and DAYCARE_PDF in page and "Høringsnotat: Dagtilbudsplan" in page
        link = re.search(r'href="(/vedhaeftning/\d+)"', page)[1]  # type: ignore[index]
        got = client.get(link)
        assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
        assert got.content == (MIRROR_ROOT / FILES[DAYCARE_PDF][1]).read_bytes()
        assert got.headers["content-disposition"].startswith("attachment;")
        assert client.get("/vedhaeftning/999999").status_code == 404


def test_broken_and_encrypted_pdfs_get_text_error_and_the_crawl_finishes(
    mirror_copy: tuple[Path, MirrorServer], archive_url: str
) -> None:
    root, server = mirror_copy
    daycare = root / FILES[DAYCARE_PDF][1]
    daycare.write_bytes(daycare.read_bytes()[:300])  # cut off: no xref, no trailer
    bathing = root / FILES[BATHING_PDF][1]
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bathing.read_bytes())))
    writer.encrypt("hemmelig", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    bathing.write_bytes(out.getvalue())
    result = crawl_mirror(server, archive_url)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(r"new\s+38\b", result.stderr)
    rows = {r["url"]: r for r in _attachments(archive_url)}
    assert (rows[DAYCARE_PDF]["text_error"], rows[DAYCARE_PDF]["text"], rows[DAYCARE_PDF]["pages"]) == (
        "unreadable",
        None,
        None,
    )
    assert rows[BATHING_PDF]["text_error"] == "encrypted" and rows[BATHING_PDF]["warc_file"]
    stats = _last_stats(archive_url)
    assert stats["koege/attachment/text_error/unreadable"] == 1
    assert stats["koege/attachment/text_error/encrypted"] == 1


def test_a_recrawl_fetches_only_the_files_of_changed_articles(
    mirror_copy: tuple[Path, MirrorServer], archive_url: str
) -> None:
    root, server = mirror_copy
    assert crawl_mirror(server, archive_url).returncode == 0
    first = _attachments(archive_url)

    # Nothing changed: every article answers 304, no file is asked for again.
    start = len(server.requests)
    again = crawl_mirror(server, archive_url, *EVERYTHING_DUE)
    assert again.returncode == 0, again.stderr
    assert _file_requests(server, start) == Counter()
    assert _attachments(archive_url) == first

    # The daycare article changes: its file is fetched again (a revisit record), the other is not;
    # the same file for the same article adds no row.
    page = root / "articles/new/byraadet-vedtager-ny-plan-for-fremtidens-dagtilbud.html"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("86 høringssvar", "87 høringssvar", 1), encoding="utf-8")
    start = len(server.requests)
    third = crawl_mirror(server, archive_url, *EVERYTHING_DUE)
    assert third.returncode == 0, third.stderr
    assert _file_requests(server, start) == Counter({unquote(urlsplit(DAYCARE_PDF).path): 1})
    assert _attachments(archive_url) == first
    assert _last_stats(archive_url)["koege/attachment/fetched"] == 1


def test_a_file_linked_from_two_articles_is_fetched_once_and_linked_to_both(
    mirror_copy: tuple[Path, MirrorServer], archive_url: str
) -> None:
    root, server = mirror_copy
    link = '<p>Se også <a href="/media/k2xq7fzv/hoeringsnotat-dagtilbudsplan-2024.pdf">høringsnotatet</a>.</p>'
    pages = sorted((root / "articles/new").glob("*.html"))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        page.write_text(text.replace('<div class="rich-text">', '<div class="rich-text">' + link, 1), encoding="utf-8")
    start = len(server.requests)
    result = crawl_mirror(server, archive_url)
    assert result.returncode == 0, result.stderr
    assert _file_requests(server, start)[unquote(urlsplit(DAYCARE_PDF).path)] == 1
    rows = [r for r in _attachments(archive_url) if r["url"] == DAYCARE_PDF]
    linked = {r["article"] for r in rows}
    assert DAYCARE in linked and len(linked) == len(rows) >= 20  # every new-era article with text
    assert {(r["title"], r["pages"], r["text_error"], r["warc_digest"]) for r in rows} == {
        ("Høringsnotat: Dagtilbudsplan 2024-2032", 1, None, rows[0]["warc_digest"])
    }
    found = json.loads(run_cli("search", "Vemmedrup", "--format", "json", "--limit", "100", "--db", archive_url).stdout)
    assert {h["url"] for h in found} == linked


def test_attachments_on_postgresql(koege_mirror: MirrorServer, postgres_url: str) -> None:
    assert crawl_mirror(koege_mirror, postgres_url).returncode == 0
    rows = {r["url"]: r for r in _attachments(postgres_url)}
    assert {u: r["article"] for u, r in rows.items()} == {u: a for u, (a, _) in FILES.items()}
    found = run_cli("search", "Vemmedrup", "--format", "json", "--db", postgres_url)
    assert found.returncode == 0, found.stderr
    assert [(h["url"], h["matched_in"]) for h in json.loads(found.stdout)] == [(DAYCARE, "attachment")]
    again = crawl_mirror(koege_mirror, postgres_url)
    assert again.returncode == 0 and len(_attachments(postgres_url)) == len(rows)


# --- the pure parts: which links are attachments, and reading a file ---------------------------
_PAGE = """<html><body><header><a href="/p/Menu/Privatliv.pdf">Privatliv</a></header>
<nav><a href="/media/x/nav.pdf">nav</a></nav>
<main><article><header><a href="/media/a/i-overskrift.pdf">i overskrift</a></header>
<div class="rich-text"><p><a href="/p/Tilsyn%20og%20rapporter/Tilsynsrapport.pdf">Tilsynsrapport</a>
<a href="https://koege.dk/media/b/Bilag.PDF?v=2">bilag</a> <a href="https://example.org/fremmed.pdf">fremmed</a>
<a href="/p/Tilsyn%20og%20rapporter/Tilsynsrapport.pdf">igen</a> <a href="/dokument.docx">docx</a></p>
<div class="cookie"><a href="/p/cookie.pdf">cookies</a></div></div></article>
<aside><a href="/media/c/relateret.pdf">relateret</a></aside></main>
<footer><a href="/media/d/footer.pdf">footer</a></footer></body></html>"""


def _links(profile_data: dict[str, Any] | None = None) -> list[str]:
    profile = load_profile("koege") if profile_data is None else parse_profile(profile_data)
    url = NEWS + "en-nyhed"
    response = HtmlResponse(url, body=_PAGE.encode(), encoding="utf-8", request=Request(url))
    return ArticlePage(response, SiteUrls.for_profile(profile), "koege").attachment_links()


def test_attachment_links_are_the_contents_on_site_files_once_each() -> None:
    assert _links() == [
        "https://www.koege.dk/media/a/i-overskrift.pdf",
        "https://www.koege.dk/p/Tilsyn%20og%20rapporter/Tilsynsrapport.pdf",
        "https://www.koege.dk/media/b/Bilag.PDF?v=2",
        "https://www.koege.dk/p/cookie.pdf",
    ]


def test_attachment_pattern_and_prune_xpath_come_from_the_profile() -> None:
    import tomllib

    import koege_spider

    data = tomllib.loads((Path(koege_spider.__file__).parent / "profiles" / "koege.toml").read_text(encoding="utf-8"))
    data["article"] |= {"attachment_pattern": r"\.docx$", "prune_xpath": ["//div[@class='cookie']"]}
    assert _links(data) == ["https://www.koege.dk/dokument.docx"]
    data["article"]["attachment_pattern"] = r"\.(pdf"
    with pytest.raises(ProfileError, match="attachment_pattern"):
        parse_profile(data)
    data["article"]["attachment_pattern"] = ["\\.pdf$"]
    with pytest.raises(ProfileError, match="attachment_pattern"):
        parse_profile(data)


def test_read_attachment_reports_what_it_could_not_read() -> None:
    good = (MIRROR_ROOT / FILES[DAYCARE_PDF][1]).read_bytes()
    reading = read_attachment(good, "application/pdf")
    assert (reading.title, reading.pages, reading.error) == ("Høringsnotat: Dagtilbudsplan 2024-2032", 1, None)
    assert read_attachment(b"<html>Adgang n\xc3\xa6gtet</html>").error == "not_pdf"
    assert read_attachment(good[:200]).error == "unreadable"
    assert read_attachment(b"%PDF-1.4\n" + bytes(range(256)) * 4).error == "unreadable"
    empty = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.write(empty)
    assert (read_attachment(empty.getvalue()).error, read_attachment(empty.getvalue()).pages) == ("no_text", 1)
    locked = io.BytesIO()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(good)))
    writer.encrypt(user_password="", owner_password="ejer", algorithm="RC4-128")
    writer.write(locked)
    assert read_attachment(locked.getvalue()).error is None  # an empty user password opens it
