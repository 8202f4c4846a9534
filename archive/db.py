"""The archive database: engine and sessions from a URL, SQLite pragmas, schema create/upgrade."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator

    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import URL, Connection, Engine

__all__ = [
    "DEFAULT_ARCHIVE_PATH",
    "Archive",
    "ArchiveError",
    "ArchiveUnavailable",
    "SchemaOutdated",
    "SchemaTooNew",
    "UpgradeStopped",
    "default_archive_url",
    "open_archive",
    "upgrade_archive",
]

#: The archive file used when neither ``--db`` nor ``KOEGE_ARCHIVE_DB`` is given.
DEFAULT_ARCHIVE_PATH = Path.home() / ".local" / "share" / "koege-archive" / "archive.sqlite"


class ArchiveError(Exception):
    """Base class of the archive's own errors; messages say what to do."""


class ArchiveUnavailable(ArchiveError):
    """The archive cannot be opened or written (bad URL, missing driver, permissions, disk)."""


class SchemaOutdated(ArchiveError):
    """The archive was made by an older version of the software and must be upgraded."""


class UpgradeStopped(ArchiveError):
    """A migration found data it cannot carry over whole; it stopped and changed nothing."""


class SchemaTooNew(ArchiveError):
    """The archive was made by a newer version of the software."""


def default_archive_url() -> str:
    """Return the SQLAlchemy URL of the default archive file."""
    return f"sqlite:///{DEFAULT_ARCHIVE_PATH}"


#: The migration scripts; their ``revision``/``down_revision`` lines give the current schema.
_MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION_LINE = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:["']([^"']+)["']|None)\s*$""", re.M)


def _alembic_config(url: str) -> Config:
    # Alembic costs about half a second to import: only opening an archive that must be created
    # or upgraded (or checked against an unknown schema) pays for it.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "archive:migrations")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _script_directory() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config("sqlite://"))


def _head_revision() -> str:
    head = _script_directory().get_current_head()
    assert head is not None
    return head


def _scripted_head_revision() -> str | None:
    """The head schema revision, read from the migration scripts without importing Alembic.

    Each script in ``archive/migrations/versions`` names its ``revision`` and ``down_revision``;
    the head is the one revision no other script revises. A test holds this equal to Alembic's
    own answer.

    Returns:
        The head revision, or None when the scripts do not name exactly one head (then the
        caller asks Alembic).
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in _MIGRATIONS.glob("*.py"):
        found = {m.group(1): m.group(2) for m in _REVISION_LINE.finditer(script.read_text(encoding="utf-8"))}
        if "revision" not in found:
            continue
        revisions.add(found["revision"])
        if found.get("down_revision"):
            revised.add(found["down_revision"])
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _install_sqlite_pragmas(engine: Engine) -> None:
    # pysqlite's own transaction handling is switched off so that SQLAlchemy's "begin" event
    # decides: BEGIN IMMEDIATE for writers (no "database is locked" on upgrade from read to
    # write), plain BEGIN for readers (they never block the crawl).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("koege_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@dataclass
class Archive:
    """An open archive: its engine, URL and data directory.

    Use :meth:`reading` and :meth:`writing` for sessions; close with :meth:`close`.
    """

    url: URL
    engine: Engine
    data_dir: Path | None

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite backend."""
        return self.engine.dialect.name == "sqlite"

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return self.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads; never blocks a running crawl."""
        with Session(self.engine) as session:
            yield session

    def write_sessionmaker(self) -> sessionmaker[Session]:
        """A session factory whose transactions take the write lock at BEGIN."""
        return sessionmaker(self.engine.execution_options(koege_write=True), expire_on_commit=False)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """A session whose transaction is committed on success and rolled back on error."""
        with self.write_sessionmaker()() as session, session.begin():
            yield session

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()


def _make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        _install_sqlite_pragmas(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _parse_url(db_url: str) -> URL:
    try:
        url = make_url(db_url)
    except ArgumentError as exc:
        raise ArchiveUnavailable(
            f"{db_url!r} is not a database URL; give e.g. sqlite:///path/to/archive.sqlite "
            "or postgresql+psycopg://user@host/dbname"
        ) from exc
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        url = url.set(database=str(Path(url.database).expanduser().resolve()))
    return url


def _prepare_file(url: URL, *, create: bool) -> None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    path = Path(url.database)
    if not path.exists() and not create:
        raise ArchiveUnavailable(f"no archive at {path}; run a crawl or `koege-archive demo` first")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchiveUnavailable(f"cannot create the folder {path.parent}: {exc.strerror}") from exc


def _data_dir(url: URL, configured: str | Path | None) -> Path | None:
    """Where files beside the database live (WARC captures, logs, exports' defaults).

    Configured → that; an SQLite file → its folder; a database server → a folder per server and
    database under the default data folder (set ``--data-dir`` to share it between machines).
    """
    if configured:
        return Path(configured)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return None
        return Path(url.database).parent
    slug = re.sub(r"[^A-Za-z0-9_.]+", "_", f"{url.host or 'local'}_{url.port or ''}_{url.database or ''}").strip("_")
    return DEFAULT_ARCHIVE_PATH.parent / "servers" / slug


def open_archive(db_url: str, *, create: bool = True, data_dir: str | Path | None = None) -> Archive:
    """Open (and on first use create) an archive.

    Args:
        db_url: an SQLAlchemy URL (``sqlite:///archive.sqlite``, ``postgresql+psycopg://…``).
        create: create the schema when the database is empty.
        data_dir: where files beside the database live; by default the SQLite file's folder.

    Returns:
        The open archive.

    Raises:
        ArchiveUnavailable: bad URL, missing driver, unreachable server, unwritable file.
        SchemaOutdated: the archive needs ``koege-archive db upgrade``.
        SchemaTooNew: the archive was written by a newer koege-archive.
    """
    url = _parse_url(db_url)
    shown = url.render_as_string(hide_password=True)
    _prepare_file(url, create=create)
    try:
        engine = _make_engine(url)
    except (NoSuchModuleError, ModuleNotFoundError, ArgumentError) as exc:
        raise ArchiveUnavailable(
            f"cannot use {shown}: {exc}. For PostgreSQL install the extra: pip install -e '.[postgres]'"
        ) from exc
    archive = Archive(url=url, engine=engine, data_dir=_data_dir(url, data_dir))
    try:
        _check_schema(archive, create=create)
    except ArchiveError:
        archive.close()
        raise
    except (OperationalError, SQLAlchemyError, OSError) as exc:
        archive.close()
        reason = getattr(exc, "orig", None) or exc
        raise ArchiveUnavailable(f"cannot open the archive {shown}: {reason}") from exc
    return archive


def _current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _stamped_revisions(conn: Connection) -> set[str] | None:
    """The revisions in ``alembic_version`` (one query), or None when the table is missing."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _check_schema(archive: Archive, *, create: bool) -> None:
    scripted = _scripted_head_revision()
    with archive.engine.connect() as conn:
        if scripted is not None and _stamped_revisions(conn) == {scripted}:
            return  # the common case: a current archive, checked without Alembic
        current = _current_revision(conn)
        has_tables = bool(inspect(conn).get_table_names())
    head = _head_revision()
    if current == head:
        return
    if current is None and not has_tables:
        if create:
            _upgrade(archive)
        return
    if current is None:
        raise SchemaOutdated(
            f"{archive.display_url} holds tables but no schema version; it is not a koege-archive "
            "archive, or one from before migrations. Use another --db."
        )
    known = {rev.revision for rev in _script_directory().walk_revisions()}
    if current not in known:
        raise SchemaTooNew(
            f"{archive.display_url} was written by a newer koege-archive (schema {current}); "
            "upgrade the software: pip install -U koege-archive"
        )
    raise SchemaOutdated(
        f"{archive.display_url} has schema {current}, this software needs {head}; "
        "back it up, then run: koege-archive db upgrade"
    )


def _upgrade(archive: Archive) -> None:
    from alembic import command

    cfg = _alembic_config(archive.url.render_as_string(hide_password=False))
    cfg.attributes["data_dir"] = archive.data_dir
    if not archive.is_sqlite:
        with archive.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return
    # SQLite rebuilds a table to change its columns; with foreign keys on, dropping the old
    # table would cascade into the rows that point at it. The switch only works outside a
    # transaction, and every key is checked again before the upgrade commits.
    with archive.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys = OFF")  # outside any transaction, where it takes effect
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise UpgradeStopped(f"the upgrade would break {len(broken)} references between tables")
        finally:
            raw.execute("PRAGMA foreign_keys = ON")


def upgrade_archive(db_url: str, *, data_dir: str | Path | None = None) -> tuple[str | None, str]:
    """Migrate an archive to the current schema, keeping every row.

    Args:
        db_url: the archive's SQLAlchemy URL.
        data_dir: the archive's data folder (where schema 0004 writes WARC files), when not the default.

    Returns:
        The schema revision before and after.

    Raises:
        ArchiveUnavailable: when the archive cannot be opened.
        SchemaTooNew: when the archive is newer than this software.
    """
    url = _parse_url(db_url)
    _prepare_file(url, create=True)
    engine = _make_engine(url)
    archive = Archive(url=url, engine=engine, data_dir=_data_dir(url, data_dir))
    try:
        with engine.connect() as conn:
            before = _current_revision(conn)
        if before is not None and before not in {r.revision for r in _script_directory().walk_revisions()}:
            raise SchemaTooNew(f"{archive.display_url} is newer than this software (schema {before})")
        _upgrade(archive)
        return before, _head_revision()
    except OperationalError as exc:
        raise ArchiveUnavailable(f"cannot upgrade {archive.display_url}: {exc.orig}") from exc
    except (UpgradeStopped, OSError) as exc:
        raise ArchiveUnavailable(
            f"the upgrade of {archive.display_url} stopped: {exc}. The archive is unchanged (still schema "
            f"{before}); fix the cause (free disk space, --data-dir) and run `koege-archive db upgrade` again"
        ) from exc
    finally:
        archive.close()
