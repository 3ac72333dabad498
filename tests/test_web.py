"""The dashboard's build served under /ui/: files, deep links, the home redirect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from aijobs.web import NOT_BUILT, dashboard_router


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><div id=app></div>")
    (tmp_path / "assets" / "app.js").write_text("console.log('aijobs')")
    return tmp_path


def app_for(dist: Path) -> Any:
    from litestar import Litestar

    return Litestar(route_handlers=[dashboard_router(dist)])


async def test_the_home_page_redirects_to_the_dashboard(dist: Path) -> None:
    async with AsyncTestClient(app_for(dist)) as client:
        response = await client.get("/", follow_redirects=False)

    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"] == "/ui/"


async def test_a_deep_link_loads_the_app(dist: Path) -> None:
    async with AsyncTestClient(app_for(dist)) as client:
        response = await client.get("/ui/jobs/0193f9c2-0000-7000-8000-000000000001")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "id=app" in response.text
    assert "attachment" not in response.headers.get("content-disposition", "")


async def test_a_built_file_is_served_with_its_type(dist: Path) -> None:
    async with AsyncTestClient(app_for(dist)) as client:
        response = await client.get("/ui/assets/app.js")

    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert response.text == "console.log('aijobs')"


async def test_a_path_climbing_out_of_the_build_gets_the_app_not_the_file(dist: Path) -> None:
    (dist.parent / "secret.txt").write_text("not for clients")

    async with AsyncTestClient(app_for(dist)) as client:
        response = await client.get("/ui/..%2Fsecret.txt")

    assert "not for clients" not in response.text


async def test_without_a_build_the_dashboard_says_how_to_make_one(tmp_path: Path) -> None:
    async with AsyncTestClient(app_for(tmp_path / "missing")) as client:
        response = await client.get("/ui/")

    assert response.status_code == 404
    assert response.text == NOT_BUILT


async def test_dashboard_pages_carry_a_content_security_policy(dist: Path) -> None:
    async with AsyncTestClient(app_for(dist)) as client:
        response = await client.get("/ui/")

    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
