"""`python -m tests.chaos [--short] [--seed N] [--only 1 4 ...]`: run the fault suite."""

from __future__ import annotations

import argparse
import random
import sys

from tests.chaos.servers import ClusterUnavailable
from tests.chaos.suite import FULL, SHORT, run_suite


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the short form pytest runs")
    parser.add_argument("--seed", type=int, default=random.randrange(2**32), help="replay a run")
    parser.add_argument("--only", nargs="*", default=[], help="fault numbers to run")
    args = parser.parse_args()

    try:
        verdicts = run_suite(SHORT if args.short else FULL, args.seed, only=args.only)
    except ClusterUnavailable as exc:
        print(f"chaos: cannot run here: {exc}", file=sys.stderr)
        return 2
    return 0 if all(v.ok for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
