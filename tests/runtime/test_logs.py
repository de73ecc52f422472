"""LAOKE_LOG_FORMAT=json: one JSON object per line, naming the service and the event."""

from __future__ import annotations

import io
import json
import logging

from laoke.logs import EVENT, SERVICE, handler
from laoke.settings import LaokeSettings


def test_json_lines_carry_the_service_and_the_event_being_handled() -> None:
    out = io.StringIO()
    logger = logging.getLogger("laoke.test-logs")
    logger.addHandler(handler(LaokeSettings(log_format="json"), out))
    service, event = SERVICE.set("complaints"), EVENT.set(("e-1", "c-1"))
    try:
        logger.warning("complaint %s escalated", "CP-1")
    finally:
        SERVICE.reset(service)
        EVENT.reset(event)
        logger.handlers.clear()
    line = json.loads(out.getvalue())
    assert line["message"] == "complaint CP-1 escalated"
    assert (line["service"], line["event_id"], line["correlation_id"]) == (
        "complaints",
        "e-1",
        "c-1",
    )
    assert line["levelname"] == "WARNING"


def test_text_lines_name_the_service_when_there_is_one() -> None:
    out = io.StringIO()
    logger = logging.getLogger("laoke.test-logs-text")
    logger.addHandler(handler(LaokeSettings(log_format="text"), out))
    try:
        logger.warning("outside any service")
        named = SERVICE.set("intake")
        logger.warning("inside")
        SERVICE.reset(named)
    finally:
        logger.handlers.clear()
    first, second = out.getvalue().splitlines()
    assert first.endswith("outside any service")
    assert second.endswith("inside [service=intake]")
