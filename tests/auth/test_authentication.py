"""Every route but the probes, the dashboard and the schema wants a valid, live key."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from aijobs.app import create_app
from aijobs.auth.models import Role
from tests.auth.conftest import Key, auth_settings, revoke
from tests.support import engine

OPEN = re.compile(r"^/(health|ui|schema|$)")


def protected_routes() -> list[tuple[str, str]]:
    """(method, concrete path) for every route of the app that needs a key."""
    from aijobs.app import create_app
    from tests.auth.conftest import auth_settings

    routes = []
    for route in create_app(auth_settings()).routes:
        if OPEN.match(route.path):
            continue
        path = re.sub(r"\{[a-z_]+:uuid\}", str(uuid.uuid4()), route.path)
        routes += [(method, path) for method in sorted(route.methods) if method != "OPTIONS"]
    return routes


ROUTES = protected_routes()


def test_the_routes_under_test_cover_jobs_admin_metrics_and_me() -> None:
    paths = {path.split("/")[1] for _, path in ROUTES}

    assert {"jobs", "admin", "metrics", "me"} <= paths
    assert len(ROUTES) >= 9


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_a_request_without_a_key_is_401(auth_client: Any, method: str, path: str) -> None:
    response = await auth_client.request(method, path, json={})

    assert response.status_code == 401
    assert response.json()["detail"] == "missing API key: send `Authorization: Bearer <key>`"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_a_request_with_a_wrong_key_is_401(auth_client: Any, method: str, path: str) -> None:
    headers = {"Authorization": "Bearer aij_not-a-key-anyone-was-given"}

    response = await auth_client.request(method, path, json={}, headers=headers)

    assert response.status_code == 401
    assert response.json()["detail"] == "invalid or revoked API key"


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_a_request_with_a_revoked_key_is_401(
    auth_client: Any, make_key: Callable[..., Awaitable[Key]], method: str, path: str
) -> None:
    key = await make_key(Role.ADMIN)
    await revoke(key)

    response = await auth_client.request(method, path, json={}, headers=key.headers)

    assert response.status_code == 401
    assert response.json()["detail"] == "invalid or revoked API key"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "aij_x"])
async def test_a_malformed_authorization_header_is_401(auth_client: Any, header: str) -> None:
    response = await auth_client.get("/jobs", headers={"Authorization": header})

    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/health", "/health/ready", "/schema/openapi.json", "/ui/"])
async def test_probes_the_dashboard_and_the_schema_need_no_key(auth_client: Any, path: str) -> None:
    response = await auth_client.get(path)

    assert response.status_code in (200, 404)  # /ui/ is 404 only while web/dist is not built
    assert response.status_code != 401


async def test_me_names_the_key_and_says_auth_is_on(
    auth_client: Any, make_key: Callable[..., Awaitable[Key]]
) -> None:
    key = await make_key(Role.USER, prefix="alice")

    response = await auth_client.get("/me", headers=key.headers)

    assert response.json() == {"name": key.name, "role": "user", "auth_enabled": True}


@pytest.mark.parametrize("path", ["/admin/stats", "/metrics"])
async def test_a_user_key_is_kept_out_of_operator_routes(
    auth_client: Any, make_key: Callable[..., Awaitable[Key]], path: str
) -> None:
    user, admin = await make_key(Role.USER), await make_key(Role.ADMIN)

    refused = await auth_client.get(path, headers=user.headers)
    allowed = await auth_client.get(path, headers=admin.headers)

    assert refused.status_code == 403
    assert refused.json()["detail"] == "this route needs an admin API key"
    assert allowed.status_code == 200


async def test_a_key_in_use_gets_its_last_use_recorded(
    auth_client: Any, make_key: Callable[..., Awaitable[Key]]
) -> None:
    key = await make_key()
    await auth_client.get("/me", headers=key.headers)

    async with engine().connect() as connection:
        row = await connection.execute(
            text("SELECT last_used_at FROM api_key WHERE name = :name"), {"name": key.name}
        )
        assert row.scalar_one() is not None


async def test_a_revoked_key_is_refused_once_the_cache_has_forgotten_it(
    make_key: Callable[..., Awaitable[Key]],
) -> None:
    key = await make_key()
    app = create_app(auth_settings(auth_cache_s=1.0))

    async with AsyncTestClient(app) as client:
        before = await client.get("/me", headers=key.headers)
        await revoke(key)
        remembered = await client.get("/me", headers=key.headers)
        await asyncio.sleep(1.2)
        forgotten = await client.get("/me", headers=key.headers)

    assert [before.status_code, remembered.status_code, forgotten.status_code] == [200, 200, 401]
