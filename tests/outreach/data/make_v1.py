"""Makes tests/outreach/data: a simulated dealership's history, outreach's store after its
first part and the decisions on the rest, by the version of outreach that ran it.

Made with the version before one deadline per plan (commit 304a894; this file and
tests/outreach/live.py copied into its tree): `python tests/outreach/data/make_v1.py`.
With `--decisions-only` it leaves the history and the store as they are and writes the
decisions the version at hand takes on the rest (for a change of rules that alters
them on purpose).
"""

from __future__ import annotations

import gzip
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from uuid import NAMESPACE_URL, uuid5

from events import EVENT_TYPES, Event, VehiclePurchased, parse_inbound
from events.factories import sample_recorded
from laoke.clock import ManualClock
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from laoke.sim import SimConfig, simulate
from laoke.sim.config import CHINA
from tests.outreach.live import Live, read, write

DATA = Path(__file__).parent
HISTORY = DATA / "v1-history.jsonl"  # every event, in the order handled
STORE = DATA / "outreach-v1.sqlite.gz"  # outreach's store once the events before SPLIT are
DECIDED = DATA / "v1-decided.jsonl"  # the decisions on the events from SPLIT on, until END
SPLIT = datetime(2025, 11, 15, tzinfo=CHINA)
END = datetime(2026, 12, 1, tzinfo=CHINA)


def history() -> list[Event]:
    """10 simulated customers over four months, recorded under one customer id per
    person, and intake's identity decisions on some of them after SPLIT."""
    sim = simulate(
        SimConfig(customers=10, months=4, seed=5, start=datetime(2025, 9, 1, tzinfo=CHINA)),
        now=datetime(2026, 2, 1, tzinfo=CHINA),
    )
    events = []
    for raw in sim.events:
        subject = f"dealer.in.{raw.dealership_id}.{raw.event_type}"
        inbound = parse_inbound(raw.data, subject=subject)
        events.append(
            inbound.model_copy(
                update={
                    "customer_id": str(uuid5(NAMESPACE_URL, f"sim-person:{raw.person}")),
                    "correlation_id": inbound.event_id,
                    "causation_id": inbound.event_id,
                    "received_at": inbound.occurred_at,
                }
            )
        )
    buyers = [e for e in events if isinstance(e, VehiclePurchased) and e.occurred_at < SPLIT]
    a, b, c, d, e = (p.customer_id for p in buyers[:5])
    merged = identity("CustomersMerged", a, "2025-12-01", survivor_id=a, merged_ids=[b])
    identity_events = [
        merged,
        identity("VehicleOwnershipChanged", d, "2025-12-02", vin=buyers[2].vin,
                 previous_owner_id=c, owner_id=d, changed_at="2025-12-02T10:00:00+08:00"),
        identity("CustomerErased", e, "2025-12-03", erased_ids=[e]),
        identity("CustomersUnmerged", a, "2026-01-10", merge_event_id=str(merged.event_id),
                 survivor_id=a, restored_id=b),
    ]  # fmt: skip
    return sorted(events + identity_events, key=lambda event: event.occurred_at)


def identity(event_type: str, customer_id: str | None, day: str, **fields: object) -> Event:
    data = sample_recorded(
        event_type,
        dealership_id="sim-01",
        customer_id=customer_id,
        occurred_at=f"{day}T10:00:00+08:00",
        source="intake",
        **fields,
    )
    return EVENT_TYPES[event_type].model_validate(data, context={"trusted": True})


def run(data_dir: Path, events: list[Event], start: datetime, until: datetime) -> list[Event]:
    app = ServiceApplication(LaokeSettings(data_dir=data_dir), "outreach")
    try:
        live = Live(app, ManualClock(start))
        for event in events:
            live.handle(event)
        live.walk(until)
        return live.decisions
    finally:
        app.close()


def unpack(store: Path) -> None:
    """The store of SPLIT, at `store`."""
    with gzip.open(STORE, "rb") as packed, store.open("wb") as plain:
        shutil.copyfileobj(packed, plain)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = LaokeSettings(data_dir=Path(tmp)).sqlite_path("outreach")
        if "--decisions-only" in sys.argv:
            events = read(HISTORY)
            unpack(store)
        else:
            events = history()
            write(HISTORY, events)
            first = [e for e in events if e.occurred_at < SPLIT]
            run(Path(tmp), first, first[0].occurred_at, SPLIT)
            with store.open("rb") as plain, gzip.open(STORE, "wb") as packed:
                shutil.copyfileobj(plain, packed)
        rest = [e for e in events if e.occurred_at >= SPLIT]
        write(DECIDED, run(Path(tmp), rest, SPLIT, END))


if __name__ == "__main__":
    main()
