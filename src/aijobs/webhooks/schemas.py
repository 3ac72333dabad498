"""What clients read about a job's webhook deliveries."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec


class WebhookDeliveryRead(msgspec.Struct):
    """One attempt to deliver a job's webhook; neither status_code nor error while in flight."""

    id: UUID
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    delivered: bool
    created_at: datetime


class WebhookDeliveryList(msgspec.Struct):
    """A job's webhook deliveries, oldest first."""

    items: list[WebhookDeliveryRead]
