"""The retention limit in intake's application, on its store (no NATS): what the ticker
decides from the recorded history when a customer's deadline comes. A history import in
pieces, merges and splits, a shortened limit at restart, and the same decisions from the
same history however it was batched or interrupted. End to end: test_retention_e2e.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from events import CustomerErased, CustomersMerged, Event, parse_recorded
from events.factories import sample_inbound
from laoke.clock import ManualClock
from laoke.deadlines import DeadlineIndex, Ticker
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from services.intake.application import Inbound, Intake
from services.intake.retention import RECENT, SLACK, add_years
from services.intake.settings import IntakeSettings

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
PROSPECT, BUYER, RETURNING, OTHER = "13800138001", "13800138002", "13800138003", "13800138004"


def years_ago(years: float) -> str:
    return (NOW - timedelta(days=365.25 * years)).isoformat()


def visit(phone: str, at: str) -> dict[str, Any]:
    return sample_inbound(
        "CustomerVisited", event_id=str(uuid4()), customer={"phone": phone}, occurred_at=at
    )


def purchase(phone: str, at: str, vin: str) -> dict[str, Any]:
    fields = {"customer": {"phone": phone}, "occurred_at": at, "vin": vin}
    return sample_inbound("VehiclePurchased", event_id=str(uuid4()), **fields)


def tie(first: str, other: str, at: str) -> dict[str, Any]:
    """A registration naming two phones: the person evidence that merges their customers."""
    fields = {"customer": {"phone": first}, "phones": [other], "occurred_at": at}
    return sample_inbound("CustomerRegistered", event_id=str(uuid4()), **fields)


class Intakes:
    """Intake's application and its ticker over one store, as the service wires them."""

    def __init__(self, path: Path, clock: ManualClock, settings: IntakeSettings | None = None):
        self.clock = clock
        self.app = ServiceApplication(LaokeSettings(data_dir=path), "intake")
        self.intake = Intake(self.app, settings or IntakeSettings(), clock)
        self.index = DeadlineIndex()
        self.app.observers.append(self.index.observe)
        self.index.rebuild(self.app, self.intake.fires_at)
        intake = self.intake
        self.ticker = Ticker(self.app, self.index, clock, intake.on_deadline, cache=intake.cache)

    def send(self, *events: dict[str, Any]) -> list[str]:
        """Record the events as one batch; the customer id each was recorded under."""
        batch = [Inbound(json.dumps(e).encode(), None, None, f"t:{uuid4()}") for e in events]
        verdicts = self.intake.record_batch(batch)
        assert all(v.status == "accepted" for v in verdicts), verdicts
        return [str(v.customer_id) for v in verdicts]

    def tick(self, to: datetime) -> int:
        self.clock.set(to)
        return self.ticker.fire_due()

    def recorded(self) -> list[Event]:
        """The outbox: every event recorded, in order."""
        found = self.app.outbox_after(0, 100_000)
        return [parse_recorded(message.body) for _, message in found]

    def erasures(self) -> list[CustomerErased]:
        return [e for e in self.recorded() if isinstance(e, CustomerErased)]

    def close(self) -> None:
        self.app.close()


def test_an_import_in_pieces_erases_the_old_prospect_not_one_whose_later_events_came_later(
    tmp_path: Path,
) -> None:
    """Two prospects last seen four years ago, imported today: the second's visit of last
    year comes in the import's next piece, three days later. Neither is erased before
    `RECENT` has passed since their last receipt; then the first is, the second not."""
    clock = ManualClock(NOW)
    intakes = Intakes(tmp_path, clock)
    first = visit(PROSPECT, years_ago(4))
    [prospect, returning] = intakes.send(first, visit(RETURNING, years_ago(4)))
    [buyer] = intakes.send(purchase(BUYER, years_ago(5), "LSGKB54E7LS100001"))
    assert intakes.tick(NOW + timedelta(days=3)) == 0
    later = visit(RETURNING, years_ago(1))
    intakes.send(later)  # the import's next piece
    assert intakes.tick(NOW + RECENT) == 0
    assert intakes.tick(NOW + RECENT + SLACK) == 2  # both prospects' deadlines came
    [erased] = intakes.erasures()
    assert erased.erased_ids == [prospect] and erased.customer_id == prospect
    assert (erased.requested_by, erased.request_ref) == ("retention-rule", "retention:P3Y")
    assert str(erased.causation_id) == first["event_id"] == str(erased.correlation_id)
    assert erased.occurred_at == NOW + RECENT + SLACK, "dated when the rule made it due"

    due = add_years(datetime.fromisoformat(later["occurred_at"]) + SLACK, 3)
    assert intakes.tick(due - timedelta(minutes=1)) == 0, "moved to its due time, not erased"
    assert intakes.tick(due) == 1
    assert [e.erased_ids for e in intakes.erasures()] == [[prospect], [returning]]
    assert intakes.erasures()[1].occurred_at == due
    assert buyer not in {c for e in intakes.erasures() for c in e.erased_ids}
    assert intakes.tick(due + timedelta(days=3650)) == 0, "the buyer has no deadline"
    again = intakes.send(visit(PROSPECT, due.isoformat()))
    assert again != [prospect], "the erased prospect's phone is a new customer"
    intakes.close()


def test_a_merged_buyers_purchase_keeps_the_survivor_and_a_split_gives_the_prospect_back(
    tmp_path: Path,
) -> None:
    clock = ManualClock(NOW)
    intakes = Intakes(tmp_path, clock)
    [prospect] = intakes.send(visit(PROSPECT, years_ago(6)))  # first seen first: survives
    [buyer] = intakes.send(purchase(BUYER, years_ago(5), "LSGKB54E7LS100002"))
    [survivor] = intakes.send(tie(BUYER, PROSPECT, years_ago(4.5)))
    assert survivor == prospect
    merge = next(e for e in intakes.recorded() if isinstance(e, CustomersMerged))
    assert merge.merged_ids == [buyer]
    assert intakes.tick(NOW + timedelta(days=30)) == 0 and intakes.erasures() == []

    split = sample_inbound(
        "CustomerSplitRequested",
        event_id=str(uuid4()),
        merge_event_id=str(merge.event_id),
        requested_by="ops-007",
        reason="two people",
        occurred_at=(NOW + timedelta(days=30)).isoformat(),
    )
    clock.set(NOW + timedelta(days=30))
    intakes.send(split)
    assert intakes.tick(NOW + timedelta(days=30) + RECENT) == 0, "heard of at the split"
    assert intakes.tick(NOW + timedelta(days=30) + RECENT + SLACK) == 1
    [erased] = intakes.erasures()
    assert erased.erased_ids == [prospect], "the prospect alone, without the buyer"
    intakes.close()


def test_a_limit_shortened_between_runs_is_applied_at_start(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    five = IntakeSettings(dealerships={"demo-4s": {"retention_years": 5}})
    intakes = Intakes(tmp_path, clock, five)
    last = visit(PROSPECT, years_ago(4))
    [prospect] = intakes.send(last)
    assert intakes.tick(NOW + timedelta(days=30)) == 0
    intakes.close()

    intakes = Intakes(tmp_path, clock, IntakeSettings())  # three years again: the default
    assert intakes.tick(NOW + timedelta(days=30)) == 1
    [erased] = intakes.erasures()
    assert erased.erased_ids == [prospect] and erased.request_ref == "retention:P3Y"
    occurred = datetime.fromisoformat(last["occurred_at"])
    assert erased.occurred_at == max(add_years(occurred + SLACK, 3), NOW + SLACK + RECENT)
    intakes.close()


def history() -> list[dict[str, Any]]:
    """A few years of a dealership: prospects, a buyer, a merge, a returning prospect."""
    at = datetime(2021, 3, 1, 10, tzinfo=UTC)
    events = [
        visit(PROSPECT, at.isoformat()),
        visit(RETURNING, at.isoformat()),
        purchase(BUYER, (at + timedelta(days=10)).isoformat(), "LSGKB54E7LS100003"),
        visit(OTHER, (at + timedelta(days=20)).isoformat()),
        tie(OTHER, BUYER, (at + timedelta(days=40)).isoformat()),
        visit(RETURNING, (at + timedelta(days=700)).isoformat()),
    ]
    return events


def run(path: Path, batches: list[list[dict[str, Any]]], restart_after: int) -> list[str]:
    """Record the batches, restarting intake (a crash: caches lost) after `restart_after`
    of them, then let the clock reach each deadline: the erasures, as JSON."""
    clock = ManualClock(datetime(2021, 3, 1, 10, tzinfo=UTC))
    intakes = Intakes(path, clock)
    for number, batch in enumerate(batches, start=1):
        clock.set(max(clock.now(), max(datetime.fromisoformat(e["occurred_at"]) for e in batch)))
        intakes.send(*batch)
        intakes.tick(clock.now())
        if number == restart_after:
            intakes.close()
            intakes = Intakes(path, clock)
    while clock.now() < datetime(2027, 3, 1, tzinfo=UTC):
        intakes.tick(clock.now() + timedelta(days=30))
    found = [e.model_dump_json() for e in intakes.erasures()]
    intakes.close()
    return found


def test_the_same_history_gives_the_same_erasures_however_batched_or_interrupted(
    tmp_path: Path,
) -> None:
    events = history()
    at_once = run(tmp_path / "a", [events], restart_after=0)
    one_by_one = run(tmp_path / "b", [[e] for e in events], restart_after=3)
    assert at_once == one_by_one
    erased = [json.loads(e)["erased_ids"] for e in at_once]
    assert len(erased) == 2, "the prospect, then the returning prospect; not the merged buyer"
