"""Requests per key per minute, counted in Redis: API replicas share one count."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.auth.conftest import Key, auth_settings
from tests.support import ServerProcess

LIMIT = 4


@pytest.fixture(scope="module")
def two_apis(database: str) -> Iterator[tuple[str, str]]:
    """Two `aijobs api` processes with auth on and a limit of LIMIT a minute."""
    env = {"AUTH_ENABLED": "true", "RATE_LIMIT_PER_MINUTE": str(LIMIT)}
    first = ServerProcess("api", env).start()
    try:
        second = ServerProcess("api", env).start()
        try:
            yield first.url, second.url
        finally:
            second.stop()
    finally:
        first.stop()


@pytest.mark.slow
async def test_the_request_after_the_limit_is_429_with_retry_after_across_two_apis(
    two_apis: tuple[str, str], make_key: Callable[..., Awaitable[Key]]
) -> None:
    key, other = await make_key(), await make_key()
    first, second = two_apis

    allowed = [
        httpx.get(f"{url}/me", headers=key.headers, timeout=10).status_code
        for url in (first, second, first, second)
    ]
    refused = httpx.get(f"{first}/me", headers=key.headers, timeout=10)
    refused_there_too = httpx.get(f"{second}/jobs", headers=key.headers, timeout=10)
    someone_else = httpx.get(f"{second}/me", headers=other.headers, timeout=10)

    assert allowed == [200] * LIMIT
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["detail"] == (
        f"rate limit of {LIMIT} requests per minute reached; "
        f"retry in {refused.headers['retry-after']} s"
    )
    assert refused_there_too.status_code == 429
    assert someone_else.status_code == 200


@pytest.mark.slow
async def test_probes_are_never_limited(two_apis: tuple[str, str]) -> None:
    first, _ = two_apis

    codes = {httpx.get(f"{first}/health", timeout=10).status_code for _ in range(LIMIT + 2)}

    assert codes == {200}


async def test_requests_go_through_unlimited_while_redis_is_away(
    make_key: Callable[..., Awaitable[Key]],
) -> None:
    from litestar.testing import AsyncTestClient

    from aijobs.app import create_app

    key = await make_key()
    app = create_app(auth_settings(rate_limit_per_minute=1, redis_url="redis://127.0.0.1:1/0"))

    async with AsyncTestClient(app, raise_server_exceptions=False) as client:
        codes: list[Any] = [
            (await client.get("/me", headers=key.headers)).status_code for _ in range(3)
        ]

    assert codes == [200, 200, 200]
