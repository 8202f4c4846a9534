"""Streaming export writers: CSV, Excel-friendly CSV, JSON Lines, Parquet and XLSX.

Every writer takes an iterable of export rows (columns in the contract's order) and keeps only
a bounded batch in memory. Excel cannot hold more than 32,767 characters in a cell: the Excel
formats (``csv-excel``, ``xlsx``) cut longer texts and end them with :data:`EXCEL_CUT_MARKER`,
and count the cut cells; the other formats keep every character.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from archive.queries import EXPORT_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

__all__ = [
    "BINARY_FORMATS",
    "COLUMN_DICTIONARY",
    "EXCEL_CELL_LIMIT",
    "EXCEL_CUT_MARKER",
    "EXTENSIONS",
    "FORMATS",
    "MEDIA_TYPES",
    "WriteStats",
    "write_csv",
    "write_excel_csv",
    "write_jsonl",
    "write_parquet",
    "write_xlsx",
]

#: Most characters Excel keeps in one cell.
EXCEL_CELL_LIMIT = 32_767
#: Ends a text cut to fit an Excel cell; ``{total}`` is the length of the whole text.
EXCEL_CUT_MARKER = (
    " […] [AFKORTET/CUT: {total} tegn i alt; Excel rummer højst 32767 pr. celle – hele teksten: CSV/JSONL/Parquet]"
)
#: Formats that need a file (not a stream of text).
BINARY_FORMATS = frozenset({"parquet", "xlsx"})
#: File name extension per format.
EXTENSIONS = {"csv": ".csv", "csv-excel": ".csv", "jsonl": ".jsonl", "parquet": ".parquet", "xlsx": ".xlsx"}
#: Media type per format (for downloads).
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "csv-excel": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

#: Type and meaning of each column (written into every manifest).
COLUMN_DICTIONARY: dict[str, tuple[str, str]] = {
    "id": ("integer", "stable document id (never reused)"),
    "version": ("integer", "content version number, 1-based; id + version cite one text"),
    "url": ("string", "canonical URL of the document"),
    "site": ("string", "site profile key, e.g. koege"),
    "title": ("string", "extracted title"),
    "lead": ("string", "lead paragraph (manchet)"),
    "text": ("string", "body text"),
    "published": ("string", "ISO 8601 in Europe/Copenhagen: date-time, YYYY-MM-DD or YYYY-MM; null when unknown"),
    "updated": ("string", "ISO 8601 like published: when the page says it was updated"),
    "published_precision": ("string", "minute, day or month"),
    "published_source": ("string", "where the publication date came from (meta tag, dateline, url, …)"),
    "updated_by": ("string", "from 'Opdateret af …'; null when absent"),
    "contact": ("string", "from 'Kontakt …'; null when absent"),
    "language": ("string", "ISO 639-1 language code"),
    "content_hash": ("string", "SHA-256 (hex) of the normalised text of this version"),
    "first_seen": ("string", "UTC timestamp of the document's first capture"),
    "last_seen": ("string", "UTC timestamp of the document's latest capture"),
}

_INT_COLUMNS = frozenset({"id", "version"})
# XML 1.0 cannot hold these control characters; openpyxl refuses them.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(slots=True)
class WriteStats:
    """What a writer did besides writing rows: cells cut to fit Excel."""

    cells_cut: int = 0


def _fit_excel(value: str, stats: WriteStats) -> str:
    if len(value) <= EXCEL_CELL_LIMIT:
        return value
    stats.cells_cut += 1
    marker = EXCEL_CUT_MARKER.format(total=len(value))
    return value[: EXCEL_CELL_LIMIT - len(marker)] + marker


def _csv_line(values: list[Any], delimiter: str) -> str:
    """One RFC 4180 record (quoted only where needed, as the csv module's QUOTE_MINIMAL does)."""
    cells = []
    for value in values:
        if value is None:
            cells.append("")
        elif isinstance(value, str):
            if '"' in value or delimiter in value or "\n" in value or "\r" in value:
                cells.append('"' + value.replace('"', '""') + '"')
            else:
                cells.append(value)
        else:
            cells.append(str(value))
    return delimiter.join(cells)


def _write_lines(lines: Iterable[str], out: IO[str], batch: int = 500) -> None:
    buffer: list[str] = []
    for line in lines:
        buffer.append(line)
        if len(buffer) >= batch:
            out.write("\r\n".join(buffer) + "\r\n")
            buffer.clear()
    if buffer:
        out.write("\r\n".join(buffer) + "\r\n")


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str], stats: WriteStats | None = None) -> int:
    """Write rows as UTF-8 CSV with a header row (RFC 4180 quoting, CRLF; null is an empty field).

    Args:
        rows: export rows.
        out: a text stream opened with ``newline=""``.
        stats: unused (every character is kept).

    Returns:
        The number of rows written.
    """
    count = 0

    def lines() -> Iterable[str]:
        nonlocal count
        yield ",".join(EXPORT_COLUMNS)
        for row in rows:
            count += 1
            yield _csv_line([row[c] for c in EXPORT_COLUMNS], ",")

    _write_lines(lines(), out)
    return count


def write_excel_csv(rows: Iterable[dict[str, Any]], out: IO[str], stats: WriteStats | None = None) -> int:
    """Write CSV that Excel opens right with a double click (Danish/European settings).

    A UTF-8 byte order mark (so æøå survive), ``;`` between fields (Excel's list separator
    where the decimal mark is a comma), texts cut to Excel's cell limit with a visible marker,
    and a ``'`` before a text that starts like a formula (``=``, ``+``, ``-``, ``@``) so Excel
    never runs an archived text as one.

    Args:
        rows: export rows.
        out: a text stream opened with ``newline=""``.
        stats: counts the cells cut.

    Returns:
        The number of rows written.
    """
    stats = stats if stats is not None else WriteStats()
    count = 0

    def cell(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = _fit_excel(value, stats)
        return "'" + value if value.startswith(_FORMULA_START) else value

    def lines() -> Iterable[str]:
        nonlocal count
        yield "\ufeff" + ";".join(EXPORT_COLUMNS)
        for row in rows:
            count += 1
            yield _csv_line([cell(row[c]) for c in EXPORT_COLUMNS], ";")

    _write_lines(lines(), out)
    return count


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str], stats: WriteStats | None = None) -> int:
    """Write rows as JSON Lines (one object per line, keys in column order, UTF-8 unescaped).

    Args:
        rows: export rows.
        out: a text stream.
        stats: unused (every character is kept).

    Returns:
        The number of rows written.
    """
    count = 0
    buffer: list[str] = []
    for row in rows:
        buffer.append(json.dumps({c: row[c] for c in EXPORT_COLUMNS}, ensure_ascii=False))
        count += 1
        if len(buffer) >= 500:
            out.write("\n".join(buffer) + "\n")
            buffer.clear()
    if buffer:
        out.write("\n".join(buffer) + "\n")
    return count


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_parquet(
    rows: Iterable[dict[str, Any]], path: Path, stats: WriteStats | None = None, *, batch_rows: int = 2000
) -> int:
    """Write rows as Parquet (pyarrow; ``id``/``version`` int64, the rest UTF-8 strings).

    Args:
        rows: export rows.
        path: the file to write.
        stats: unused (every character is kept).
        batch_rows: rows per row group written (memory stays bounded).

    Returns:
        The number of rows written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            pa.field(c, pa.int64() if c in _INT_COLUMNS else pa.string(), metadata={"description": d})
            for c, (_t, d) in COLUMN_DICTIONARY.items()
        ]
    )
    count = 0
    # zstd at level 1 packs article text as tightly as the default level, several times faster.
    with pq.ParquetWriter(str(path), schema, compression="zstd", compression_level=1) as writer:
        for batch in _batches(rows, batch_rows):
            columns = {c: [row[c] for row in batch] for c in EXPORT_COLUMNS}
            writer.write_batch(pa.RecordBatch.from_pydict(columns, schema=schema))
            count += len(batch)
        if count == 0:
            writer.write_batch(pa.RecordBatch.from_pydict({c: [] for c in EXPORT_COLUMNS}, schema=schema))
    return count


def write_xlsx(rows: Iterable[dict[str, Any]], path: Path, stats: WriteStats | None = None) -> int:
    """Write rows as an Excel workbook (openpyxl write-only: rows go to disk as they come).

    One sheet "Artikler" with a bold, frozen header row. Texts longer than Excel's cell limit
    are cut with :data:`EXCEL_CUT_MARKER`; control characters XML cannot hold are dropped;
    text is always text (a title starting with ``=`` is never a formula). Past Excel's
    1,048,576 rows per sheet the rows go on in "Artikler 2", and so on.

    Args:
        rows: export rows.
        path: the file to write.
        stats: counts the cells cut.

    Returns:
        The number of rows written.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.writer.excel import ExcelWriter

    stats = stats if stats is not None else WriteStats()
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    widths = {"A": 8, "B": 8, "C": 50, "E": 50, "F": 50, "G": 80}

    def new_sheet(number: int) -> Any:
        sheet = workbook.create_sheet("Artikler" if number == 1 else f"Artikler {number}")
        sheet.freeze_panes = "A2"
        for letter, width in widths.items():
            sheet.column_dimensions[letter].width = width
        header = []
        for name in EXPORT_COLUMNS:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        return sheet

    sheets, sheet = 1, new_sheet(1)
    in_sheet = count = 0
    for row in rows:
        if in_sheet == 1_048_575:
            sheets += 1
            sheet, in_sheet = new_sheet(sheets), 0
        cells: list[Any] = []
        for c in EXPORT_COLUMNS:
            value = row[c]
            if isinstance(value, str):
                value = _fit_excel(_ILLEGAL_XML.sub("", value), stats)
                if value.startswith("="):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"
                    value = cell
            cells.append(value)
        sheet.append(cells)
        in_sheet += 1
        count += 1
    # openpyxl's own save deflates at level 6; level 1 is several times faster for a few % size.
    archive = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=1)
    ExcelWriter(workbook, archive).save()
    return count


#: Writers by ``--format`` name. Text formats take a text stream, binary ones a path.
FORMATS: dict[str, Callable[..., int]] = {
    "csv": write_csv,
    "csv-excel": write_excel_csv,
    "jsonl": write_jsonl,
    "parquet": write_parquet,
    "xlsx": write_xlsx,
}
