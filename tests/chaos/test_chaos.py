"""The fault suite in its short form: real processes killed, real servers taken away.

One module-scoped run starts the suite's own PostgreSQL, Redis, API, workers
and maintenance, injects every fault in turn, and prints the table; each test
below then reads one fault's line of it. `python -m tests.chaos` is the full
form. CHAOS_SEED replays a run.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.chaos.ledger import Verdict
from tests.chaos.servers import ClusterUnavailable
from tests.chaos.suite import FAULTS, SHORT, run_suite

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def verdicts(request: pytest.FixtureRequest) -> dict[str, Verdict]:
    """Run the short suite once and index its verdicts by fault title."""
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(2**32))

    def echo(text: str) -> None:
        """Print past pytest's capture: the table is the point of the run."""
        if reporter is None or capture is None:
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(text)

    try:
        results = run_suite(SHORT, seed, echo=echo)
    except ClusterUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the fault suite cannot run: {exc}")
        pytest.skip(f"the fault suite cannot run: {exc}")
    return {verdict.fault: verdict for verdict in results}


@pytest.mark.parametrize("fault", [title for title, _ in FAULTS])
def test_given_a_fault_no_job_is_lost_run_twice_or_stuck(
    fault: str, verdicts: dict[str, Verdict]
) -> None:
    # Given the fault injected while jobs were accepted and running
    verdict = verdicts[fault]

    # Then every accepted job finished as it should, once, in time
    assert verdict.accepted > 0, verdict
    assert verdict.lost == 0, verdict.problems
    assert verdict.twice == 0, verdict.problems
    assert verdict.stuck == 0, verdict.problems
    assert verdict.once == verdict.judged, verdict
    assert not verdict.problems, verdict.problems
