"""The summarize kind, run by hand with a recording job context."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest

from aijobs.ai.chunking import split_into_chunks
from aijobs.ai.documents import seed_data_dir
from aijobs.ai.providers import LOCAL_MODEL
from aijobs.jobs.errors import JobCanceled, PermanentJobError, TransientJobError
from aijobs.jobs.registry import JobInput, get_kind
from aijobs.kinds.summarize import MAP_PERCENT, REDUCE_INSTRUCTION, SummarizeParams, summarize
from aijobs.settings import Settings

from .fake_openai import DEFAULT_SUMMARY_WORDS, FakeOpenAI, completion, rate_limited
from .pdfs import text_pdf

TOPICS = ["harbour", "bridge", "library", "reservoir", "orchard", "railway"]


class RecordingContext:
    """A job context that records what the handler reports, and can be canceled.

    `cancel_after` plays a user who presses cancel right after the handler's
    n-th progress report: from then on the job must stop at its next check.
    """

    def __init__(self, *, cancel_after: int | None = None) -> None:
        self.job_id: UUID = uuid4()
        self.attempt = 1
        self.progress_reports: list[tuple[int, str | None]] = []
        self.usage_reports: list[tuple[int, int]] = []
        self.cancel_checks = 0
        self._cancel_after = cancel_after
        self._canceled = False

    async def progress(self, percent: int, message: str | None = None) -> None:
        if self._canceled:
            raise JobCanceled()

        self.progress_reports.append((percent, message))
        if self._cancel_after is not None and len(self.progress_reports) >= self._cancel_after:
            self._canceled = True

    async def check_cancel(self) -> None:
        self.cancel_checks += 1
        if self._canceled:
            raise JobCanceled()

    async def add_usage(self, *, prompt_tokens: int, completion_tokens: int) -> None:
        self.usage_reports.append((prompt_tokens, completion_tokens))

    @property
    def usage(self) -> tuple[int, int]:
        return (
            sum(prompt for prompt, _ in self.usage_reports),
            sum(completion for _, completion in self.usage_reports),
        )


def document(paragraphs: int) -> str:
    """Return a document of `paragraphs` paragraphs, each about its own topic."""
    return "\n\n".join(
        " ".join(
            f"The {TOPICS[n % len(TOPICS)]} project reached milestone {n}.{k} on time. "
            f"Its budget for the {TOPICS[n % len(TOPICS)]} stayed within plan in step {k}."
            for k in range(3)
        )
        for n in range(paragraphs)
    )


def default_answer(fake_openai: FakeOpenAI) -> str:
    """Return the fake server's default answer to its last request."""
    words = fake_openai.requests[-1].body["messages"][1]["content"].split()
    kept = " ".join(words[:DEFAULT_SUMMARY_WORDS])
    return kept + " …" if len(words) > DEFAULT_SUMMARY_WORDS else kept


def job(text: str | None = None, path: str | None = None, **params: Any) -> JobInput:
    """Return a job's input, its params decoded as the runner decodes them."""
    return JobInput(
        input_text=text,
        input_file_path=path,
        params=msgspec.convert(params, SummarizeParams),
    )


# The kind and its params


def test_summarize_is_a_registered_kind_that_needs_input() -> None:
    kind = get_kind("summarize")

    assert kind is not None
    assert kind.handler is summarize
    assert kind.params_type is SummarizeParams
    assert kind.needs_input


def test_params_default_to_three_thousand_token_chunks() -> None:
    params = msgspec.convert({}, SummarizeParams)

    assert (params.max_chunk_tokens, params.max_sentences) == (3000, None)


@pytest.mark.parametrize(
    "params",
    [
        {"max_chunk_tokens": 10},
        {"max_chunk_tokens": 1_000_000},
        {"max_sentences": 0},
        {"max_chunk_tokens": "many"},
        {"language": "fr"},
    ],
)
def test_params_out_of_bounds_or_unknown_are_refused(params: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(params, SummarizeParams)


# With the local provider


async def test_a_long_text_is_summarised_chunk_by_chunk_then_combined(
    local_settings: Settings,
) -> None:
    text = document(paragraphs=12)
    expected_chunks = len(split_into_chunks(text, 120))
    ctx = RecordingContext()

    result = await summarize(ctx, job(text, max_chunk_tokens=120))

    assert expected_chunks > 3
    assert result["provider"] == "local"
    assert result["model"] == LOCAL_MODEL
    assert result["chunks"] == expected_chunks
    assert 0 < len(result["summary"]) < len(text)
    chunk_reports = ctx.progress_reports[:expected_chunks]
    assert [message for _, message in chunk_reports] == [
        f"chunk {n} of {expected_chunks}" for n in range(1, expected_chunks + 1)
    ]
    percents = [percent for percent, _ in ctx.progress_reports]
    assert percents == sorted(percents)
    assert percents[expected_chunks - 1] == MAP_PERCENT
    assert all(percent < 100 for percent in percents)
    assert ctx.progress_reports[expected_chunks][1] == f"combining {expected_chunks} summaries"


async def test_a_short_text_is_one_chunk_and_needs_no_combining(
    local_settings: Settings,
) -> None:
    text = "The bridge opens in May. The harbour closes in June. The river floods in spring."
    ctx = RecordingContext()

    result = await summarize(ctx, job(text))

    assert result["chunks"] == 1
    assert ctx.progress_reports == [(MAP_PERCENT, "chunk 1 of 1")]
    assert len(ctx.usage_reports) == 1
    assert result["summary"] in text


async def test_a_sample_document_from_data_dir_is_summarised(
    local_settings: Settings, data_dir: Path
) -> None:
    seed_data_dir(data_dir)
    source = (data_dir / "quarterly-report.md").read_text(encoding="utf-8")

    result = await summarize(RecordingContext(), job(path="quarterly-report.md"))

    assert 0 < len(result["summary"]) < len(source)


async def test_a_pdf_from_data_dir_is_summarised(local_settings: Settings, data_dir: Path) -> None:
    pages = [[f"The library extension passed review stage {n}." for n in range(8)]] * 3
    (data_dir / "reports").mkdir()
    (data_dir / "reports" / "library.pdf").write_bytes(text_pdf(pages))

    result = await summarize(RecordingContext(), job(path="reports/library.pdf"))

    assert "library extension" in result["summary"]


async def test_a_missing_document_fails_for_good_before_any_model_call(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    ctx = RecordingContext()

    with pytest.raises(PermanentJobError) as caught:
        await summarize(ctx, job(path="reports/nowhere.pdf"))

    assert caught.value.reason == "input file 'reports/nowhere.pdf' does not exist in DATA_DIR"
    assert fake_openai.requests == []
    assert ctx.progress_reports == []


async def test_a_path_climbing_out_of_data_dir_fails_for_good(local_settings: Settings) -> None:
    with pytest.raises(PermanentJobError, match=re.escape("must not contain '..'")):
        await summarize(RecordingContext(), job(path="../etc/passwd.txt"))


async def test_a_job_with_neither_text_nor_file_fails_for_good(local_settings: Settings) -> None:
    with pytest.raises(PermanentJobError, match="needs input_text or input_file_path"):
        await summarize(RecordingContext(), job())


async def test_blank_input_text_fails_for_good(local_settings: Settings) -> None:
    with pytest.raises(PermanentJobError, match="input_text: is empty"):
        await summarize(RecordingContext(), job("   "))


async def test_a_cancel_during_a_chunk_stops_before_the_next_one(
    local_settings: Settings,
) -> None:
    text = document(paragraphs=12)
    n = len(split_into_chunks(text, 120))
    ctx = RecordingContext(cancel_after=2)

    with pytest.raises(JobCanceled):
        await summarize(ctx, job(text, max_chunk_tokens=120))

    assert len(ctx.usage_reports) == 2
    assert [message for _, message in ctx.progress_reports] == [
        f"chunk 1 of {n}",
        f"chunk 2 of {n}",
    ]


# With the OpenAI provider against the fake server


async def test_usage_is_summed_over_every_chunk_and_the_combining_call(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    text = document(paragraphs=4)
    chunks = split_into_chunks(text, 100)
    fake_openai.add(
        *(
            completion(f"Part {n} summary.", prompt_tokens=100 + n, completion_tokens=10 + n)
            for n in range(len(chunks))
        ),
        completion("The whole summary.", prompt_tokens=50, completion_tokens=5),
    )
    ctx = RecordingContext()

    result = await summarize(ctx, job(text, max_chunk_tokens=100))

    n = len(chunks)
    assert result == {
        "summary": "The whole summary.",
        "provider": "openai",
        "model": "fake-model",
        "chunks": n,
    }
    assert ctx.usage == (sum(100 + k for k in range(n)) + 50, sum(10 + k for k in range(n)) + 5)
    assert [request.body["messages"][1]["content"] for request in fake_openai.requests[:n]] == (
        chunks
    )
    combining = fake_openai.requests[n].body["messages"]
    assert combining[0]["content"] == REDUCE_INSTRUCTION.format(length="")
    assert combining[1]["content"] == "\n\n".join(f"Part {k} summary." for k in range(n))


async def test_max_sentences_is_asked_of_the_model_in_the_instruction(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    await summarize(RecordingContext(), job("A short text to summarise.", max_sentences=2))

    [request] = fake_openai.requests
    assert "in at most 2 sentences" in request.body["messages"][0]["content"]


async def test_progress_climbs_once_per_chunk_with_the_model(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    text = document(paragraphs=5)
    n = len(split_into_chunks(text, 100))
    ctx = RecordingContext()

    await summarize(ctx, job(text, max_chunk_tokens=100))

    assert ctx.progress_reports[:n] == [
        (MAP_PERCENT * k // n, f"chunk {k} of {n}") for k in range(1, n + 1)
    ]


async def test_summaries_too_long_to_combine_at_once_are_combined_in_rounds(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    ctx = RecordingContext()

    result = await summarize(ctx, job(document(paragraphs=30), max_chunk_tokens=60))

    combining = [message for _, message in ctx.progress_reports if "combining" in str(message)]
    assert len(combining) >= 2
    assert result["summary"] == default_answer(fake_openai)
    percents = [percent for percent, _ in ctx.progress_reports]
    assert percents == sorted(percents)
    assert percents[-1] < 100


async def test_a_model_whose_summaries_do_not_shrink_fails_for_good(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    wordy = " ".join(["padding"] * 40)
    fake_openai.add(*(completion(wordy) for _ in range(100)))

    with pytest.raises(PermanentJobError, match="do not get shorter"):
        await summarize(RecordingContext(), job(document(paragraphs=6), max_chunk_tokens=60))


async def test_a_rate_limit_mid_job_is_transient_and_keeps_the_usage_already_spent(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    text = document(paragraphs=4)
    n = len(split_into_chunks(text, 100))
    fake_openai.add(completion("Part one.", prompt_tokens=80, completion_tokens=8))
    fake_openai.add(rate_limited("4"))
    ctx = RecordingContext()

    with pytest.raises(TransientJobError) as caught:
        await summarize(ctx, job(text, max_chunk_tokens=100))

    assert caught.value.retry_after_s == 4.0
    assert ctx.usage == (80, 8)
    assert ctx.progress_reports == [(MAP_PERCENT // n, f"chunk 1 of {n}")]


async def test_a_cancel_with_the_model_stops_before_the_next_call(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    ctx = RecordingContext(cancel_after=1)

    with pytest.raises(JobCanceled):
        await summarize(ctx, job(document(paragraphs=6), max_chunk_tokens=100))

    assert len(fake_openai.requests) == 1
    assert len(ctx.usage_reports) == 1
