"""retrieval: past incidents behind the similar-incident index

Revision ID: retrieval_0001
Revises: 0001_core
Create Date: 2026-12-03 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import appliance.db.base

revision = "retrieval_0001"
down_revision = "0001_core"
branch_labels = ("retrieval",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "past_incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column(
            "closed_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("techniques", sa.JSON(), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("resolution", sa.String(length=64), nullable=True),
        sa.Column("closure_notes", sa.Text(), nullable=True),
        sa.Column(
            "created_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_past_incident")),
        sa.UniqueConstraint(
            "tenant", "incident_id", name=op.f("uq_past_incident_tenant_incident_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("past_incident")
