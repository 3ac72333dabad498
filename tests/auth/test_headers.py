"""Security headers on every answer, and cross-origin calls only from configured origins."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from aijobs.app import create_app
from tests.auth.conftest import Key, auth_settings

ALLOWED = "https://dashboard.example.com"


@pytest.mark.parametrize("path", ["/health", "/jobs", f"/jobs/{uuid.uuid4()}", "/ui/"])
async def test_answers_and_errors_forbid_sniffing_framing_and_referrers(
    auth_client: Any, make_key: Callable[..., Awaitable[Key]], path: str
) -> None:
    key = await make_key()

    response = await auth_client.get(path, headers=key.headers)

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.usefixtures("database")
async def test_only_configured_origins_may_call_from_a_browser() -> None:
    app = create_app(auth_settings(cors_origins=[ALLOWED]))
    preflight = {"Access-Control-Request-Method": "POST"}

    async with AsyncTestClient(app) as client:
        allowed = await client.options("/jobs", headers={"Origin": ALLOWED, **preflight})
        refused = await client.options(
            "/jobs", headers={"Origin": "https://evil.example.net", **preflight}
        )

    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-origin" not in refused.headers


async def test_without_configured_origins_no_browser_may_call_cross_origin(
    auth_client: Any,
) -> None:
    response = await auth_client.get("/health", headers={"Origin": ALLOWED})

    assert "access-control-allow-origin" not in response.headers
