"""The API and the workers take their start-up objects out of the cycle collector's sight."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import ROOT


@pytest.mark.usefixtures("database")
async def test_the_api_freezes_its_start_up_objects() -> None:
    from aijobs.app import create_app

    gc.unfreeze()
    async with AsyncTestClient(create_app()) as client:
        assert (await client.get("/health")).status_code == 200
        assert gc.get_freeze_count() > 10_000


@pytest.mark.usefixtures("services")
def test_a_worker_process_freezes_its_start_up_objects() -> None:
    probe = "import gc, aijobs.worker; print(gc.get_freeze_count())"

    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert int(done.stdout.split()[-1]) > 10_000
