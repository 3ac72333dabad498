"""The dashboard's API types are generated from the API's current OpenAPI document."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI, ROOT

API_DIR = ROOT / "web" / "src" / "api"
STALE = "the dashboard's API types are stale: run `just web-types` and commit the result"


def test_the_dashboards_copy_of_the_openapi_document_is_current(tmp_path: Path) -> None:
    fresh = tmp_path / "openapi.json"

    subprocess.run(
        [sys.executable, "-m", "aijobs.openapi", str(fresh)],
        check=True,
        cwd=ROOT,
        env={**os.environ, "REDIS_URL": ""},
        timeout=120,
    )

    assert fresh.read_text() == (API_DIR / "openapi.json").read_text(), STALE


def test_the_generated_typescript_matches_the_document(tmp_path: Path) -> None:
    generator = ROOT / "web" / "node_modules" / ".bin" / "openapi-typescript"
    if not generator.exists() or shutil.which("node") is None:
        if IN_CI:
            pytest.fail("the dashboard's npm packages are not installed")
        pytest.skip("the dashboard's npm packages are not installed (just web-install)")
    fresh = tmp_path / "schema.d.ts"

    subprocess.run(
        [
            str(generator),
            str(API_DIR / "openapi.json"),
            "--default-non-nullable",
            "false",
            "-o",
            str(fresh),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )

    assert fresh.read_text() == (API_DIR / "schema.d.ts").read_text(), STALE
