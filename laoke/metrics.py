"""Prometheus metrics shared by the services (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ACCEPTED = Counter("laoke_events_accepted_total", "Inbound events recorded", ["dealership"])
DUPLICATES = Counter("laoke_events_duplicate_total", "Inbound events already recorded")
DEAD_LETTERS = Counter(
    "laoke_dead_letters_total", "Messages sent to RETENTION_DLQ", ["service", "reason"]
)
HANDLED = Counter("laoke_messages_handled_total", "RETENTION messages handled", ["service"])
HANDLER_SECONDS = Histogram(
    "laoke_handler_seconds", "Time to handle one batch of messages", ["service"]
)
CONSUMER_LAG = Gauge(
    "laoke_consumer_lag",
    "Messages on the stream after the last one a durable consumer handled",
    ["consumer"],
)
DECISIONS = Counter("laoke_decisions_total", "Decisions recorded", ["service", "event_type"])
HTTP_SECONDS = Histogram(
    "laoke_http_request_seconds",
    "Time to answer an HTTP request, by route template",
    ["method", "route", "status"],
)
# The work in hand, per dealership, counted from the read store by the projections service
# every few seconds (services/projections/gauges.py): the Grafana board's (docker/grafana).
COMPLAINTS_OPEN = Gauge(
    "laoke_complaints_open", "Complaints filed and not yet resolved", ["dealership"]
)
COMPLAINTS_ESCALATED = Gauge(
    "laoke_complaints_escalated", "Unresolved complaints escalated at least once", ["dealership"]
)
FOLLOWUPS_DUE = Gauge(
    "laoke_followups_due",
    "Open follow-ups whose time has come (the work list's 'due', overdue included)",
    ["dealership"],
)
