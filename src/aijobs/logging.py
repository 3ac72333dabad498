"""Structured logging for every process: console for people, JSON for shippers.

Our own lines go through structlog's native pipeline and are written straight
to the stream: routing them through the standard library (a LogRecord, a caller
lookup and a second pass of processors) roughly doubled the cost of a line, to
about 26 µs for JSON here, and a worker writes two lines per job. Lines from
libraries (Uvicorn, Dramatiq, Alembic) still come through `logging`, rendered
by the same processors to the same stream under the same lock, so the two
kinds read alike and never interleave mid-line.

In an `aijobs worker` group, Dramatiq hands each worker process's output to
the group's parent through a pipe, and the parent writes it out again: about
a twentieth of the CPU a short job costs. A worker process writes its lines
to the stderr it inherited instead; a line short enough for one atomic write
cannot be torn by another process's line, and a longer one still goes the
parent's way.
"""

from __future__ import annotations

import logging
import os
import select
import sys
from typing import Any, TextIO, cast

import msgspec
import structlog

from aijobs.settings import Settings

#: Libraries whose INFO and DEBUG lines are mechanics; they log at WARNING and above.
QUIET_LOGGERS = ("httpx", "openai", "aiosqlite", "redis", "asyncio")


class LineWriter:
    """The structlog logger: writes each rendered line to the handler's stream."""

    def __init__(self, handler: logging.StreamHandler[TextIO], name: str | None = None) -> None:
        self.handler = handler
        # Read by structlog's add_logger_name, as it reads a stdlib logger's.
        self.name = name or ""

    def msg(self, line: str) -> None:
        self.handler.acquire()
        try:
            self.handler.stream.write(line + "\n")
            self.handler.stream.flush()
        finally:
            self.handler.release()

    debug = info = warning = warn = error = err = critical = exception = fatal = log = msg


class InheritedStderr:
    """A stream that writes each line of up to PIPE_BUF bytes to `fd` in one write.

    Longer lines go to `fallback`: a pipe keeps only a write of at most
    PIPE_BUF bytes whole when other processes write to it too.
    """

    def __init__(self, fd: int, fallback: TextIO) -> None:
        self.fd = fd
        self.fallback = fallback

    def write(self, text: str) -> int:
        data = text.encode()
        if len(data) > select.PIPE_BUF:
            return self.fallback.write(text)

        while data:
            data = data[os.write(self.fd, data) :]
        return len(text)

    def flush(self) -> None:
        self.fallback.flush()


def worker_stream() -> TextIO:
    """Where a Dramatiq worker process writes its lines: see the module's docstring."""
    original = sys.__stderr__
    if original is None or sys.stderr is original:
        return sys.stderr

    return cast(TextIO, InheritedStderr(original.fileno(), sys.stderr))


def _json_line(event: dict[str, Any], **_: Any) -> str:
    """A line's JSON by msgspec: a fifth of `json.dumps`'s cost, a third of a line's.

    Values JSON has no form for are written as their repr, as structlog's default does.
    """
    return msgspec.json.encode(event, enc_hook=repr).decode()


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Render structlog and stdlib lines with one set of processors to `stream` (stderr)."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(serializer=_json_line)
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        logger_factory=lambda name=None: LineWriter(handler, name),
        wrapper_class=structlog.make_filtering_bound_logger(settings.log_level),
        # Assembling a logger per line costs a few µs; a cached one would keep
        # the renderer, level and stream of the first configuration it saw.
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
