"""Benchmark the scaled stack on this machine and compare it with its targets.

`uv run python load/bench.py` (or `just bench`) creates its own database
`aijobs_bench` on the local PostgreSQL and empties Redis db 12, runs
`aijobs migrate`, `aijobs api` (a process per CPU, or `--api-processes N`) and
`aijobs worker` groups on spare ports, then prints one table and writes the
same figures to var/bench/bench.json:

- POST /jobs throughput and latency at 10 and 50 concurrent clients;
- drain throughput: 2,000 `simulate` jobs with `steps: 0` submitted through
  /jobs/batch, timed until /admin/stats counts them finished, with 1 and 2
  worker processes;
- GET /jobs (first page, status filter) and GET /admin/stats latency with
  the job table grown to READ_TABLE_ROWS rows (see seed.py);
- idle memory of the API process and of one worker process;
- the local summariser's throughput.

The load generator (http_load.py) runs on the same machine as the stack and
takes its share of the CPUs, which the output states for every timed run; the
figures are what this machine gives, not what a server would.
`--profile` samples the API with py-spy during the 50-client run and prints
the functions most of its Python work went through. Everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from http_load import run_load
from seed import count_jobs, fill_jobs
from stack import ADMIN_KEY_NAME, OUT_DIR, CpuWatch, LocalStack, child_pids, rss_mb

from aijobs.settings import Settings

PG_ADMIN_URL = os.environ.get("AIJOBS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("AIJOBS_BENCH_REDIS", "redis://127.0.0.1:6379/12")
DATABASE = "aijobs_bench"

#: Requests per submit run, and the concurrent clients of each run.
SUBMIT_REQUESTS = 5_000
SUBMIT_CLIENTS = (10, 50)
#: Jobs per drain run, sent in batches of the API's largest size.
DRAIN_JOBS = 2_000
BATCH_SIZE = 1_000
#: Jobs run before each drain so that imports and connection pools are warm.
WARMUP_JOBS = 200
WORKER_GROUPS = (1, 2)
#: API processes unless --api-processes says otherwise: one per CPU, as the
#: README advises. Each has its own intake, so groups are smaller than with one.
API_PROCESSES = os.cpu_count() or 1
#: Threads of each worker process: the shipped default.
WORKER_THREADS: int = Settings.model_fields["worker_threads"].default
#: Sequential requests per read-latency run.
READ_REQUESTS = 500
#: Jobs in the table while reads are timed: the size the read targets are set for.
READ_TABLE_ROWS = 1_000_000
#: Longest one drain may take, and the whole benchmark, in seconds.
DRAIN_TIMEOUT_S = 90.0
TIME_BUDGET_S = 280.0
#: Pause before memory is read, so that the process is idle, in seconds.
IDLE_S = 2.0
#: Size of the document the local summariser is measured on, in bytes.
SUMMARY_DOCUMENT_BYTES = 1_000_000

SIMULATE_NOW = {"kind": "simulate", "params": {"steps": 0}}
FINISHED = ("completed", "failed", "canceled")


@dataclass(frozen=True)
class Target:
    """A goal: `at_least` for throughput, else an upper bound such as a latency."""

    value: float
    at_least: bool

    def ratio(self, measured: float) -> float:
        return measured / self.value

    def met(self, measured: float) -> bool:
        return measured >= self.value if self.at_least else measured < self.value

    def __str__(self) -> str:
        return f"{'>=' if self.at_least else '<'} {self.value:,g}"


@dataclass
class Latency:
    requests: int
    errors: int
    seconds: float
    per_s: float
    p50_ms: float
    p99_ms: float
    generator_cpu_us: float


@dataclass
class Row:
    metric: str
    value: float
    unit: str
    target: Target | None = None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def hammer(stack: LocalStack, requests: int, clients: int, request: bytes) -> Latency:
    """Send `request` `requests` times from `clients` concurrent connections; time each one."""
    load = await run_load("127.0.0.1", stack.port, request, requests=requests, clients=clients)
    return Latency(
        requests=load.requests,
        errors=load.errors,
        seconds=round(load.seconds, 3),
        per_s=round(load.requests / load.seconds, 1),
        p50_ms=round(percentile(load.latencies, 0.50) * 1000, 2),
        p99_ms=round(percentile(load.latencies, 0.99) * 1000, 2),
        generator_cpu_us=round(load.cpu_seconds / load.requests * 1e6, 1),
    )


async def finished_count(client: httpx.AsyncClient) -> int:
    stats = (await client.get("/admin/stats")).raise_for_status().json()
    return sum(int(stats[status]) for status in FINISHED)


async def submit_batches(client: httpx.AsyncClient, jobs: int) -> None:
    for first in range(0, jobs, BATCH_SIZE):
        batch = [SIMULATE_NOW] * min(BATCH_SIZE, jobs - first)
        response = await client.post("/jobs/batch", json={"jobs": batch}, timeout=60)
        response.raise_for_status()


async def drain(client: httpx.AsyncClient, jobs: int) -> dict[str, float]:
    """Submit `jobs` jobs and time them until /admin/stats counts them all finished."""
    target = await finished_count(client) + jobs
    started = time.perf_counter()
    await submit_batches(client, jobs)
    submitted_s = time.perf_counter() - started
    deadline = started + DRAIN_TIMEOUT_S
    done = await finished_count(client)
    while done < target and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
        done = await finished_count(client)

    seconds = time.perf_counter() - started
    drained = jobs - (target - done)
    return {
        "jobs": jobs,
        "finished": drained,
        "seconds": round(seconds, 3),
        "submit_seconds": round(submitted_s, 3),
        "jobs_per_s": round(drained / seconds, 1),
        "timed_out": float(done < target),
    }


async def drain_with_workers(
    stack: LocalStack, client: httpx.AsyncClient, processes: int
) -> dict[str, float]:
    group = stack.start_workers(processes, WORKER_THREADS)
    try:
        await drain(client, WARMUP_JOBS)
        result = await drain(client, DRAIN_JOBS)
        await asyncio.sleep(IDLE_S)
        result["worker_process_rss_mb"] = round(rss_mb(child_pids(group.pid)[0]), 1)
        result["worker_parent_rss_mb"] = round(rss_mb(group.pid), 1)
    finally:
        group.stop()
    return result


class Profiler:
    """py-spy sampling one process while it holds the GIL, until stopped."""

    #: Frames of the server's entry chain and of thread start-up, on most samples.
    ENTRY = re.compile(
        r"\((<frozen runpy>|aijobs/(cli|__main__)\.py|uvicorn/|asyncio/runners\.py|threading\.py"
        r"|litestar/app\.py|litestar/_asgi/|litestar/middleware/_internal/)"
    )

    def __init__(self, pid: int, output: Path) -> None:
        self.output = output
        self.popen = subprocess.Popen(
            [
                # py-spy is a dev dependency: it sits beside this interpreter.
                *(str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid)),
                *("--rate", "250", "--format", "raw"),
                *("--gil", "--output", str(output), "--nonblocking", "--duration", "120"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)

    def stop(self) -> list[tuple[str, float]]:
        """Stop sampling; where the Python work went, by the call out of our code."""
        self.popen.send_signal(signal.SIGINT)
        self.popen.wait(timeout=30)
        if not self.output.exists():
            return []

        shares: Counter[str] = Counter()
        total = 0
        for line in self.output.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            # "function (path/file.py:123)": the line number would split one function.
            frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
            shares[self._boundary(frames)] += int(count)
            total += int(count)
        return [(where, round(100 * n / max(total, 1), 1)) for where, n in shares.most_common(8)]

    def _boundary(self, frames: list[str]) -> str:
        """`our function -> what it called`, or the first frame past the entry chain."""
        own = [i for i, frame in enumerate(frames) if "(aijobs/" in frame]
        own = [i for i in own if not self.ENTRY.search(frames[i])]
        if own:
            last = own[-1]
            callee = frames[last + 1] if last + 1 < len(frames) else "itself"
            return f"{frames[last]} -> {callee}"

        # Greenlet stacks (SQLAlchemy's async bridge) start at the library call.
        rest = [frame for frame in frames if not self.ENTRY.search(frame)]
        return f"{(rest or frames)[0]}, outside our code"


async def grow_table(stack: LocalStack, client: httpx.AsyncClient) -> dict[str, float]:
    """Seed the job table up to READ_TABLE_ROWS; fail if the counters then disagree."""
    started = time.perf_counter()
    added = await fill_jobs(stack.database_dsn, ADMIN_KEY_NAME, READ_TABLE_ROWS)
    seconds = time.perf_counter() - started
    print(f"bench: seeded {added:,} jobs in {seconds:.1f} s", file=sys.stderr)

    # /admin/stats reads the trigger-kept counters; a bulk insert must leave them exact.
    total = int((await client.get("/admin/stats")).raise_for_status().json()["total"])
    counted = await count_jobs(stack.database_dsn)
    if total != counted:
        raise RuntimeError(f"/admin/stats counts {total:,} jobs but the table holds {counted:,}")
    return {"rows": total, "seeded": added, "seconds": round(seconds, 1)}


async def measure_submits(stack: LocalStack, api_pid: int, profile: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    submit = stack.encode("POST", "/jobs", SIMULATE_NOW)
    # Every connection of every API process is opened and used before timing.
    await hammer(stack, 1_000, max(SUBMIT_CLIENTS), submit)
    for clients in SUBMIT_CLIENTS:
        print(f"bench: POST /jobs with {clients} clients", file=sys.stderr)
        profiler = None
        if profile and clients == max(SUBMIT_CLIENTS):
            profiler = Profiler(api_pid, OUT_DIR / "api-profile.txt")
        results[f"submit_{clients}"] = asdict(await hammer(stack, SUBMIT_REQUESTS, clients, submit))
        if profiler is not None:
            results["api_profile"] = profiler.stop()
    return results


async def measure_reads(stack: LocalStack) -> dict[str, Any]:
    list_pending = stack.encode("GET", "/jobs?status=pending&limit=50")
    read_stats = stack.encode("GET", "/admin/stats")
    return {
        "list_jobs": asdict(await hammer(stack, READ_REQUESTS, 1, list_pending)),
        "stats": asdict(await hammer(stack, READ_REQUESTS, 1, read_stats)),
    }


def api_server_pid(pid: int, processes: int) -> int:
    """One process that serves requests: with several, Uvicorn's supervisor serves none."""
    if processes == 1:
        return pid

    def servers() -> list[int]:
        # Multiprocessing's resource tracker is a child too; servers are spawned.
        return [child for child in child_pids(pid) if b"spawn_main" in _cmdline(child)]

    deadline = time.monotonic() + 30
    while len(found := servers()) < processes and time.monotonic() < deadline:
        time.sleep(0.1)
    if not found:
        raise RuntimeError("the API's server processes did not start")
    return found[0]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


async def run(stack: LocalStack, profile: bool, api_processes: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    await stack.create()
    api = stack.start_api(api_processes)
    results["api_processes"] = api_processes
    server = api_server_pid(api.pid, api_processes)
    results["api_rss_mb_at_start"] = round(rss_mb(server), 1)
    async with httpx.AsyncClient(**stack.client_options) as client:
        for processes in WORKER_GROUPS:
            print(f"bench: drain with {processes} worker process(es)", file=sys.stderr)
            results[f"drain_{processes}"] = await drain_with_workers(stack, client, processes)

        # Workers are stopped from here on: submits measure the API alone.
        results |= await measure_submits(stack, server, profile)

        print(f"bench: growing the job table to {READ_TABLE_ROWS:,} rows", file=sys.stderr)
        results["seed"] = await grow_table(stack, client)
        results["table_rows"] = results["seed"]["rows"]
        print("bench: reads", file=sys.stderr)
        results |= await measure_reads(stack)

    await asyncio.sleep(IDLE_S)
    results["api_rss_mb_idle"] = round(rss_mb(server), 1)
    return results


def summariser_mb_per_s() -> float:
    from aijobs.ai.bench import make_document, measure

    return round(measure(make_document(SUMMARY_DOCUMENT_BYTES)), 2)


def rows_of(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for clients in SUBMIT_CLIENTS:
        sample = results[f"submit_{clients}"]
        at_most = clients == max(SUBMIT_CLIENTS)
        rows += [
            Row(
                f"POST /jobs, {clients} clients: throughput",
                sample["per_s"],
                "req/s",
                Target(2_000, at_least=True) if at_most else None,
            ),
            Row(f"POST /jobs, {clients} clients: p50", sample["p50_ms"], "ms"),
            Row(
                f"POST /jobs, {clients} clients: p99",
                sample["p99_ms"],
                "ms",
                Target(50, at_least=False) if at_most else None,
            ),
        ]
    for processes in WORKER_GROUPS:
        drained = results[f"drain_{processes}"]
        rows.append(
            Row(
                f"drain {DRAIN_JOBS:,} jobs, {processes} worker process(es)",
                drained["jobs_per_s"],
                "jobs/s",
                Target(1_000, at_least=True) if processes == 2 else None,
            )
        )
    size = f"{results['table_rows']:,} rows"
    rows += [
        Row(
            f"GET /jobs?status=pending p99 ({size})",
            results["list_jobs"]["p99_ms"],
            "ms",
            Target(20, at_least=False),
        ),
        Row(
            f"GET /admin/stats p99 ({size})",
            results["stats"]["p99_ms"],
            "ms",
            Target(20, at_least=False),
        ),
        Row(
            "idle RSS, one API process",
            results["api_rss_mb_idle"],
            "MB",
            Target(150, at_least=False),
        ),
        Row(
            "idle RSS, one worker process",
            results[f"drain_{max(WORKER_GROUPS)}"]["worker_process_rss_mb"],
            "MB",
            Target(120, at_least=False),
        ),
        Row("local summariser, 1 MB document", results["summariser_mb_per_s"], "MB/s"),
    ]
    return rows


def generator_lines(results: dict[str, Any]) -> list[str]:
    """The load generator's own CPU in each timed run, to show it is not the bound."""
    runs = [(f"POST /jobs, {clients} clients", f"submit_{clients}") for clients in SUBMIT_CLIENTS]
    runs += [("GET /jobs?status=pending", "list_jobs"), ("GET /admin/stats", "stats")]
    lines = []
    for name, key in runs:
        sample = results[key]
        core_percent = sample["generator_cpu_us"] * sample["per_s"] / 10_000
        lines.append(
            f"load generator: {sample['generator_cpu_us']:,.0f} µs CPU per request, "
            f"{core_percent:.0f}% of a core ({name})"
        )
    return lines


def render(rows: list[Row]) -> str:
    lines = [f"{'metric':<52} {'measured':>14} {'target':>12} {'ratio':>6}  verdict"]
    for row in rows:
        measured = f"{row.value:,.1f} {row.unit}"
        if row.target is None:
            lines.append(f"{row.metric:<52} {measured:>14}")
            continue
        verdict = "meets" if row.target.met(row.value) else "MISSES"
        ratio = f"{row.target.ratio(row.value):.2f}"
        lines.append(f"{row.metric:<52} {measured:>14} {row.target!s:>12} {ratio:>6}  {verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="sample the API with py-spy")
    parser.add_argument(
        "--api-processes",
        type=int,
        default=API_PROCESSES,
        metavar="N",
        help="run `aijobs api --workers N`; memory and the profile are of one of them",
    )
    args = parser.parse_args()

    started = datetime.now(UTC)
    machine: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_average_before": [round(load, 2) for load in os.getloadavg()],
    }
    stack = LocalStack(PG_ADMIN_URL, REDIS_URL, DATABASE)
    stack.check_services()
    watch = CpuWatch(stack)
    watch.start()

    async def measured() -> dict[str, Any]:
        try:
            async with asyncio.timeout(TIME_BUDGET_S):
                return await run(stack, args.profile, args.api_processes)
        finally:
            await stack.destroy()

    results = asyncio.run(measured())
    results["summariser_mb_per_s"] = summariser_mb_per_s()
    rows = rows_of(results)
    elapsed_s = (datetime.now(UTC) - started).total_seconds()
    machine["load_average_after"] = [round(load, 2) for load in os.getloadavg()]
    # What else ran meanwhile: the figures share the CPUs with it.
    machine["other_busy_processes"] = watch.stop()

    title = f"aijobs bench, {started:%Y-%m-%d %H:%M} UTC, {machine['cpus']} CPUs"
    load = ", ".join(f"{value:g}" for value in machine["load_average_before"])
    print(f"\n{title}, load average before: {load}")
    print(
        f"API: {results['api_processes']} process(es); workers: {WORKER_THREADS} threads"
        " a process; submits and reads are timed with the workers stopped"
    )
    print(render(rows))
    others = ", ".join(machine["other_busy_processes"]) or "none above 5% of a CPU"
    print(f"  also running meanwhile: {others}")
    for line in generator_lines(results):
        print(f"  {line}")
    for frame, share in results.get("api_profile", []):
        print(f"  API profile: {share:5.1f}% of GIL samples in {frame}")

    report = {
        "started_at": started.isoformat(),
        "seconds": round(elapsed_s, 1),
        "machine": machine,
        "results": results,
        "rows": [
            {
                **asdict(row),
                "target": str(row.target) if row.target else None,
                "ratio": round(row.target.ratio(row.value), 3) if row.target else None,
                "meets": row.target.met(row.value) if row.target else None,
            }
            for row in rows
        ],
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nbench: figures written to {OUT_DIR / 'bench.json'}")


if __name__ == "__main__":
    main()
