"""Worker metrics: the Dramatiq middleware, the job counters, a group's exposition."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from inspect import getsource
from typing import Any

import httpx
import pytest
from dramatiq import Message, Retry
from dramatiq.broker import MessageProxy
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from aijobs.metrics.jobs import record_attempt_end, record_job_started
from aijobs.metrics.worker import WorkerMetrics
from tests.conftest import ROOT
from tests.ops.support import require_wiring
from tests.support import WorkerProcess, free_port, running_worker, wait_for


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def message(actor: str = "run_job", **options: Any) -> MessageProxy:
    return MessageProxy(
        Message(queue_name="jobs", actor_name=actor, args=(), kwargs={}, options=options)
    )


def test_a_processed_message_counts_its_wait_and_outcome() -> None:
    metrics = WorkerMetrics()
    waits = value("aijobs_queue_wait_seconds_count", queue="jobs")
    ok = value("aijobs_worker_messages_total", actor="ops-test", outcome="ok")

    metrics.before_process_message(None, message("ops-test"))
    in_progress = value("aijobs_worker_messages_in_progress", actor="ops-test")
    metrics.after_process_message(None, message("ops-test"))

    assert value("aijobs_queue_wait_seconds_count", queue="jobs") == waits + 1
    assert value("aijobs_worker_messages_total", actor="ops-test", outcome="ok") == ok + 1
    assert in_progress == 1
    assert value("aijobs_worker_messages_in_progress", actor="ops-test") == 0


def test_a_delayed_retry_waits_from_its_eta_not_its_first_enqueue() -> None:
    metrics = WorkerMetrics()
    before = value("aijobs_queue_wait_seconds_bucket", queue="jobs", le="1.0")
    first_sent = message(eta=int(time.time() * 1000))
    first_sent.message_timestamp = int((time.time() - 3600) * 1000)

    metrics.before_process_message(None, first_sent)
    metrics.after_process_message(None, first_sent, exception=Retry())

    assert value("aijobs_queue_wait_seconds_bucket", queue="jobs", le="1.0") == before + 1
    assert value("aijobs_worker_messages_total", actor="run_job", outcome="retry") >= 1


def test_a_message_skipped_before_it_started_leaves_nothing_in_progress() -> None:
    metrics = WorkerMetrics()

    metrics.after_skip_message(None, message("ops-skip"))

    assert value("aijobs_worker_messages_total", actor="ops-skip", outcome="skipped") == 1
    assert value("aijobs_worker_messages_in_progress", actor="ops-skip") == 0


def test_an_attempt_ends_as_a_final_status_or_a_retry() -> None:
    record_job_started("ops-kind")
    record_attempt_end("ops-kind", "completed", 0.2)
    record_attempt_end("ops-kind", "pending", 0.1)

    assert value("aijobs_jobs_started_total", kind="ops-kind") == 1
    assert value("aijobs_jobs_finished_total", kind="ops-kind", status="completed") == 1
    assert value("aijobs_job_retries_total", kind="ops-kind") == 1
    assert value("aijobs_job_run_seconds_count", kind="ops-kind", outcome="retried") == 1


def prepare(port: str) -> list[str]:
    """Prepare a worker group's metrics in a fresh process; what it saw, line by line."""
    code = (
        "import os; from aijobs.metrics.multiprocess import prepare_worker_metrics; "
        "path = prepare_worker_metrics(); "
        "print(path); print(os.environ.get('PROMETHEUS_MULTIPROC_DIR')); "
        "print(path is not None and path.is_dir())"
    )
    env = {**os.environ, "WORKER_METRICS_PORT": port}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_a_worker_group_gets_its_own_metrics_directory_for_its_lifetime() -> None:
    path, variable, existed = prepare("9191")

    assert path == variable
    assert existed == "True"
    assert not os.path.exists(path)


def test_without_a_metrics_port_nothing_is_prepared() -> None:
    assert prepare("0") == ["None", "None", "False"]


def missing_worker_wiring() -> list[str]:
    from aijobs import cli
    from aijobs.broker import build_middleware
    from aijobs.jobs import runner
    from aijobs.settings import get_settings

    middleware = {type(m) for m in build_middleware(get_settings())}
    checks = (
        ("WorkerMetrics in broker.build_middleware", WorkerMetrics in middleware),
        ("record_job_started in jobs.runner", hasattr(runner, "record_job_started")),
        ("prepare_worker_metrics in cli._worker", "prepare_worker_metrics" in getsource(cli)),
    )
    return [name for name, present in checks if not present]


@pytest.fixture(scope="module")
def metrics_worker(database: str) -> Iterator[tuple[WorkerProcess, str]]:
    """One worker process serving its group's metrics on a free port."""
    port = free_port()
    with running_worker(env={"WORKER_METRICS_PORT": str(port)}, threads=2) as worker:
        yield worker, f"http://127.0.0.1:{port}/metrics"


@pytest.mark.slow
def test_the_worker_probe_sees_a_live_worker_on_this_host(
    metrics_worker: tuple[WorkerProcess, str],
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aijobs.healthcheck", "worker"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.slow
async def test_a_worker_group_serves_the_metrics_of_the_jobs_it_ran(
    client: Any, metrics_worker: tuple[WorkerProcess, str]
) -> None:
    require_wiring(missing_worker_wiring())
    _, url = metrics_worker

    # Given a job that a worker ran to the end
    job = (await client.post("/jobs", json={"kind": "simulate", "params": {"steps": 0}})).json()

    async def status() -> str:
        return str((await client.get(f"/jobs/{job['id']}")).json()["status"])

    await wait_for(status, lambda value: value == "completed")

    # When the group's metrics are scraped
    async with httpx.AsyncClient() as http:
        text = (await http.get(url, timeout=5)).text

    # Then they count the job's start, its end and its wait in the queue
    found = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert found[("aijobs_jobs_started_total", (("kind", "simulate"),))] >= 1
    finished = ("aijobs_jobs_finished_total", (("kind", "simulate"), ("status", "completed")))
    assert found[finished] >= 1
    assert found[("aijobs_queue_wait_seconds_count", (("queue", "jobs"),))] >= 1
