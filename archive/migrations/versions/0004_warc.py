"""WARC captures: raw bodies move from the database into WARC files; readings and attachments.

Adds to ``captures`` where each exchange's WARC record lies (``warc_file``, ``warc_offset``,
``warc_length``), its ``warc_digest`` and record id, whether it is a ``revisit`` and its
``source``. New tables: ``resources`` (the last full record of every URL, for revisit records),
``extractions`` (later readings of a version's capture) and ``attachments`` (PDFs linked from
articles, with their text).

Every body kept in ``payloads`` is written to a WARC file in the archive's data folder
(``warc/``): the first capture of a body as a ``response`` record, later captures of the same
body as ``revisit`` records. Each record is read back and its digest compared with the payload's
before ``payloads`` and ``captures.payload_digest`` are dropped; any mismatch stops the upgrade
with nothing changed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from archive.db import UpgradeStopped
from archive.models.base import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Framing the stored body no longer had: the crawler kept bodies decoded.
_DROP = {"content-encoding", "content-length", "transfer-encoding"}


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("warc_digest", sa.String(length=100), nullable=False),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.Column("warc_record_id", sa.String(length=100), nullable=False),
        sa.Column("warc_file", sa.String(length=300), nullable=False),
        sa.Column("warc_offset", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_resources")),
    )
    op.create_index(op.f("ix_resources_warc_file"), "resources", ["warc_file"])
    op.create_table(
        "extractions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=True),
        sa.Column("extracted_at", UTCDateTime(), nullable=False),
        sa.Column("extractor", sa.String(length=100), nullable=False),
        sa.Column("profile_version", sa.Integer(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["versions.id"], name=op.f("fk_extractions_version_id_versions")),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.id"], name=op.f("fk_extractions_capture_id_captures")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extractions")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_extractions_version_id_extracted_at", "extractions", ["version_id", "extracted_at"])
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("warc_file", sa.String(length=300), nullable=True),
        sa.Column("warc_offset", sa.BigInteger(), nullable=True),
        sa.Column("warc_length", sa.BigInteger(), nullable=True),
        sa.Column("warc_digest", sa.String(length=100), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("text_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_attachments_document_id_documents")),
        sa.ForeignKeyConstraint(["run_id"], ["crawl_runs.id"], name=op.f("fk_attachments_run_id_crawl_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("document_id", "url", "warc_digest", name="uq_attachments_document_url_digest"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_attachments_document_id"), "attachments", ["document_id"])

    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warc_file", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("warc_offset", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("warc_length", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("warc_digest", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("warc_record_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("revisit", sa.Boolean(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("source", sa.String(length=20), nullable=False, server_default="crawl"))

    _move_payloads_to_warc()

    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_constraint("fk_captures_payload_digest_payloads", type_="foreignkey")
        batch_op.drop_column("payload_digest")
        batch_op.create_index("ix_captures_warc_file_warc_offset", ["warc_file", "warc_offset"])
    op.drop_table("payloads")


def _warc_folder() -> Path:
    data_dir = context.config.attributes.get("data_dir")
    if data_dir is None:
        raise UpgradeStopped("the archive has no data folder for WARC files; give one with --data-dir")
    return Path(data_dir) / "warc"


def _move_payloads_to_warc() -> None:
    from archive.captures import WarcStore, payload_digest, read_capture

    conn = op.get_bind()
    captures = conn.execute(
        sa.text(
            "SELECT c.id, c.url, c.fetched_at, c.http_status, c.headers, c.payload_digest "
            "FROM captures c WHERE c.payload_digest IS NOT NULL ORDER BY c.fetched_at, c.id"
        )
    ).fetchall()
    if not captures:
        return
    folder = _warc_folder()
    store = WarcStore(
        folder,
        prefix="koege-migrated",
        info={"description": "bodies kept in the archive database before schema 0004 (decoded by the crawler)"},
    )
    first: dict[str, tuple[str, dt.datetime, str]] = {}
    bodies: dict[str, bytes] = {}
    updates: list[dict[str, Any]] = []
    resources: dict[str, dict[str, Any]] = {}
    time_type = UTCDateTime()
    try:
        for cap_id, url, fetched_raw, status, headers_raw, digest in captures:
            fetched = time_type.process_result_value(_as_datetime(fetched_raw), conn.dialect)
            assert fetched is not None
            if digest not in bodies:
                row = conn.execute(
                    sa.text("SELECT data, compression, length FROM payloads WHERE digest = :d"), {"d": digest}
                ).one()
                try:
                    body = zlib.decompress(row.data) if row.compression == "zlib" else bytes(row.data)
                except zlib.error as exc:
                    raise UpgradeStopped(f"the stored body {digest} of {url} cannot be read ({exc})") from exc
                if hashlib.sha256(body).hexdigest() != digest or len(body) != row.length:
                    raise UpgradeStopped(f"the stored body {digest} of {url} does not match its digest")
                bodies[digest] = body
            body = bodies[digest]
            headers = headers_raw if isinstance(headers_raw, dict) else _json(headers_raw)
            kept = [(k, str(v)) for k, v in sorted((headers or {}).items()) if k.lower() not in _DROP]
            revisit_of = first.get(digest)
            location = store.write_exchange(
                url=url,
                fetched_at=fetched,
                status=int(status),
                reason="",
                response_headers=kept,
                body=body,
                revisit_of=revisit_of[:2] if revisit_of else None,
            )
            if revisit_of is None:
                first[digest] = (url, fetched, location.file)
                resources[url] = {
                    "url": url,
                    "warc_digest": location.payload_digest,
                    "fetched_at": fetched.replace(tzinfo=None),
                    "warc_record_id": location.record_id,
                    "warc_file": location.file,
                    "warc_offset": location.offset,
                }
            updates.append(
                {
                    "b_id": cap_id,
                    "b_file": location.file,
                    "b_offset": location.offset,
                    "b_length": location.length,
                    "b_digest": location.payload_digest,
                    "b_record": location.record_id,
                    "b_revisit": location.revisit,
                    "b_sha256": digest,
                }
            )
        store.close()
    except BaseException:
        store.close()
        raise
    # Read every record back before a single payload row goes.
    for u in updates:
        record = read_capture(folder, u["b_file"], u["b_offset"])
        if u["b_revisit"]:
            ok = record.record_type == "revisit" and record.payload_digest == u["b_digest"]
        else:
            ok = (
                record.record_type == "response"
                and hashlib.sha256(record.body).hexdigest() == u["b_sha256"]
                and payload_digest(record.body) == u["b_digest"]
            )
        if not ok:
            raise UpgradeStopped(f"capture {u['b_id']} did not read back from {u['b_file']}")
    conn.execute(
        sa.text(
            "UPDATE captures SET warc_file = :b_file, warc_offset = :b_offset, warc_length = :b_length, "
            "warc_digest = :b_digest, warc_record_id = :b_record, revisit = :b_revisit, source = 'migrated' "
            "WHERE id = :b_id"
        ),
        updates,
    )
    moved = conn.execute(sa.text("SELECT count(*) FROM captures WHERE warc_file IS NOT NULL")).scalar_one()
    if moved != len(captures):
        raise UpgradeStopped(f"{moved} of {len(captures)} captures moved to WARC")
    if resources:
        conn.execute(
            sa.text(
                "INSERT INTO resources (url, warc_digest, fetched_at, warc_record_id, warc_file, warc_offset) "
                "VALUES (:url, :warc_digest, :fetched_at, :warc_record_id, :warc_file, :warc_offset)"
            ),
            list(resources.values()),
        )


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if value else {}


def downgrade() -> None:
    raise NotImplementedError("schema 0004 moved raw bodies into WARC files; restore a backup to go back")
