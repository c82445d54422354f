"""Prometheus metrics every service exposes on ``/metrics``.

One process may host several service containers (tests do), so every metric
carries a ``service`` label and lives on the default registry.
"""
from prometheus_client import Counter, Gauge, Histogram

ENTRYPOINT_CALLS = Counter(
    "guanxi_entrypoint_calls_total", "Entrypoint calls (RPC, events, HTTP)",
    ["service", "entrypoint"])
ENTRYPOINT_ERRORS = Counter(
    "guanxi_entrypoint_errors_total", "Entrypoint calls that raised",
    ["service", "entrypoint", "error"])
ENTRYPOINT_LATENCY = Histogram(
    "guanxi_entrypoint_latency_seconds", "Entrypoint latency",
    ["service", "entrypoint"],
    buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
OUTBOX_BACKLOG = Gauge(
    "guanxi_outbox_backlog", "Events stored in the outbox and not yet published", ["service"])
OUTBOX_PUBLISHED = Counter(
    "guanxi_outbox_published_total", "Events published by the outbox relay", ["service"])
OUTBOX_PUBLISH_FAILURES = Counter(
    "guanxi_outbox_publish_failures_total", "Outbox publish attempts that failed", ["service"])
DLQ_DEPTH = Gauge(
    "guanxi_dlq_depth", "Messages parked on <service>.dlq", ["service"])
DUPLICATES_SKIPPED = Counter(
    "guanxi_duplicate_deliveries_skipped_total", "Events skipped because already applied",
    ["service", "consumer"])
HANDLER_RETRIES = Counter(
    "guanxi_handler_retries_total", "Event handler failures scheduled for retry",
    ["service", "consumer"])
HANDLER_PARKED = Counter(
    "guanxi_handler_parked_total", "Event handler failures parked on the DLQ",
    ["service", "consumer"])
MALFORMED_MESSAGES = Counter(
    "guanxi_malformed_messages_total", "Messages rejected as malformed", ["service", "reason"])
