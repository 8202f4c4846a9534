"""Streaming XLSX: openpyxl makes the workbook, the rows go straight into the sheet XML.

openpyxl's write-only mode builds a cell object and an XML element for every cell: about 5,000
article-length rows a second here. Export rows are all alike (numbers and texts), so their
SpreadsheetML is written here directly: inline strings in UTF-8, the markup XML needs escaped,
characters XML cannot hold dropped. Every other part of the package (workbook, styles, the bold
frozen header row, column widths, properties) is openpyxl's own output, so the files look as
openpyxl's always did.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from pathlib import Path

__all__ = ["SHEET_ROWS", "write_workbook"]

#: Rows Excel holds in one sheet, the header row included.
SHEET_ROWS = 1_048_576

# Control characters XML 1.0 cannot hold (tab, line feed and carriage return it can). In UTF-8
# these bytes never occur inside a multi-byte character, so they can be dropped byte by byte.
_ILLEGAL_XML = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_PLAIN = b'" t="inlineStr"><is><t>'
_PRESERVED = b'" t="inlineStr"><is><t xml:space="preserve">'


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _shell(columns: Sequence[str], widths: Mapping[str, float], titles: list[str]) -> dict[str, bytes]:
    """Every part of an openpyxl workbook with these sheets, each holding only the header row."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for title in titles:
        sheet = workbook.create_sheet(title)
        sheet.freeze_panes = "A2"
        for letter, width in widths.items():
            sheet.column_dimensions[letter].width = width
        header = []
        for name in columns:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as package:
        return {name: package.read(name) for name in package.namelist()}


def _escape(value: bytes) -> bytes:
    if 38 in value:  # &
        value = value.replace(b"&", b"&amp;")
    if 60 in value:  # <
        value = value.replace(b"<", b"&lt;")
    if 62 in value:  # >
        value = value.replace(b">", b"&gt;")
    if 13 in value:  # a carriage return XML parsers would turn into a line feed
        value = value.replace(b"\r", b"&#13;")
    return value


def _sheet_rows(
    batch: Sequence[Sequence[Any]], first: int, refs: list[bytes], limit: int, fit: Callable[[bytes], bytes]
) -> bytes:
    """SpreadsheetML ``<row>`` elements for a batch; ``first`` is the first row's number."""
    parts = []
    number = first
    for row in batch:
        suffix = b"%d" % number
        parts.append(b'<row r="' + suffix + b'">')
        for ref, value in zip(refs, row, strict=True):
            if value is None:
                continue
            if value.__class__ is int:
                parts.append(ref + suffix + b'" t="n"><v>%d</v></c>' % value)
                continue
            if value.__class__ is not bytes:
                value = value.encode() if value.__class__ is str else str(value).encode()
            if not value:
                continue
            if len(value) > limit:  # characters XML cannot hold go before the cut
                value = fit(value.translate(None, _ILLEGAL_XML))
            if 38 in value or 60 in value or 62 in value or 13 in value:
                value = _escape(value)
            # Space (or a control character dropped below) at either end: keep the spaces.
            keep = value[0] <= 32 or value[-1] <= 32
            parts.append(ref + suffix + (_PRESERVED if keep else _PLAIN) + value + b"</t></is></c>")
        parts.append(b"</row>")
        number += 1
    # Markup never holds control characters: dropping them from the whole batch at once is
    # dropping them from every text.
    return b"".join(parts).translate(None, _ILLEGAL_XML)


def write_workbook(
    batches: Iterable[Sequence[Sequence[Any]]],
    path: Path,
    columns: Sequence[str],
    *,
    fit: Callable[[bytes], bytes],
    limit: int,
    widths: Mapping[str, float] | None = None,
    title: str = "Sheet",
    rows_per_sheet: int = SHEET_ROWS - 1,
) -> int:
    """Write rows into an XLSX workbook, sheet after sheet when one is full.

    Args:
        batches: rows in batches; a value is an int, a text (UTF-8 bytes or str) or None.
        path: the file to write.
        columns: the header row.
        fit: makes a text (UTF-8 bytes, XML-safe characters) fit a cell, e.g. cuts it; called
            only for texts of more than ``limit`` bytes.
        limit: the most characters a cell holds.
        widths: column widths by letter.
        title: the first sheet's name; the next are "<title> 2", "<title> 3", …
        rows_per_sheet: rows under the header in each sheet (Excel's most by default).

    Returns:
        The number of rows written.
    """
    refs = [b'<c r="' + _column_letter(i).encode() for i in range(len(columns))]
    head, end, tail = _shell(columns, widths or {}, [title])["xl/worksheets/sheet1.xml"].partition(b"</sheetData>")
    if not end:
        raise RuntimeError("openpyxl wrote a sheet without sheetData")
    count = 0
    titles: list[str] = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=1) as package:
        # A sheet goes to a temporary file first, so that its size is known when it is zipped
        # (Zip64 records only when a sheet passes 2 GiB, as openpyxl and Excel do it).
        sheet: Any = None
        in_sheet = 0

        def finish() -> None:
            sheet.write(end + tail)
            sheet.flush()
            package.write(sheet.name, f"xl/worksheets/sheet{len(titles)}.xml")
            sheet.close()

        try:
            for batch in batches:
                at = 0
                while at < len(batch):
                    if sheet is None or in_sheet == rows_per_sheet:
                        if sheet is not None:
                            finish()
                        titles.append(title if not titles else f"{title} {len(titles) + 1}")
                        sheet = tempfile.NamedTemporaryFile(prefix="koege-xlsx-", suffix=".xml")  # noqa: SIM115
                        sheet.write(head)
                        in_sheet = 0
                    part = batch[at : at + rows_per_sheet - in_sheet]
                    sheet.write(_sheet_rows(part, in_sheet + 2, refs, limit, fit))
                    in_sheet += len(part)
                    count += len(part)
                    at += len(part)
            if sheet is None:
                titles.append(title)
                sheet = tempfile.NamedTemporaryFile(prefix="koege-xlsx-", suffix=".xml")  # noqa: SIM115
                sheet.write(head)
            finish()
            sheet = None
        finally:
            if sheet is not None:
                sheet.close()
        for name, data in _shell(columns, widths or {}, titles).items():
            if not name.startswith("xl/worksheets/sheet"):
                package.writestr(name, data)
    return count
