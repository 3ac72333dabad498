"""The providers, the OpenAI one against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from email.utils import formatdate

import pytest
from pydantic import SecretStr

from aijobs.ai.chunking import estimate_tokens
from aijobs.ai.providers import (
    LOCAL_MODEL,
    LocalProvider,
    OpenAIProvider,
    get_provider,
    parse_retry_after,
)
from aijobs.jobs.errors import JobError, PermanentJobError, TransientJobError
from aijobs.settings import Settings

from .conftest import API_KEY
from .fake_openai import (
    FakeOpenAI,
    Reply,
    completion,
    error,
    hang,
    malformed,
    no_choices,
    rate_limited,
    server_error,
)

TEXT = "The harbour board approved the budget. Work starts in May. It ends next year."


@pytest.fixture
async def provider(fake_openai: FakeOpenAI) -> AsyncIterator[OpenAIProvider]:
    """An OpenAI provider talking to the fake server, with a half-second timeout."""
    provider = OpenAIProvider(
        api_key=API_KEY, base_url=fake_openai.base_url, model="fake-model", timeout_s=0.5
    )
    yield provider
    await provider.aclose()


async def failure(provider: OpenAIProvider) -> JobError:
    """Return the error one summarize call raises, checking it never shows the key."""
    with pytest.raises((TransientJobError, PermanentJobError)) as caught:
        await provider.summarize(TEXT, instruction="Summarise.")

    assert API_KEY not in caught.value.reason
    assert API_KEY not in str(caught.value)
    # Chained client errors would put their own text (and headers) in tracebacks.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    return caught.value


# Success


async def test_a_completion_gives_the_models_text_and_the_servers_token_counts(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    fake_openai.add(
        completion("  The board approved the budget.\n", prompt_tokens=42, completion_tokens=9)
    )

    result = await provider.summarize(TEXT, instruction="Summarise in one sentence.")

    assert result.text == "The board approved the budget."
    assert (result.prompt_tokens, result.completion_tokens) == (42, 9)


async def test_the_request_carries_the_model_the_instruction_the_text_and_the_key(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    await provider.summarize(TEXT, instruction="Summarise.")

    [request] = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "fake-model"
    assert request.body["messages"] == [
        {"role": "system", "content": "Summarise."},
        {"role": "user", "content": TEXT},
    ]


async def test_an_answer_without_usage_is_counted_by_estimate(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    body = completion("Short answer.").body
    del body["usage"]
    fake_openai.add(Reply(body=body))

    result = await provider.summarize(TEXT, instruction="Summarise.")

    assert result.prompt_tokens == estimate_tokens("Summarise.") + estimate_tokens(TEXT)
    assert result.completion_tokens == estimate_tokens("Short answer.")


# Transient failures


async def test_a_429_is_transient_and_carries_its_retry_after_in_seconds(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    fake_openai.add(rate_limited("7"))

    exc = await failure(provider)

    assert isinstance(exc, TransientJobError)
    assert exc.retry_after_s == 7.0
    assert exc.reason.startswith("the model provider is rate limiting (HTTP 429)")
    assert "Rate limit reached" in exc.reason


async def test_a_429_with_an_http_date_gives_the_seconds_until_then(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    fake_openai.add(rate_limited(formatdate(time.time() + 30, usegmt=True)))

    exc = await failure(provider)

    assert isinstance(exc, TransientJobError)
    assert exc.retry_after_s is not None
    assert 27 <= exc.retry_after_s <= 30


async def test_a_429_with_retry_after_ms_prefers_the_milliseconds(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    fake_openai.add(rate_limited("9", retry_after_ms="1500"))

    exc = await failure(provider)

    assert isinstance(exc, TransientJobError)
    assert exc.retry_after_s == 1.5


async def test_a_429_without_retry_after_leaves_the_delay_to_the_runner(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    fake_openai.add(rate_limited(None))

    exc = await failure(provider)

    assert isinstance(exc, TransientJobError)
    assert exc.retry_after_s is None


async def test_a_429_for_an_account_out_of_quota_is_permanent(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    fake_openai.add(error(429, "You exceeded your current quota.", "insufficient_quota"))

    exc = await failure(provider)

    assert isinstance(exc, PermanentJobError)
    assert exc.reason == (
        "the model provider account is out of quota: You exceeded your current quota."
    )


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 409])
async def test_server_errors_are_transient(
    provider: OpenAIProvider, fake_openai: FakeOpenAI, status: int
) -> None:
    fake_openai.add(server_error(status))

    exc = await failure(provider)

    assert isinstance(exc, TransientJobError)
    assert f"HTTP {status}" in exc.reason


async def test_a_server_slower_than_the_timeout_is_transient_and_fails_fast(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    fake_openai.add(hang(seconds=10))

    started = time.monotonic()
    exc = await failure(provider)

    assert time.monotonic() - started < 3
    assert isinstance(exc, TransientJobError)
    assert exc.reason == "the model provider did not answer within 0.5 s"


async def test_a_server_that_is_not_listening_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = OpenAIProvider(
        api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout_s=0.5
    )

    try:
        exc = await failure(provider)
    finally:
        await provider.aclose()

    assert isinstance(exc, TransientJobError)
    assert exc.reason == "could not reach the model provider at 127.0.0.1"


# Permanent failures


async def test_a_401_is_permanent_and_never_repeats_the_key_the_server_echoed(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    fake_openai.add(error(401, "Incorrect API key provided: {api_key}.", "invalid_api_key"))

    exc = await failure(provider)

    assert isinstance(exc, PermanentJobError)
    assert exc.reason == (
        "the model provider refused the request (HTTP 401): Incorrect API key provided: [redacted]."
    )


async def test_a_partly_masked_key_in_an_error_is_redacted_too(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    fake_openai.add(error(401, f"Incorrect API key provided: {API_KEY[:6]}****{API_KEY[-4:]}."))

    exc = await failure(provider)

    assert API_KEY[:6] + "****" not in exc.reason
    assert "[redacted]" in exc.reason


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "Invalid 'messages': empty array."),
        (403, "Project does not have access to this model."),
        (404, "The model `fake-model` does not exist."),
        (422, "Unprocessable entity."),
    ],
)
async def test_client_errors_are_permanent_and_carry_the_providers_reason(
    provider: OpenAIProvider, fake_openai: FakeOpenAI, status: int, message: str
) -> None:
    fake_openai.add(error(status, message))

    exc = await failure(provider)

    assert isinstance(exc, PermanentJobError)
    assert exc.reason == f"the model provider refused the request (HTTP {status}): {message}"


async def test_an_error_without_a_json_body_gives_the_http_reason(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    fake_openai.add(Reply(status=404, body=b""))

    exc = await failure(provider)

    assert exc.reason == "the model provider refused the request (HTTP 404): Not Found"


async def test_a_very_long_error_message_is_cut(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    fake_openai.add(error(400, "bad " * 500))

    exc = await failure(provider)

    assert len(exc.reason) < 400
    assert exc.reason.endswith("…")


@pytest.mark.parametrize(
    "reply",
    [
        malformed(),
        no_choices(),
        completion(None),
        completion("   "),
        Reply(body=[]),
        Reply(body={"choices": "none"}),
        Reply(body=b"plain text, not JSON"),
    ],
    ids=["bad-json", "no-choices", "null-content", "blank-content", "list", "bad-choices", "text"],
)
async def test_a_malformed_answer_is_permanent(
    provider: OpenAIProvider, fake_openai: FakeOpenAI, reply: Reply
) -> None:
    fake_openai.add(reply)

    exc = await failure(provider)

    assert isinstance(exc, PermanentJobError)
    assert "the model provider sent" in exc.reason


# The local provider


async def test_the_local_provider_summarises_and_counts_tokens_by_estimate() -> None:
    provider = LocalProvider()

    result = await provider.summarize(TEXT, instruction="ignored")

    assert (provider.name, provider.model) == ("local", LOCAL_MODEL)
    assert result.text in TEXT
    assert result.prompt_tokens == estimate_tokens(TEXT)
    assert result.completion_tokens == estimate_tokens(result.text)


async def test_the_local_provider_refuses_empty_text_for_good() -> None:
    with pytest.raises(PermanentJobError, match="no text"):
        await LocalProvider().summarize("  ", instruction="ignored")


# Choosing a provider


@pytest.mark.parametrize("key", [None, "", "   "])
def test_without_an_api_key_the_local_provider_is_chosen(key: str | None) -> None:
    settings = Settings(openai_api_key=None if key is None else SecretStr(key))

    assert isinstance(get_provider(settings), LocalProvider)


async def test_with_an_api_key_the_openai_provider_is_chosen_with_the_configured_model() -> None:
    settings = Settings(openai_api_key=SecretStr(API_KEY), openai_model="gpt-test")

    provider = get_provider(settings)
    await provider.aclose()

    assert isinstance(provider, OpenAIProvider)
    assert (provider.name, provider.model) == ("openai", "gpt-test")


# Retry-After parsing


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "12"}, 12.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after": "-3"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(
    headers: dict[str, str], expected: float | None
) -> None:
    assert parse_retry_after(headers) == expected
