"""An app with auth on, and keys made the way `aijobs keys create` makes them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from aijobs.auth.models import Role
from aijobs.auth.repository import ApiKeyService
from aijobs.settings import Settings
from tests.support import create_api_key, engine


@dataclass(frozen=True)
class Key:
    name: str
    key: str
    id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def auth_settings(**overrides: Any) -> Settings:
    return Settings(**{"auth_enabled": True, "rate_limit_per_minute": 0, **overrides})


@pytest.fixture(scope="module")
def auth_app(database: str):  # type: ignore[no-untyped-def]
    from aijobs.app import create_app

    return create_app(auth_settings())


@pytest.fixture(scope="module")
async def auth_client(auth_app) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
    """The real app with AUTH_ENABLED=true, in-process."""
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(auth_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def make_key(database: str) -> Callable[..., Awaitable[Key]]:
    """A new key with a unique name; `role` user unless told otherwise."""

    async def make(role: Role = Role.USER, prefix: str = "key") -> Key:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        key, key_id = await create_api_key(name, admin=role == Role.ADMIN)
        return Key(name=name, key=key, id=key_id)

    return make


async def revoke(key: Key) -> None:
    async with AsyncSession(engine(), expire_on_commit=False) as session:
        await ApiKeyService(session=session).revoke_key(key.name)
