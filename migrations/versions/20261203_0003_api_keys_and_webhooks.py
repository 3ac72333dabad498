"""API keys, job owners and webhook deliveries; job counts kept per owner.

A user key lists only its own jobs, so the trigger-kept counters gain an
`owner` column (the key's id as 32 hex digits, "" for jobs submitted with
auth off) and the list total stays a sum over a handful of rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WEBHOOK_PENDING = sa.text("webhook_state = 'pending'")
TRIGGERS = ("job_count_insert", "job_count_update", "job_count_delete")

POSTGRES_OWNER = "coalesce(replace(owner_id::text, '-', ''), '')"
POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION job_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pick smallint := floor(random() * 16);  -- shards per (owner, kind, status)
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO job_count (owner, kind, status, shard, n)
        SELECT {POSTGRES_OWNER}, kind, status, pick, count(*) FROM new_rows
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (owner, kind, status, shard) DO UPDATE SET n = job_count.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO job_count (owner, kind, status, shard, n)
        SELECT {POSTGRES_OWNER}, kind, status, pick, -count(*) FROM old_rows
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (owner, kind, status, shard) DO UPDATE SET n = job_count.n + excluded.n;
    ELSE
        INSERT INTO job_count (owner, kind, status, shard, n)
        SELECT owner, kind, status, pick, sum(delta) FROM (
            SELECT {POSTGRES_OWNER} AS owner, kind, status, -1 AS delta FROM old_rows
            UNION ALL
            SELECT {POSTGRES_OWNER} AS owner, kind, status, 1 AS delta FROM new_rows
        ) AS changes
        GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (owner, kind, status, shard) DO UPDATE SET n = job_count.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$
"""  # noqa: S608 - built from constants, no input reaches it

SQLITE_BUMP = (
    "INSERT INTO job_count (owner, kind, status, shard, n) "
    "VALUES (coalesce(lower(hex({row}.owner_id)), ''), {row}.kind, {row}.status, 0, {delta}) "
    "ON CONFLICT (owner, kind, status, shard) DO UPDATE SET n = n + {delta};"
)
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER job_count_insert AFTER INSERT ON job BEGIN "
    f"{SQLITE_BUMP.format(row='NEW', delta=1)} END",
    f"CREATE TRIGGER job_count_delete AFTER DELETE ON job BEGIN "
    f"{SQLITE_BUMP.format(row='OLD', delta=-1)} END",
    "CREATE TRIGGER job_count_update AFTER UPDATE OF kind, status, owner_id ON job "
    "WHEN OLD.kind IS NOT NEW.kind OR OLD.status IS NOT NEW.status "
    "OR OLD.owner_id IS NOT NEW.owner_id BEGIN "
    f"{SQLITE_BUMP.format(row='OLD', delta=-1)} {SQLITE_BUMP.format(row='NEW', delta=1)} END",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "api_key",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("last_used_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("revoked_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("name", name=op.f("uq_api_key_name")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )

    with op.batch_alter_table("job") as job:
        job.add_column(sa.Column("owner_id", GUID(length=16), nullable=True))
        job.add_column(sa.Column("webhook_state", sa.String(length=16), nullable=True))
        job.alter_column(
            "idempotency_key", type_=sa.String(length=300), existing_type=sa.String(length=255)
        )
        job.create_foreign_key(
            op.f("fk_job_owner_id_api_key"), "api_key", ["owner_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index("ix_job_owner_id_created_at", "job", ["owner_id", "created_at"])
    op.create_index(
        "ix_job_owner_id_status_created_at", "job", ["owner_id", "status", "created_at"]
    )
    op.create_index(
        "ix_job_webhook_pending",
        "job",
        ["finished_at"],
        postgresql_where=WEBHOOK_PENDING,
        sqlite_where=WEBHOOK_PENDING,
    )

    op.create_table(
        "webhook_delivery",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("job_id", GUID(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["job.id"], name=op.f("fk_webhook_delivery_job_id_job"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    )
    op.create_index(
        "ix_webhook_delivery_job_id_created_at", "webhook_delivery", ["job_id", "created_at"]
    )

    _count_per_owner(postgres)


def _count_per_owner(postgres: bool) -> None:
    """Give job_count an owner column in its key; existing jobs have no owner."""
    if postgres:
        op.add_column(
            "job_count",
            sa.Column("owner", sa.String(length=32), nullable=False, server_default=""),
        )
        op.drop_constraint("pk_job_count", "job_count", type_="primary")
        op.create_primary_key("pk_job_count", "job_count", ["owner", "kind", "status", "shard"])
        op.execute(POSTGRES_FUNCTION)
        return

    # SQLite cannot change a primary key in place: rebuild the table and its triggers.
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.rename_table("job_count", "job_count_old")
    op.create_table(
        "job_count",
        sa.Column("owner", sa.String(length=32), nullable=False, server_default=""),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "kind", "status", "shard", name=op.f("pk_job_count")),
    )
    op.execute(
        "INSERT INTO job_count (owner, kind, status, shard, n) "
        "SELECT '', kind, status, shard, n FROM job_count_old"
    )
    op.drop_table("job_count_old")
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    """Back to 0002: counts summed over owners; keys, owners and deliveries are dropped."""
    postgres = op.get_bind().dialect.name == "postgresql"
    previous = _revision_0002()
    if not postgres:
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.rename_table("job_count", "job_count_owned")
    op.create_table(
        "job_count",
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "status", "shard", name="pk_job_count_0002"),
    )
    op.execute(
        "INSERT INTO job_count (kind, status, shard, n) "
        "SELECT kind, status, shard, sum(n) FROM job_count_owned GROUP BY kind, status, shard"
    )
    op.drop_table("job_count_owned")
    if postgres:
        op.execute("ALTER TABLE job_count RENAME CONSTRAINT pk_job_count_0002 TO pk_job_count")
        op.execute(
            previous.POSTGRES_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        )
    else:
        for statement in previous.SQLITE_TRIGGERS:
            op.execute(statement)

    op.drop_table("webhook_delivery")
    op.drop_index("ix_job_webhook_pending", "job")
    op.drop_index("ix_job_owner_id_status_created_at", "job")
    op.drop_index("ix_job_owner_id_created_at", "job")
    with op.batch_alter_table("job") as job:
        job.drop_constraint(op.f("fk_job_owner_id_api_key"), type_="foreignkey")
        job.drop_column("owner_id")
        job.drop_column("webhook_state")
        job.alter_column(
            "idempotency_key", type_=sa.String(length=255), existing_type=sa.String(length=300)
        )
    op.drop_table("api_key")


def _revision_0002() -> ModuleType:
    """The 0002 migration's module, for the trigger text it installed."""
    path = Path(__file__).with_name("20261203_0002_job_counts.py")
    spec = importlib.util.spec_from_file_location("aijobs_migration_0002", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
