"""privacy: encrypted pseudonym vaults

Revision ID: privacy_0001
Revises: 0001_core
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import appliance.db.base

revision = "privacy_0001"
down_revision = "0001_core"
branch_labels = ("privacy",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pseudonym_vault",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("incident_id", sa.String(length=100), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column(
            "expires_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "created_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pseudonym_vault")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_pseudonym_vault_incident_id")),
    )
    with op.batch_alter_table("pseudonym_vault", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pseudonym_vault_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pseudonym_vault", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pseudonym_vault_expires_at"))

    op.drop_table("pseudonym_vault")
