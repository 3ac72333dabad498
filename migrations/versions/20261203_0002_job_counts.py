"""Keep job counts by kind and status in a small table, maintained by triggers.

Counting a million rows for every list page and every stats call costs time
that grows with the table; these counters make both constant. On PostgreSQL
a statement-level trigger adds one batch of deltas per statement, spread over
SHARDS rows per (kind, status) so that concurrent writers rarely wait on one
row, and applied in key order so they cannot deadlock. SQLite runs one writer
at a time, so plain row triggers on a single shard do there.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Counter rows per (kind, status) on PostgreSQL.
SHARDS = 16

POSTGRES_FUNCTION = """
CREATE FUNCTION job_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pick smallint := floor(random() * 16);  -- SHARDS
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO job_count (kind, status, shard, n)
        SELECT kind, status, pick, count(*) FROM new_rows
        GROUP BY kind, status ORDER BY kind, status
        ON CONFLICT (kind, status, shard) DO UPDATE SET n = job_count.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO job_count (kind, status, shard, n)
        SELECT kind, status, pick, -count(*) FROM old_rows
        GROUP BY kind, status ORDER BY kind, status
        ON CONFLICT (kind, status, shard) DO UPDATE SET n = job_count.n + excluded.n;
    ELSE
        INSERT INTO job_count (kind, status, shard, n)
        SELECT kind, status, pick, sum(delta) FROM (
            SELECT kind, status, -1 AS delta FROM old_rows
            UNION ALL
            SELECT kind, status, 1 AS delta FROM new_rows
        ) AS changes
        GROUP BY kind, status HAVING sum(delta) <> 0 ORDER BY kind, status
        ON CONFLICT (kind, status, shard) DO UPDATE SET n = job_count.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$
"""

POSTGRES_TRIGGERS = [
    "CREATE TRIGGER job_count_insert AFTER INSERT ON job REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION job_count_apply()",
    "CREATE TRIGGER job_count_update AFTER UPDATE ON job "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION job_count_apply()",
    "CREATE TRIGGER job_count_delete AFTER DELETE ON job REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION job_count_apply()",
]

SQLITE_BUMP = (
    "INSERT INTO job_count (kind, status, shard, n) VALUES ({row}.kind, {row}.status, 0, {delta}) "
    "ON CONFLICT (kind, status, shard) DO UPDATE SET n = n + {delta};"
)

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER job_count_insert AFTER INSERT ON job BEGIN "
    f"{SQLITE_BUMP.format(row='NEW', delta=1)} END",
    f"CREATE TRIGGER job_count_delete AFTER DELETE ON job BEGIN "
    f"{SQLITE_BUMP.format(row='OLD', delta=-1)} END",
    "CREATE TRIGGER job_count_update AFTER UPDATE OF kind, status ON job "
    "WHEN OLD.kind IS NOT NEW.kind OR OLD.status IS NOT NEW.status BEGIN "
    f"{SQLITE_BUMP.format(row='OLD', delta=-1)} {SQLITE_BUMP.format(row='NEW', delta=1)} END",
]


def upgrade() -> None:
    op.create_table(
        "job_count",
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "status", "shard", name=op.f("pk_job_count")),
    )
    op.execute(
        "INSERT INTO job_count (kind, status, shard, n) "
        "SELECT kind, status, 0, count(*) FROM job GROUP BY kind, status"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    for name in ("job_count_insert", "job_count_update", "job_count_delete"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON job")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS job_count_apply()")
    op.drop_table("job_count")
