"""Domain errors shared by the API and the workers.

Services raise these; one exception handler turns them into HTTP answers, and
the job runner turns the job errors into a final status or a retry.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose; always has a detail."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(DomainError):
    """A field of the request breaks a rule; `field` names it."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field


class NotFound(DomainError):
    """The addressed record does not exist (or is not visible to the caller)."""


class Conflict(DomainError):
    """The request is valid but clashes with the record's current state."""


class IdempotencyMismatch(DomainError):
    """An Idempotency-Key was reused with a different request body."""


class ServiceUnavailable(DomainError):
    """A backing service (database, broker) does not answer."""
