"""Who is calling: the principal every request carries once authenticated."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from aijobs.auth.models import Role


@dataclass(frozen=True, slots=True)
class Caller:
    """An API key as a request sees it; `key_id` is None only while auth is off."""

    key_id: UUID | None
    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def owner_scope(self) -> UUID | None:
        """The owner whose jobs this caller may touch; None means every job."""
        return None if self.is_admin else self.key_id


#: The caller of every request while AUTH_ENABLED is false: loopback only.
LOCAL_CALLER = Caller(key_id=None, name="local", role=Role.ADMIN)
