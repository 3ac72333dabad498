"""A fake OpenAI-compatible server: real HTTP on 127.0.0.1, scripted answers.

It speaks `POST /v1/chat/completions` in the real wire format, usage
included. Each request takes the next scripted `Reply`; when the script runs
out, it answers with a deterministic "summary" (the first words of the user's
message), so long jobs need no script at all.

In a test::

    with FakeOpenAI([rate_limited("2"), completion("done")]) as server:
        ...  # point OPENAI_BASE_URL at server.base_url

From another test that only needs the URL (the server runs in a thread of
the calling process, so worker subprocesses can reach it)::

    with run_fake_openai() as base_url:
        ...

Or as a process of its own, printing its base URL on the first line::

    python -m tests.ai.fake_openai --port 8765 [--script replies.json]

A reply's body may contain `{api_key}`, replaced by the key the client sent,
to play a server that echoes secrets back in its errors.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

#: Words the default answer keeps from the user's message.
DEFAULT_SUMMARY_WORDS = 12

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer: a status, a JSON body (or raw bytes), headers, a delay."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Request:
    """One request the server received."""

    path: str
    headers: Mapping[str, str]
    body: Any


def completion(
    content: str | None, *, prompt_tokens: int = 11, completion_tokens: int = 7
) -> Reply:
    """Return a successful chat completion saying `content`, with its usage."""
    return Reply(body=_completion_body(content, prompt_tokens, completion_tokens))


def rate_limited(retry_after: str | None = "2", *, retry_after_ms: str | None = None) -> Reply:
    """Return a 429 with a Retry-After header (seconds or an HTTP date)."""
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms

    body = _error_body("Rate limit reached for requests", "rate_limit_exceeded")
    return Reply(status=429, body=body, headers=headers)


def server_error(status: int = 500) -> Reply:
    """Return a 5xx with an OpenAI-style error body."""
    return Reply(status=status, body=_error_body("The server had an error", "server_error"))


def error(status: int, message: str, code: str | None = None) -> Reply:
    """Return an error status with `message` in an OpenAI-style error body."""
    return Reply(status=status, body=_error_body(message, code))


def hang(seconds: float = 5.0) -> Reply:
    """Return a success that arrives only after `seconds`, past any tiny client timeout."""
    return Reply(body=_completion_body("too late", 1, 1), delay_s=seconds)


def malformed(raw: bytes = b'{"id": "chatcmpl-1", "choices": [') -> Reply:
    """Return a 200 whose body is not valid JSON."""
    return Reply(body=raw)


def no_choices() -> Reply:
    """Return a 200 completion with an empty `choices` list."""
    body = _completion_body("unused", 1, 1)
    body["choices"] = []
    return Reply(body=body)


class FakeOpenAI:
    """The server: start it, script it, read what it received, stop it."""

    def __init__(self, script: Iterable[Reply] = (), *, port: int = 0) -> None:
        self.requests: list[Request] = []
        self._script: deque[Reply] = deque(script)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.fake = self
        # A short poll interval makes stop() quick: shutdown waits for one poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        """The URL to give the client, with the /v1 prefix."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def add(self, *replies: Reply) -> None:
        """Queue more replies after those already scripted."""
        with self._lock:
            self._script.extend(replies)

    def start(self) -> FakeOpenAI:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake any hanging reply, and close the socket."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _next_reply(self, request: Request) -> Reply:
        """Record `request` and return the reply it gets."""
        with self._lock:
            self.requests.append(request)
            if self._script:
                return self._script.popleft()

        return _default_reply(request.body)


@contextmanager
def run_fake_openai(script: Iterable[Reply] = (), *, port: int = 0) -> Iterator[str]:
    """Run a fake server for the duration of the block; yield its base URL."""
    with FakeOpenAI(script, port=port) as server:
        yield server.base_url


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAI


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self._send(Reply(status=400, body=_error_body("body is not JSON", None)))
            return

        if self.path != CHAT_PATH:
            self._send(Reply(status=404, body=_error_body(f"no route {self.path}", None)))
            return

        fake = self.server.fake
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = fake._next_reply(Request(self.path, headers, body))
        if reply.delay_s and fake._stopping.wait(reply.delay_s):
            return

        self._send(reply)

    def _send(self, reply: Reply) -> None:
        raw = isinstance(reply.body, bytes)
        payload = reply.body if raw else json.dumps(reply.body).encode()
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        payload = payload.replace(b"{api_key}", key.encode())

        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout passed); nothing left to tell it.
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


def _completion_body(content: str | None, prompt_tokens: int, completion_tokens: int) -> Any:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "fake-model",
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _error_body(message: str, code: str | None) -> Any:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    }


def _default_reply(body: Any) -> Reply:
    """Answer with the first words of the user's message, counting words as tokens."""
    messages = body.get("messages", []) if isinstance(body, dict) else []
    text = " ".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    words = text.split()
    content = " ".join(words[:DEFAULT_SUMMARY_WORDS]) or "nothing"
    if len(words) > DEFAULT_SUMMARY_WORDS:
        content += " …"

    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
    return Reply(body=_completion_body(content, prompt_tokens, len(content.split())))


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted, printing the base URL first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument(
        "--script", help="JSON file: a list of {status, body, headers, delay_s} replies"
    )
    args = parser.parse_args(argv)

    script: list[Reply] = []
    if args.script:
        with open(args.script, encoding="utf-8") as file:
            script = [Reply(**item) for item in json.load(file)]

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeOpenAI(script, port=args.port) as server:
        print(server.base_url, flush=True)
        with suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
