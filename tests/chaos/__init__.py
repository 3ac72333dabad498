"""A fault suite that drives real aijobs processes and breaks them on purpose.

It starts its own PostgreSQL (initdb and pg_ctl, as the `postgres` user when
run as root) and Redis (append-only) on spare ports, then `aijobs migrate`,
`aijobs api`, worker groups (`aijobs worker`, restarted by a supervisor
thread as compose or systemd would) and a maintenance loop that runs aijobs'
own `run_maintenance` every second instead of every minute. It injects one
fault at a time and judges every job from the database: triggers on the job
table (see `ledger`) record each start, lease renewal, status change and
send outside the job row.

    python -m tests.chaos             # full form, a few minutes
    python -m tests.chaos --short     # the form pytest runs (tests/chaos/test_chaos.py)
    python -m tests.chaos --only 3b 5 --seed 7

The table it prints counts, per fault, jobs accepted, ended as expected
exactly once, lost, run twice at once, left stuck in `processing`, and how
long recovery took. Process logs stay in var/chaos/ after the run.
"""
