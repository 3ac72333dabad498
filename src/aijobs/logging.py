"""Structured logging for every process: console for people, JSON for shippers.

Our own lines go through structlog's native pipeline and are written straight
to the stream: routing them through the standard library (a LogRecord, a caller
lookup and a second pass of processors) roughly doubled the cost of a line, to
about 26 µs for JSON here, and a worker writes two lines per job. Lines from
libraries (Uvicorn, Dramatiq, Alembic) still come through `logging`, rendered
by the same processors to the same stream under the same lock, so the two
kinds read alike and never interleave mid-line.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

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


def configure_logging(settings: Settings) -> None:
    """Render structlog and stdlib lines with one set of processors to stderr."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    handler = logging.StreamHandler(sys.stderr)
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
