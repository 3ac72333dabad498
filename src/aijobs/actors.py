"""Every Dramatiq actor of aijobs; importing this registers them on the broker."""

from aijobs.admin.actors import maintenance
from aijobs.jobs.actors import run_job

__all__ = ["maintenance", "run_job"]
