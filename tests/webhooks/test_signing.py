"""Signing: what a webhook body holds, and how a receiver checks its signature."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import msgspec

from aijobs.jobs.models import Job
from aijobs.webhooks.signing import signature, signed_headers, verify, webhook_body

SECRET = "whsec_test"


def finished_job() -> Job:
    return Job(
        id=uuid.uuid4(),
        kind="summarize",
        status="completed",
        input_text="a private document",
        params={"max_sentences": 2},
        result={"summary": "short"},
        error_message=None,
        attempts=1,
        finished_at=datetime(2026, 12, 3, 10, 28, 37, tzinfo=UTC),
    )


def test_the_body_holds_the_outcome_and_never_the_input() -> None:
    job = finished_job()

    body = msgspec.json.decode(webhook_body(job, 2))

    assert body == {
        "id": str(job.id),
        "kind": "summarize",
        "status": "completed",
        "result": {"summary": "short"},
        "error_message": None,
        "attempts": 1,
        "finished_at": "2026-12-03T10:28:37Z",
        "webhook_attempt": 2,
    }


def test_a_signed_body_verifies_and_a_tampered_one_does_not() -> None:
    body = webhook_body(finished_job(), 1)
    headers = signed_headers(SECRET, "job-id", body)
    timestamp, header = headers["Webhook-Timestamp"], headers["Webhook-Signature"]

    assert headers["Webhook-Id"] == "job-id"
    assert header.startswith("v1=")
    assert verify(SECRET, timestamp, body, header)
    assert not verify(SECRET, timestamp, body.replace(b"short", b"shorT"), header)
    assert not verify(SECRET, str(int(timestamp) + 1), body, header)
    assert not verify("whsec_other", timestamp, body, header)


def test_an_old_timestamp_is_refused_even_with_a_good_signature() -> None:
    body = b'{"id": "x"}'
    old = int(time.time()) - 600
    header = f"v1={signature(SECRET, old, body)}"

    assert not verify(SECRET, str(old), body, header, tolerance_s=300)
    assert verify(SECRET, str(old), body, header, tolerance_s=900)


def test_one_matching_signature_among_several_is_enough() -> None:
    body = b'{"id": "x"}'
    now = int(time.time())
    header = f"v1={signature('whsec_old', now, body)} v1={signature(SECRET, now, body)}"

    assert verify(SECRET, str(now), body, header)
    assert not verify(SECRET, "not-a-number", body, header)
