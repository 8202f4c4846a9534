"""WARC captures: written with warcio, read back byte for byte, and repaired after a crash."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.captures import (
    WarcError,
    WarcStore,
    payload_digest,
    purge_records,
    read_capture,
    recover_open_files,
    verify_file,
)

T0 = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)
URL = "https://www.koege.dk/om-koege-kommune/presse-og-kommunikation/nyheder-og-aktuelt/nyheder/ny-skole"
BODY = "<html><body><h1>Ny skole i Ejby</h1><p>Køge Kommune bygger.</p></body></html>".encode()


def _write(store: WarcStore, body: bytes = BODY, **kw: object):
    return store.write_exchange(
        url=URL,
        fetched_at=kw.pop("at", T0),  # type: ignore[arg-type]
        status=200,
        reason="OK",
        response_headers=[("Content-Type", "text/html; charset=utf-8"), ("Transfer-Encoding", "chunked")],
        body=body,
        request_headers=[("User-Agent", "Mozilla/5.0 (compatible; koege-archive/test; +mailto:a@b.dk)")],
        **kw,  # type: ignore[arg-type]
    )


def test_exchange_round_trip_and_file_naming(tmp_path: Path) -> None:
    store = WarcStore(tmp_path, software="koege-archive/test", info={"crawl-run": "7"})
    where = _write(store)
    assert (tmp_path / (where.file + ".open")).exists(), "a file being written ends in .open"
    store.close()
    assert (tmp_path / where.file).exists() and not list(tmp_path.glob("*.open"))
    back = read_capture(tmp_path, where.file, where.offset)
    assert back.body == BODY and back.status == 200 and back.url == URL
    assert back.payload_digest == payload_digest(BODY) == where.payload_digest
    assert ("Transfer-Encoding", "chunked") not in back.headers
    with (tmp_path / where.file).open("rb") as fh:
        types = [r.rec_type for r in ArchiveIterator(fh)]
    assert types == ["warcinfo", "response", "request"]
    assert verify_file(tmp_path / where.file) == (3, 0)


def test_identical_payload_is_a_revisit(tmp_path: Path) -> None:
    store = WarcStore(tmp_path)
    first = _write(store)
    again = _write(store, at=T0 + dt.timedelta(days=1), revisit_of=(URL, T0))
    store.close()
    assert again.revisit and not first.revisit
    back = read_capture(tmp_path, again.file, again.offset)
    assert back.record_type == "revisit" and back.body == b""


def test_files_rotate_by_size(tmp_path: Path) -> None:
    store = WarcStore(tmp_path, max_bytes=2_000)
    names = {_write(store, body=BODY * 20 + bytes([i])).file for i in range(6)}
    store.close()
    assert len(names) > 1 and sorted(p.name for p in tmp_path.glob("*.warc.gz")) == sorted(names)


@pytest.mark.parametrize("cut", [1, 17, 200])
def test_a_cut_off_tail_is_repaired_and_earlier_records_survive(tmp_path: Path, cut: int) -> None:
    store = WarcStore(tmp_path)
    kept = [_write(store, body=BODY + bytes([i])) for i in range(3)]
    store.sync()
    open_file = tmp_path / (kept[0].file + ".open")
    data = open_file.read_bytes()
    open_file.write_bytes(data[:-cut])  # a crash in the middle of the last record
    (report,) = recover_open_files(tmp_path)
    assert report.action == "repaired" and report.removed_bytes > 0
    assert not list(tmp_path.glob("*.open"))
    for where in kept[:2]:
        assert read_capture(tmp_path, where.file, where.offset).body == BODY + bytes([kept.index(where)])
    whole, trailing = verify_file(tmp_path / kept[0].file)
    assert trailing == 0 and whole >= 5


def test_a_corrupt_digest_ends_the_good_prefix(tmp_path: Path) -> None:
    store = WarcStore(tmp_path)
    where = _write(store)
    store.sync()
    path = tmp_path / (where.file + ".open")
    raw = path.read_bytes()
    member = gzip.decompress(raw[where.offset : where.offset + where.length]).replace(b"Ny skole", b"Ny SKOLE")
    path.write_bytes(raw[: where.offset] + gzip.compress(member))
    (report,) = recover_open_files(tmp_path)
    assert report.action == "repaired" and report.good_records == 1  # only the warcinfo record


def test_a_hopeless_file_is_quarantined(tmp_path: Path) -> None:
    (tmp_path / "koege-x.warc.gz.open").write_bytes(b"\x1f\x8b garbage")
    (report,) = recover_open_files(tmp_path)
    assert report.action == "quarantined"
    assert (tmp_path / "quarantine" / "koege-x.warc.gz").exists()


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WarcError, match="missing"):
        read_capture(tmp_path, "nope.warc.gz", 0)


def test_purge_removes_a_record_and_its_request_and_moves_the_rest(tmp_path: Path) -> None:
    store = WarcStore(tmp_path)
    first = _write(store, body=b"<p>Behold</p>")
    gone = _write(store, body=b"<p>Slet Hanne Hansen</p>")
    last = _write(store, body=b"<p>Behold ogsaa</p>")
    store.close()
    path = tmp_path / first.file
    moved = purge_records(path, {gone.offset})
    assert moved[gone.offset] is None and moved[first.offset] == first.offset
    assert b"Hanne" not in gzip.decompress(path.read_bytes())
    new_last = moved[last.offset]
    assert new_last is not None and read_capture(tmp_path, last.file, new_last).body == b"<p>Behold ogsaa</p>"
    assert verify_file(path) == (5, 0)  # warcinfo + two exchanges
