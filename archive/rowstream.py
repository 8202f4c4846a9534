"""Export rows streamed from the database in batches, read ahead on a thread while they are written.

Exports read 100,000s of rows. On SQLite the statement runs on the raw ``sqlite3`` cursor and
comes back in ``fetchmany`` batches of plain tuples (no SQLAlchemy row objects), texts as the
UTF-8 bytes the database holds when the writer writes UTF-8 anyway, or each row rendered as
JSON by SQLite itself; on other databases through SQLAlchemy Core with ``yield_per``. A reader
thread keeps two batches ready in a bounded queue: sqlite3 and psycopg let go of the GIL while
the database works, so reading goes on while the writer waits on the file or compresses
(Parquet), and memory stays bounded by the queue whatever the number of rows.
"""

from __future__ import annotations

import functools
import queue
import sqlite3
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, literal
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator, Sequence

    from sqlalchemy.engine import Engine
    from sqlalchemy.sql import Select

    Statement = Select[*tuple[Any, ...]]

__all__ = ["RowStream"]

_DONE = object()


class RowStream:
    """Rows of one query, read once: as dicts (iterate) or as batches of tuples (:meth:`batches`).

    Iterating yields one dict per row, keys in ``columns`` order, as ``export_rows`` always did;
    the export writers take :meth:`batches` instead, the fast path.

    Args:
        engine: the archive's engine.
        statement: the query; its result columns are ``columns``, in order.
        columns: the names of the result columns.
        batch_size: rows fetched at a time.
        read_ahead: batches kept ready by the reader thread (0: read on the caller's thread).
    """

    def __init__(
        self,
        engine: Engine,
        statement: Statement,
        columns: tuple[str, ...],
        *,
        batch_size: int = 1000,
        read_ahead: int = 2,
    ) -> None:
        self.columns = columns
        self._engine = engine
        self._statement = statement
        self._batch_size = batch_size
        # A memory database is a different database on every thread (SingletonThreadPool).
        in_memory = engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")
        self._read_ahead = 0 if in_memory else read_ahead
        self._started = False
        self._dicts: Iterator[dict[str, Any]] | None = None

    def batches(self, *, utf8: bool = False) -> Iterator[Sequence[Sequence[Any]]]:
        """The rows in batches of tuples (column order), read ahead on a thread.

        Args:
            utf8: on SQLite, give texts as the UTF-8 bytes the database holds (no decoding
                here and encoding again in a writer that writes UTF-8); other databases give str.

        Returns:
            An iterator of lists of rows; close it (or run it to the end) to release the connection.

        Raises:
            RuntimeError: the stream was already read.
        """
        if self.is_sqlite:
            read = functools.partial(self._sqlite_batches, self._statement, utf8=utf8)
        else:
            read = functools.partial(self._core_batches, self._statement)
        return self._start(read)

    @property
    def is_sqlite(self) -> bool:
        """True when the rows come from SQLite (which can also render them as JSON)."""
        return self._engine.dialect.name == "sqlite"

    def json_lines(self) -> Iterator[Sequence[Sequence[bytes]]]:
        """The rows as JSON objects rendered by SQLite's ``json_object``, in batches of 1-tuples.

        Each object holds the columns in order (UTF-8, non-ASCII unescaped, compact): byte for
        byte what ``orjson.dumps`` makes of the row's dict, without building the dict.

        Returns:
            An iterator of lists of ``(json_bytes,)``.

        Raises:
            RuntimeError: the stream was already read, or the database is not SQLite.
        """
        if not self.is_sqlite:
            raise RuntimeError("only SQLite renders export rows as JSON")
        pairs: list[Any] = []
        for name, column in zip(self.columns, self._statement.selected_columns, strict=True):
            pairs += [literal(name), column]
        statement = self._statement.with_only_columns(func.json_object(*pairs), maintain_column_froms=True)
        return self._start(functools.partial(self._sqlite_batches, statement, utf8=True))

    def _start(self, read: Callable[[], Generator[Sequence[Sequence[Any]]]]) -> Iterator[Sequence[Sequence[Any]]]:
        if self._started:
            raise RuntimeError("an export row stream can be read only once")
        self._started = True
        if self._read_ahead <= 0:
            return read()
        return _read_ahead(read, self._read_ahead)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        if self._dicts is None:
            columns = self.columns
            self._dicts = (dict(zip(columns, row, strict=True)) for batch in self.batches() for row in batch)
        return next(self._dicts)

    def close(self) -> None:
        """Stop reading early and release the connection (iterating to the end does this too)."""
        if self._dicts is not None and hasattr(self._dicts, "close"):
            self._dicts.close()

    def _sqlite_batches(self, statement: Statement, *, utf8: bool = False) -> Generator[Sequence[Sequence[Any]]]:
        compiled = statement.compile(dialect=self._engine.dialect, compile_kwargs={"render_postcompile": True})
        params = [compiled.params[name] for name in compiled.positiontup or ()]
        if not all(value is None or isinstance(value, (str, int, float, bytes)) for value in params):
            yield from self._core_batches(statement)  # a value sqlite3 cannot take as it is: let SQLAlchemy bind it
            return
        sql = str(compiled)
        with self._engine.connect() as conn:
            dbapi = conn.connection.driver_connection
            assert dbapi is not None
            # Outside a transaction (SQLAlchemy has not begun one on this connection), the
            # SELECT is its own read transaction: one consistent snapshot, no lock held after.
            cursor = dbapi.cursor()
            if utf8:
                dbapi.text_factory = bytes
            try:
                cursor.execute(sql, params)
                while batch := cursor.fetchmany(self._batch_size):
                    yield batch
            except sqlite3.Error as exc:  # the same error types as on the SQLAlchemy path
                raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc
            finally:
                cursor.close()
                dbapi.text_factory = str  # the connection goes back to the pool as it came

    def _core_batches(self, statement: Statement) -> Generator[Sequence[Sequence[Any]]]:
        with self._engine.connect() as conn:
            result = conn.execution_options(yield_per=self._batch_size).execute(statement)
            try:
                yield from result.partitions()
            finally:
                result.close()


def _read_ahead(
    read: Callable[[], Generator[Sequence[Sequence[Any]]]], depth: int
) -> Iterator[Sequence[Sequence[Any]]]:
    """Run ``read()`` on a thread, ``depth`` batches ahead of the consumer; errors come through."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def reader() -> None:
        batches = read()
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            batches.close()

    thread = threading.Thread(target=reader, name="koege-export-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
