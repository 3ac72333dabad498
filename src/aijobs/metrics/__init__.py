"""Prometheus metrics of the API and of the worker processes.

The API serves its own at GET /metrics: requests by route template and
status, their latency, the broker's queue depth and live workers, and, in
embedded mode, the job metrics of its in-process worker. An `aijobs worker`
group serves its processes' job and message metrics, added up, on
WORKER_METRICS_PORT (0, the default, turns that off).

This package imports nothing on purpose: prometheus_client chooses between
in-process and multiprocess storage when it is first imported, so the
`aijobs worker` parent must be able to prepare the latter (see
`aijobs.metrics.multiprocess`) before anything imports the client.
"""
