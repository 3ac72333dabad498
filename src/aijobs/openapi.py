"""Write the API's OpenAPI document to a file, for the dashboard's generated types.

`python -m aijobs.openapi web/src/api/openapi.json` (or `just web-types`).
It builds the app in embedded mode without starting it: no database, broker
or network is touched.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def render() -> str:
    """The OpenAPI document as stable, pretty JSON."""
    os.environ["REDIS_URL"] = ""
    from aijobs.app import create_app

    document = create_app().openapi_schema.to_schema()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python -m aijobs.openapi OUTPUT.json")

    Path(argv[0]).write_text(render())


if __name__ == "__main__":
    main(sys.argv[1:])
