"""Reading and writing API keys, through Advanced Alchemy."""

from __future__ import annotations

from datetime import UTC, datetime

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import select, update

from aijobs.auth.caller import Caller
from aijobs.auth.models import ApiKey, Role
from aijobs.auth.secrets import SHOWN_CHARS, hash_key, new_key
from aijobs.errors import Conflict, NotFound
from aijobs.settings import Settings


class ApiKeyRepository(SQLAlchemyAsyncRepository[ApiKey]):
    model_type = ApiKey


class ApiKeyService(SQLAlchemyAsyncRepositoryService[ApiKey, ApiKeyRepository]):
    """Create, list, revoke and check API keys; the key itself is never stored."""

    repository_type = ApiKeyRepository

    async def create_key(self, settings: Settings, name: str, role: Role) -> tuple[ApiKey, str]:
        """A new key named `name`; returns the row and the key, which only the caller sees."""
        if await self.get_one_or_none(name=name) is not None:
            raise Conflict(f"a key named {name!r} already exists")

        key = new_key()
        row = ApiKey(
            name=name, prefix=key[:SHOWN_CHARS], key_hash=hash_key(settings, key), role=role
        )
        self.repository.session.add(row)
        await self.repository.session.commit()
        return row, key

    async def list_keys(self) -> list[ApiKey]:
        statement = select(ApiKey).order_by(ApiKey.created_at)
        return list((await self.repository.session.execute(statement)).scalars())

    async def get_by_name(self, name: str) -> ApiKey:
        row = await self.get_one_or_none(name=name)
        if row is None:
            raise NotFound(f"no key named {name!r}")
        return row

    async def revoke_key(self, name: str) -> ApiKey:
        """Revoke by name; requests with the key get 401 from then on."""
        statement = (
            update(ApiKey)
            .where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC), updated_at=datetime.now(UTC))
            .returning(ApiKey)
            .execution_options(synchronize_session=False)
        )
        row = (await self.repository.session.execute(statement)).scalar_one_or_none()
        await self.repository.session.commit()
        if row is not None:
            return row

        await self.get_by_name(name)
        raise Conflict(f"the key {name!r} is already revoked")

    async def authenticate(self, key_hash: str) -> Caller | None:
        """The caller whose key hashes to `key_hash`, or None when unknown or revoked."""
        statement = select(ApiKey.id, ApiKey.name, ApiKey.role).where(
            ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None)
        )
        row = (await self.repository.session.execute(statement)).one_or_none()
        if row is None:
            return None

        return Caller(key_id=row.id, name=row.name, role=Role(row.role))

    async def mark_used(self, caller: Caller) -> None:
        statement = (
            update(ApiKey)
            .where(ApiKey.id == caller.key_id)
            .values(last_used_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        await self.repository.session.execute(statement)
        await self.repository.session.commit()
