"""xdr: incident and alert snapshots, poll cursor, write-back outbox

Revision ID: xdr_0001
Revises: 0001_core
Create Date: 2026-12-03 20:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import appliance.db.base

revision = "xdr_0001"
down_revision = "0001_core"
branch_labels = ("xdr",)
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "xdr_incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("modification_time", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("incident", sa.JSON(), nullable=False),
        sa.Column("network_artifacts", sa.JSON(), nullable=False),
        sa.Column("file_artifacts", sa.JSON(), nullable=False),
        sa.Column(
            "fetched_at", appliance.db.base.UtcDateTime(timezone=True), nullable=False
        ),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xdr_incident")),
        sa.UniqueConstraint(
            "tenant", "incident_id", name=op.f("uq_xdr_incident_tenant_incident_id")
        ),
    )
    op.create_table(
        "xdr_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.String(length=64), nullable=False),
        sa.Column("detection_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("host_name", sa.String(length=255), nullable=True),
        sa.Column("user_name", sa.String(length=255), nullable=True),
        sa.Column("mitre_technique", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xdr_alert")),
        sa.UniqueConstraint(
            "tenant", "alert_id", name=op.f("uq_xdr_alert_tenant_alert_id")
        ),
    )
    with op.batch_alter_table("xdr_alert", schema=None) as batch_op:
        batch_op.create_index(
            "ix_xdr_alert_incident", ["tenant", "incident_id"], unique=False
        )

    op.create_table(
        "xdr_poll_cursor",
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("modification_time", sa.BigInteger(), nullable=False),
        sa.Column("seen", sa.JSON(), nullable=False),
        sa.Column(
            "last_polled_at",
            appliance.db.base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_xdr_poll_cursor")),
    )
    op.create_table(
        "xdr_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("update_data", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "sending",
                "sent",
                "failed",
                "needs_approval",
                "draft",
                name="outboxstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at",
            appliance.db.base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column(
            "lease_expires_at",
            appliance.db.base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "sent_at", appliance.db.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xdr_outbox")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_xdr_outbox_idempotency_key")
        ),
    )
    with op.batch_alter_table("xdr_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_xdr_outbox_due", ["state", "next_attempt_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_xdr_outbox_incident_id"), ["incident_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("xdr_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_xdr_outbox_incident_id"))
        batch_op.drop_index("ix_xdr_outbox_due")
    op.drop_table("xdr_outbox")
    op.drop_table("xdr_poll_cursor")
    with op.batch_alter_table("xdr_alert", schema=None) as batch_op:
        batch_op.drop_index("ix_xdr_alert_incident")
    op.drop_table("xdr_alert")
    op.drop_table("xdr_incident")
