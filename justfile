# aijobs recipes. `just` alone lists them; run them through uv: `uv run just dev`.

set dotenv-load := true

web := "web"

# List the recipes.
default:
    @just --list --unsorted

# Run the whole product in one process: API, worker, maintenance, SQLite, dashboard.
dev: web-build-if-missing
    uv run aijobs dev

# Migrate, then run API, scheduler and N worker processes on .env's PostgreSQL and Redis.
serve N="2": migrate
    #!/usr/bin/env bash
    set -euo pipefail
    if [ -z "${REDIS_URL:-}" ]; then
        echo "serve needs REDIS_URL and DATABASE_URL (copy .env.example to .env)" >&2
        exit 2
    fi
    pids=()
    # Each part runs in a session of its own, so Ctrl-C reaches only this
    # script, which then stops every part once, warmly, with SIGTERM. When one
    # part exits on its own, the others are stopped too.
    stop() { trap - INT TERM EXIT; kill -TERM "${pids[@]}" 2>/dev/null || true; wait; }
    trap stop INT TERM EXIT
    setsid uv run aijobs api & pids+=($!)
    setsid uv run aijobs scheduler & pids+=($!)
    setsid uv run aijobs worker --processes {{N}} & pids+=($!)
    wait -n "${pids[@]}"

# Apply database migrations (Alembic upgrade to head).
migrate:
    uv run aijobs migrate

# Run every test: Python (PostgreSQL, Redis, worker processes, browser) and the dashboard's.
test: web-install web-build
    cd {{web}} && npm test
    uv run pytest

# Lint and type-check Python and the dashboard.
lint: web-install
    uv run ruff check src tests migrations
    uv run ruff format --check src tests migrations
    uv run mypy
    cd {{web}} && npm run typecheck && npm run format:check

# Install the dashboard's npm packages, exactly as locked.
web-install:
    cd {{web}} && npm ci --no-audit --no-fund --loglevel=error

# Build the dashboard into web/dist, served by the API under /ui/.
web-build: web-install
    cd {{web}} && npm run build && npm run size

# Build the dashboard only when there is no build yet.
web-build-if-missing:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -f {{web}}/dist/index.html ]; then just web-build; fi

# Regenerate the dashboard's API types from the app's OpenAPI document.
web-types: web-install
    REDIS_URL= uv run python -m aijobs.openapi {{web}}/src/api/openapi.json
    cd {{web}} && npm run --silent gen:api

# Run Vite's dev server on 5173, proxying the API on 8000.
web-dev: web-install
    cd {{web}} && npm run dev
