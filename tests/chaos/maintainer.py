"""The suite's maintenance loop: aijobs' own pass on a short period instead of a cron.

`aijobs scheduler` runs maintenance once a minute, too slow for a bounded
suite, so the suite runs this process beside it: the same `run_maintenance`,
with the same settings, every `--period` seconds. Each pass that did work is
appended to `--report` as one JSON line, so the suite can count who did what.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import structlog

from aijobs.admin.maintenance import run_maintenance
from aijobs.broker import setup_broker
from aijobs.logging import configure_logging
from aijobs.resources import dispose_engines, session_scope
from aijobs.settings import Settings, get_settings

logger = structlog.get_logger(__name__)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.maintainer", description=__doc__)
    parser.add_argument("--period", type=float, default=1.0, help="seconds between passes")
    parser.add_argument("--report", type=Path, required=True, help="JSON lines, one per pass")
    parser.add_argument("--pause-file", type=Path, help="no passes while this file exists")
    parser.add_argument("--start-at", type=float, default=0.0, help="first pass, epoch seconds")
    parser.add_argument("--stop-at", type=float, default=math.inf, help="last pass, epoch seconds")
    return parser.parse_args()


async def one_pass(settings: Settings, report: Path) -> None:
    """Run one maintenance pass and record what it did."""
    started = time.time()
    try:
        async with session_scope() as session:
            result = await run_maintenance(session, settings)
    except Exception as exc:
        # The suite takes the database or Redis away on purpose; try again next period.
        logger.warning("maintenance pass failed", error=f"{type(exc).__name__}: {exc}"[:200])
        return

    work = asdict(result)
    if any(work.values()):
        with report.open("a") as file:
            file.write(json.dumps({"at": started, "took": time.time() - started, **work}) + "\n")


async def loop(settings: Settings, args: argparse.Namespace) -> None:
    logger.info("maintenance loop ready", period_s=args.period)
    await asyncio.sleep(max(0.0, args.start_at - time.time()))
    while time.time() < args.stop_at:
        if args.pause_file is None or not args.pause_file.exists():
            await one_pass(settings, args.report)
        await asyncio.sleep(args.period)

    await dispose_engines()


def main() -> None:
    args = parse_args()
    settings = get_settings()
    configure_logging(settings)
    setup_broker(settings)
    asyncio.run(loop(settings, args))


if __name__ == "__main__":
    main()
