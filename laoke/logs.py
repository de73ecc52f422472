"""Log lines for every process: text or JSON objects (`LAOKE_LOG_FORMAT=json`), each naming
the service and the event being handled, so that ops can follow one event through the log.

INFO is for what a person acts on: starts and stops, escalations, dead letters, errors.
A line per message handled is DEBUG.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

from laoke.settings import LaokeSettings

SERVICE: ContextVar[str | None] = ContextVar("laoke_service", default=None)
EVENT: ContextVar[tuple[str, str | None] | None] = ContextVar("laoke_event", default=None)
FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


class _Context(logging.Filter):
    """Adds `service`, `event_id` and `correlation_id` (None outside a service or event)."""

    def filter(self, record: logging.LogRecord) -> bool:
        event = EVENT.get()
        record.service = SERVICE.get()
        record.event_id, record.correlation_id = event if event else (None, None)
        return True


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        where = [f"{k}={v}" for k in ("service", "event_id") if (v := getattr(record, k, None))]
        return f"{line} [{' '.join(where)}]" if where else line


def handler(settings: LaokeSettings, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing lines in the format `settings` ask for (to stderr by default)."""
    made = logging.StreamHandler(stream)
    made.addFilter(_Context())
    if settings.log_format == "json":
        made.setFormatter(JsonFormatter(f"{FIELDS} %(service)s %(event_id)s %(correlation_id)s"))
    else:
        made.setFormatter(_Text(FIELDS))
    return made


def configure(settings: LaokeSettings) -> None:
    logging.basicConfig(level=settings.log_level, handlers=[handler(settings)], force=True)
