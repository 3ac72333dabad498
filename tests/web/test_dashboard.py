"""The dashboard's browser tests, in headless Chromium, against `aijobs dev`.

The scenarios live with the dashboard (web/e2e); this test starts the real
app in embedded mode, with auth off as `aijobs dev` has it on loopback, and
runs them against it, so `pytest` drives them too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import running_server
from tests.web.browser import dev_env, require_browser, run_scenarios

pytestmark = pytest.mark.slow


def test_the_dashboard_passes_its_browser_scenarios(tmp_path: Path) -> None:
    require_browser()

    with running_server("dev", dev_env(tmp_path)) as server:
        run_scenarios(server.url)
