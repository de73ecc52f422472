"""The simulated world's nouns: cars, people, survey invitations, and a person's story.

A `Story` collects one person's timed inbound events in any order and tells them in time
order, strictly increasing, with ids derived from the seed, the dealership, the person and
the event's place in the story. The chapters that add to it live in their own modules
(sales, workshop, complaints, surveys); laoke/sim/generator.py runs them in order.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid5

from events import InboundEvent, decision_uuid, follow_up_id, survey_id
from events.ids import SURVEY_CONTACTS
from laoke.sim.people import Identity
from laoke.sim.rates import Group

# How intake names the CustomersMerged an event causes (laoke.decisions.decision_id).
MERGED = "CustomersMerged:"

K = TypeVar("K", bound=str)
NAMESPACE = UUID("8a3f1c52-3c1e-4f0e-9a51-5e1d2b7c9d40")
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
ADVISORS = tuple(f"adv-{n:02d}" for n in range(1, 9))
# Outreach's survey policy (docs/outreach.md): the invitation goes out a day after its
# cause, out of quiet hours (21:00-09:00).
SURVEY_DELAY = timedelta(days=1)
QUIET_END_HOUR, QUIET_START_HOUR = 9, 21


def between(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    if hi <= lo:
        return lo
    return lo + timedelta(seconds=rng.randint(0, int((hi - lo).total_seconds())))


def office(rng: random.Random, day: datetime) -> datetime:
    """A time of `day` during opening hours (09:00-19:59 local)."""
    return day.replace(hour=rng.randint(9, 19), minute=rng.randint(0, 59), second=0)


def pick(rng: random.Random, weights: Mapping[K, float]) -> K:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def quota(rng: random.Random, weights: Mapping[K, float], n: int) -> list[K]:
    """`n` keys in random order, each as often as its share of `n` (rounded down, the
    largest remainders making up the total): a share realised within 1/n of its weight,
    where `n` independent draws would stray by ~sqrt(w(1-w)/n) (1 point at n = 2,000)."""
    total = sum(weights.values())
    exact = {key: n * weight / total for key, weight in weights.items()}
    counts = {key: int(value) for key, value in exact.items()}
    short = n - sum(counts.values())
    for key in sorted(exact, key=lambda k: counts[k] - exact[k])[:short]:
        counts[key] += 1
    drawn = [key for key, count in counts.items() for _ in range(count)]
    rng.shuffle(drawn)
    return drawn


@dataclass
class Car:
    vin: str
    model: str
    colour: str
    price: int
    purchased_at: datetime
    delivered_at: datetime
    km_per_day: float
    test_drive_at: datetime | None = None

    def mileage(self, at: datetime) -> int:
        return 30 + int((at - self.delivered_at) / DAY * self.km_per_day)


@dataclass
class Person:
    index: int
    ident: Identity
    advisor: str
    owner: bool
    arrival: datetime
    dms_id: str
    showroom_id: str | None = None  # known to the showroom by its own id first (a merge)
    source: str | None = None
    cars: list[Car] = field(default_factory=list)
    pivot: datetime | None = None  # the complaint, the low score, or a point to buy after
    group: Group | None = None
    repurchase: bool = False
    churn: str | None = None
    horizon: datetime | None = None
    referral: str | None = None  # "real" or a fake kind
    referrer: Person | None = None
    opt_out: bool = False


@dataclass
class Invitation:
    """A survey outreach will send because of an event (`cause`, a Story item key)."""

    cause: int
    cause_at: datetime
    kind: str  # CSI or SSI
    about: str
    answer_at: datetime | None = None  # forced answer (the silent customer's low score)
    score: int | None = None

    @property
    def due_at(self) -> datetime:
        """Outreach's nominal due time: a day after the cause, out of quiet hours."""
        due = self.cause_at + SURVEY_DELAY
        if due.hour >= QUIET_START_HOUR:
            due += DAY
        if due.hour < QUIET_END_HOUR or due.hour >= QUIET_START_HOUR:
            due = due.replace(hour=QUIET_END_HOUR, minute=0, second=0)
        return due


class Story:
    """One person's events, collected in any order and told in time order.

    Chapters share what later ones need through it: when the person stops buying, when a
    complaint (or a low score) was resolved, when they opted out of every channel, and the
    survey invitations their events caused.
    """

    def __init__(self, dealership_id: str, person: Person, horizon: datetime) -> None:
        self.dealership_id = dealership_id
        self.person = person
        self.horizon = horizon
        self.items: list[tuple[datetime, int, type[InboundEvent], str, dict[str, Any]]] = []
        self.invitations: list[Invitation] = []
        self.stops_buying: datetime | None = None  # no purchase of any kind after this
        self.resolved: datetime | None = None  # the complaint's (low score's) end, if any
        self.opted_out_at: datetime | None = None  # of all channels: no surveys after it

    def buys(self, at: datetime) -> bool:
        return self.stops_buying is None or at <= self.stops_buying

    def add(
        self,
        at: datetime,
        model: type[InboundEvent],
        source: str,
        hints: dict[str, Any],
        /,
        **data: Any,
    ) -> int | None:
        """Add an event at `at` (dropped when past the person's horizon: churn, or the end);
        returns its key, to refer to it (e.g. a survey's cause), or None when dropped."""
        if at >= self.horizon:
            return None
        key = len(self.items)
        self.items.append((at, key, model, source, {"customer": hints, **data}))
        return key

    def tell(self, seed: int) -> list[InboundEvent]:
        told: list[InboundEvent] = []
        previous: datetime | None = None
        ordered = sorted(self.items, key=lambda i: i[:2])
        ids = {
            item[1]: uuid5(NAMESPACE, f"{seed}:{self.dealership_id}:{self.person.index}:{k}")
            for k, item in enumerate(ordered)
        }
        for at, key, model, source, data in ordered:
            if previous is not None and at <= previous:
                at = previous + timedelta(seconds=1)  # strictly ordered per customer
            previous = at
            if "survey_of" in data:  # outreach's survey id, from the cause's event id
                data = dict(data)
                cause, contact_kind = data.pop("survey_of")
                contact = follow_up_id(ids[cause], SURVEY_CONTACTS[contact_kind])
                data["survey_id"] = survey_id(contact, data["survey_kind"])
            if "merge_of" in data:  # intake's CustomersMerged id, from the tying event's id
                data = dict(data)
                data["merge_event_id"] = decision_uuid(ids[data.pop("merge_of")], MERGED)
            raw = {
                "event_id": ids[key],
                "occurred_at": at,
                "dealership_id": self.dealership_id,
                "source": source,
                **data,
            }
            # trusted: no future check, so validation never reads the wall clock
            told.append(model.model_validate(raw, context={"trusted": True}))
        return told
