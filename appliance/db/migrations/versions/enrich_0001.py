"""enrich: stored enrichment context per incident

Revision ID: enrich_0001
Revises: 0001_core
Create Date: 2026-12-03 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import appliance.db.base

revision = "enrich_0001"
down_revision = "0001_core"
branch_labels = ("enrich",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_enrichment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("failed_sources", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_enrichment")),
        sa.UniqueConstraint(
            "tenant",
            "incident_id",
            name=op.f("uq_incident_enrichment_tenant_incident_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("incident_enrichment")
