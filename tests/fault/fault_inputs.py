"""The fault suite's input: a simulated dealership group, re-timed to the last minutes,
with exact resends and deliberately bad messages mixed in at seeded places.

Why re-timed: the services read the wall clock (SystemClock) to fire deadlines (apology
due 1 h after filing, escalation after 48 h, outreach slots). The simulator's months of
history would make every deadline already due, so whether a deadline fires before or
after the event that cancels it would depend on scheduling, not on the input. Squeezing
the same stories (same order, same people) into the `span` before `t0` puts every
deadline at least ~`1 h - span` in the future: none fires during the test, and every
decision depends on the input alone.

Identity is exercised too: more cars sold on and wrong merges (each split by ops later)
than by default, so ownership changes and splits are among the inputs (and resent, and
copied into bad messages, like any event).
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from events import inbound_subject
from laoke.sim import SimConfig, SimRates, simulate

Kind = Literal["good", "resend", "bad"]
TIME_FIELDS = ("occurred_at", "delivered_at", "promised_at")
INPUT_HEADER = "Laoke-Fault-Input"


@dataclass(frozen=True)
class Input:
    index: int
    kind: Kind
    subject: str
    data: bytes
    event_id: str | None = None  # good and resent events
    why: str = ""  # bad ones: what is wrong

    @property
    def headers(self) -> dict[str, str]:
        # A publish id per message (not per event): a publish retried after a lost ack is
        # dropped by DEALER_IN's dedupe, while an exact resend reaches intake's own dedupe.
        return {"Nats-Msg-Id": f"fault-input-{self.index}", INPUT_HEADER: str(self.index)}


def retime(data: bytes, start: datetime, end: datetime, t0: datetime, span: timedelta) -> bytes:
    """Map the simulated window [start, end) linearly onto [t0 - span, t0 - 1 min)."""
    body = json.loads(data)
    usable = span - timedelta(minutes=1)
    for key in TIME_FIELDS:
        if isinstance(body.get(key), str):
            moment = datetime.fromisoformat(body[key])
            share = (moment - start) / (end - start)
            body[key] = (t0 - span + usable * share).astimezone(moment.tzinfo).isoformat()
    return json.dumps(body, ensure_ascii=False).encode()


def _bad(rng: random.Random, good: dict[str, object]) -> tuple[str, bytes, str]:
    """One bad message built from a good event (fresh event id), and what is wrong with it."""
    body = dict(good) | {"event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
    dealership, event_type = str(body["dealership_id"]), str(body["event_type"])
    subject = inbound_subject(dealership, event_type)
    kind = rng.choice(
        ["not_json", "unknown_type", "subject_mismatch", "missing", "naive_time", "oversize"]
    )
    if kind == "not_json":
        return subject, b'{"event_id": "' + str(body["event_id"]).encode() + b'", oops', kind
    if kind == "unknown_type":
        body["event_type"] = "CustomerTeleported"
        return inbound_subject(dealership, "CustomerTeleported"), _dump(body), kind
    if kind == "subject_mismatch":
        return inbound_subject("other-4s", event_type), _dump(body), kind
    if kind == "missing":
        body.pop("customer", None)
        return subject, _dump(body), kind
    if kind == "naive_time":
        body["occurred_at"] = "2026-01-05T10:00:00"
        return subject, _dump(body), kind
    body["source"] = "x" * 70_000  # over the contract's 64 KiB
    return subject, _dump(body), kind


def _dump(body: dict[str, object]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def build_inputs(
    seed: int,
    t0: datetime,
    *,
    customers: int = 160,
    dealerships: int = 2,
    months: int = 6,
    span: timedelta = timedelta(minutes=40),
    bad_share: float = 0.02,
    resend_share: float = 0.03,
) -> list[Input]:
    rates = SimRates(used_car_sale=0.1, wrong_merge=0.05)
    config = SimConfig(
        dealerships=dealerships, customers=customers, months=months, seed=seed, rates=rates
    )
    sim = simulate(config)
    rng = random.Random(f"laoke-fault:{seed}")
    inputs: list[Input] = []
    sent: list[Input] = []

    def add(kind: Kind, subject: str, data: bytes, event_id: str | None, why: str = "") -> None:
        inputs.append(Input(len(inputs), kind, subject, data, event_id, why))

    for event in sim.events:
        data = retime(event.data, sim.start, sim.end, t0, span)
        add("good", inbound_subject(event.dealership_id, event.event_type), data, event.event_id)
        sent.append(inputs[-1])
        if rng.random() < bad_share:
            subject, bad, why = _bad(rng, json.loads(data))
            add("bad", subject, bad, None, why)
        if rng.random() < resend_share:  # an exact resend of an earlier event, a bit later
            earlier = rng.choice(sent[-50:])
            add("resend", earlier.subject, earlier.data, earlier.event_id)
    return inputs
