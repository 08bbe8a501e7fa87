"""correlate: grouped-incident suggestions.

Revision ID: correlate_0001
Revises: 0001_core
Create Date: 2026-12-03 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import appliance.db.base

revision = "correlate_0001"
down_revision = "0001_core"
branch_labels = ("correlate",)
depends_on = None


def upgrade() -> None:
    """Create the suggestion table."""
    op.create_table(
        "correlation_suggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("cluster_id", sa.String(length=160), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("alert_ids", sa.JSON(), nullable=False),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=True),
        sa.Column("first_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column(
            "decided_at", appliance.db.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correlation_suggestion")),
        sa.UniqueConstraint(
            "tenant",
            "run_id",
            "cluster_id",
            name=op.f("uq_correlation_suggestion_tenant_run_id_cluster_id"),
        ),
    )
    op.create_index(
        "ix_correlation_suggestion_state",
        "correlation_suggestion",
        ["tenant", "state"],
        unique=False,
    )


def downgrade() -> None:
    """Drop the suggestion table."""
    op.drop_index(
        "ix_correlation_suggestion_state", table_name="correlation_suggestion"
    )
    op.drop_table("correlation_suggestion")
