"""model runtime: model calls and model activation requests

Revision ID: llm_0001
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import appliance.db.base

revision = "llm_0001"
down_revision = "0001_core"
branch_labels = ("llm",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "started_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("schema_sha256", sa.String(length=64), nullable=True),
        sa.Column("prompt_sha256", sa.String(length=64), nullable=False),
        sa.Column("vault_id", sa.String(length=64), nullable=True),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("time_to_first_token_s", sa.Double(), nullable=True),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_call")),
    )
    with op.batch_alter_table("model_call", schema=None) as batch_op:
        batch_op.create_index("ix_model_call_started_at", ["started_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_model_call_prompt_sha256"), ["prompt_sha256"], unique=False
        )

    op.create_table(
        "model_activation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column(
            "finished_at", appliance.db.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "created_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_activation")),
    )


def downgrade() -> None:
    op.drop_table("model_activation")
    with op.batch_alter_table("model_call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_call_prompt_sha256"))
        batch_op.drop_index("ix_model_call_started_at")
    op.drop_table("model_call")
