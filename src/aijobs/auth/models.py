"""The api_key table: one row per key, holding a keyed hash, never the key."""

from __future__ import annotations

import enum
from datetime import datetime

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column


class Role(enum.StrEnum):
    """A user key sees its own jobs; an admin key sees every job and /admin."""

    USER = "user"
    ADMIN = "admin"


class ApiKey(UUIDv7AuditBase):
    """A named credential; `key_hash` is HMAC-SHA256 of the key under SECRET_KEY."""

    __tablename__ = "api_key"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(8), default=Role.USER)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
