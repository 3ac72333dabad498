"""Our structlog lines and libraries' logging lines share one renderer and stream."""

from __future__ import annotations

import io
import json
import logging
import os
import select
import sys
import uuid
from collections.abc import Iterator

import pytest
import structlog

from aijobs.logging import InheritedStderr, configure_logging, worker_stream
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


def test_values_json_has_no_form_for_are_written_as_text(stream: io.StringIO) -> None:
    job_id = uuid.UUID("01a24261-1056-7222-8d8b-871791ac941a")

    structlog.get_logger("aijobs").info(
        "job submitted", job_id=job_id, owner=Opaque(), title="Résumé, 東京", attempt=2
    )

    (line,) = lines(stream)
    assert line["job_id"] == str(job_id)
    assert line["owner"] == "<opaque>"
    assert (line["title"], line["attempt"]) == ("Résumé, 東京", 2)


class Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


def test_a_worker_writes_short_lines_to_the_inherited_fd_and_long_ones_to_the_pipe() -> None:
    read_end, write_end = os.pipe()
    fallback = io.StringIO()
    stream = InheritedStderr(write_end, fallback)
    try:
        short = json.dumps({"event": "job completed", "job_id": "j1"}) + "\n"
        long = json.dumps({"event": "job failed", "error": "x" * select.PIPE_BUF}) + "\n"

        assert stream.write(short) == len(short)
        stream.write(long)
        os.close(write_end)
        written = os.read(read_end, 2 * select.PIPE_BUF).decode()
    finally:
        os.close(read_end)

    # The long line would not be written whole if another process wrote meanwhile.
    assert written == short
    assert fallback.getvalue() == long


def test_a_worker_whose_stderr_was_redirected_writes_to_the_one_it_inherited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)

    stream = worker_stream()

    assert isinstance(stream, InheritedStderr)
    assert sys.__stderr__ is not None
    assert (stream.fd, stream.fallback) == (sys.__stderr__.fileno(), pipe)


def test_a_process_whose_stderr_is_its_own_keeps_writing_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stderr", sys.__stderr__)

    assert worker_stream() is sys.__stderr__
