"""Streaming export writers: CSV, Excel-friendly CSV, JSON Lines, Parquet and XLSX (and the capture formats' names).

Every writer takes an iterable of export rows (columns in the contract's order) and keeps only
a bounded batch in memory. Excel cannot hold more than 32,767 characters in a cell: the Excel
formats (``csv-excel``, ``xlsx``) cut longer texts and end them with :data:`EXCEL_CUT_MARKER`,
and count the cut cells; the other formats keep every character.
"""

from __future__ import annotations

import codecs
import operator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from archive.queries import EXPORT_COLUMNS
from archive.rowstream import RowStream

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from pathlib import Path

__all__ = [
    "BINARY_FORMATS",
    "CAPTURE_FORMATS",
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
BINARY_FORMATS = frozenset({"parquet", "xlsx", "warc"})
#: Formats of captures rather than rows (written by :mod:`archive.warc_export`): a WARC file of
#: the selected captures, and a CDXJ index (pywb) of them in the archive's own WARC files.
CAPTURE_FORMATS = ("warc", "cdxj")
#: File name extension per format.
EXTENSIONS = {
    "csv": ".csv",
    "csv-excel": ".csv",
    "jsonl": ".jsonl",
    "parquet": ".parquet",
    "xlsx": ".xlsx",
    "warc": ".warc.gz",
    "cdxj": ".cdxj",
}
#: Media type per format (for downloads).
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "csv-excel": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "warc": "application/warc",
    "cdxj": "text/plain; charset=utf-8",
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
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START_UTF8 = tuple(start.encode() for start in _FORMULA_START)
# Rows per batch when the writer batches dicts itself (export_rows streams its own batches).
_BATCH = 500


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


def _batches(
    rows: Iterable[dict[str, Any]] | RowStream, *, utf8: bool = False, size: int = _BATCH
) -> Iterator[Sequence[Sequence[Any]]]:
    """Rows as batches of tuples in column order: a RowStream's own batches, or dicts batched here.

    With ``utf8`` texts may come as UTF-8 bytes (see :meth:`RowStream.batches`) or as str.
    """
    if isinstance(rows, RowStream):
        batches = rows.batches(utf8=utf8)
        try:
            yield from batches
        finally:
            batches.close()  # type: ignore[attr-defined]
        return
    values = operator.itemgetter(*EXPORT_COLUMNS)
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(values(row))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _utf8(value: Any) -> bytes:
    if value is None:
        return b""
    if value.__class__ is bytes:
        return value  # type: ignore[no-any-return]
    if value.__class__ is int:
        return b"%d" % value
    return value.encode() if value.__class__ is str else str(value).encode()


def _csv_column(values: Sequence[Any], delimiter: int) -> Sequence[bytes]:
    """One column of a batch as CSV fields (UTF-8), quoted only where needed."""
    first = values[0]
    if first.__class__ is bytes and (34 in first or delimiter in first or 10 in first or 13 in first):
        pass  # a column of texts with line breaks (the body text): field by field
    else:
        try:
            joined = b"\0".join(values)  # texts as bytes, none null: the common case
        except TypeError:
            values = [_utf8(value) for value in values]
            joined = b"\0".join(values)
        # One look at the whole column: most columns (dates, hashes, codes) need no quotes at all.
        if not (34 in joined or delimiter in joined or 10 in joined or 13 in joined):
            return values
    fields = []
    for value in values:
        if value.__class__ is not bytes:
            value = _utf8(value)
        # Membership of one byte (an int) is a memchr; bytes.replace copies only on a match.
        if 34 in value:  # "
            value = b'"' + value.replace(b'"', b'""') + b'"'
        elif delimiter in value or 10 in value or 13 in value:
            value = b'"' + value + b'"'
        fields.append(value)
    return fields


def _csv_lines(batch: Sequence[Sequence[Any]], delimiter: int, cell: Callable[[Any], Any] | None = None) -> bytes:
    """RFC 4180 records in UTF-8 with CRLF, quoted only where needed (the csv module's QUOTE_MINIMAL).

    Built here on bytes, column by column, rather than with ``csv.writer`` on str: the csv
    module checks every character of an article-length text one by one, and a str must be
    encoded again.
    """
    columns = zip(*batch, strict=True) if cell is None else ([cell(v) for v in c] for c in zip(*batch, strict=True))
    fields = [_csv_column(column, delimiter) for column in columns]
    separator = bytes((delimiter,))
    lines = [separator.join(row) for row in zip(*fields, strict=True)]
    lines.append(b"")
    return b"\r\n".join(lines)


def _writer_of_bytes(out: IO[str]) -> Callable[[bytes], Any]:
    """Write UTF-8 bytes to a text stream: to its byte buffer when it has one, else decoded."""
    buffer = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None)
    if buffer is not None and encoding and codecs.lookup(encoding).name == "utf-8":
        out.flush()  # what was written as text goes first
        return buffer.write  # type: ignore[no-any-return]
    return lambda data: out.write(data.decode("utf-8"))


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str], stats: WriteStats | None = None) -> int:
    """Write rows as UTF-8 CSV with a header row (RFC 4180 quoting, CRLF; null is an empty field).

    Args:
        rows: export rows (dicts, or the :class:`~archive.rowstream.RowStream` of ``export_rows``).
        out: a text stream opened with ``newline=""``.
        stats: unused (every character is kept).

    Returns:
        The number of rows written.
    """
    out.write(",".join(EXPORT_COLUMNS) + "\r\n")
    write = _writer_of_bytes(out)
    count = 0
    for batch in _batches(rows, utf8=True):
        write(_csv_lines(batch, ord(",")))
        count += len(batch)
    return count


def write_excel_csv(rows: Iterable[dict[str, Any]], out: IO[str], stats: WriteStats | None = None) -> int:
    """Write CSV that Excel opens right with a double click (Danish/European settings).

    A UTF-8 byte order mark (so æøå survive), ``;`` between fields (Excel's list separator
    where the decimal mark is a comma), texts cut to Excel's cell limit with a visible marker,
    and a ``'`` before a text that starts like a formula (``=``, ``+``, ``-``, ``@``) so Excel
    never runs an archived text as one.

    Args:
        rows: export rows (dicts, or the :class:`~archive.rowstream.RowStream` of ``export_rows``).
        out: a text stream opened with ``newline=""``.
        stats: counts the cells cut.

    Returns:
        The number of rows written.
    """
    stats = stats if stats is not None else WriteStats()

    def cell(value: Any) -> Any:
        if value.__class__ is str:
            value = value.encode()
        elif value.__class__ is not bytes:
            return value
        # A text of more UTF-8 bytes than the limit may still fit: count its characters.
        if len(value) > EXCEL_CELL_LIMIT:
            value = _fit_excel(value.decode(), stats).encode()
        return b"'" + value if value.startswith(_FORMULA_START_UTF8) else value

    out.write("\ufeff" + ";".join(EXPORT_COLUMNS) + "\r\n")
    write = _writer_of_bytes(out)
    count = 0
    for batch in _batches(rows, utf8=True):
        write(_csv_lines(batch, ord(";"), cell))
        count += len(batch)
    return count


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str], stats: WriteStats | None = None) -> int:
    """Write rows as JSON Lines (one object per line, keys in column order, UTF-8 unescaped).

    Args:
        rows: export rows (dicts, or the :class:`~archive.rowstream.RowStream` of ``export_rows``).
        out: a text stream.
        stats: unused (every character is kept).

    Returns:
        The number of rows written.
    """
    import orjson

    dumps = orjson.dumps
    columns = EXPORT_COLUMNS
    write = _writer_of_bytes(out)
    count = 0
    if isinstance(rows, RowStream) and rows.is_sqlite:
        # SQLite renders each row with json_object: the same bytes as orjson below, no dicts.
        lines = rows.json_lines()
        try:
            for batch in lines:
                write(b"\n".join([line for (line,) in batch]) + b"\n")
                count += len(batch)
        finally:
            lines.close()  # type: ignore[attr-defined]
        return count
    for batch in _batches(rows):
        # orjson keeps the keys in order and writes æøå as UTF-8, as json.dumps(ensure_ascii=False).
        write(b"\n".join([dumps(dict(zip(columns, row, strict=True))) for row in batch]) + b"\n")
        count += len(batch)
    return count


def write_parquet(
    rows: Iterable[dict[str, Any]], path: Path, stats: WriteStats | None = None, *, batch_rows: int = 2000
) -> int:
    """Write rows as Parquet (pyarrow; ``id``/``version`` int64, the rest UTF-8 strings).

    Args:
        rows: export rows (dicts, or the :class:`~archive.rowstream.RowStream` of ``export_rows``).
        path: the file to write.
        stats: unused (every character is kept).
        batch_rows: about this many rows per row group (memory stays bounded).

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
    types = [field.type for field in schema]
    # Texts are taken as bytes and then checked as UTF-8 by Arrow's cast: a third faster than
    # letting pa.array check every value.
    string, binary = pa.string(), pa.binary()
    count = 0
    pending: list[Any] = []
    pending_rows = 0
    # zstd at level 1 packs article text as tightly as the default level, several times faster.
    with pq.ParquetWriter(str(path), schema, compression="zstd", compression_level=1) as writer:
        for batch in _batches(rows, utf8=True):
            # Column-wise: one pa.array per column from the batch's tuples.
            columns = zip(*batch, strict=True)
            arrays = [
                pa.array(column, type=kind) if kind != string else pa.array(column, type=binary).cast(string)
                for column, kind in zip(columns, types, strict=True)
            ]
            pending.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
            pending_rows += len(batch)
            count += len(batch)
            if pending_rows >= batch_rows:
                writer.write_table(pa.Table.from_batches(pending, schema=schema))
                pending, pending_rows = [], 0
        if pending or count == 0:
            writer.write_table(pa.Table.from_batches(pending, schema=schema))
    return count


def write_xlsx(rows: Iterable[dict[str, Any]], path: Path, stats: WriteStats | None = None) -> int:
    """Write rows as an Excel workbook, streamed (rows go to disk as they come).

    One sheet "Artikler" with a bold, frozen header row. Texts longer than Excel's cell limit
    are cut with :data:`EXCEL_CUT_MARKER`; control characters XML cannot hold are dropped;
    text is always text (a title starting with ``=`` is never a formula). Past Excel's
    1,048,576 rows per sheet the rows go on in "Artikler 2", and so on.

    Args:
        rows: export rows (dicts, or the :class:`~archive.rowstream.RowStream` of ``export_rows``).
        path: the file to write.
        stats: counts the cells cut.

    Returns:
        The number of rows written.
    """
    from archive.xlsx import write_workbook

    stats = stats if stats is not None else WriteStats()

    def fit(value: bytes) -> bytes:
        # More UTF-8 bytes than the limit may still be few enough characters: count them.
        text = value.decode()
        return value if len(text) <= EXCEL_CELL_LIMIT else _fit_excel(text, stats).encode()

    widths = {"A": 8, "B": 8, "C": 50, "E": 50, "F": 50, "G": 80}
    return write_workbook(
        _batches(rows, utf8=True),
        path,
        EXPORT_COLUMNS,
        fit=fit,
        limit=EXCEL_CELL_LIMIT,
        widths=widths,
        title="Artikler",
    )


#: Writers by ``--format`` name. Text formats take a text stream, binary ones a path.
FORMATS: dict[str, Callable[..., int]] = {
    "csv": write_csv,
    "csv-excel": write_excel_csv,
    "jsonl": write_jsonl,
    "parquet": write_parquet,
    "xlsx": write_xlsx,
}
