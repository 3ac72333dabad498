"""Every table, imported together so that foreign keys and migrations see them all."""

from aijobs.auth.models import ApiKey
from aijobs.jobs.models import Job, job_count
from aijobs.webhooks.models import WebhookDelivery

__all__ = ["ApiKey", "Job", "WebhookDelivery", "job_count"]
