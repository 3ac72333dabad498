"""The job table: one row per job, the single source of truth of its state."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column


class JobStatus(enum.StrEnum):
    """Where a job is in its lifecycle."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


FINISHED = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED)
RETRYABLE = (JobStatus.FAILED, JobStatus.CANCELED)


class Job(UUIDv7AuditBase):
    """A unit of AI work and everything known about its progress."""

    __tablename__ = "job"
    __table_args__ = (
        # The dashboard's list: newest first, optionally by status or kind.
        Index("ix_job_created_at", "created_at"),
        Index("ix_job_status_created_at", "status", "created_at"),
        Index("ix_job_kind_created_at", "kind", "created_at"),
        Index("ix_job_kind_status_created_at", "kind", "status", "created_at"),
        # Maintenance: expired leases and pending jobs whose message is old.
        Index(
            "ix_job_active_lease",
            "status",
            "lease_expires_at",
            postgresql_where=text("status IN ('pending', 'processing')"),
            sqlite_where=text("status IN ('pending', 'processing')"),
        ),
        # Purge: finished jobs by age.
        Index("ix_job_finished_at", "finished_at"),
        Index("ix_job_idempotency_key", "idempotency_key", unique=True),
        # A user key's list: its own jobs, newest first, optionally by status.
        Index("ix_job_owner_id_created_at", "owner_id", "created_at"),
        Index("ix_job_owner_id_status_created_at", "owner_id", "status", "created_at"),
        # Maintenance: finished jobs whose webhook has not gone out yet.
        Index(
            "ix_job_webhook_pending",
            "finished_at",
            postgresql_where=text("webhook_state = 'pending'"),
            sqlite_where=text("webhook_state = 'pending'"),
        ),
    )

    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    progress_message: Mapped[str | None] = mapped_column(String(500), default=None)
    input_text: Mapped[str | None] = mapped_column(Text, default=None)
    input_file_path: Mapped[str | None] = mapped_column(String(1024), default=None)
    params: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    webhook_state: Mapped[str | None] = mapped_column(String(16), default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    usage: Mapped[dict[str, int]] = mapped_column(JsonB, default=dict)

    # Every start increments `attempts`, and each start is fenced by it.
    # A manual retry moves `attempts_floor` up to `attempts`, so the retry
    # budget counts only the starts since then while fencing stays monotonic.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempts_floor: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    worker_id: Mapped[str | None] = mapped_column(String(128), default=None)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)

    # The API key that submitted the job; NULL when it came in with auth off.
    owner_id: Mapped[UUID | None] = mapped_column(
        GUID, ForeignKey("api_key.id", ondelete="SET NULL"), default=None
    )
    # Stored as "<owner id>:<key>", so each API key has its own idempotency keys.
    idempotency_key: Mapped[str | None] = mapped_column(String(300), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)


#: Jobs by kind and status, kept by database triggers (see migration 0002) so
#: that counting costs the same at a thousand rows as at a hundred million.
#: A (owner, kind, status) may be spread over several shard rows: sum them.
job_count = Table(
    "job_count",
    Job.metadata,
    # The owning API key's id as 32 hex digits, or "" for jobs submitted with auth off.
    Column("owner", String(32), primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("n", BigInteger, nullable=False),
)
