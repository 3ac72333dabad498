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

# The fault suite: kills, freezes and outages against real processes; prints its table.
chaos *ARGS:
    uv run python -m tests.chaos {{ARGS}}

# Run every test: Python (PostgreSQL, Redis, worker processes, browser) and the dashboard's.
test: web-install web-build
    cd {{web}} && npm test
    uv run pytest

# Lint and type-check Python and the dashboard.
lint: web-install
    uv run ruff check src tests migrations load
    uv run ruff format --check src tests migrations load
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

# --- Containers (Docker or Podman compose), operations, load tests and the benchmark.

# The same just and justfile, for recipes that call the compose helper.
_just := quote(just_executable()) + " --justfile " + quote(justfile())

# Print the compose command of the installed engine, or say in one line that there is none.
[no-exit-message]
[private]
_compose-cmd:
    #!/usr/bin/env bash
    if docker compose version >/dev/null 2>&1; then echo "docker compose"
    elif podman compose version >/dev/null 2>&1; then echo "podman compose"
    elif command -v podman-compose >/dev/null 2>&1; then echo "podman-compose"
    elif command -v docker-compose >/dev/null 2>&1; then echo "docker-compose"
    else
        echo "no container engine: install Docker with its compose plugin, or Podman with podman-compose" >&2
        exit 127
    fi

# Run compose through the installed engine with the given arguments.
[no-exit-message]
[positional-arguments]
[private]
_compose *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    engine=$({{ _just }} _compose-cmd)
    read -ra compose <<< "$engine"
    exec "${compose[@]}" "$@"

# Build the image if needed; start PostgreSQL, Redis, migrations, API, worker, scheduler.
[no-exit-message]
up:
    @{{ _just }} _compose up -d
    @echo "aijobs: http://127.0.0.1:${AIJOBS_PORT:-8000}/ui/ (just status, just health, just logs)"

# Stop and remove the containers; the data volumes stay.
[no-exit-message]
down:
    @{{ _just }} _compose --profile web --profile load down --remove-orphans

# Restart the API, worker and scheduler containers.
[no-exit-message]
restart:
    @{{ _just }} _compose restart api worker scheduler

# Rebuild the image on fresh base images and recreate the containers.
[no-exit-message]
rebuild:
    @{{ _just }} _compose build --pull
    @{{ _just }} _compose up -d --force-recreate

# Follow the logs of every container.
[no-exit-message]
logs:
    @{{ _just }} _compose logs -f --tail=200

# Follow the API's logs.
[no-exit-message]
logs-api:
    @{{ _just }} _compose logs -f --tail=200 api

# Follow the workers' logs.
[no-exit-message]
logs-worker:
    @{{ _just }} _compose logs -f --tail=200 worker

# Follow the logs of Vite's dev server (profile web: `COMPOSE_PROFILES=web just up`).
[no-exit-message]
logs-web:
    @{{ _just }} _compose --profile web logs -f --tail=200 web

# List the containers with their state and health.
[no-exit-message]
status:
    @{{ _just }} _compose --profile web --profile load ps -a

# Print the HTTP code of every endpoint of the API at AIJOBS_URL (default http://127.0.0.1:8000),
# sending the admin key in AIJOBS_API_KEY when it is set.
[no-exit-message]
health:
    #!/usr/bin/env python3
    import os, sys, urllib.error, urllib.request

    base = os.environ.get("AIJOBS_URL") or "http://127.0.0.1:8000"
    key = os.environ.get("AIJOBS_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    paths = ("/health", "/health/ready", "/admin/stats", "/jobs", "/schema/openapi.json", "/ui/", "/metrics")
    failed = 0
    for path in paths:
        request = urllib.request.Request(base.rstrip("/") + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                code = response.status
        except urllib.error.HTTPError as exc:
            code = exc.code
        except OSError:
            code = 0
        ok = 200 <= code < 400
        failed += not ok
        hint = " (set AIJOBS_API_KEY to an admin key)" if code == 401 and not key else ""
        print(f"{code:03d} {'ok  ' if ok else 'FAIL'} {path}{hint}")
    if failed:
        sys.exit(f"{failed} of {len(paths)} endpoints failed at {base}")

# Print the API's /admin/stats at AIJOBS_URL (default http://127.0.0.1:8000), pretty; the
# admin key comes from AIJOBS_API_KEY.
[no-exit-message]
stats:
    #!/usr/bin/env python3
    import json, os, sys, urllib.request

    url = (os.environ.get("AIJOBS_URL") or "http://127.0.0.1:8000").rstrip("/") + "/admin/stats"
    key = os.environ.get("AIJOBS_API_KEY")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            stats = json.load(response)
    except OSError as exc:
        sys.exit(f"no answer from {url}: {exc}")
    print(json.dumps(stats, indent=2))

# Run N worker containers (each with WORKER_PROCESSES processes).
[no-exit-message]
scale-workers N:
    @{{ _just }} _compose up -d --scale worker={{ N }} worker

# Start Locust in a container against the API; its web UI is on http://127.0.0.1:8089.
[no-exit-message]
load-test:
    @{{ _just }} _compose --profile load up -d locust
    @echo "Locust: http://127.0.0.1:8089 (just load-test-down stops it)"

# Stop the Locust container.
[no-exit-message]
load-test-down:
    @{{ _just }} _compose --profile load stop locust

# Run Locust headless against AIJOBS_URL with USERS users for SECONDS; CSV stats in var/load/.
load-test-headless USERS="20" SECONDS="30":
    mkdir -p var/load
    uv run locust -f load/locustfile.py --headless --users {{ USERS }} \
        --spawn-rate {{ USERS }} --run-time {{ SECONDS }}s --stop-timeout 10 \
        --host "${AIJOBS_URL:-http://127.0.0.1:8000}" --csv var/load/aijobs --only-summary

# Measure API latency, drain throughput and memory on the local PostgreSQL and Redis.
bench *ARGS:
    uv run python load/bench.py {{ ARGS }}

# Stop the containers and delete var/'s runtime files (volumes and var/data stay).
[no-exit-message]
clean: down
    find var -mindepth 1 -maxdepth 1 ! -name data -exec rm -rf {} + 2>/dev/null || true

# Remove the containers, their volumes (database, Redis, documents) and the image built here.
[no-exit-message]
clean-all:
    #!/usr/bin/env bash
    set -euo pipefail
    {{ _just }} _compose --profile web --profile load down -v --remove-orphans
    engine=$({{ _just }} _compose-cmd)
    engine=${engine%% *}
    "${engine%-compose}" image rm -f "${AIJOBS_IMAGE:-aijobs:local}" >/dev/null 2>&1 || true
