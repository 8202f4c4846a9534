"""Streaming export writers: CSV and JSON Lines, in the contract's stable column order."""

from __future__ import annotations

import csv
import json
from typing import IO, TYPE_CHECKING, Any

from archive.queries import EXPORT_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["FORMATS", "write_csv", "write_jsonl"]


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Write rows as UTF-8 CSV with a header row (RFC 4180 quoting; null is an empty field).

    Args:
        rows: export rows.
        out: a text stream opened with ``newline=""``.

    Returns:
        The number of rows written.
    """
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in EXPORT_COLUMNS])
        count += 1
    return count


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Write rows as JSON Lines (one object per line, keys in column order, UTF-8 unescaped).

    Args:
        rows: export rows.
        out: a text stream.

    Returns:
        The number of rows written.
    """
    count = 0
    for row in rows:
        out.write(json.dumps({c: row[c] for c in EXPORT_COLUMNS}, ensure_ascii=False))
        out.write("\n")
        count += 1
    return count


#: Writers by ``--format`` name.
FORMATS: dict[str, Callable[[Iterable[dict[str, Any]], IO[str]], int]] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
}
