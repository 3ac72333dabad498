"""Every Dramatiq actor of aijobs; importing this registers them on the broker."""

from aijobs.admin.actors import maintenance
from aijobs.jobs.actors import run_job
from aijobs.webhooks.actors import deliver_webhook

__all__ = ["deliver_webhook", "maintenance", "run_job"]
