"""`export --format warc|cdxj`: captures out of the archive, read back with warcio; SURT keys as pywb makes them."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from archive.cli import cli
from archive.db import open_archive
from archive.queries import capture_bytes
from archive.store import ArchiveWriter, CaptureRecord
from archive.warc_export import select_captures, surt_key
from tests.archive.corpus import DOCS, KOEGE, ORIGINS, T0, build_corpus

# Keys computed with the `surt` package (what pywb uses): escapes, ports, www, query order, session ids.
SURTS = [
    (
        "https://www.koege.dk/Service/Nyheder/2018/02/Koege.aspx?id=5&B=2&a=1#top",
        "dk,koege)/service/nyheder/2018/02/koege.aspx?a=1&b=2&id=5",
    ),
    ("http://WWW2.Example.COM:80/a/./b/../c//d/?Q=%41%2541&z", "com,example)/a/c/d?q=aa&z"),
    ("https://www.koege.dk/p/Tilsynsrapport%20for%20Ølby.pdf", "dk,koege)/p/tilsynsrapport%20for%20%c3%98lby.pdf"),
    ("https://www.koege.dk:443/", "dk,koege)/"),
    ("https://koege.dk", "dk,koege)/"),
    ("http://127.0.0.1:8080/x?jsessionid=0123456789abcdef0123456789abcdef&b=1", "1,0,0,127:8080)/x?b=1"),
    ("https://køge.dk/path", "dk,xn--kge-0na)/path"),
    ("https://www.koege.dk/search?q=gr%C3%B8n+v%C3%A6kst&page=2", "dk,koege)/search?page=2&q=gr%c3%b8n+v%c3%a6kst"),
    ("http://example.com/dir/", "com,example)/dir"),
]


@pytest.mark.parametrize(("url", "key"), SURTS)
def test_surt_keys_are_pywbs(url: str, key: str) -> None:
    assert surt_key(url) == key


@pytest.fixture
def corpus(archive_url: str) -> tuple[str, dict[str, int]]:
    """The corpus, and one page fetched again unchanged (a revisit record of an identical payload)."""
    ids = build_corpus(archive_url)
    doc = next(d for d in DOCS if d.key == "delegation")
    url = ORIGINS[doc.site] + doc.path
    title, _, text = doc.versions[0]
    body = f"<html><body><h1>{title}</h1><p>{text}</p></body></html>".encode()
    archive = open_archive(archive_url)
    writer = ArchiveWriter(archive, batch_size=1)
    at = T0 + dt.timedelta(days=30)
    capture = CaptureRecord(url, url, at, 200, {"Content-Type": "text/html"}, "text/html", "utf-8", body)
    writer.add(site_key="koege", run_id=None, capture=capture, version=None, outcome="unchanged")
    writer.flush()
    writer.close()
    archive.close()
    return archive_url, ids


def _export(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["export", "--db", db_url, *args])
    return result.exit_code, result.stdout, result.stderr


def _records(path: Path) -> list[dict[str, object]]:
    with path.open("rb") as fh:
        return [
            {
                "type": r.rec_type,
                "id": r.rec_headers.get_header("WARC-Record-ID"),
                "uri": r.rec_headers.get_header("WARC-Target-URI"),
                "concurrent": r.rec_headers.get_header("WARC-Concurrent-To"),
                "digest": r.rec_headers.get_header("WARC-Payload-Digest"),
                "raw": r.raw_stream.read(),
            }
            for r in ArchiveIterator(fh, check_digests=True)
        ]


def test_warc_export_holds_every_capture_byte_for_byte(corpus: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    db_url, _ = corpus
    out = tmp_path / "alt.warc.gz"
    code, _, err = _export(db_url, "--format", "warc", "--all-versions", "-o", str(out))
    assert code == 0, err
    records = _records(out)
    assert records[0]["type"] == "warcinfo"
    archive = open_archive(db_url)
    try:
        selected = select_captures(archive, None, all_captures=True)
        by_id = {r["id"]: r for r in records}
        with archive.reading() as session:
            from archive.models import Capture

            record_ids = {c.id: c.warc_record_id for c in session.query(Capture)}
        revisits = [c for c in selected if c.revisit]
        assert revisits, "the corpus holds a revisit"
        for entry in selected:
            record = by_id[record_ids[entry.id]]
            assert record["uri"] == entry.url
            view = capture_bytes(archive, entry.id)
            assert view is not None
            if entry.revisit:
                assert record["type"] == "revisit" and record["digest"] == entry.warc_digest
                original = [r for r in records if r["type"] == "response" and r["digest"] == entry.warc_digest]
                assert original and original[0]["raw"] == view.raw, "a revisit travels with its full record"
            else:
                assert record["type"] == "response" and record["raw"] == view.raw
            requests = [r for r in records if r["type"] == "request" and r["concurrent"] == record["id"]]
            assert len(requests) == 1
        assert len([r for r in records if r["type"] in ("response", "revisit")]) == len(selected)
    finally:
        archive.close()

    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "warc" and manifest["rows"] == len(selected)
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["records"] == len(records)
    assert "Exported" in err and "Manifest:" in err


def test_warc_export_of_a_search_holds_only_its_documents(corpus: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    db_url, ids = corpus
    out = tmp_path / "budget.warc.gz"
    code, _, err = _export(db_url, "--format", "warc", "-q", "budget", "-o", str(out))
    assert code == 0, err
    responses = [r for r in _records(out) if r["type"] == "response"]
    budget = next(d for d in DOCS if d.key == "budget")
    assert [r["uri"] for r in responses] == [KOEGE + budget.path]
    # The capture of the latest content version (the corpus's second reading of the page).
    assert b"14 millioner" in responses[0]["raw"]  # type: ignore[operator]
    assert "Exported 1 capture (3 records)" in err


def test_cdxj_index_is_sorted_and_points_into_the_archive(corpus: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    db_url, _ = corpus
    out = tmp_path / "index.cdxj"
    code, _, err = _export(db_url, "--format", "cdxj", "--all-versions", "-o", str(out))
    assert code == 0, err
    raw_lines = out.read_bytes().splitlines()
    assert raw_lines == sorted(raw_lines) and raw_lines
    warc = Path(db_url.removeprefix("sqlite:///")).parent / "warc"
    archive = open_archive(db_url)
    try:
        selected = select_captures(archive, None, all_captures=True)
    finally:
        archive.close()
    assert len(raw_lines) == len(selected)
    for line in raw_lines:
        key, stamp, blob = line.decode("ascii").split(" ", 2)
        fields = json.loads(blob)
        assert set(fields) >= {"url", "mime", "status", "length", "offset", "filename"}
        assert re.fullmatch(r"\d{14}", stamp) and key == surt_key(fields["url"])
        with (warc / fields["filename"]).open("rb") as fh:
            fh.seek(int(fields["offset"]))
            member = fh.read(int(fields["length"]))
        (record,) = list(ArchiveIterator(io.BytesIO(member)))  # exactly one whole record at that offset
        assert record.rec_headers.get_header("WARC-Target-URI") == fields["url"]
        kind = record.rec_type
        assert (fields["mime"] == "warc/revisit") == (kind == "revisit")
        if "digest" in fields:
            assert record.rec_headers.get_header("WARC-Payload-Digest") == fields["digest"]
        assert (
            record.rec_headers.get_header("WARC-Date").replace("-", "").replace(":", "").replace("T", "")[:14] == stamp
        )
    manifest = json.loads(out.with_name("index.cdxj.manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "cdxj" and Path(manifest["warc_folder"]) == warc

    code, stdout, _ = _export(db_url, "--format", "cdxj", "--all-versions")
    assert code == 0 and stdout.encode().splitlines() == raw_lines


def test_export_errors_and_the_old_formats(corpus: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    db_url, _ = corpus
    code, _, err = _export(db_url, "--format", "warc")
    assert code == 2 and "cannot go to stdout" in err
    code, out, _ = _export(db_url, "--format", "csv")
    assert code == 0 and out.startswith("id,version,url,site,title,lead,text,published,updated,")

    code, _, err = _export(db_url, "--format", "warc", "--output-dir", str(tmp_path / "ud"))
    assert code == 0, err
    assert [p.name for p in sorted((tmp_path / "ud").iterdir())] == [
        "arkiv-alle.warc.gz",
        "arkiv-alle.warc.gz.manifest.json",
    ]
    code, _, err = _export(db_url, "--format", "warc", "--output-dir", str(tmp_path / "ud"))
    assert code == 0 and (tmp_path / "ud" / "arkiv-alle-2.warc.gz").exists()

    warc = Path(db_url.removeprefix("sqlite:///")).parent / "warc"
    archive = open_archive(db_url)
    try:
        victim = select_captures(archive, None, all_captures=True)[0]
    finally:
        archive.close()
    name = victim.warc_file
    data = bytearray((warc / name).read_bytes())
    data[victim.warc_offset + (victim.warc_length or 0) // 2] ^= 0xFF
    (warc / name).write_bytes(bytes(data))
    target = tmp_path / "damaged.warc.gz"
    code, _, err = _export(db_url, "--format", "warc", "--all-versions", "-o", str(target))
    assert code == 1 and name in err and "Nothing was exported" in err and "Traceback" not in err
    assert not target.exists() and not list(tmp_path.glob("damaged*"))
