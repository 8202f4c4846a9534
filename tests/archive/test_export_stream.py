"""Exports streamed straight from the archive (raw cursor, read-ahead thread, UTF-8 bytes, SQL JSON).

The fast path must write what the plain path writes: every format is written once from
``export_rows`` as a stream and once from the same rows as dicts, and the files compared.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import TYPE_CHECKING

import pytest

from archive.db import open_archive
from archive.export import EXCEL_CELL_LIMIT, EXPORT_COLUMNS, FORMATS, write_jsonl
from archive.export_files import ExportDescription, write_export
from archive.queries import export_rows
from archive.rowstream import RowStream
from archive.store import ArchiveWriter, CaptureRecord, VersionRecord
from archive.xlsx import write_workbook

if TYPE_CHECKING:
    from pathlib import Path

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
TRICKY = 'Linje 1\nLinje 2\r\nTab\there "citat" og ; og , og & < > æøå 😀 \u2028 \\ slut \x01 \x1f.'
TEXTS = [
    TRICKY,
    "  indrykket med mellemrum  ",
    "ø" * 20_000,  # 40,000 bytes in UTF-8 but 20,000 characters: fits an Excel cell
    "æ" * 40_000,  # more characters than an Excel cell holds: cut with the marker
    "Almindelig tekst om affald i Køge Kommune.",
]


def _write_corpus(url: str, texts: list[str], *, copies: int = 1) -> None:
    archive = open_archive(url)
    writer = ArchiveWriter(archive, batch_size=500)
    writer.ensure_site("koege", "Køge Kommune", "https://www.koege.dk")
    for n in range(copies):
        for i, text in enumerate(texts):
            page = f"https://www.koege.dk/nyheder/{n}-{i}"
            writer.add(
                site_key="koege",
                run_id=None,
                capture=CaptureRecord(page, page, T0 + dt.timedelta(seconds=i), 200, {}, "text/html", "utf-8", b"x"),
                version=VersionRecord(
                    title=["=SUM(1;2)", "Grøn & <vækst>", " Titel ", "-1+2", "@navn"][i % 5],
                    lead="" if i == 4 else f"Manchet {i}; med, tegn",
                    text=text,
                    content_hash=f"hash-{n}-{i}",
                    extractor="test",
                    published="2018-02-05" if i % 2 else None,
                    published_precision="day" if i % 2 else None,
                    published_source="dateline" if i % 2 else None,
                    contact='Kontakt "Teknik"' if i == 1 else None,
                ),
                outcome="new",
            )
    writer.flush()
    archive.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, archive_url: str) -> str:
    if request.param == "sqlite":
        return archive_url
    return request.getfixturevalue("postgres_url")


def _xlsx_values(path: Path) -> dict[str, list[tuple[object, ...]]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    return {sheet.title: list(sheet.values) for sheet in workbook.worksheets}


def _read(fmt: str, path: Path) -> object:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if fmt == "xlsx":
        return _xlsx_values(path)
    return path.read_bytes()


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_stream_writes_what_the_rows_say(db_url: str, tmp_path: Path, fmt: str) -> None:
    _write_corpus(db_url, TEXTS)
    archive = open_archive(db_url)
    try:
        rows = list(export_rows(archive))
        streamed = write_export(export_rows(archive), fmt, tmp_path / f"stream.{fmt}", ExportDescription("a"))
        plain = write_export(iter(rows), fmt, tmp_path / f"plain.{fmt}", ExportDescription("a"))
    finally:
        archive.close()
    assert [r["text"] for r in rows] == [t.replace("\x00", "") for t in TEXTS]
    assert streamed.rows == plain.rows == len(TEXTS)
    assert streamed.cells_cut == plain.cells_cut == (1 if fmt in ("xlsx", "csv-excel") else 0)
    assert _read(fmt, streamed.path) == _read(fmt, plain.path)


def test_jsonl_from_sqlite_is_byte_for_byte_orjsons(archive_url: str) -> None:
    import orjson

    _write_corpus(archive_url, TEXTS)
    archive = open_archive(archive_url)
    try:
        stream = export_rows(archive)
        assert isinstance(stream, RowStream) and stream.is_sqlite
        out = io.BytesIO()
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        write_jsonl(stream, text)
        text.flush()
        expected = b"".join(orjson.dumps(row) + b"\n" for row in export_rows(archive))
    finally:
        archive.close()
    assert out.getvalue() == expected
    first = json.loads(out.getvalue().splitlines()[0])
    assert list(first) == list(EXPORT_COLUMNS) and first["text"] == TRICKY


def test_the_excel_formats_cut_by_characters_not_bytes(archive_url: str, tmp_path: Path) -> None:
    _write_corpus(archive_url, TEXTS)
    archive = open_archive(archive_url)
    try:
        result = write_export(export_rows(archive), "xlsx", tmp_path / "a.xlsx", ExportDescription("a"))
    finally:
        archive.close()
    sheet = _xlsx_values(result.path)["Artikler"]
    header, *rows = sheet
    text = dict(zip(header, rows[2], strict=False))["text"]
    assert text == "ø" * 20_000  # 40,000 bytes, 20,000 characters: whole
    cut = dict(zip(header, rows[3], strict=False))["text"]
    assert len(cut) <= EXCEL_CELL_LIMIT and "AFKORTET/CUT: 40000 tegn i alt" in cut
    tricky = dict(zip(header, rows[0], strict=False))
    assert tricky["text"] == TRICKY.replace("\x01", "").replace("\x1f", "")  # what XML cannot hold
    assert tricky["title"] == "=SUM(1;2)"  # text, never a formula
    assert dict(zip(header, rows[1], strict=False))["title"] == "Grøn & <vækst>"
    assert dict(zip(header, rows[2], strict=False))["title"] == " Titel "  # spaces kept


def test_a_full_sheet_goes_on_in_the_next(tmp_path: Path) -> None:
    rows = [(i, 1, f"række {i}") for i in range(1, 8)]
    path = tmp_path / "split.xlsx"
    count = write_workbook(
        [rows[:4], rows[4:]], path, ("id", "version", "text"), fit=bytes, limit=100, title="Ark", rows_per_sheet=3
    )
    assert count == 7
    sheets = _xlsx_values(path)
    assert list(sheets) == ["Ark", "Ark 2", "Ark 3"]
    assert [len(values) for values in sheets.values()] == [4, 4, 2]  # header + 3, header + 3, header + 1
    assert [row[0] for values in sheets.values() for row in values[1:]] == list(range(1, 8))
    assert all(values[0] == ("id", "version", "text") for values in sheets.values())
    with zipfile.ZipFile(path) as package:
        assert package.testzip() is None


def test_write_workbook_with_no_rows_has_the_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    assert write_workbook([], path, ("id", "text"), fit=bytes, limit=100, title="Artikler") == 0
    assert _xlsx_values(path) == {"Artikler": [("id", "text")]}


def test_a_stream_is_read_once_and_an_early_stop_frees_the_archive(archive_url: str) -> None:
    _write_corpus(archive_url, TEXTS)
    archive = open_archive(archive_url)
    try:
        stream = export_rows(archive, batch_size=1)
        assert next(stream)["id"] == 1
        stream.close()
        with pytest.raises(RuntimeError, match="only once"):
            stream.batches()
        assert [r["id"] for r in export_rows(archive, limit=2)] == [1, 2]
        with archive.writing() as session:  # nothing still holds the database
            session.execute(__import__("sqlalchemy").text("UPDATE sites SET name = 'Køge'"))
    finally:
        archive.close()


def test_an_error_while_reading_reaches_the_writer(archive_url: str, tmp_path: Path) -> None:
    _write_corpus(archive_url, TEXTS)
    archive = open_archive(archive_url)
    try:
        from sqlalchemy import Integer, column, text
        from sqlalchemy.exc import OperationalError

        missing = text("SELECT no_such_column FROM documents").columns(column("no_such_column", Integer))
        broken = export_rows(archive, document_ids=missing)
        with pytest.raises(OperationalError, match="no_such_column"):
            write_export(broken, "csv", tmp_path / "x.csv", ExportDescription("a"))
        assert list(tmp_path.glob("x.csv*")) == []
    finally:
        archive.close()


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('big') / 'archive.sqlite'}"
    _write_corpus(url, ["Tekst om affald og grøn vækst i Køge. " * 60] * 5, copies=600)  # 3,000 documents
    return url


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_streamed_exports_stay_in_bounded_memory(big_archive: str, tmp_path: Path, fmt: str) -> None:
    import tracemalloc

    archive = open_archive(big_archive)
    peaks = []
    try:
        for n in (300, 3000):
            tracemalloc.start()
            write_export(
                export_rows(archive, limit=n, batch_size=100), fmt, tmp_path / f"{n}.x", ExportDescription("a")
            )
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    finally:
        archive.close()
    # Ten times the rows, about the same memory: a few batches are held at a time, never all.
    assert peaks[1] < peaks[0] * 1.5 + 1_000_000
