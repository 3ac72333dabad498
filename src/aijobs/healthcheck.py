"""Container health probes: `python -m aijobs.healthcheck api|worker|scheduler`.

Each exits 0 when its part is healthy, else 1 with one line saying why, so
an image needs neither curl nor a shell to be probed.
"""

from __future__ import annotations

import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import cast

from aijobs.settings import Settings, get_settings

#: How long one probe waits for an answer, in seconds.
TIMEOUT_S = 3.0
#: The presence set that worker processes beat into, after the Redis namespace.
#: aijobs.admin.presence owns it; importing that module would load SQLAlchemy
#: and Dramatiq on every probe, so the name is repeated here, and a test that
#: probes a real worker keeps the two in step.
PRESENCE_SUFFIX = "workers"
#: A worker counts as healthy when one of its processes beat this recently, in seconds.
WORKER_SILENT_AFTER_S = 30.0


def check_api(settings: Settings) -> str | None:
    """The API on this host answers /health with 200."""
    # The API may listen on every address (0.0.0.0); loopback reaches it either way.
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host  # noqa: S104
    url = f"http://{host}:{settings.port}/health"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            status = int(response.status)
    except (urllib.error.URLError, OSError) as exc:
        return f"{url} did not answer: {exc}"

    return None if status == 200 else f"{url} answered {status}"


def check_worker(settings: Settings) -> str | None:
    """A worker process on this host beat into the presence set recently."""
    import redis

    if not settings.redis_url:
        return "REDIS_URL is not set"

    prefix = f"{socket.gethostname()}:"
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=TIMEOUT_S)
    try:
        key = f"{settings.redis_namespace}:{PRESENCE_SUFFIX}"
        fresh = client.zrangebyscore(key, time.time() - WORKER_SILENT_AFTER_S, "+inf")
    except redis.RedisError as exc:
        return f"redis did not answer: {type(exc).__name__}"
    finally:
        client.close()

    if any(member.decode().startswith(prefix) for member in cast(list[bytes], fresh)):
        return None
    return f"no worker process on {prefix[:-1]} beat in the last {WORKER_SILENT_AFTER_S:g} s"


def check_scheduler(settings: Settings) -> str | None:
    """Redis, where the scheduler sends maintenance messages, answers."""
    import redis

    if not settings.redis_url:
        return "REDIS_URL is not set"

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=TIMEOUT_S)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"redis did not answer: {type(exc).__name__}"
    finally:
        client.close()
    return None


CHECKS: dict[str, Callable[[Settings], str | None]] = {
    "api": check_api,
    "worker": check_worker,
    "scheduler": check_scheduler,
}


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] not in CHECKS:
        print(f"usage: python -m aijobs.healthcheck {{{','.join(CHECKS)}}}", file=sys.stderr)
        raise SystemExit(2)

    problem = CHECKS[args[0]](get_settings())
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
