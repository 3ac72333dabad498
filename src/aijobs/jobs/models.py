"""The job table: one row per job, the single source of truth of its state."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
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
    )

    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    progress_message: Mapped[str | None] = mapped_column(String(500), default=None)
    input_text: Mapped[str | None] = mapped_column(Text, default=None)
    input_file_path: Mapped[str | None] = mapped_column(String(1024), default=None)
    params: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), default=None)
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

    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)


#: Jobs by kind and status, kept by database triggers (see migration 0002) so
#: that counting costs the same at a thousand rows as at a hundred million.
#: A (kind, status) pair may be spread over several shard rows: sum them.
job_count = Table(
    "job_count",
    Job.metadata,
    Column("kind", String(64), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("n", BigInteger, nullable=False),
)
