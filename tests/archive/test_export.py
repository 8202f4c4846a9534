"""Every export format read back by its own reader; Excel's cell limit; manifests; safe file names."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import TYPE_CHECKING

import pytest

from archive.db import open_archive
from archive.export import EXCEL_CELL_LIMIT, EXPORT_COLUMNS, FORMATS
from archive.export_files import ExportDescription, export_file_name, safe_path, write_export
from archive.queries import export_rows
from archive.search import SearchFilters, matching_ids
from tests.archive.corpus import build_corpus

if TYPE_CHECKING:
    from pathlib import Path

LONG = "Lang tekst om affald. " * 2500  # 55,000 characters: over Excel's cell limit


def _rows() -> list[dict[str, object]]:
    base = dict.fromkeys(EXPORT_COLUMNS)
    return [
        {
            **base,
            "id": 1,
            "version": 1,
            "url": "https://www.koege.dk/a",
            "site": "koege",
            "title": "Grøn vækst i Køge",
            "text": 'Første linje\nAnden linje; med "citat" og komma, æøå',
            "published": "2018-02-05",
        },
        {
            **base,
            "id": 2,
            "version": 3,
            "url": "https://www.koege.dk/b",
            "site": "koege",
            "title": '=HYPERLINK("x")',
            "lead": "-1+2",
            "text": LONG,
            "published": None,
            "contact": "Kontakt\x01 Teknik",
        },
    ]


def _read(fmt: str, path: Path) -> list[dict[str, object]]:
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    if fmt == "csv-excel":
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        assert table.schema.field("id").type == "int64"
        return table.to_pylist()
    from openpyxl import load_workbook

    sheet = load_workbook(path, read_only=True)["Artikler"]
    values = list(sheet.values)
    width = len(values[0])  # read-only mode leaves trailing empty cells out
    return [dict(zip(values[0], (*row, *[None] * (width - len(row))), strict=True)) for row in values[1:]]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_reads_back(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"eksport{'.csv' if fmt.startswith('csv') else '.' + fmt}"
    result = write_export(iter(_rows()), fmt, path, ExportDescription("sqlite:///x.sqlite", "vækst", {"site": "koege"}))
    back = _read(fmt, path)
    assert result.rows == 2 and len(back) == 2
    assert list(back[0]) == list(EXPORT_COLUMNS)
    first, second = back
    assert first["title"] == "Grøn vækst i Køge"
    assert first["text"] == 'Første linje\nAnden linje; med "citat" og komma, æøå'
    assert int(first["id"]) == 1 and int(second["version"]) == 3
    assert second["published"] in (None, "")
    if fmt in ("xlsx", "csv-excel"):
        assert len(second["text"]) <= EXCEL_CELL_LIMIT
        assert "AFKORTET/CUT: 55000 tegn i alt" in second["text"]
        assert result.cells_cut == 1 and result.manifest["excel_cell_limit"]["cells_cut"] == 1
    else:
        assert second["text"] == LONG and result.cells_cut == 0
    if fmt == "csv-excel":
        assert second["title"] == '\'=HYPERLINK("x")' and second["lead"] == "'-1+2"
    elif fmt == "xlsx":
        assert second["title"] == '=HYPERLINK("x")'  # text, never a formula
        assert second["contact"] == "Kontakt Teknik"  # a control character XML cannot hold is dropped
    else:
        assert second["title"] == '=HYPERLINK("x")'


def test_manifest_describes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "koege-vækst.jsonl"
    result = write_export(
        iter(_rows()), "jsonl", path, ExportDescription("sqlite:///a.sqlite", "vækst*", {"since": "2018"})
    )
    manifest = json.loads((tmp_path / "koege-vækst.jsonl.manifest.json").read_text(encoding="utf-8"))
    assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == result.sha256
    assert manifest["rows"] == 2 and manifest["query"] == "vækst*" and manifest["filters"] == {"since": "2018"}
    assert manifest["archive"] == "sqlite:///a.sqlite" and manifest["created"].endswith("Z")
    assert [c["name"] for c in manifest["columns"]] == list(EXPORT_COLUMNS)
    assert all(c["description"] for c in manifest["columns"])
    assert result.sha256 in manifest["cite_as"]
    assert not list(tmp_path.glob("*.partial"))


def test_a_failed_export_leaves_nothing(tmp_path: Path) -> None:
    def broken():
        yield _rows()[0]
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_export(broken(), "csv", tmp_path / "x.csv", ExportDescription("a"))
    assert list(tmp_path.iterdir()) == []


def test_file_names_keep_danish_letters_and_stay_inside(tmp_path: Path) -> None:
    assert export_file_name("grøn vækst", {"site": "koege", "since": "2018", "until": "2021"}, "xlsx") == (
        "koege-grøn-vækst-2018-2021.xlsx"
    )
    assert export_file_name("", None, "csv") == "arkiv-alle.csv"
    for hostile in ["../../etc/passwd", "..", "/root/.ssh/x", "..\\..\\win", "a/../../b", "\x00", ".hidden"]:
        name = export_file_name(hostile, {"section": "../x"}, "csv")
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert safe_path(tmp_path, name).parent == tmp_path.resolve()
    for bad in ["../x.csv", "a/b.csv", "..", ""]:
        with pytest.raises(ValueError, match="not a file name"):
            safe_path(tmp_path, bad)


def test_a_search_export_holds_what_the_search_finds(archive_url: str, tmp_path: Path) -> None:
    ids = build_corpus(archive_url)
    archive = open_archive(archive_url)
    try:
        subset = matching_ids(archive, "haveaffald", SearchFilters(site="koege"))
        rows = list(export_rows(archive, document_ids=subset))
        assert [r["id"] for r in rows] == [ids["affald"]]
        every = list(export_rows(archive, all_versions=True, document_ids=matching_ids(archive, "daginstitutioner")))
        assert [(r["id"], r["version"]) for r in every] == [(ids["budget"], 1), (ids["budget"], 2)]
    finally:
        archive.close()


@pytest.mark.parametrize("fmt", ["csv", "csv-excel", "jsonl", "parquet", "xlsx"])
def test_writers_stream_in_bounded_memory(tmp_path: Path, fmt: str) -> None:
    import tracemalloc

    def rows(n: int):
        base = dict.fromkeys(EXPORT_COLUMNS)
        for i in range(n):
            yield {
                **base,
                "id": i,
                "version": 1,
                "url": f"https://www.koege.dk/{i}",
                "site": "koege",
                "text": "ø" * 800,
            }

    peaks = []
    for n in (1_000, 10_000):
        tracemalloc.start()
        write_export(rows(n), fmt, tmp_path / f"{n}{fmt}", ExportDescription("a"))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # Ten times the rows, about the same memory: rows are never all held at once.
    assert peaks[1] < peaks[0] * 1.5 + 2_000_000
