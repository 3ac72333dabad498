"""What a webhook carries and how it is signed, so that receivers can trust it.

The signature is HMAC-SHA256 under the submitting key's webhook secret over
`"{timestamp}.{body}"`, sent as `Webhook-Signature: v1=<hex>`; the timestamp
in the signed text lets a receiver refuse an old request replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import msgspec

from aijobs.jobs.models import Job

#: How far a receiver should let a webhook's timestamp stray from its clock, in seconds.
DEFAULT_TOLERANCE_S = 300
SIGNATURE_VERSION = "v1"


def webhook_body(job: Job, webhook_attempt: int) -> bytes:
    """The JSON a webhook POSTs: the job's outcome, never its input."""
    payload: dict[str, Any] = {
        "id": str(job.id),
        "kind": job.kind,
        "status": job.status,
        "result": job.result,
        "error_message": job.error_message,
        "attempts": job.attempts,
        "finished_at": job.finished_at,
        "webhook_attempt": webhook_attempt,
    }
    return msgspec.json.encode(payload)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, job_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The Webhook-Id, Webhook-Timestamp and Webhook-Signature headers for `body`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Webhook-Id": job_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": f"{SIGNATURE_VERSION}={signature(secret, timestamp, body)}",
    }


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature_header: str,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when `signature_header` signs `body` at `timestamp`, and that time is recent.

    The header may hold several space-separated `v1=` signatures (while a
    secret is being replaced); one match is enough.
    """
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False

    if abs(time.time() - sent_at) > tolerance_s:
        return False

    expected = signature(secret, sent_at, body)
    candidates = [
        value
        for version, _, value in (part.partition("=") for part in signature_header.split())
        if version == SIGNATURE_VERSION
    ]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
