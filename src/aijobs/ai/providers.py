"""Model providers: the OpenAI-compatible API, or the local summariser.

A provider turns one text and one instruction into a completion with its
token counts. Failures leave here already sorted for the job runner: a
`TransientJobError` is worth retrying (timeouts, connection errors, HTTP 429
and 5xx), a `PermanentJobError` is not (bad request, bad key, unknown model, a
malformed answer). Error reasons never carry the API key.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urlsplit

import openai
import structlog

from aijobs.ai import local_summarizer
from aijobs.ai.chunking import estimate_tokens
from aijobs.jobs.errors import JobError, PermanentJobError, TransientJobError
from aijobs.settings import Settings

#: Longest provider reason kept in an error message, in characters.
MAX_REASON_CHARS = 300

#: HTTP statuses worth retrying besides 5xx: request timeout, conflict (the
#: OpenAI API uses it for lock contention) and rate limiting.
RETRYABLE_STATUSES = frozenset({408, 409, 429})

LOCAL_MODEL = "extractive-centroid"

# What an OpenAI-style key looks like, to catch partial echoes such as
# "Incorrect API key provided: sk-abc***xyz" as well as the exact key.
_KEY_LIKE = re.compile(r"\b(?:sk|key)-[A-Za-z0-9_\-*.]{3,}|Bearer\s+\S+", re.IGNORECASE)

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Completion:
    """A model's answer and what it cost, in tokens."""

    text: str
    prompt_tokens: int
    completion_tokens: int


class Provider(Protocol):
    """Something that summarises text; one instance serves one job."""

    @property
    def name(self) -> str:
        """The provider's name as shown in a job's result: "openai" or "local"."""

    @property
    def model(self) -> str:
        """The model's name as shown in a job's result."""

    async def summarize(
        self, text: str, *, instruction: str, max_sentences: int | None = None
    ) -> Completion:
        """Summarise `text` as `instruction` says, in about `max_sentences` sentences."""

    async def aclose(self) -> None:
        """Release the provider's connections."""


class LocalProvider:
    """The built-in extractive summariser, which ignores the instruction."""

    name = "local"
    model = LOCAL_MODEL

    async def summarize(
        self, text: str, *, instruction: str, max_sentences: int | None = None
    ) -> Completion:
        """Pick the text's most representative sentences, off the event loop."""
        # The worker's event loop is shared by every job thread: a long
        # document must not stall their heartbeats while it is scored.
        try:
            summary = await asyncio.to_thread(
                local_summarizer.summarize, text, max_sentences=max_sentences
            )
        except ValueError as exc:
            raise PermanentJobError(str(exc)) from None

        return Completion(summary, estimate_tokens(text), estimate_tokens(summary))

    async def aclose(self) -> None:
        """Release nothing: the local provider holds no connections."""


class OpenAIProvider:
    """An OpenAI-compatible chat completions API (OpenAI, vLLM, Ollama, LiteLLM)."""

    name = "openai"

    def __init__(self, *, api_key: str, base_url: str, model: str, timeout_s: float) -> None:
        self.model = model
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._host = urlsplit(base_url).hostname or "the configured URL"
        # Retries are the job runner's business: it backs off with jitter and
        # honours Retry-After across attempts, so the client must not retry too.
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )

    async def summarize(
        self, text: str, *, instruction: str, max_sentences: int | None = None
    ) -> Completion:
        """Ask the model for a summary; raise Transient or PermanentJobError on failure."""
        try:
            response: object = await self._client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": instruction},
                    {"role": "user", "content": text},
                ],
            )
        except openai.APIError as exc:
            raise self._classify(exc) from None
        except ValueError as exc:
            # The client does not wrap a 2xx body that is not JSON.
            logger.warning("provider answer malformed", error=type(exc).__name__)
            raise PermanentJobError("the model provider sent a malformed answer") from None

        # The client builds its models without validating them, so whatever a
        # compatible server sent must be checked here, field by field.
        content = _content(response)
        if content is None:
            raise PermanentJobError("the model provider sent an answer with no text")

        # Some compatible servers leave usage out; an estimate beats a zero.
        usage = _usage(response)
        if usage is None:
            usage = (estimate_tokens(instruction) + estimate_tokens(text), estimate_tokens(content))
        return Completion(content, *usage)

    async def aclose(self) -> None:
        """Close the HTTP client and its connections."""
        await self._client.close()

    def _classify(self, exc: openai.APIError) -> JobError:
        """Turn a client error into the job error that says what to do next."""
        if isinstance(exc, openai.APITimeoutError):
            return TransientJobError(
                f"the model provider did not answer within {self._timeout_s:g} s"
            )

        if isinstance(exc, openai.APIConnectionError):
            return TransientJobError(f"could not reach the model provider at {self._host}")

        if not isinstance(exc, openai.APIStatusError):
            # Raised for a 2xx answer the client could not parse.
            logger.warning("provider answer malformed", error=type(exc).__name__)
            return PermanentJobError("the model provider sent a malformed answer")

        status = exc.status_code
        reason = self._scrub(_reason(exc))
        # OpenAI answers 429 when the account has no credit left too: waiting
        # will not fix that, a person has to.
        if status == 429 and _code(exc) == "insufficient_quota":
            return PermanentJobError(f"the model provider account is out of quota: {reason}")

        if status == 429:
            retry_after = parse_retry_after(exc.response.headers)
            return TransientJobError(
                f"the model provider is rate limiting (HTTP 429): {reason}",
                retry_after_s=retry_after,
            )

        if status >= 500 or status in RETRYABLE_STATUSES:
            return TransientJobError(f"the model provider failed (HTTP {status}): {reason}")

        return PermanentJobError(
            f"the model provider refused the request (HTTP {status}): {reason}"
        )

    def _scrub(self, text: str) -> str:
        """Remove the API key, and anything that looks like a key, from `text`."""
        if self._api_key:
            text = text.replace(self._api_key, "[redacted]")

        return _KEY_LIKE.sub("[redacted]", text)


def get_provider(settings: Settings) -> Provider:
    """Return the OpenAI provider when an API key is set, else the local one."""
    key = settings.openai_api_key.get_secret_value().strip() if settings.openai_api_key else ""
    if not key:
        return LocalProvider()

    return OpenAIProvider(
        api_key=key,
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        timeout_s=settings.openai_timeout_s,
    )


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Return the delay a 429 asks for, in seconds, from its response headers.

    Reads `retry-after-ms` (OpenAI's own), then `Retry-After` as seconds or as
    an HTTP date. Returns None when neither is present or parsable.
    """
    milliseconds = _number(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000

    value = headers.get("retry-after")
    seconds = _number(value)
    if seconds is not None or value is None:
        return seconds

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _number(value: str | None) -> float | None:
    """Return `value` as a non-negative finite number, or None."""
    if value is None:
        return None

    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0 <= number < float("inf") else None


def _content(response: object) -> str | None:
    """Return the text of the first choice of a chat completion, if it has any."""
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        return None

    content = getattr(getattr(choices[0], "message", None), "content", None)
    if not isinstance(content, str) or not content.strip():
        return None

    return content.strip()


def _usage(response: object) -> tuple[int, int] | None:
    """Return the prompt and completion tokens a chat completion reports, if valid."""
    usage = getattr(response, "usage", None)
    prompt = getattr(usage, "prompt_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None

    if prompt < 0 or completion < 0:
        return None

    return prompt, completion


def _code(exc: openai.APIStatusError) -> str | None:
    """Return the machine-readable code of an OpenAI-style error body, if any."""
    code = exc.body.get("code") if isinstance(exc.body, dict) else None
    return code if isinstance(code, str) else None


def _reason(exc: openai.APIStatusError) -> str:
    """Return the provider's own words for an error, cut to a readable length."""
    body = exc.body
    message: object = body.get("message") if isinstance(body, dict) else body
    if not isinstance(message, str) or not message.strip():
        message = exc.response.reason_phrase or "no reason given"

    text = " ".join(str(message).split())
    if len(text) > MAX_REASON_CHARS:
        text = text[: MAX_REASON_CHARS - 1] + "…"

    return text
