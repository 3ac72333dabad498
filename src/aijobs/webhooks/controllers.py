"""HTTP routes for webhooks: what became of a job's deliveries."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from aijobs.error_responses import API_KEY, errors
from aijobs.jobs.controllers import provide_job_service
from aijobs.jobs.service import JobService
from aijobs.webhooks import repository
from aijobs.webhooks.schemas import WebhookDeliveryList, WebhookDeliveryRead


class WebhookDeliveryController(Controller):
    path = "/jobs"
    tags = ["jobs"]
    security = API_KEY
    dependencies = {"jobs_service": Provide(provide_job_service)}

    @get(
        "/{job_id:uuid}/webhook-deliveries",
        operation_id="ListWebhookDeliveries",
        responses=errors(404),
    )
    async def list_deliveries(
        self,
        jobs_service: NamedDependency[JobService],
        db_session: NamedDependency[AsyncSession],
        job_id: FromPath[UUID],
    ) -> WebhookDeliveryList:
        """List the job's webhook delivery attempts, oldest first."""
        job = await jobs_service.get_job(job_id)
        deliveries = await repository.deliveries(db_session, job.id)
        items = msgspec.convert(deliveries, list[WebhookDeliveryRead], from_attributes=True)
        return WebhookDeliveryList(items=items)
