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
