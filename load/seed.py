"""Grow the job table to a set size, with rows shaped like the ones the API writes.

The read-latency targets are set for a table of a million jobs, and the
benchmark's own runs leave a few thousand. The rest are made inside
PostgreSQL by one INSERT … SELECT over generate_series: no row crosses the
wire, and the statement-level trigger on job keeps the job_count counters
right, as it does for any other insert.

The rows are `simulate` jobs spread evenly over the last 30 days and owned by
the benchmark's admin key. Out of every 200, one is pending, five canceled
while pending, eight failed and the rest completed, each with the columns a
worker or a cancel would have set. Their ids are UUIDv7 made from their
creation time, as the API's are.
"""

from __future__ import annotations

import asyncpg

SEED_JOBS = """
INSERT INTO job (
    id, kind, status, progress, progress_message, params, result, error_message, usage,
    attempts, attempts_floor, cancel_requested, worker_id,
    enqueued_at, started_at, finished_at, owner_id, created_at, updated_at
)
SELECT
    (lpad(to_hex((extract(epoch FROM created_at) * 1000)::bigint), 12, '0')
        || '7' || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid,
    'simulate',
    status,
    CASE status WHEN 'completed' THEN 100 ELSE 0 END,
    CASE status WHEN 'canceled' THEN 'canceled' END,
    '{"steps": 0}'::jsonb,
    CASE status WHEN 'completed' THEN '{"steps": 0}'::jsonb END,
    CASE status WHEN 'failed' THEN 'simulated permanent failure' END,
    CASE status
        WHEN 'completed' THEN '{"prompt_tokens": 0, "completion_tokens": 0}'::jsonb
        ELSE '{}'::jsonb
    END,
    CASE WHEN status IN ('completed', 'failed') THEN 1 ELSE 0 END,
    0,
    status = 'canceled',
    CASE WHEN status IN ('completed', 'failed') THEN 'bench-seed' END,
    created_at,
    CASE WHEN status IN ('completed', 'failed') THEN created_at + queued END,
    CASE WHEN status <> 'pending' THEN created_at + queued + ran END,
    $1,
    created_at,
    CASE WHEN status <> 'pending' THEN created_at + queued + ran ELSE created_at END
FROM (
    SELECT
        now() - interval '30 days' * (1 - i::float8 / $2::int) AS created_at,
        CASE
            WHEN i % 200 = 0 THEN 'pending'
            WHEN i % 200 <= 5 THEN 'canceled'
            WHEN i % 200 <= 13 THEN 'failed'
            ELSE 'completed'
        END AS status,
        interval '1 millisecond' * (20 + 180 * random()) AS queued,
        interval '1 millisecond' * (5 + 2000 * random()) AS ran
    FROM generate_series(1, $2::int) AS i
) AS seeded
"""


async def fill_jobs(dsn: str, owner_name: str, rows: int) -> int:
    """Add jobs owned by the key named `owner_name` until the table holds `rows`.

    Returns how many were added. The table is analysed afterwards, so the
    planner sees its new size before the first read is timed.
    """
    connection = await asyncpg.connect(dsn)
    try:
        owner = await connection.fetchval("SELECT id FROM api_key WHERE name = $1", owner_name)
        if owner is None:
            raise RuntimeError(f"no API key named {owner_name!r} to own the seeded jobs")

        present = int(await connection.fetchval("SELECT count(*) FROM job"))
        missing = max(0, rows - present)
        await connection.execute(SEED_JOBS, owner, missing)
        await connection.execute("ANALYZE job")
        return missing
    finally:
        await connection.close()


async def count_jobs(dsn: str) -> int:
    """Rows in the job table, counted, not read from the trigger-kept counters."""
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM job"))
    finally:
        await connection.close()
