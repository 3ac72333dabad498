"""The dashboard's browser tests, in headless Chromium, against `aijobs dev`.

The scenarios live with the dashboard (web/e2e); this test starts the real
app in embedded mode and runs them against it, so `pytest` drives them too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI, ROOT
from tests.support import running_server

pytestmark = pytest.mark.slow

WEB = ROOT / "web"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _missing() -> str | None:
    if not (WEB / "dist" / "index.html").is_file():
        return "the dashboard is not built (just web-build)"
    if not (WEB / "node_modules").is_dir() or shutil.which("npm") is None:
        return "the dashboard's npm packages are not installed (just web-install)"
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM}"
    return None


def test_the_dashboard_passes_its_browser_scenarios(tmp_path: Path) -> None:
    reason = _missing()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)

    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'aijobs.db'}",
        "DATA_DIR": str(tmp_path / "data"),
        "WEB_DIST_DIR": str(WEB / "dist"),
    }
    with running_server("dev", env) as server:
        result = subprocess.run(
            ["npm", "run", "--silent", "test:e2e"],
            cwd=WEB,
            env={
                **os.environ,
                "AIJOBS_URL": server.url,
                "CHROMIUM_PATH": CHROMIUM,
                "NO_COLOR": "1",
            },
            capture_output=True,
            text=True,
            timeout=600,
        )

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
