"""Our structlog lines and libraries' logging lines share one renderer and stream."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from aijobs.logging import configure_logging
from aijobs.settings import Settings


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Configure JSON logging at INFO, then restore the test run's logging."""
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    written = io.StringIO()

    configure_logging(Settings(log_format="json", log_level="INFO"))
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(written)
    yield written

    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_our_lines_and_library_lines_render_alike(stream: io.StringIO) -> None:
    structlog.get_logger("aijobs.jobs.runner").info("job finished", job_id="j1", attempt=1)
    logging.getLogger("dramatiq.worker").warning("consumer %s stopped", "default")

    ours, theirs = lines(stream)
    assert ours["event"] == "job finished"
    assert ours["job_id"] == "j1"
    assert ours["level"] == "info"
    assert ours["logger"] == "aijobs.jobs.runner"
    assert theirs["event"] == "consumer default stopped"
    assert theirs["level"] == "warning"
    assert theirs["logger"] == "dramatiq.worker"
    assert {"timestamp"} <= ours.keys() & theirs.keys()


def test_lines_below_the_level_are_not_written(stream: io.StringIO) -> None:
    structlog.get_logger("aijobs").debug("too fine")
    logging.getLogger("dramatiq").debug("too fine as well")
    structlog.get_logger("aijobs").warning("kept")

    assert [line["event"] for line in lines(stream)] == ["kept"]


def test_bound_context_and_request_context_reach_the_line(stream: io.StringIO) -> None:
    structlog.contextvars.bind_contextvars(request_id="r-9")
    try:
        structlog.get_logger("aijobs").bind(job_id="j2").info("job submitted")
    finally:
        structlog.contextvars.clear_contextvars()

    (line,) = lines(stream)
    assert line["request_id"] == "r-9"
    assert line["job_id"] == "j2"


def test_an_exception_is_rendered_on_its_line(stream: io.StringIO) -> None:
    try:
        raise ValueError("bad chunk")
    except ValueError:
        structlog.get_logger("aijobs").exception("job failed")

    (line,) = lines(stream)
    assert line["event"] == "job failed"
    assert "ValueError: bad chunk" in str(line["exception"])
