"""The summarize kind end to end: HTTP submit, a real worker process, a provider.

The OpenAI-compatible provider is a real HTTP server on loopback speaking the
chat completions wire format; the worker talks to it through the `openai`
client, so retries, timeouts and failures go through the real runner.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aijobs.settings import get_settings
from tests.ai.fake_openai import (
    FakeOpenAI,
    completion,
    error,
    hang,
    malformed,
    rate_limited,
    server_error,
)
from tests.support import WorkerProcess, running_worker, wait_for

pytestmark = [pytest.mark.usefixtures("database"), pytest.mark.slow]

API_KEY = "sk-e2e-secret-0123456789abcdef"
FINISHED = {"completed", "failed", "canceled"}
PARAGRAPH = (
    "The harbour authority reported that container traffic rose by a tenth in the spring. "
    "Most of the growth came from two new shipping lines that call every week. "
    "Crane crews worked longer shifts, and the night gate opened for the first time. "
    "The board expects the new berth to open before the end of the year."
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def openai_worker(database: str, fake: FakeOpenAI) -> Iterator[WorkerProcess]:
    env = {
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_MODEL": "fake-model",
        "OPENAI_TIMEOUT_S": "0.5",
    }
    with running_worker(env) as worker:
        yield worker


def write_document(name: str, paragraphs: int) -> str:
    data_dir = get_settings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / name).write_text("\n\n".join([PARAGRAPH] * paragraphs))
    return name


async def read(client: Any, job_id: str) -> dict[str, Any]:
    return (await client.get(f"/jobs/{job_id}")).json()  # type: ignore[no-any-return]


async def run(client: Any, body: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    response = await client.post("/jobs", json=body)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    return await wait_for(lambda: read(client, job_id), lambda j: j["status"] in FINISHED, timeout)


async def test_a_document_is_summarised_locally_with_progress_per_chunk(client: Any) -> None:
    # Given a document of many chunks and a worker with no provider key; the
    # local model is so quick that a short document finishes between two polls
    path = write_document("harbour.md", paragraphs=120)
    with running_worker({"OPENAI_API_KEY": ""}):
        response = await client.post(
            "/jobs", json={"input_file_path": path, "params": {"max_chunk_tokens": 120}}
        )
        job_id = response.json()["id"]

        # When it runs, the progress climbs chunk by chunk
        seen: list[tuple[int, str]] = []

        async def watch() -> dict[str, Any]:
            job = await read(client, job_id)
            step = (job["progress"], job["progress_message"] or "")
            if job["status"] == "processing" and (not seen or seen[-1] != step):
                seen.append(step)
            return job

        done = await wait_for(watch, lambda j: j["status"] in FINISHED, timeout=30)

    # Then the summary is made of the document's own sentences
    assert done["status"] == "completed", done
    result = done["result"]
    assert result["provider"] == "local"
    assert result["chunks"] > 1
    assert result["summary"]
    assert all(part.strip(" .") in PARAGRAPH for part in result["summary"].split(". "))
    assert done["usage"]["prompt_tokens"] > 0
    progress = [value for value, _ in seen]
    assert progress == sorted(progress)
    assert any(message.startswith("chunk ") for _, message in seen), seen


async def test_usage_is_summed_over_every_model_call(
    client: Any, fake: FakeOpenAI, openai_worker: WorkerProcess
) -> None:
    path = write_document("usage.md", paragraphs=6)
    before = len(fake.requests)

    done = await run(client, {"input_file_path": path, "params": {"max_chunk_tokens": 200}})

    calls = len(fake.requests) - before
    assert done["status"] == "completed", done
    assert done["result"]["provider"] == "openai"
    assert done["result"]["model"] == "fake-model"
    assert calls == done["result"]["chunks"] + 1  # every chunk, then one combining call
    assert done["usage"]["prompt_tokens"] > 0
    assert done["usage"]["completion_tokens"] > 0


async def test_a_rate_limit_is_retried_once_and_the_job_completes(
    client: Any, fake: FakeOpenAI, openai_worker: WorkerProcess
) -> None:
    fake.add(rate_limited("1"), completion("A short summary."))

    done = await run(client, {"input_text": PARAGRAPH})

    assert done["status"] == "completed", done
    assert done["attempts"] == 2
    assert done["result"]["summary"] == "A short summary."


async def test_server_errors_fail_the_job_once_retries_are_spent(
    client: Any, fake: FakeOpenAI, openai_worker: WorkerProcess
) -> None:
    retries = get_settings().job_max_retries
    fake.add(*[server_error(500)] * (retries + 1))

    done = await run(client, {"input_text": PARAGRAPH})

    assert done["status"] == "failed"
    assert done["attempts"] == 1 + retries
    assert done["error_message"].startswith(f"gave up after {1 + retries} attempts")


async def test_a_provider_that_hangs_past_the_timeout_is_retried(
    client: Any, fake: FakeOpenAI, openai_worker: WorkerProcess
) -> None:
    fake.add(hang(3), completion("Answered on the second try."))

    done = await run(client, {"input_text": PARAGRAPH})

    assert done["status"] == "completed", done
    assert done["attempts"] == 2


async def test_a_rejected_key_fails_at_once_and_the_key_appears_nowhere(
    client: Any, fake: FakeOpenAI, openai_worker: WorkerProcess
) -> None:
    fake.add(error(401, "Incorrect API key provided: {api_key}", "invalid_api_key"))

    done = await run(client, {"input_text": PARAGRAPH})

    assert done["status"] == "failed"
    assert done["attempts"] == 1
    assert "401" in done["error_message"] or "key" in done["error_message"].lower()
    assert API_KEY not in str(done)
    assert API_KEY not in openai_worker.output()


async def test_a_malformed_answer_fails_the_job_at_once(
    client: Any, fake: FakeOpenAI, openai_worker: WorkerProcess
) -> None:
    fake.add(malformed())

    done = await run(client, {"input_text": PARAGRAPH})

    assert done["status"] == "failed"
    assert done["attempts"] == 1
    assert done["error_message"]


async def test_a_missing_file_fails_the_job_at_once_with_a_clear_message(
    client: Any, openai_worker: WorkerProcess
) -> None:
    done = await run(client, {"input_file_path": "nowhere/missing.md"})

    assert done["status"] == "failed"
    assert done["attempts"] == 1
    assert "nowhere/missing.md" in done["error_message"]
    assert str(Path(get_settings().data_dir).resolve()) not in done["error_message"]
