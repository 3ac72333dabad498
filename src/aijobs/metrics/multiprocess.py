"""prometheus_client's multiprocess mode for `aijobs worker` process groups.

Dramatiq forks the worker processes of a group from one parent. Each child
writes its metrics to memory-mapped files in one directory, and one more
process of the group adds them up for a scrape, so WORKER_METRICS_PORT shows
the whole group whatever `--processes` says.

prometheus_client picks its storage when it is first imported, from the
PROMETHEUS_MULTIPROC_DIR variable, so this module must not import it: the
parent sets the variable before Dramatiq forks, and every child inherits it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import structlog

from aijobs.settings import get_settings

#: The variable prometheus_client reads to share metrics between processes.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

logger = structlog.get_logger(__name__)


def multiprocess_dir() -> Path | None:
    """The shared metrics directory of this process group, if it has one."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def prepare_worker_metrics() -> Path | None:
    """Give this worker group an empty metrics directory; call before Dramatiq forks.

    Returns the directory, or None when WORKER_METRICS_PORT is 0. An operator's
    own PROMETHEUS_MULTIPROC_DIR is used, emptied first; otherwise a private
    temporary directory is made and removed when the group exits.
    """
    if not get_settings().worker_metrics_port:
        return None

    if "prometheus_client" in sys.modules:
        # The children would inherit in-process storage and serve nothing.
        logger.warning("worker metrics prepared too late; prometheus_client already imported")

    configured = multiprocess_dir()
    if configured is not None:
        configured.mkdir(parents=True, exist_ok=True)
        # Files of an earlier run would add its counts to this one's.
        for stale in configured.glob("*.db"):
            stale.unlink(missing_ok=True)
        return configured

    path = Path(tempfile.mkdtemp(prefix="aijobs-worker-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    atexit.register(_remove, path, os.getpid())
    return path


def _remove(path: Path, owner: int) -> None:
    # Forked children inherit atexit handlers; only the parent owns the directory.
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)
