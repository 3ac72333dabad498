"""The `aijobs` command: dev, api, worker, scheduler, migrate, keys."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from aijobs.auth.exposure import check_exposure
from aijobs.settings import SettingsError, get_settings

#: What `aijobs dev` lets webhooks reach unless WEBHOOK_ALLOWED_NETWORKS is set.
DEV_WEBHOOK_NETWORKS = "127.0.0.0/8,::1"


def given(name: str) -> bool:
    """True when the environment or .env gives setting `name` a value that is not empty."""
    from dotenv import dotenv_values  # pydantic-settings reads .env with it

    return bool(os.environ.get(name) or dotenv_values(".env").get(name))


def _dev(args: argparse.Namespace) -> None:
    # Embedded mode whatever .env says about Redis: one process, nothing to install.
    os.environ["REDIS_URL"] = ""
    # On this machine alone, auth is off unless the environment or .env asks for it.
    if not given("AUTH_ENABLED"):
        os.environ["AUTH_ENABLED"] = "false"
    if not get_settings().webhook_allowed_networks:
        # Trying webhooks out takes a receiver on this machine, over plain http.
        os.environ["WEBHOOK_ALLOWED_NETWORKS"] = DEV_WEBHOOK_NETWORKS
    get_settings.cache_clear()
    settings = get_settings()
    check_exposure(settings)

    from aijobs.ai.documents import seed_data_dir
    from aijobs.migrate import upgrade

    upgrade(settings)
    seed_data_dir(settings.data_dir)
    _serve(settings.host, settings.port, args.reload)


def _api(args: argparse.Namespace) -> None:
    settings = get_settings()
    check_exposure(settings)
    _serve(settings.host, settings.port, reload=False, workers=args.workers)


def _serve(host: str, port: int, reload: bool, workers: int = 1) -> None:
    import uvicorn

    uvicorn.run(
        "aijobs.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        workers=workers,
        log_config=None,
        access_log=False,
    )


def _worker(args: argparse.Namespace) -> None:
    settings = get_settings()
    if not settings.redis_url:
        raise SettingsError(
            "invalid setting REDIS_URL: `aijobs worker` needs Redis; "
            "without it, `aijobs dev` runs the worker in-process"
        )

    from dramatiq.cli import main as dramatiq_main

    from aijobs.metrics.multiprocess import prepare_worker_metrics

    # Before Dramatiq forks: the children must inherit the shared metrics directory.
    prepare_worker_metrics()

    processes = args.processes or settings.worker_processes
    threads = args.threads or settings.worker_threads
    sys.argv = [
        "aijobs worker",
        "aijobs.worker",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        "--queues",
        "jobs",
        "maintenance",
        "webhooks",
        "--skip-logging",
    ]
    raise SystemExit(dramatiq_main())  # type: ignore[no-untyped-call] # dramatiq's CLI


def _scheduler(_: argparse.Namespace) -> None:
    settings = get_settings()
    if not settings.redis_url:
        raise SettingsError(
            "invalid setting REDIS_URL: `aijobs scheduler` needs Redis; "
            "`aijobs dev` runs maintenance in-process"
        )

    from aijobs.logging import configure_logging
    from aijobs.scheduler import run_scheduler

    configure_logging(settings)
    run_scheduler(settings)


def _migrate(args: argparse.Namespace) -> None:
    from aijobs.migrate import downgrade, upgrade

    settings = get_settings()
    if args.downgrade:
        downgrade(settings, args.downgrade)
    else:
        upgrade(settings, args.revision)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aijobs", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = commands.add_parser("dev", help="embedded mode: API, worker and maintenance in one")
    dev.add_argument("--reload", action="store_true", help="restart on code changes")
    dev.set_defaults(run=_dev)

    api = commands.add_parser("api", help="the API under Uvicorn")
    api.add_argument("--workers", type=int, default=1, help="Uvicorn worker processes")
    api.set_defaults(run=_api)

    worker = commands.add_parser("worker", help="Dramatiq worker processes for the job queue")
    worker.add_argument("--processes", type=int, help="default: WORKER_PROCESSES")
    worker.add_argument("--threads", type=int, help="default: WORKER_THREADS")
    worker.set_defaults(run=_worker)

    scheduler = commands.add_parser("scheduler", help="periodiq, sending maintenance messages")
    scheduler.set_defaults(run=_scheduler)

    migrate = commands.add_parser("migrate", help="Alembic upgrade to head")
    migrate.add_argument("--revision", default="head", help="upgrade to REVISION, not head")
    migrate.add_argument("--downgrade", metavar="REVISION", help="downgrade to REVISION instead")
    migrate.set_defaults(run=_migrate)

    from aijobs.auth.commands import add_commands

    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        get_settings()
        args.run(args)
    except SettingsError as exc:
        print(f"aijobs: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
