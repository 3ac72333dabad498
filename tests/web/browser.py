"""What the dashboard's browser tests share: what they need, a dev server's settings, the run.

The scenarios live with the dashboard (web/e2e); each test module here
starts one real `aijobs dev` and runs them against it through npm.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI, ROOT

WEB = ROOT / "web"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def require_browser() -> None:
    """Skip unless the dashboard is built and Chromium is there; under CI=true, fail."""
    reason = _missing()
    if reason is None:
        return

    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def _missing() -> str | None:
    if not (WEB / "dist" / "index.html").is_file():
        return "the dashboard is not built (just web-build)"
    if not (WEB / "node_modules").is_dir() or shutil.which("npm") is None:
        return "the dashboard's npm packages are not installed (just web-install)"
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM}"
    return None


def dev_env(tmp_path: Path) -> dict[str, str]:
    """An `aijobs dev` of its own: a SQLite file and a data folder in `tmp_path`."""
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'aijobs.db'}",
        "DATA_DIR": str(tmp_path / "data"),
        "WEB_DIST_DIR": str(WEB / "dist"),
    }


def run_scenarios(url: str, *files: str, env: dict[str, str] | None = None) -> None:
    """Run the browser scenarios in `files` (all when none) against the app at `url`."""
    result = subprocess.run(
        ["npm", "run", "--silent", "test:e2e", "--", *files],
        cwd=WEB,
        env={
            **os.environ,
            "AIJOBS_URL": url,
            "CHROMIUM_PATH": CHROMIUM,
            "NO_COLOR": "1",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
