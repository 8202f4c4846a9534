"""`koege-archive import`: WARC files in other tools' styles (Heritrix, wget, Wayback) into the archive."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import itertools
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.captures import payload_digest
from archive.db import open_archive
from archive.models import Capture, CrawlRun, Document, Version
from archive.queries import capture_bytes
from pipelines.importer import IMPORTED_FROM, WAYBACK_URL, classify_capture, import_warcs
from pipelines.warc_reading import strip_wayback_toolbar, wayback_original
from tests.conftest import run_cli

MIRROR = Path(__file__).parents[2] / "koege_spider" / "mirrors" / "koege" / "articles" / "sitecore"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "imports"

NEWS = "http://www.koege.dk/Service/Nyheder"
STRATEGY = f"{NEWS}/2016/04/Ny-erhvervsstrategi-skal-skabe-groen-vaekst-i-Koege.aspx"
CULTURE = f"{NEWS}/2017/09/Kulturnatten-i-Koege-byder-paa-over-80-arrangementer.aspx"
WASTE = f"{NEWS}/2015/01/Farligt-affald-skal-nu-i-den-roede-kasse.aspx"
WORKSHOP = f"{NEWS}/2018/02/Koege-Kommune-saetter-spot-paa-groen-vaekst-med-international-workshop.aspx"
BINS = "http://koege.dk/Service/Nyheder/2019/01/Nu-kommer-de-nye-affaldsbeholdere.aspx"


def canonical(url: str) -> str:
    return "https://www.koege.dk" + url.split("koege.dk", 1)[1]


def page(name: str) -> bytes:
    return (MIRROR / name).read_bytes()


STRATEGY_FINAL = page("2016-04-Ny-erhvervsstrategi-skal-skabe-groen-vaekst-i-Koege.html")
STRATEGY_FIRST = (FIXTURES / "2016-04-19-Ny-erhvervsstrategi-skal-skabe-groen-vaekst-i-Koege.html").read_bytes()
CULTURE_PAGE = page("2017-09-Kulturnatten-i-Koege-byder-paa-over-80-arrangementer.html")
WASTE_PAGE = page("2015-01-Farligt-affald-skal-nu-i-den-roede-kasse.html")
WORKSHOP_PAGE = page("2018-02-Koege-Kommune-saetter-spot-paa-groen-vaekst-med-international-workshop.html")
BINS_WAYBACK = (FIXTURES / "wayback-20190201083000-Nu-kommer-de-nye-affaldsbeholdere.html").read_bytes()
IIS = [("Server", "Microsoft-IIS/7.5"), ("X-AspNet-Version", "4.0.30319"), ("X-Powered-By", "ASP.NET")]


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


class Warc:
    """Writes WARC files the way another tool would (warcio underneath)."""

    def __init__(self, path: Path, *, gzip: bool, version: str, software: str) -> None:
        self.path = path
        self.fh = path.open("wb")
        self.writer = WARCWriter(self.fh, gzip=gzip, warc_version=version)
        self.writer.write_record(
            self.writer.create_warcinfo_record(
                path.name, {"software": software, "format": f"WARC File Format {version}"}
            )
        )
        self.ids: dict[str, str] = {}

    def _date(self, at: dt.datetime) -> str:
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")

    def exchange(
        self,
        url: str,
        at: dt.datetime,
        body: bytes,
        *,
        status: str = "200 OK",
        content_type: str = "text/html; charset=utf-8",
        chunked: bool = False,
        request: bool = True,
    ) -> str:
        headers = [("Content-Type", content_type), *IIS, ("Date", at.strftime("%a, %d %b %Y %H:%M:%S GMT"))]
        payload = body
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
            half = len(body) // 2
            parts = [body[:half], body[half:]]
            payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        else:
            headers.append(("Content-Length", str(len(body))))
        record = self.writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(payload),
            length=len(payload),
            http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": self._date(at), "WARC-IP-Address": "193.163.97.10"},
        )
        if chunked:  # Heritrix digests the entity, not the chunked framing
            record.rec_headers.replace_header("WARC-Payload-Digest", payload_digest(body))
        self.writer.write_record(record)
        record_id = record.rec_headers.get_header("WARC-Record-ID")
        if request:
            path = "/" + url.split("://", 1)[1].split("/", 1)[1]
            self.writer.write_record(
                self.writer.create_warc_record(
                    url,
                    "request",
                    http_headers=StatusAndHeaders(
                        f"GET {path} HTTP/1.1",
                        [("User-Agent", "Mozilla/5.0 (compatible; heritrix/3.4.0 +http://netarkivet.dk/)")],
                        is_http_request=True,
                    ),
                    warc_headers_dict={"WARC-Date": self._date(at), "WARC-Concurrent-To": record_id},
                )
            )
        self.ids[url + "@" + self._date(at)] = record_id
        return record_id

    def revisit(self, url: str, at: dt.datetime, body: bytes, *, refers_to: tuple[str, dt.datetime] | None) -> None:
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"), *IIS], protocol="HTTP/1.1")
        record = self.writer.create_revisit_record(
            url,
            payload_digest(body),
            refers_to[0] if refers_to else url,
            self._date(refers_to[1]) if refers_to else self._date(at),
            http_headers=http,
            warc_headers_dict={"WARC-Date": self._date(at)},
        )
        record.rec_headers.replace_header(
            "WARC-Profile", "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest"
        )
        self.writer.write_record(record)

    def record(self, kind: str, uri: str, at: dt.datetime, data: bytes, content_type: str) -> None:
        self.writer.write_record(
            self.writer.create_warc_record(
                uri,
                kind,
                payload=io.BytesIO(data),
                length=len(data),
                warc_content_type=content_type,
                warc_headers_dict={"WARC-Date": self._date(at)},
            )
        )

    def close(self) -> Path:
        self.fh.close()
        return self.path


def heritrix_file(folder: Path) -> Path:
    """Heritrix 3 style: WARC/1.0, gzip per record, request+response, a revisit, the site's other files."""
    warc = Warc(folder / "NAS-koege-20160503-00001.warc.gz", gzip=True, version="1.0", software="Heritrix/3.4.0")
    warc.exchange(STRATEGY, when("2016-05-03T08:12:00"), STRATEGY_FINAL)
    warc.exchange(f"{NEWS}.aspx", when("2016-05-03T08:11:00"), b"<html><body><h1>Nyheder</h1></body></html>")
    warc.exchange("http://www.koege.dk/css/koege.css", when("2016-05-03T08:11:01"), b"body{}", content_type="text/css")
    warc.exchange(
        f"{NEWS}/2016/04/Findes-ikke.aspx", when("2016-05-03T08:11:02"), b"<html>404</html>", status="404 Not Found"
    )
    warc.exchange(CULTURE, when("2017-09-29T06:00:00"), CULTURE_PAGE, chunked=True)
    warc.revisit(
        STRATEGY, when("2016-06-01T07:00:00"), STRATEGY_FINAL, refers_to=(STRATEGY, when("2016-05-03T08:12:00"))
    )
    return warc.close()


def wget_file(folder: Path) -> Path:
    """wget --warc-file style: WARC/1.0 uncompressed, request/response, a metadata and a resource record."""
    warc = Warc(folder / "koege-wget.warc", gzip=False, version="1.0", software="Wget/1.17.1 (linux-gnu)")
    warc.exchange(STRATEGY, when("2016-04-19T10:30:00"), STRATEGY_FIRST)
    warc.exchange(WASTE, when("2015-01-13T09:00:00"), WASTE_PAGE, content_type="text/html")
    warc.exchange("http://www.example.org/nyheder/1.html", when("2015-01-13T09:00:05"), b"<html><body>x</body></html>")
    at = when("2016-04-19T10:31:00")
    warc.record("metadata", "metadata://gnu.org/software/wget/warc/MANIFEST.txt", at, b"<urn:uuid:1>\n", "text/plain")
    warc.record(
        "resource", "metadata://gnu.org/software/wget/warc/wget.log", at, b"FINISHED --2016-04-19--\n", "text/plain"
    )
    return warc.close()


def wayback_file(folder: Path) -> Path:
    """Pages saved from the Wayback Machine: one raw (``id_``), one replayed with the toolbar."""
    warc = Warc(folder / "wayback-koege.warc.gz", gzip=True, version="1.1", software="warcio")
    downloaded = when("2024-11-02T10:14:52")
    warc.exchange(f"http://web.archive.org/web/20180515112233id_/{WORKSHOP}", downloaded, WORKSHOP_PAGE, request=False)
    warc.exchange(f"https://web.archive.org/web/20190201083000/{BINS}", downloaded, BINS_WAYBACK, request=False)
    return warc.close()


def corrupt_copy(good: Path, target: Path) -> Path:
    data = good.read_bytes()
    # Cut inside the third gzip member and append garbage: a transfer that broke off. Members are
    # found by decompressing (the magic bytes can also occur inside compressed data).
    starts, rest = [0], data
    while len(starts) < 3:
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        decoder.decompress(rest)
        rest = decoder.unused_data
        starts.append(len(data) - len(rest))
    target.write_bytes(data[: starts[2] + 40] + b"\x00garbage" * 10)
    return target


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "incoming"
    folder.mkdir()
    return {"heritrix": heritrix_file(folder), "wget": wget_file(folder), "wayback": wayback_file(folder)}


def versions_of(archive: Any, url: str) -> list[Version]:
    with archive.reading() as session:
        doc = session.scalar(select(Document).where(Document.url == canonical(url)))
        assert doc is not None, url
        return list(session.scalars(select(Version).where(Version.document_id == doc.id).order_by(Version.version)))


def counts(archive: Any) -> tuple[int, int, int]:
    with archive.reading() as session:
        return (
            session.scalar(select(func.count()).select_from(Document)) or 0,
            session.scalar(select(func.count()).select_from(Version)) or 0,
            session.scalar(select(func.count()).select_from(Capture)) or 0,
        )


def test_import_other_tools_warcs(files: dict[str, Path], archive_url: str, tmp_path: Path) -> None:
    broken = corrupt_copy(files["heritrix"], tmp_path / "incoming" / "broken-transfer.warc.gz")
    missing = tmp_path / "incoming" / "not-there.warc.gz"
    # The wget file holds the oldest capture of the strategy page; it comes last on purpose.
    result = run_cli(
        "import",
        str(files["heritrix"]),
        str(broken),
        str(files["wayback"]),
        str(missing),
        str(files["wget"]),
        "--db",
        archive_url,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "broken-transfer.warc.gz" in result.stderr and "not-there.warc.gz" in result.stderr
    assert "2 of 5 file(s) could not be read" in result.stderr
    assert "records read" in result.stderr and "skipped" in result.stderr

    archive = open_archive(archive_url)
    try:
        # The strategy page: first version from wget (19.04), second from Heritrix (03.05), in date order.
        strategy = versions_of(archive, STRATEGY)
        assert [v.first_seen for v in strategy] == [when("2016-04-19T10:30:00"), when("2016-05-03T08:12:00")]
        assert [v.updated for v in strategy] == ["2016-04-19", "2016-05-02"]
        assert {v.title for v in strategy} == {"Ny erhvervsstrategi skal skabe grøn vækst i Køge"}
        assert {v.published for v in strategy} == {"2016-04-19"}
        assert "handlingsplan" in strategy[1].text and "handlingsplan" not in strategy[0].text
        # The revisit of 01.06 resolved to the 03.05 payload: seen again, no version.
        assert strategy[1].last_seen == when("2016-06-01T07:00:00")

        expected = {
            CULTURE: ("Kulturnatten i Køge byder på over 80 arrangementer", "2017-09-28", "2017-09-29T06:00:00"),
            WASTE: ("Farligt affald skal nu i den røde kasse", "2015-01-12", "2015-01-13T09:00:00"),
            WORKSHOP: (
                "Køge Kommune sætter spot på grøn vækst med international workshop",
                "2018-02-05",
                "2018-05-15T11:22:33",
            ),
            BINS: ("Nu kommer de nye affaldsbeholdere", "2019-01-07", "2019-02-01T08:30:00"),
        }
        for url, (title, published, fetched) in expected.items():
            (only,) = versions_of(archive, url)
            assert (only.title, only.published, only.first_seen) == (title, published, when(fetched)), url
            assert "WAYBACK" not in only.text and "Wayback Machine" not in only.text

        with archive.reading() as session:
            captures = list(session.scalars(select(Capture).order_by(Capture.fetched_at)))
            run = session.scalar(select(CrawlRun))
        assert {c.source for c in captures} == {"import"}
        assert len(captures) == 7  # 6 pages (one twice) + the revisit
        # The archive's own WARC files hold every capture: the foreign files may go.
        for path in files.values():
            path.unlink()
        for cap in captures:
            view = capture_bytes(archive, cap.id)
            assert view is not None, cap.url
            assert cap.headers[IMPORTED_FROM].split("#")[0] in {
                "NAS-koege-20160503-00001.warc.gz",
                "koege-wget.warc",
                "wayback-koege.warc.gz",
            }
            assert cap.headers[IMPORTED_FROM].split("#")[1].startswith("<urn:uuid:")
            assert cap.warc_file is not None and not cap.warc_file.startswith(("NAS", "koege-wget", "wayback"))
            by_date = {
                when("2016-04-19T10:30:00"): STRATEGY_FIRST,
                when("2016-05-03T08:12:00"): STRATEGY_FINAL,
                when("2016-06-01T07:00:00"): STRATEGY_FINAL,
                when("2017-09-29T06:00:00"): CULTURE_PAGE,  # the chunked framing is gone
                when("2015-01-13T09:00:00"): WASTE_PAGE,
                when("2018-05-15T11:22:33"): WORKSHOP_PAGE,
                when("2019-02-01T08:30:00"): BINS_WAYBACK,  # as the Wayback served it
            }
            assert view.body == by_date[cap.fetched_at], cap.url
        wayback = next(c for c in captures if c.canonical_url == canonical(BINS))
        assert wayback.url == BINS and wayback.headers[WAYBACK_URL].startswith("https://web.archive.org/web/2019")
        assert run is not None and run.finish_reason == "import" and run.sites == "koege"
        assert run.status == "failed" and "broken-transfer.warc.gz" in (run.message or "")
        assert (run.new, run.changed, run.unchanged) == (5, 1, 1)
        assert run.skipped_reasons["not_article"] >= 2 and run.skipped_reasons["off_site"] == 1
        assert run.skipped_reasons["http_404"] == 1
    finally:
        archive.close()


def test_reimport_adds_nothing_and_runs_lists_imports(files: dict[str, Path], archive_url: str) -> None:
    paths = [str(p) for p in files.values()]
    first = run_cli("import", *paths, "--db", archive_url)
    assert first.returncode == 0, first.stderr
    assert "errors               0" in first.stderr or "errors" in first.stderr
    archive = open_archive(archive_url)
    try:
        before = counts(archive)
        report = import_warcs(archive, [Path(p) for p in paths])
        assert (report.new, report.changed, report.unchanged, report.duplicate) == (0, 0, 0, 0)
        assert report.skipped["already_imported"] == 7
        assert counts(archive) == before
        assert not report.problems
    finally:
        archive.close()
    runs = run_cli("runs", "--format", "json", "--db", archive_url)
    assert runs.returncode == 0, runs.stderr
    listed = json.loads(runs.stdout)
    assert [r["finish_reason"] for r in listed] == ["import", "import"]
    assert [r["status"] for r in listed] == ["finished", "finished"]
    assert listed[1]["new"] == 5 and listed[0]["new"] == 0 and listed[0]["skipped"] >= 7
    assert "koege-wget.warc" in listed[1]["message"]
    # An import is not a crawl: cron's check of the last crawl does not judge it.
    check = run_cli("check-run", "--last", "--db", archive_url)
    assert check.returncode == 1 and "there is no crawl run" in check.stderr
    assert run_cli("check-run", str(listed[0]["id"]), "--db", archive_url).returncode == 0


def test_revisits_older_captures_and_history_order(files: dict[str, Path], archive_url: str, tmp_path: Path) -> None:
    archive = open_archive(archive_url)
    try:
        import_warcs(archive, [files["heritrix"]])
        assert len(versions_of(archive, STRATEGY)) == 1
        later = Warc(tmp_path / "later.warc.gz", gzip=True, version="1.1", software="Browsertrix-Crawler 1.0")
        # A revisit whose payload only the archive holds, and one nobody holds.
        later.revisit(CULTURE, when("2018-01-10T12:00:00"), CULTURE_PAGE, refers_to=None)
        later.revisit(WASTE, when("2018-01-10T12:00:01"), b"a payload never seen", refers_to=None)
        # Older than the archive's history of the strategy page (03.05): the first version (19.04)
        # arrives after it, and a third reading of 25.04 that no version holds.
        later.exchange(STRATEGY, when("2016-04-19T10:30:00"), STRATEGY_FIRST)
        variant = STRATEGY_FINAL.replace(b"fire erhvervsmorgener", b"to erhvervsmorgener")
        later.exchange(STRATEGY, when("2016-04-25T10:00:00"), variant)
        # The bytes of the 03.05 capture, seen earlier (01.05): nothing to add but the date.
        later.exchange(STRATEGY, when("2016-05-01T10:00:00"), STRATEGY_FINAL)
        report = import_warcs(archive, [later.close()])
        assert report.revisits_resolved == 1 and report.skipped["unresolved_revisit"] == 1
        assert report.unchanged == 1 and report.older_than_history == 2
        assert report.skipped["payload_held_later"] == 1
        strategy = versions_of(archive, STRATEGY)
        assert [v.first_seen for v in strategy] == [when("2016-05-03T08:12:00")]  # numbering is never rewritten
        with archive.reading() as session:
            older = list(
                session.scalars(
                    select(Capture).where(
                        Capture.canonical_url == canonical(STRATEGY), Capture.fetched_at < when("2016-05-01")
                    )
                )
            )
            culture = session.scalars(select(Capture).where(Capture.canonical_url == canonical(CULTURE))).all()
        assert len(older) == 2  # kept as captures of the document, readable
        for cap in older:
            view = capture_bytes(archive, cap.id)
            assert view is not None and view.body in (STRATEGY_FIRST, variant)
        assert len(culture) == 2
        assert all((view := capture_bytes(archive, c.id)) is not None and view.body == CULTURE_PAGE for c in culture)
    finally:
        archive.close()


def test_import_cli_errors(archive_url: str, tmp_path: Path) -> None:
    not_warc = tmp_path / "notes.warc"
    not_warc.write_text("this is not a WARC file\n")
    result = run_cli("import", str(not_warc), "--db", archive_url)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "notes.warc" in result.stderr and "not a readable WARC file" in result.stderr
    result = run_cli("import", str(not_warc), "--site", "nowhere", "--db", archive_url)
    assert result.returncode == 2 and "no profile named 'nowhere'" in result.stderr


def test_a_record_cut_off_is_an_error_not_a_page(files: dict[str, Path], archive_url: str, tmp_path: Path) -> None:
    data = files["heritrix"].read_bytes()
    members = [i for i in range(len(data)) if data[i : i + 3] == b"\x1f\x8b\x08"]
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: members[1] + 900])  # inside the response record of the strategy page
    archive = open_archive(archive_url)
    try:
        report = import_warcs(archive, [cut, files["wget"]])
        assert [p.file for p in report.problems] == [str(cut)]
        assert "cut.warc.gz" in report.problems[0].message and "cut off" in report.problems[0].message
        assert report.new == 2  # the wget file's pages; nothing of the cut record
        assert len(versions_of(archive, STRATEGY)) == 1
    finally:
        archive.close()


def test_site_option_keeps_other_sites_out(files: dict[str, Path], archive_url: str) -> None:
    archive = open_archive(archive_url)
    try:
        report = import_warcs(archive, [files["wget"]], site="solroed")
        assert report.imported == 0 and report.skipped["off_site"] == 3
    finally:
        archive.close()


def test_wayback_urls_and_toolbar() -> None:
    assert wayback_original(f"http://web.archive.org/web/20150312000000id_/{WASTE}") == (
        WASTE,
        when("2015-03-12T00:00:00"),
        True,
    )
    assert wayback_original("https://web.archive.org/web/2016/http:/www.koege.dk/a.aspx") == (
        "http://www.koege.dk/a.aspx",
        when("2016-01-01T00:00:00"),
        False,
    )
    assert wayback_original(WASTE) is None
    stripped, injected = strip_wayback_toolbar(BINS_WAYBACK.decode("utf-8"))
    assert injected and "wm-ipp" not in stripped and "FILE ARCHIVED ON" not in stripped
    assert strip_wayback_toolbar(WASTE_PAGE.decode("utf-8")) == (WASTE_PAGE.decode("utf-8"), False)


def test_classify_capture_keeps_history_in_date_order() -> None:
    from archive.store import VersionRecord

    def version(content: str) -> VersionRecord:
        return VersionRecord(title="t", lead=None, text=content, content_hash=content, extractor="x")

    history = [("a", None, None, when("2016-01-01T00:00:00")), ("b", None, None, when("2017-01-01T00:00:00"))]
    assert classify_capture([], version("a"), when("2016-01-01T00:00:00")) == "new"
    assert classify_capture(history, version("b"), when("2018-01-01T00:00:00")) == "unchanged"
    assert classify_capture(history, version("a"), when("2018-01-01T00:00:00")) == "changed"  # back, as a crawl sees it
    assert classify_capture(history, version("a"), when("2015-06-01T00:00:00")) == "unchanged"
    assert classify_capture(history, version("c"), when("2016-06-01T00:00:00")) == "older_than_history"


def test_gzip_warc_written_per_record(files: dict[str, Path]) -> None:
    # The Heritrix-style file really is gzip per record (what the corrupt copy relies on).
    with gzip.open(files["heritrix"]) as fh:
        assert fh.read(9) == b"WARC/1.0\r"


def test_reextract_reads_imported_wayback_pages_as_the_import_did(files: dict[str, Path], archive_url: str) -> None:
    imported = run_cli("import", str(files["wayback"]), "--db", archive_url)
    assert imported.returncode == 0, imported.stderr
    again = run_cli("reextract", "--format", "json", "--db", archive_url)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["read"] >= 1 and report["changed"] == 0


@pytest.mark.parametrize("garbage", [b"", b"\x00garbage" * 10])
def test_a_file_cut_inside_any_record_is_reported(files: dict[str, Path], tmp_path: Path, garbage: bytes) -> None:
    """warcio reads a gzip file cut inside a record (a request, a warcinfo…) without a word."""
    data = files["heritrix"].read_bytes()
    starts, rest = [0], data
    while rest:
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        decoder.decompress(rest)
        rest = decoder.unused_data
        starts.append(len(data) - len(rest))
    for n, (start, end) in enumerate(itertools.pairwise(starts)):
        cut = tmp_path / f"cut-{n}.warc.gz"
        cut.write_bytes(data[: (start + end) // 2] + garbage)
        archive = open_archive(f"sqlite:///{tmp_path / f'cut-{n}.sqlite'}")
        try:
            report = import_warcs(archive, [cut])
        finally:
            archive.close()
        assert report.problems and cut.name in report.problems[0].message, n
