"""The webhook_delivery table: one row per attempt to deliver a job's webhook."""

from __future__ import annotations

import enum
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import GUID
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column


class WebhookState(enum.StrEnum):
    """Where a finished job's webhook is; NULL on the job when it has none."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(UUIDv7AuditBase):
    """One POST of a job's final state: what came back, or why nothing did."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_job_id_created_at", "job_id", "created_at"),)

    job_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("job.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
