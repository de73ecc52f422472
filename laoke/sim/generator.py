"""The generator: plan each dealership's customers, then tell each one's story as events.

A person's story is told chapter by chapter (`CHAPTERS`, in the order of a life: arriving,
buying, referrals, trouble, buying again, service, accessories, contact, leaving, a wrong
merge undone, selling the car on), each a
function `(dealership, story, person)` that adds timed inbound events to the story and
draws from the dealership's seeded `rng`. All stories are merged into one publish order by
time. Randomness comes only from `random.Random` and faker, seeded; time only from the
window.

A new kind of story is a new chapter (in a module of its own) put in `CHAPTERS` where it
happens in a life. A chapter that draws from `rng`, or adds events to people who had some,
changes what a seed generates from there on (the draws after it, and the event ids, which
follow the order of a person's events): the determinism tests compare runs of one version,
not outputs across versions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from events import to_json
from laoke.sim import complaints, identity, sales, surveys, workshop
from laoke.sim.config import SimConfig, window
from laoke.sim.dealership import Dealership
from laoke.sim.model import Person, Story
from laoke.sim.truth import Truth

Chapter = Callable[[Dealership, Story, Person], None]
CHAPTERS: tuple[Chapter, ...] = (
    sales.arrival,
    sales.purchases,
    sales.referral,
    complaints.trouble,
    sales.repurchase,
    workshop.servicing,
    sales.small_purchases,
    surveys.opt_out,
    surveys.answer,
    sales.churn_call,
    identity.wrong_merge,
    identity.resale,
)


@dataclass(frozen=True)
class SimEvent:
    """One generated event in publish order, with its JSON bytes (what is published)."""

    occurred_at: datetime
    dealership_id: str
    event_type: str
    event_id: str
    data: bytes
    person: str  # "<dealership>/<index>": the simulated person (not intake's customer id)


@dataclass
class Simulation:
    config: SimConfig
    start: datetime
    end: datetime
    events: list[SimEvent]
    truth: Truth

    def ndjson(self) -> bytes:
        return b"".join(e.data + b"\n" for e in self.events)


def tell(d: Dealership, truth: Truth) -> list[SimEvent]:
    """Every planned person's story, as events; counted into `truth`."""
    out: list[SimEvent] = []
    for person in d.persons:
        story = Story(d.d, person, person.horizon or d.end)
        for chapter in CHAPTERS:
            chapter(d, story, person)
        events = story.tell(d.config.seed)
        truth.add_customer(d.d, events)
        who = f"{d.d}/{person.index}"
        out.extend(
            SimEvent(e.occurred_at, d.d, e.event_type, str(e.event_id), to_json(e), who)
            for e in events
        )
    return out


def simulate(config: SimConfig, now: datetime | None = None) -> Simulation:
    """Generate the whole simulation: events in publish order, and the truth about them."""
    start, end = window(config, now)
    truth = Truth(start=start, end=end)
    events: list[SimEvent] = []
    for number, dealership_id in enumerate(config.ids(), start=1):
        dealership = Dealership(config, dealership_id, number, start, end)
        dealership.plan()
        events.extend(tell(dealership, truth))
        for table, counts in dealership.truth_plan.items():
            for key, n in counts.items():
                target: dict[str, int] = getattr(truth, table)
                target[key] = target.get(key, 0) + n
        truth.expected_merges += sum(p.showroom_id is not None for p in dealership.persons)
        truth.used_car_sales += dealership.truth_counts["used_car_sales"]
        truth.wrong_merges += dealership.truth_counts["wrong_merges"]
    # Stable: ties are between different people; a person's own times strictly increase.
    events.sort(key=lambda e: (e.occurred_at, e.dealership_id))
    return Simulation(config, start, end, events, truth)
