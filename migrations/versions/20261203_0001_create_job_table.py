"""Create the job table and the indexes its queries use.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status IN ('pending', 'processing')")


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("progress_message", sa.String(length=500), nullable=True),
        sa.Column("input_text", sa.Text(), nullable=True),
        sa.Column("input_file_path", sa.String(length=1024), nullable=True),
        sa.Column("params", JsonB, nullable=False),
        sa.Column("webhook_url", sa.String(length=2048), nullable=True),
        sa.Column("result", JsonB, nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("usage", JsonB, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempts_floor", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("lease_expires_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("worker_id", sa.String(length=128), nullable=True),
        sa.Column("enqueued_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("started_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("finished_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    op.create_index("ix_job_created_at", "job", ["created_at"])
    op.create_index("ix_job_status_created_at", "job", ["status", "created_at"])
    op.create_index("ix_job_kind_created_at", "job", ["kind", "created_at"])
    op.create_index("ix_job_kind_status_created_at", "job", ["kind", "status", "created_at"])
    op.create_index(
        "ix_job_active_lease",
        "job",
        ["status", "lease_expires_at"],
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )
    op.create_index("ix_job_finished_at", "job", ["finished_at"])
    op.create_index("ix_job_idempotency_key", "job", ["idempotency_key"], unique=True)


def downgrade() -> None:
    op.drop_table("job")
