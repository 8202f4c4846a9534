"""Recrawls, events and duplicates: validators per URL, removed/restored/moved, aliases, MinHash.

Adds to ``documents`` the validators of conditional requests (ETag, Last-Modified, the sitemap's
lastmod, the last payload's digest), when the URL was last checked and with what status, and
``removed_at``; to ``crawl_runs`` the counts ``not_modified``, ``removed`` and ``restored``; to
``sites`` when the listings were last walked to their end. New tables: ``document_events``,
``url_aliases``, ``document_signatures``, ``signature_buckets`` and ``near_duplicates``.
Every existing row is kept; the new columns start empty (counts at 0).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from archive.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_RUN_COUNTS = ("not_modified", "removed", "restored")
_BATCH = 500


def _document_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("etag", sa.String(length=300), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("sitemap_lastmod", sa.String(length=40), nullable=True),
        sa.Column("payload_digest", sa.String(length=64), nullable=True),
        sa.Column("last_checked", UTCDateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
    ]


def _header(headers: dict[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _backfill_validators() -> None:
    """Take each document's validators from its latest capture, so the first recrawl after the
    upgrade already sends conditional requests."""
    conn = op.get_bind()
    captures = sa.table(
        "captures",
        sa.column("id", sa.Integer()),
        sa.column("document_id", sa.Integer()),
        sa.column("fetched_at", UTCDateTime()),
        sa.column("http_status", sa.Integer()),
        sa.column("headers", sa.JSON()),
        sa.column("payload_digest", sa.String()),
    )
    documents = sa.table(
        "documents",
        sa.column("id", sa.Integer()),
        sa.column("etag", sa.String()),
        sa.column("last_modified", sa.String()),
        sa.column("payload_digest", sa.String()),
        sa.column("last_checked", UTCDateTime()),
        sa.column("last_status", sa.Integer()),
    )
    latest = (
        sa.select(sa.func.max(captures.c.id))
        .where(captures.c.document_id.is_not(None))
        .group_by(captures.c.document_id)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(
            captures.c.document_id,
            captures.c.fetched_at,
            captures.c.http_status,
            captures.c.headers,
            captures.c.payload_digest,
        ).where(captures.c.id.in_(latest))
    ).all()
    update = (
        documents.update()
        .where(documents.c.id == sa.bindparam("b_id"))
        .values(
            etag=sa.bindparam("b_etag"),
            last_modified=sa.bindparam("b_modified"),
            payload_digest=sa.bindparam("b_digest"),
            last_checked=sa.bindparam("b_checked"),
            last_status=sa.bindparam("b_status"),
        )
    )
    params = [
        {
            "b_id": doc_id,
            "b_etag": _header(headers, "etag"),
            "b_modified": _header(headers, "last-modified"),
            "b_digest": digest,
            "b_checked": fetched_at,
            "b_status": status,
        }
        for doc_id, fetched_at, status, headers, digest in rows
    ]
    for start in range(0, len(params), _BATCH):
        conn.execute(update, params[start : start + _BATCH])


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        for column in _document_columns():
            batch_op.add_column(column)
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        for name in _RUN_COUNTS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("listings_walked_at", UTCDateTime(), nullable=True))

    _backfill_validators()

    op.create_table(
        "document_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_events_document_id_documents")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["crawl_runs.id"], name=op.f("fk_document_events_run_id_crawl_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_events")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("document_events", schema=None) as batch_op:
        batch_op.create_index("ix_document_events_document_id_at", ["document_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_document_events_run_id"), ["run_id"], unique=False)

    op.create_table(
        "url_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_url_aliases_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_url_aliases")),
        sa.UniqueConstraint("url", name=op.f("uq_url_aliases_url")),
    )
    with op.batch_alter_table("url_aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_url_aliases_document_id"), ["document_id"], unique=False)

    op.create_table(
        "document_signatures",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_signatures_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_document_signatures")),
    )

    op.create_table(
        "signature_buckets",
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_signature_buckets_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("bucket", "document_id", name=op.f("pk_signature_buckets")),
    )
    with op.batch_alter_table("signature_buckets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signature_buckets_document_id"), ["document_id"], unique=False)

    op.create_table(
        "near_duplicates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("found_at", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_near_duplicates_document_id_documents")
        ),
        sa.ForeignKeyConstraint(["other_id"], ["documents.id"], name=op.f("fk_near_duplicates_other_id_documents")),
        sa.ForeignKeyConstraint(["run_id"], ["crawl_runs.id"], name=op.f("fk_near_duplicates_run_id_crawl_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_near_duplicates")),
        sa.UniqueConstraint("document_id", "other_id", name="uq_near_duplicates_pair"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("near_duplicates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_near_duplicates_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_near_duplicates_other_id"), ["other_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("near_duplicates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_near_duplicates_other_id"))
        batch_op.drop_index(batch_op.f("ix_near_duplicates_document_id"))
    op.drop_table("near_duplicates")
    with op.batch_alter_table("signature_buckets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signature_buckets_document_id"))
    op.drop_table("signature_buckets")
    op.drop_table("document_signatures")
    with op.batch_alter_table("url_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_url_aliases_document_id"))
    op.drop_table("url_aliases")
    with op.batch_alter_table("document_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_events_run_id"))
        batch_op.drop_index("ix_document_events_document_id_at")
    op.drop_table("document_events")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("listings_walked_at")
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        for name in reversed(_RUN_COUNTS):
            batch_op.drop_column(name)
    with op.batch_alter_table("documents", schema=None) as batch_op:
        for column in reversed(_document_columns()):
            batch_op.drop_column(column.name)
