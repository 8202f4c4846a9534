"""Unattended operation: schedules, run quality figures, the crawl's process, suppressions.

Adds to ``crawl_runs`` the crawl's ``pid`` and ``host`` (so a run killed hard can be told from one
still going). New tables: ``schedules`` (one per site, with the scheduler's memory of the last
start), ``run_quality`` (per run and site: pages, listings, articles and how many lacked a title,
a published date or body text), ``suppressions`` and their append-only ``suppression_audit``.
Every existing row is kept; old runs have no pid/host and no quality figures.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from archive.models.base import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("host", sa.String(length=255), nullable=True))

    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(length=200), nullable=True),
        sa.Column("crawl_args", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("last_started_at", UTCDateTime(), nullable=True),
        sa.Column("last_finished_at", UTCDateTime(), nullable=True),
        sa.Column("last_exit_code", sa.Integer(), nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["last_run_id"], ["crawl_runs.id"], name=op.f("fk_schedules_last_run_id_crawl_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("site", name=op.f("uq_schedules_site")),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "run_quality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("listings_read", sa.Integer(), nullable=False),
        sa.Column("listings_empty", sa.Integer(), nullable=False),
        sa.Column("listing_links", sa.Integer(), nullable=False),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.Column("missing_title", sa.Integer(), nullable=False),
        sa.Column("missing_published", sa.Integer(), nullable=False),
        sa.Column("missing_text", sa.Integer(), nullable=False),
        sa.Column("not_found", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["crawl_runs.id"], name=op.f("fk_run_quality_run_id_crawl_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_quality")),
        sa.UniqueConstraint("run_id", "site", name="uq_run_quality_run_site"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("run_quality", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_quality_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_run_quality_site"), ["site"], unique=False)

    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("suppressed_by", sa.String(length=200), nullable=False),
        sa.Column("suppressed_at", UTCDateTime(), nullable=False),
        sa.Column("lifted_at", UTCDateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(length=200), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.Column("purged_at", UTCDateTime(), nullable=True),
        sa.Column("purged_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_suppressions_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suppressions_document_id"), ["document_id"], unique=False)

    op.create_table(
        "suppression_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suppression_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["suppression_id"], ["suppressions.id"], name=op.f("fk_suppression_audit_suppression_id_suppressions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_audit")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("suppression_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suppression_audit_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_suppression_audit_suppression_id"), ["suppression_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("suppression_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppression_audit_suppression_id"))
        batch_op.drop_index(batch_op.f("ix_suppression_audit_document_id"))
    op.drop_table("suppression_audit")
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppressions_document_id"))
    op.drop_table("suppressions")
    with op.batch_alter_table("run_quality", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_quality_site"))
        batch_op.drop_index(batch_op.f("ix_run_quality_run_id"))
    op.drop_table("run_quality")
    op.drop_table("schedules")
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_column("host")
        batch_op.drop_column("pid")
