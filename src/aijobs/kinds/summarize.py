"""The `summarize` kind: summarise a text or a document, chunk by chunk.

Map, then reduce: each chunk is summarised on its own (progress advances per
chunk, and a cancel is honoured between chunks), then the chunk summaries are
combined by one more call, in rounds if they are still too long to send at
once. The result names the provider and model that did the work.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
import structlog

from aijobs.ai.chunking import estimate_tokens, split_into_chunks
from aijobs.ai.documents import load_document, validate_input_text
from aijobs.ai.providers import Provider, get_provider
from aijobs.errors import InvalidInput
from aijobs.jobs.errors import PermanentJobError
from aijobs.jobs.registry import JobContext, JobInput, register_kind
from aijobs.settings import get_settings

#: Chunk size when the client does not choose one, in estimated tokens: small
#: enough for any current model's context, with room for the instruction.
DEFAULT_CHUNK_TOKENS = 3000

#: Bounds of `max_chunk_tokens`, in estimated tokens.
MIN_CHUNK_TOKENS = 50
MAX_CHUNK_TOKENS = 100_000

#: Most sentences a client may ask for.
MAX_SENTENCES = 50

#: Share of the progress bar the chunk summaries fill, in percent; the rest is
#: for combining them (the runner sets 100 when the job completes).
MAP_PERCENT = 90

#: Most rounds of combining before the job gives up: each round divides the
#: text by about the number of chunks per round, so real documents need one.
MAX_REDUCE_ROUNDS = 8

CHUNK_INSTRUCTION = (
    "Summarise the text the user sends. Keep the facts, figures, names and decisions that "
    "matter; leave out examples and repetition. Write plain prose in the language of the "
    "text{length}. Answer with the summary only."
)
REDUCE_INSTRUCTION = (
    "The user sends summaries of consecutive parts of one document, in order. Combine them "
    "into one summary of the whole document: merge what repeats and keep the facts, figures, "
    "names and decisions that matter. Write plain prose in the language of the text{length}. "
    "Answer with the summary only."
)

logger = structlog.get_logger(__name__)


class SummarizeParams(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Parameters of a summarize job."""

    max_chunk_tokens: Annotated[int, msgspec.Meta(ge=MIN_CHUNK_TOKENS, le=MAX_CHUNK_TOKENS)] = (
        DEFAULT_CHUNK_TOKENS
    )
    max_sentences: Annotated[int, msgspec.Meta(ge=1, le=MAX_SENTENCES)] | None = None


@register_kind("summarize", params=SummarizeParams, needs_input=True)
async def summarize(ctx: JobContext, job: JobInput) -> dict[str, Any]:
    """Summarise the job's text or document; return the summary and who made it."""
    params: SummarizeParams = job.params
    text = await _load_text(job)
    chunks = await asyncio.to_thread(split_into_chunks, text, params.max_chunk_tokens)
    logger.debug("summarize chunked", job_id=str(ctx.job_id), chars=len(text), chunks=len(chunks))

    provider = get_provider(get_settings())
    try:
        summaries = await _map(ctx, provider, chunks, params)
        summary = await _reduce(ctx, provider, summaries, params)
    finally:
        await provider.aclose()

    return {
        "summary": summary,
        "provider": provider.name,
        "model": provider.model,
        "chunks": len(chunks),
    }


async def _load_text(job: JobInput) -> str:
    """Return the job's `input_text`, or the text of its `input_file_path`."""
    if job.input_text is not None:
        try:
            return validate_input_text(job.input_text)
        except InvalidInput as exc:
            raise PermanentJobError(exc.detail) from None

    if job.input_file_path is not None:
        data_dir = get_settings().data_dir
        return await asyncio.to_thread(load_document, data_dir, job.input_file_path)

    raise PermanentJobError("summarize needs input_text or input_file_path")


async def _map(
    ctx: JobContext, provider: Provider, chunks: list[str], params: SummarizeParams
) -> list[str]:
    """Summarise each chunk, reporting progress after each one."""
    instruction = _instruction(CHUNK_INSTRUCTION, params)
    summaries: list[str] = []
    for number, chunk in enumerate(chunks, start=1):
        await ctx.check_cancel()

        completion = await provider.summarize(
            chunk, instruction=instruction, max_sentences=params.max_sentences
        )
        await ctx.add_usage(
            prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens
        )
        summaries.append(completion.text)

        await ctx.progress(MAP_PERCENT * number // len(chunks), f"chunk {number} of {len(chunks)}")

    return summaries


async def _reduce(
    ctx: JobContext, provider: Provider, summaries: list[str], params: SummarizeParams
) -> str:
    """Combine the chunk summaries into one, in as many rounds as it takes."""
    instruction = _instruction(REDUCE_INSTRUCTION, params)
    for round_number in range(1, MAX_REDUCE_ROUNDS + 1):
        if len(summaries) == 1:
            return summaries[0]

        percent = MAP_PERCENT + min(round_number - 1, 99 - MAP_PERCENT)
        await ctx.progress(percent, f"combining {len(summaries)} summaries")

        combined = "\n\n".join(summaries)
        groups = split_into_chunks(combined, params.max_chunk_tokens)
        combined_summaries: list[str] = []
        for group in groups:
            await ctx.check_cancel()

            completion = await provider.summarize(
                group, instruction=instruction, max_sentences=params.max_sentences
            )
            await ctx.add_usage(
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
            )
            combined_summaries.append(completion.text)

        # A model that answers at length could otherwise loop here for ever.
        if len(groups) > 1 and _tokens(combined_summaries) >= estimate_tokens(combined):
            raise PermanentJobError(
                "the chunk summaries do not get shorter when combined; "
                "try a larger max_chunk_tokens or a smaller max_sentences"
            )
        summaries = combined_summaries

    if len(summaries) == 1:
        return summaries[0]

    raise PermanentJobError(
        f"the summaries were still too long after {MAX_REDUCE_ROUNDS} rounds of combining; "
        "try a larger max_chunk_tokens"
    )


def _instruction(template: str, params: SummarizeParams) -> str:
    """Fill the length clause of an instruction from the job's params."""
    length = f", in at most {params.max_sentences} sentences" if params.max_sentences else ""
    return template.format(length=length)


def _tokens(texts: list[str]) -> int:
    """Return the estimated tokens of `texts` taken together."""
    return sum(estimate_tokens(text) for text in texts)
