"""The dashboard's key prompt, in headless Chromium, against `aijobs dev` with auth on.

One server for the module; the key is made the way an operator makes one,
by `aijobs keys create` in a process of its own, on the server's database
and with its secret.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support import running_server
from tests.web.browser import dev_env, require_browser, run_scenarios

pytestmark = pytest.mark.slow


def create_key(env: dict[str, str], name: str) -> str:
    """A user key made by `aijobs keys create`, which prints it alone on its last line."""
    made = subprocess.run(
        [sys.executable, "-m", "aijobs", "keys", "create", "--name", name],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("aij_"), made.stdout
    return key


def test_the_dashboard_asks_for_a_key_and_keeps_it_for_the_session(tmp_path: Path) -> None:
    require_browser()
    env = {**dev_env(tmp_path), "AUTH_ENABLED": "true"}

    with running_server("dev", env) as server:
        key = create_key(env, "e2e-browser")
        run_scenarios(server.url, "e2e/api-key.e2e.ts", env={"AIJOBS_API_KEY": key})
