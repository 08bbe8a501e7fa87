"""xdr: link an outbox row that waits for approval to its approval

Revision ID: xdr_0002
Revises: xdr_0001
Create Date: 2026-12-03 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "xdr_0002"
down_revision = "xdr_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("xdr_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_xdr_outbox_approval_id"), ["approval_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("xdr_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_xdr_outbox_approval_id"))
        batch_op.drop_column("approval_id")
