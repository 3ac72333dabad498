"""The module `aijobs worker` hands to Dramatiq: each worker process imports it."""

from __future__ import annotations

from aijobs.admin.presence import WorkerPresence
from aijobs.broker import setup_broker
from aijobs.heap import freeze_startup_objects
from aijobs.jobs.registry import load_kinds
from aijobs.logging import configure_logging, worker_stream
from aijobs.settings import get_settings

settings = get_settings()
configure_logging(settings, worker_stream())
if not settings.redis_url:
    raise SystemExit("aijobs worker needs REDIS_URL; embedded mode runs its worker in `aijobs dev`")

broker = setup_broker(
    settings, extra=[WorkerPresence(settings.redis_url, settings.redis_namespace)]
)
load_kinds()
freeze_startup_objects()
